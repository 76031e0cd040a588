//! A config's disks and its boot disk, for validating templates before a clone.
//!
//! The boot disk follows PVE's `bootdisk_size` (qemu-server `Drive.pm`): the devices of
//! `boot: order=...`, or with a legacy `boot` (or none) the `bootdisk:` key; entries that
//! are not drives (`net0`) are ignored, and the first present drive that parses and is not
//! a CD-ROM wins. Where PVE then has no answer because neither `boot` nor `bootdisk` is set,
//! this falls back to PVE's default device order (`resolve_first_disk`: ide, scsi, virtio,
//! sata), the order PVE writes into `boot` when it creates a VM; [`BootDiskSource`] says
//! which rule chose. Stricter than PVE, EFI and TPM state disks never count, and neither do
//! the pseudo volumes `none`/`cdrom` or cloud-init volumes without `media=cdrom`.

use super::{ConfigValueError, GuestConfig, GuestKind, Section};
use crate::pmxcfs::drive::{Drive, DriveError};
use crate::pmxcfs::property_string::{PropertyString, PropertyStringFormat};
use crate::pmxcfs::text::{is_truthy, split_list};

/// The bus (key prefix) of a disk; ordered as PVE lists drives.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum DiskBus {
    Ide,
    Scsi,
    Virtio,
    Sata,
    EfiDisk,
    TpmState,
    /// A container's root file system (`rootfs`).
    RootFs,
    /// A container mount point (`mpN`).
    MountPoint,
    /// A volume no longer attached (`unusedN`).
    Unused,
}

impl DiskBus {
    const QEMU: [Self; 7] = [
        Self::Ide,
        Self::Scsi,
        Self::Virtio,
        Self::Sata,
        Self::EfiDisk,
        Self::TpmState,
        Self::Unused,
    ];
    const LXC: [Self; 3] = [Self::RootFs, Self::MountPoint, Self::Unused];

    /// The key prefix: `scsi`, `mp`, `unused`, ... (`rootfs` has no index).
    pub fn prefix(self) -> &'static str {
        match self {
            Self::Ide => "ide",
            Self::Scsi => "scsi",
            Self::Virtio => "virtio",
            Self::Sata => "sata",
            Self::EfiDisk => "efidisk",
            Self::TpmState => "tpmstate",
            Self::RootFs => "rootfs",
            Self::MountPoint => "mp",
            Self::Unused => "unused",
        }
    }

    fn from_prefix(kind: GuestKind, prefix: &str) -> Option<Self> {
        let buses: &[Self] = match kind {
            GuestKind::Qemu => &Self::QEMU,
            GuestKind::Lxc => &Self::LXC,
        };
        buses
            .iter()
            .copied()
            .find(|bus| *bus != Self::RootFs && bus.prefix() == prefix)
    }

    fn max_index(self) -> u16 {
        match self {
            Self::Ide => 3,
            Self::Scsi => 30,
            Self::Virtio => 15,
            Self::Sata => 5,
            Self::EfiDisk | Self::TpmState | Self::RootFs => 0,
            Self::MountPoint | Self::Unused => 255,
        }
    }
}

/// One disk of a config.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GuestDisk {
    /// The option key, e.g. `scsi0`, `rootfs`, `unused2`.
    pub key: String,
    pub bus: DiskBus,
    pub index: u16,
    pub drive: Drive,
}

/// A disk option whose value is not a valid drive.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("disk `{key}` has invalid value `{value}`: {source}")]
pub struct DiskError {
    pub key: String,
    pub value: String,
    #[source]
    pub source: DriveError,
}

/// The boot disk and the rule that chose it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BootDisk {
    pub disk: GuestDisk,
    pub source: BootDiskSource,
}

/// Which rule chose the boot disk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BootDiskSource {
    /// `boot: order=...`.
    BootOrder,
    /// The legacy `bootdisk:` key.
    LegacyBootdisk,
    /// Neither `boot: order=` nor `bootdisk:` is set: PVE's default device order.
    DefaultOrder,
    /// A container's `rootfs`.
    RootFs,
}

/// The disk slot of an option key (`scsi3` → SCSI, 3), if the key names a disk.
pub fn disk_slot(kind: GuestKind, key: &str) -> Option<(DiskBus, u16)> {
    if kind == GuestKind::Lxc && key == "rootfs" {
        return Some((DiskBus::RootFs, 0));
    }
    let digits_at = key.find(|c: char| c.is_ascii_digit())?;
    let (prefix, number) = key.split_at(digits_at);
    let bus = DiskBus::from_prefix(kind, prefix)?;
    let canonical = number.bytes().all(|b| b.is_ascii_digit())
        && (number.len() == 1 || !number.starts_with('0'));
    let index: u16 = number.parse().ok().filter(|_| canonical)?;
    (index <= bus.max_index()).then_some((bus, index))
}

