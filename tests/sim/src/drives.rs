//! The little the simulator needs to know about disk values in guest configs:
//! which keys are drives, their volume, media and size.
use crate::pmxcfs::GuestType;
use crate::storage::GIB;

/// Whether `key` names a drive of a guest of `kind`.
pub fn is_drive_key(kind: GuestType, key: &str) -> bool {
    let (prefix, max) = match key.trim_end_matches(|c: char| c.is_ascii_digit()) {
        p @ ("ide" | "sata" | "scsi" | "virtio" | "efidisk" | "tpmstate")
            if kind == GuestType::Qemu =>
        {
            (
                p,
                match p {
                    "ide" => 3,
                    "sata" => 5,
                    "scsi" => 30,
                    "virtio" => 15,
                    _ => 0,
                },
            )
        }
        p @ "mp" if kind == GuestType::Lxc => (p, 255),
        "rootfs" if kind == GuestType::Lxc && key == "rootfs" => return true,
        _ => return false,
    };
    key[prefix.len()..].parse::<u32>().is_ok_and(|n| n <= max)
}

/// One drive value, split.
#[derive(Debug, Clone, PartialEq)]
pub struct Drive {
    pub volid: String,
    pub options: Vec<(String, String)>,
}

impl Drive {
    pub fn parse(value: &str) -> Drive {
        let mut parts = value.split(',');
        let first = parts.next().unwrap_or_default();
        let volid = first
            .strip_prefix("file=")
            .or_else(|| first.strip_prefix("volume="))
            .unwrap_or(first);
        let options = parts
            .filter_map(|p| {
                p.split_once('=')
                    .map(|(k, v)| (k.to_string(), v.to_string()))
            })
            .collect();
        Drive {
            volid: volid.to_string(),
            options,
        }
    }

    pub fn option(&self, key: &str) -> Option<&str> {
        self.options
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    pub fn set_option(&mut self, key: &str, value: &str) {
        match self.options.iter_mut().find(|(k, _)| k == key) {
            Some(entry) => entry.1 = value.to_string(),
            None => self.options.push((key.to_string(), value.to_string())),
        }
    }

    pub fn is_cdrom(&self) -> bool {
        self.option("media") == Some("cdrom") || self.volid == "none" || self.volid == "cdrom"
    }

    pub fn is_cloudinit(&self) -> bool {
        let name = self.volid.rsplit(['/', ':']).next().unwrap_or_default();
        let stem = name.split('.').next().unwrap_or_default();
        stem == "cloudinit" || (stem.starts_with("vm-") && stem.ends_with("-cloudinit"))
    }

    pub fn storage(&self) -> Option<&str> {
        self.volid.split_once(':').map(|(s, _)| s)
    }

    /// `size=` in bytes.
    pub fn size(&self) -> u64 {
        self.option("size").map(parse_size).unwrap_or(0)
    }

    pub fn render(&self) -> String {
        let mut out = self.volid.clone();
        for (k, v) in &self.options {
            out.push_str(&format!(",{k}={v}"));
        }
        out
    }
}

/// `32G`, `512M`, `4096K`, `1T`, plain bytes.
pub fn parse_size(text: &str) -> u64 {
    let (digits, unit) = text.split_at(
        text.find(|c: char| !c.is_ascii_digit() && c != '.')
            .unwrap_or(text.len()),
    );
    let value: f64 = digits.parse().unwrap_or(0.0);
    let factor = match unit {
        "K" => 1u64 << 10,
        "M" => 1 << 20,
        "G" => GIB,
        "T" => 1 << 40,
        _ => 1,
    };
    (value * factor as f64) as u64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn drive_keys_follow_pve_limits() {
        assert!(is_drive_key(GuestType::Qemu, "scsi30"));
        assert!(!is_drive_key(GuestType::Qemu, "scsi31"));
        assert!(is_drive_key(GuestType::Qemu, "efidisk0"));
        assert!(!is_drive_key(GuestType::Qemu, "net0"));
        assert!(is_drive_key(GuestType::Lxc, "rootfs"));
        assert!(is_drive_key(GuestType::Lxc, "mp3"));
        assert!(!is_drive_key(GuestType::Lxc, "scsi0"));
    }

    #[test]
    fn cloudinit_and_cdrom_are_recognised() {
        let ci = Drive::parse("local-lvm:vm-9100-cloudinit,media=cdrom");
        assert!(ci.is_cloudinit() && ci.is_cdrom());
        let disk = Drive::parse("local-lvm:base-9100-disk-0,discard=on,size=4G");
        assert!(!disk.is_cloudinit() && !disk.is_cdrom());
        assert_eq!(disk.size(), 4 * GIB);
        assert_eq!(disk.storage(), Some("local-lvm"));
        assert_eq!(
            disk.render(),
            "local-lvm:base-9100-disk-0,discard=on,size=4G"
        );
    }
}
