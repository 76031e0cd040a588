//! The container keys (`pct set`'s options, PVE 9) and their formats.

use super::Catalogue;
use crate::update::value::{Format, Props};

const MAX: i64 = i64::MAX;

const NET: Props = Props {
    default_key: None,
    keys: &[
        ("name", Format::Word),
        ("bridge", Format::Word),
        ("firewall", Format::Bool),
        ("gw", Format::Ipv4),
        ("gw6", Format::Ipv6),
        ("host-managed", Format::Bool),
        ("hwaddr", Format::Mac),
        ("ip", Format::Ipv4Config),
        ("ip6", Format::Ipv6Config),
        ("link_down", Format::Bool),
        (
            "mtu",
            Format::Int {
                min: 64,
                max: 65535,
            },
        ),
        (
            "rate",
            Format::Number {
                min: 0.0,
                max: f64::MAX,
            },
        ),
        ("tag", Format::Int { min: 1, max: 4094 }),
        ("trunks", Format::Vlans),
        ("type", Format::Enum(&["veth"])),
    ],
    required: &["name"],
    key_aliases: &[],
    alias_value_key: "",
};

const FEATURES: Props = Props {
    default_key: None,
    keys: &[
        ("force_rw_sys", Format::Bool),
        ("fuse", Format::Bool),
        ("keyctl", Format::Bool),
        ("mknod", Format::Bool),
        ("mount", Format::Text),
        ("nesting", Format::Bool),
    ],
    required: &[],
    key_aliases: &[],
    alias_value_key: "",
};

pub(super) const CATALOGUE: Catalogue = Catalogue {
    article: "a container",
    keys: &[
        (
            "arch",
            Format::Enum(&["amd64", "i386", "arm64", "armhf", "riscv32", "riscv64"]),
        ),
        ("cmode", Format::Enum(&["shell", "console", "tty"])),
        ("console", Format::Bool),
        ("cores", Format::Int { min: 1, max: 8192 }),
        (
            "cpulimit",
            Format::Number {
                min: 0.0,
                max: 8192.0,
            },
        ),
        (
            "cpuunits",
            Format::Int {
                min: 0,
                max: 500000,
            },
        ),
        ("debug", Format::Bool),
        ("description", Format::Description),
        ("entrypoint", Format::Text),
        ("env", Format::Text),
        ("features", Format::Props(&FEATURES)),
        ("hookscript", Format::Text),
        ("hostname", Format::DnsName),
        ("memory", Format::Int { min: 16, max: MAX }),
        ("nameserver", Format::Text),
        ("onboot", Format::Bool),
        (
            "ostype",
            Format::Enum(&[
                "debian",
                "devuan",
                "ubuntu",
                "centos",
                "fedora",
                "opensuse",
                "archlinux",
                "alpine",
                "gentoo",
                "nixos",
                "unmanaged",
            ]),
        ),
        ("protection", Format::Bool),
        ("rootfs", Format::Text),
        ("searchdomain", Format::Text),
        ("startup", Format::Text),
        ("swap", Format::Int { min: 0, max: MAX }),
        ("tags", Format::Tags),
        ("timezone", Format::Text),
        ("tty", Format::Int { min: 0, max: 6 }),
    ],
    families: &[
        ("dev", 256, Format::Text),
        ("mp", 256, Format::Text),
        ("net", 32, Format::Props(&NET)),
        ("unused", 256, Format::Text),
    ],
    refused: &[
        (
            "lock",
            "PVE sets it while a task runs; a stale lock is removed with `pct unlock`",
        ),
        (
            "template",
            "a container becomes a template through PVE's template action",
        ),
        ("unprivileged", "it is fixed when the container is created"),
        ("parent", "PVE writes it for snapshots"),
        ("snaptime", "PVE writes it for snapshots"),
    ],
};