impl Section {
    /// The disks of this section (drives, EFI/TPM disks, mount points, unused volumes), in
    /// PVE's drive order. Fails on the first disk whose value is not a valid drive.
    pub fn disks(&self, kind: GuestKind) -> Result<Vec<GuestDisk>, DiskError> {
        let mut disks = Vec::new();
        for (key, value) in &self.options {
            let Some((bus, index)) = disk_slot(kind, key) else {
                continue;
            };
            let drive = Drive::parse(value).map_err(|source| DiskError {
                key: key.clone(),
                value: value.clone(),
                source,
            })?;
            disks.push(GuestDisk {
                key: key.clone(),
                bus,
                index,
                drive,
            });
        }
        disks.sort_by_key(|disk| (disk.bus, disk.index));
        Ok(disks)
    }
}

impl GuestConfig {
    /// The disks of the current configuration (see [`Section::disks`]).
    pub fn disks(&self) -> Result<Vec<GuestDisk>, DiskError> {
        self.main.disks(self.kind)
    }

    /// The disk the guest boots from (see the module docs for the rules), or `None` if it
    /// has none. Fails only if `boot` is not a valid boot setting.
    pub fn boot_disk(&self) -> Result<Option<BootDisk>, ConfigValueError> {
        if self.kind == GuestKind::Lxc {
            let rootfs = self
                .get("rootfs")
                .and_then(|value| self.boot_candidate("rootfs", value));
            return Ok(rootfs.map(|disk| BootDisk {
                disk,
                source: BootDiskSource::RootFs,
            }));
        }
        let boot = self.get("boot").filter(|value| is_truthy(Some(value)));
        let order = match boot {
            Some(value) => boot_order(value)?,
            None => None,
        };
        let (keys, source) = match (order, self.get("bootdisk")) {
            (Some(order), _) => (order, BootDiskSource::BootOrder),
            (None, Some(bootdisk)) if is_truthy(Some(bootdisk)) => {
                (vec![bootdisk.to_owned()], BootDiskSource::LegacyBootdisk)
            }
            (None, _) => (default_order(), BootDiskSource::DefaultOrder),
        };
        let disk = keys.iter().find_map(|key| {
            let value = self.get(key).filter(|value| is_truthy(Some(value)))?;
            self.boot_candidate(key, value)
        });
        Ok(disk.map(|disk| BootDisk { disk, source }))
    }

    /// The disk at `key` if it can be booted from.
    fn boot_candidate(&self, key: &str, value: &str) -> Option<GuestDisk> {
        let (bus, index) = disk_slot(self.kind, key)?;
        if matches!(bus, DiskBus::Unused | DiskBus::EfiDisk | DiskBus::TpmState) {
            return None;
        }
        let drive = Drive::parse(value).ok()?;
        if drive.is_cdrom() || drive.is_cloudinit() || drive.volume.is_empty() {
            return None;
        }
        Some(GuestDisk {
            key: key.to_owned(),
            bus,
            index,
            drive,
        })
    }
}

/// The device list of `boot: order=...`, or `None` for a legacy `boot: cdn` (which defers
/// to `bootdisk`).
fn boot_order(value: &str) -> Result<Option<Vec<String>>, ConfigValueError> {
    let invalid = || ConfigValueError {
        key: "boot".to_owned(),
        value: value.to_owned(),
        expected: "a boot order like `order=scsi0;net0` (or legacy `cdn`)",
    };
    let format = PropertyStringFormat {
        default_key: Some("legacy"),
        aliases: &[],
    };
    let parsed = PropertyString::parse(value, format).map_err(|_| invalid())?;
    if parsed
        .entries()
        .iter()
        .any(|(key, _)| key != "legacy" && key != "order")
    {
        return Err(invalid());
    }
    if let Some(legacy) = parsed.get("legacy") {
        let valid = (1..=4).contains(&legacy.len()) && legacy.chars().all(|c| "acdn".contains(c));
        return if valid { Ok(None) } else { Err(invalid()) };
    }
    let order = parsed.get("order").map(split_list).unwrap_or_default();
    Ok(Some(order.into_iter().map(str::to_owned).collect()))
}

/// PVE's default boot device order for disks: ide, scsi, virtio, sata.
fn default_order() -> Vec<String> {
    [DiskBus::Ide, DiskBus::Scsi, DiskBus::Virtio, DiskBus::Sata]
        .into_iter()
        .flat_map(|bus| (0..=bus.max_index()).map(move |index| format!("{}{index}", bus.prefix())))
        .collect()
}
