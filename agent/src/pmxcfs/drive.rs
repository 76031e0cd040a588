//! Drive and volume values of guest configs (`scsi0: local-lvm:vm-100-disk-0,size=32G`,
//! `rootfs: local:8,size=8G`, `unused0: local:vm-100-disk-1`): which volume, whether it is a
//! CD-ROM or cloud-init drive, its size in bytes, its storage. Used to validate templates.

use super::property_string::{PropertyString, PropertyStringError, PropertyStringFormat};

/// The property-string format of drives, mount points and unused volumes: the bare value is
/// the volume; `file=` (qemu) and `volume=` (lxc) both name it.
const DRIVE_FORMAT: PropertyStringFormat = PropertyStringFormat {
    default_key: Some("file"),
    aliases: &[("volume", "file")],
};

/// The disk image formats QEMU accepts (`$QEMU_FORMAT_RE`), as cloud-init file suffixes.
const QEMU_FORMATS: [&str; 6] = ["raw", "qcow", "qcow2", "qed", "vmdk", "cloop"];

/// A parsed drive value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Drive {
    /// The volume: a volume id (`storage:name`), an absolute path, `none` or `cdrom`.
    pub volume: String,
    /// The `media=` option (`cdrom` or `disk`), if given.
    pub media: Option<String>,
    /// The `size=` option in bytes, if given.
    pub size: Option<u64>,
    /// Every other option, in written order.
    pub options: Vec<(String, String)>,
}

/// Why a drive value could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DriveError {
    #[error(transparent)]
    Syntax(#[from] PropertyStringError),
    #[error("drive has no volume")]
    MissingVolume,
    #[error("drive size `{value}` is not a size like 32G (units K, M, G, T)")]
    InvalidSize { value: String },
}

impl Drive {
    /// Parses a drive value `[file=]<volume>,key=value,...`.
    pub fn parse(value: &str) -> Result<Self, DriveError> {
        let mut volume = None;
        let mut media = None;
        let mut size = None;
        let mut options = Vec::new();
        for (key, option) in PropertyString::parse(value, DRIVE_FORMAT)?.into_entries() {
            match key.as_str() {
                "file" => volume = Some(option),
                "media" => media = Some(option),
                "size" => {
                    size =
                        Some(parse_size(&option).ok_or(DriveError::InvalidSize { value: option })?);
                }
                _ => options.push((key, option)),
            }
        }
        Ok(Self {
            volume: volume.ok_or(DriveError::MissingVolume)?,
            media,
            size,
            options,
        })
    }

    /// The value of another option, e.g. `mp` of a mount point or `iothread`.
    pub fn option(&self, key: &str) -> Option<&str> {
        self.options
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// A CD-ROM drive: `media=cdrom`, or the pseudo volumes `none` and `cdrom` (an empty
    /// drive and the host's drive). Cloud-init drives are CD-ROMs too.
    pub fn is_cdrom(&self) -> bool {
        self.media.as_deref() == Some("cdrom") || self.volume == "none" || self.volume == "cdrom"
    }

    /// A cloud-init drive, recognised by its volume name like PVE does
    /// (`[:/](vm-\d+-)?cloudinit(\.<qemu format>)?$`).
    pub fn is_cloudinit(&self) -> bool {
        is_cloudinit_volume(&self.volume)
    }

    /// The storage id of the volume, if it is a volume id (not a path or pseudo volume).
    pub fn storage_id(&self) -> Option<&str> {
        storage_id(&self.volume)
    }
}

/// PVE's `parse_size`: `<number>[K|M|G|T]` (binary units; no unit means bytes), fractions
/// allowed, rounded down to whole bytes. `None` if the text is not such a size.
pub fn parse_size(text: &str) -> Option<u64> {
    let (number, unit) = match text.as_bytes().last()? {
        b'K' => (&text[..text.len() - 1], 1u128 << 10),
        b'M' => (&text[..text.len() - 1], 1 << 20),
        b'G' => (&text[..text.len() - 1], 1 << 30),
        b'T' => (&text[..text.len() - 1], 1 << 40),
        _ => (text, 1),
    };
    let (whole, fraction) = match number.split_once('.') {
        Some((whole, fraction)) if !fraction.is_empty() => (whole, fraction),
        Some(_) => return None,
        None => (number, ""),
    };
    let all_digits = |part: &str| part.bytes().all(|b| b.is_ascii_digit());
    if whole.is_empty() || !all_digits(whole) || !all_digits(fraction) {
        return None;
    }
    let mut bytes = whole.parse::<u128>().ok()?.checked_mul(unit)?;
    if !fraction.is_empty() {
        let digits = fraction.trim_end_matches('0');
        if !digits.is_empty() {
            let scale = 10u128.checked_pow(u32::try_from(digits.len()).ok()?)?;
            bytes += digits.parse::<u128>().ok()?.checked_mul(unit)? / scale;
        }
    }
    u64::try_from(bytes).ok()
}

/// The storage id of a volume id (`PVE::Storage::parse_volume_id`): the part before the
/// first colon, if it looks like a storage id (`[a-z][a-z0-9_-]+`, any case).
pub fn storage_id(volid: &str) -> Option<&str> {
    let (storage, name) = volid.split_once(':')?;
    let mut chars = storage.chars();
    let first_ok = chars.next().is_some_and(|c| c.is_ascii_alphabetic());
    let rest_ok =
        storage.len() >= 2 && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    (first_ok && rest_ok && !name.is_empty()).then_some(storage)
}

/// Whether a volume name is a cloud-init image (`drive_is_cloudinit`).
pub fn is_cloudinit_volume(volume: &str) -> bool {
    let stem = QEMU_FORMATS
        .iter()
        .find_map(|format| {
            volume
                .strip_suffix(format)
                .and_then(|rest| rest.strip_suffix('.'))
                .filter(|rest| rest.ends_with("cloudinit"))
        })
        .unwrap_or(volume);
    let Some(before) = stem.strip_suffix("cloudinit") else {
        return false;
    };
    if before.ends_with([':', '/']) {
        return true;
    }
    // `vm-<digits>-` between the separator and `cloudinit`.
    let Some(before) = before.strip_suffix('-') else {
        return false;
    };
    let digits = before.len() - before.trim_end_matches(|c: char| c.is_ascii_digit()).len();
    if digits == 0 {
        return false;
    }
    before[..before.len() - digits]
        .strip_suffix("vm-")
        .is_some_and(|prefix| prefix.ends_with([':', '/']))
}

#[cfg(test)]
mod tests;
