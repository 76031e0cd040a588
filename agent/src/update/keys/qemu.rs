//! The qemu keys (`qm set`'s options, PVE 9) and their formats.

// NIC models (PVE's list, shared with the create checks); each also stands
// for `model=<m>,macaddr=<value>` (`virtio=<mac>`).
use pvectl_proto::guest_values::NIC_MODELS;

use super::Catalogue;
use crate::update::value::{Format, Props};

const MAX: i64 = i64::MAX;

const NET: Props = Props {
    default_key: Some("model"),
    keys: &[
        ("model", Format::Enum(NIC_MODELS)),
        ("macaddr", Format::Mac),
        ("bridge", Format::Word),
        ("firewall", Format::Bool),
        ("link_down", Format::Bool),
        ("mtu", Format::Int { min: 1, max: 65520 }),
        ("queues", Format::Int { min: 0, max: 64 }),
        (
            "rate",
            Format::Number {
                min: 0.0,
                max: f64::MAX,
            },
        ),
        ("tag", Format::Int { min: 1, max: 4094 }),
        ("trunks", Format::Vlans),
    ],
    required: &["model"],
    key_aliases: NIC_MODELS,
    alias_value_key: "macaddr",
};

const MEMORY: Props = Props {
    default_key: Some("current"),
    keys: &[("current", Format::Int { min: 16, max: MAX })],
    required: &["current"],
    key_aliases: &[],
    alias_value_key: "",
};

const AGENT: Props = Props {
    default_key: Some("enabled"),
    keys: &[
        ("enabled", Format::Bool),
        ("freeze-fs", Format::Bool),
        ("freeze-fs-on-backup", Format::Bool),
        ("guest-fsfreeze", Format::Bool),
        ("fstrim_cloned_disks", Format::Bool),
        ("type", Format::Enum(&["virtio", "isa"])),
    ],
    required: &[],
    key_aliases: &[],
    alias_value_key: "",
};

pub(super) const CATALOGUE: Catalogue = Catalogue {
    article: "a VM",
    keys: &[
        ("acpi", Format::Bool),
        ("affinity", Format::Text),
        ("agent", Format::Props(&AGENT)),
        ("allow-ksm", Format::Bool),
        ("amd-sev", Format::Text),
        ("arch", Format::Enum(&["x86_64", "aarch64"])),
        ("args", Format::Text),
        ("audio0", Format::Text),
        ("autostart", Format::Bool),
        ("balloon", Format::Int { min: 0, max: MAX }),
        ("bios", Format::Enum(&["seabios", "ovmf"])),
        ("boot", Format::Text),
        ("bootdisk", Format::Text),
        ("cdrom", Format::Text),
        ("cicustom", Format::Text),
        ("cipassword", Format::Text),
        (
            "citype",
            Format::Enum(&["configdrive2", "nocloud", "opennebula"]),
        ),
        ("ciupgrade", Format::Bool),
        ("ciuser", Format::Text),
        ("cores", Format::Int { min: 1, max: MAX }),
        ("cpu", Format::Text),
        (
            "cpulimit",
            Format::Number {
                min: 0.0,
                max: 128.0,
            },
        ),
        (
            "cpuunits",
            Format::Int {
                min: 1,
                max: 262144,
            },
        ),
        ("description", Format::Description),
        ("efidisk0", Format::Text),
        ("freeze", Format::Bool),
        ("hookscript", Format::Text),
        ("hotplug", Format::Text),
        ("hugepages", Format::Enum(&["any", "2", "1024"])),
        ("intel-tdx", Format::Text),
        ("ivshmem", Format::Text),
        ("keephugepages", Format::Bool),
        (
            "keyboard",
            Format::Enum(&[
                "de", "de-ch", "da", "en-gb", "en-us", "es", "fi", "fr", "fr-be", "fr-ca", "fr-ch",
                "hu", "is", "it", "ja", "lt", "mk", "nl", "no", "pl", "pt", "pt-br", "sv", "sl",
                "tr",
            ]),
        ),
        ("kvm", Format::Bool),
        ("localtime", Format::Bool),
        ("machine", Format::Text),
        ("memory", Format::Props(&MEMORY)),
        (
            "migrate_downtime",
            Format::Number {
                min: 0.0,
                max: f64::MAX,
            },
        ),
        ("migrate_speed", Format::Int { min: 0, max: MAX }),
        ("name", Format::DnsName),
        ("nameserver", Format::Text),
        ("numa", Format::Bool),
        ("onboot", Format::Bool),
        (
            "ostype",
            Format::Enum(&[
                "other", "wxp", "w2k", "w2k3", "w2k8", "wvista", "win7", "win8", "win10", "win11",
                "l24", "l26", "solaris",
            ]),
        ),
        ("protection", Format::Bool),
        ("reboot", Format::Bool),
        ("rng0", Format::Text),
        (
            "scsihw",
            Format::Enum(&[
                "lsi",
                "lsi53c810",
                "virtio-scsi-pci",
                "virtio-scsi-single",
                "megasas",
                "pvscsi",
            ]),
        ),
        ("searchdomain", Format::Text),
        ("shares", Format::Int { min: 0, max: 50000 }),
        ("smbios1", Format::Text),
        ("smp", Format::Int { min: 1, max: MAX }),
        ("sockets", Format::Int { min: 1, max: MAX }),
        ("spice_enhancements", Format::Text),
        ("sshkeys", Format::Text),
        ("startdate", Format::Text),
        ("startup", Format::Text),
        ("tablet", Format::Bool),
        ("tags", Format::Tags),
        ("tdf", Format::Bool),
        ("tpmstate0", Format::Text),
        ("vcpus", Format::Int { min: 1, max: MAX }),
        ("vga", Format::Text),
        ("vmgenid", Format::Text),
        ("vmstatestorage", Format::Text),
        ("watchdog", Format::Text),
    ],
    families: &[
        ("hostpci", 16, Format::Text),
        ("ide", 4, Format::Text),
        ("ipconfig", 32, Format::Text),
        ("net", 32, Format::Props(&NET)),
        ("numa", 8, Format::Text),
        ("parallel", 3, Format::Text),
        ("sata", 6, Format::Text),
        ("scsi", 31, Format::Text),
        ("serial", 4, Format::Text),
        ("unused", 256, Format::Text),
        ("usb", 14, Format::Text),
        ("virtio", 16, Format::Text),
        ("virtiofs", 10, Format::Text),
    ],
    refused: &[
        (
            "lock",
            "PVE sets it while a task runs; a stale lock is removed with `qm unlock`",
        ),
        (
            "template",
            "a VM becomes a template through PVE's template action, which converts its disks",
        ),
        ("meta", "PVE writes it"),
        ("parent", "PVE writes it for snapshots"),
        ("snaptime", "PVE writes it for snapshots"),
        ("vmstate", "PVE writes it for snapshots and hibernation"),
        ("runningcpu", "PVE writes it for the running VM"),
        ("runningmachine", "PVE writes it for the running VM"),
    ],
};
