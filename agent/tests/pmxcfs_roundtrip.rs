//! Round-trip properties of the pmxcfs guest-config reader and writer, over many generated
//! configs and files. The generators are seeded, so every run checks the same cases.
//!
//! - parse → write → parse gives the same config, for arbitrary (also broken) file text;
//! - write → parse gives back any config the writer accepts, and writing is stable;
//! - description text survives escaping; drive sizes read back in bytes.

use pvectl_agent::pmxcfs::description;
use pvectl_agent::pmxcfs::drive::parse_size;
use pvectl_agent::pmxcfs::{GuestConfig, GuestKind, Pending, PendingDelete, Section};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

const CASES: u64 = 1500;

fn pick<'a>(rng: &mut ChaCha8Rng, items: &[&'a str]) -> &'a str {
    items[rng.random_range(0..items.len())]
}

/// Text with the characters that matter: separators, escapes, UTF-8, control characters.
fn random_text(rng: &mut ChaCha8Rng, max_len: usize) -> String {
    const PIECES: &[&str] = &[
        "a",
        "Z",
        "0",
        "7",
        " ",
        " ",
        ":",
        "%",
        "%3A",
        "%25",
        "%zz",
        "=",
        ",",
        ";",
        "#",
        "[",
        "]",
        "!",
        "-",
        "_",
        ".",
        "/",
        "\t",
        "\r",
        "\x01",
        "\x7f",
        "ü",
        "€",
        "日本",
        "description:",
        "delete:",
        "lxc.",
        "[PENDING]",
    ];
    let len = rng.random_range(0..=max_len);
    (0..len).map(|_| pick(rng, PIECES)).collect()
}

fn random_key(rng: &mut ChaCha8Rng, kind: GuestKind) -> String {
    const KNOWN: &[&str] = &[
        "name", "memory", "cores", "boot", "bootdisk", "scsi0", "ide2", "net0", "tags", "lock",
        "template", "parent", "snaptime", "vmstate", "unused12", "hostname", "rootfs", "mp0",
    ];
    if rng.random_bool(0.6) {
        return pick(rng, KNOWN).to_owned();
    }
    let mut key = String::from(pick(rng, &["a", "k", "x", "net", "scsi"]));
    for _ in 0..rng.random_range(0..6) {
        let dash = kind == GuestKind::Qemu && rng.random_bool(0.2);
        key.push_str(if dash {
            "-"
        } else {
            pick(rng, &["a", "b", "_", "z"])
        });
    }
    for _ in 0..rng.random_range(0..3) {
        key.push_str(pick(rng, &["0", "1", "9"]));
    }
    key
}

/// A value the writer can write: trimmed and non-empty, or a single whitespace character.
fn random_value(rng: &mut ChaCha8Rng) -> String {
    if rng.random_bool(0.05) {
        return pick(rng, &[" ", "\t"]).to_owned();
    }
    let text = random_text(rng, 12);
    let trimmed = text.trim_matches(|c: char| c.is_ascii_whitespace() || c == '\x0b');
    if trimmed.is_empty() {
        "v".to_owned()
    } else {
        trimmed.to_owned()
    }
}

/// A description as the parser leaves it (trimmed per kind; empty only in qemu pending).
fn random_description(rng: &mut ChaCha8Rng, kind: GuestKind, pending: bool) -> Option<String> {
    if rng.random_bool(0.4) {
        return None;
    }
    let lines: Vec<String> = (0..rng.random_range(1..4))
        .map(|_| random_text(rng, 10))
        .collect();
    let text = lines.join("\n");
    let trimmed = match kind {
        GuestKind::Qemu => text.trim_end_matches(|c: char| c.is_ascii_whitespace() || c == '\x0b'),
        GuestKind::Lxc => text.trim_end_matches('\n'),
    };
    match (trimmed.is_empty(), kind == GuestKind::Qemu && pending) {
        (false, _) => Some(trimmed.to_owned()),
        (true, true) => Some(String::new()),
        (true, false) => None,
    }
}

fn random_section(rng: &mut ChaCha8Rng, kind: GuestKind, main: bool, pending: bool) -> Section {
    let mut section = Section {
        description: random_description(rng, kind, pending),
        ..Section::default()
    };
    for _ in 0..rng.random_range(0..8) {
        let key = random_key(rng, kind);
        if main && key == "snapstate" {
            continue;
        }
        section.options.insert(key, random_value(rng));
    }
    if kind == GuestKind::Lxc {
        for _ in 0..rng.random_range(0..3) {
            let key = format!(
                "lxc.{}",
                pick(
                    rng,
                    &[
                        "mount.entry",
                        "cgroup2.devices.allow",
                        "apparmor.profile",
                        "idmap"
                    ]
                )
            );
            let value = random_value(rng);
            let value = if rng.random_bool(0.1) {
                String::new()
            } else {
                value
            };
            section.lxc.push((key, value.trim().to_owned()));
        }
    }
    section
}

fn random_snapshot_name(rng: &mut ChaCha8Rng) -> String {
    let mut name = String::from(pick(rng, &["s", "Snap", "before-upgrade", "x"]));
    for _ in 0..rng.random_range(1..5) {
        name.push_str(pick(rng, &["a", "B", "1", "_", "-"]));
    }
    name
}

fn random_config(rng: &mut ChaCha8Rng) -> GuestConfig {
    let kind = if rng.random_bool(0.5) {
        GuestKind::Qemu
    } else {
        GuestKind::Lxc
    };
    let mut config = GuestConfig::new(kind);
    config.main = random_section(rng, kind, true, false);
    if rng.random_bool(0.5) {
        let mut deletes = std::collections::BTreeMap::new();
        for _ in 0..rng.random_range(0..4) {
            deletes.insert(random_key(rng, kind), rng.random_bool(0.3));
        }
        config.pending = Pending {
            values: random_section(rng, kind, false, true),
            delete: deletes
                .into_iter()
                .map(|(key, force)| PendingDelete { key, force })
                .collect(),
        };
    }
    if kind == GuestKind::Qemu {
        for name in ["cloudinit", "fleecing", "CloudInit"] {
            if rng.random_bool(0.3) {
                config
                    .special
                    .insert(name.to_owned(), random_section(rng, kind, false, false));
            }
        }
    }
    for _ in 0..rng.random_range(0..3) {
        let section = random_section(rng, kind, false, false);
        config.snapshots.insert(random_snapshot_name(rng), section);
    }
    config
}

#[test]
fn every_config_the_writer_accepts_reads_back_unchanged() {
    let mut rng = ChaCha8Rng::seed_from_u64(0x5eed_0001);
    for case in 0..CASES {
        let config = random_config(&mut rng);
        let text = config
            .render()
            .unwrap_or_else(|err| panic!("case {case}: {err}\n{config:#?}"));
        let again = GuestConfig::parse_strict(config.kind, text.as_bytes())
            .unwrap_or_else(|err| panic!("case {case}: {err}\n{text}"));
        assert_eq!(again, config, "case {case}:\n{text}");
        assert_eq!(again.render().unwrap(), text, "case {case}");
    }
}

/// One line of a config file, valid or not.
fn random_line(rng: &mut ChaCha8Rng, kind: GuestKind) -> String {
    let padding = |rng: &mut ChaCha8Rng| pick(rng, &["", "", " ", "\t", "\r", "  "]).to_owned();
    match rng.random_range(0..14) {
        0..=4 => {
            let key = random_key(rng, kind);
            let gap = padding(rng);
            let value = random_text(rng, 10);
            let tail = padding(rng);
            format!("{key}:{gap}{value}{tail}")
        }
        5 => format!("#{}", random_text(rng, 12)),
        6 => format!("description:{}{}", padding(rng), random_text(rng, 8)),
        7 => {
            let keys: Vec<String> = (0..rng.random_range(0..4))
                .map(|_| format!("{}{}", pick(rng, &["", "!"]), random_key(rng, kind)))
                .collect();
            format!("delete: {}", keys.join(pick(rng, &[",", ";", " ", ", "])))
        }
        8 => {
            let name = random_snapshot_name(rng);
            let header = pick(
                rng,
                &[
                    "[PENDING]",
                    "[pve:pending]",
                    "[special:cloudinit]",
                    "[special:other]",
                    "[:3]",
                    "[a]",
                ],
            );
            let header = if rng.random_bool(0.5) {
                format!("[{name}]")
            } else {
                header.to_owned()
            };
            format!("{header}{}", padding(rng))
        }
        9 => format!(
            "lxc.{}{}{}",
            pick(rng, &["mount.entry", "idmap", "x"]),
            pick(rng, &[":", " =", "=", ": ", ":"]),
            random_text(rng, 8)
        ),
        10 => padding(rng),
        11 => format!("snapstate: {}", pick(rng, &["prepare", "delete"])),
        _ => random_text(rng, 14),
    }
}

#[test]
fn parsing_any_text_then_writing_and_parsing_again_gives_the_same_config() {
    let mut rng = ChaCha8Rng::seed_from_u64(0x5eed_0002);
    for case in 0..CASES {
        let kind = if rng.random_bool(0.5) {
            GuestKind::Qemu
        } else {
            GuestKind::Lxc
        };
        let lines: Vec<String> = (0..rng.random_range(0..25))
            .map(|_| random_line(&mut rng, kind))
            .collect();
        let text = lines.join("\n");
        let first = GuestConfig::parse(kind, text.as_bytes())
            .unwrap_or_else(|err| panic!("case {case}: {err}\n{text:?}"))
            .config;
        let written = first
            .render()
            .unwrap_or_else(|err| panic!("case {case}: {err}\n{text:?}"));
        let second = GuestConfig::parse_strict(kind, written.as_bytes()).unwrap_or_else(|err| {
            panic!("case {case}: {err}\ninput {text:?}\nwritten {written:?}")
        });
        assert_eq!(
            second, first,
            "case {case}\ninput {text:?}\nwritten {written:?}"
        );
    }
}

#[test]
fn description_lines_survive_escaping() {
    let mut rng = ChaCha8Rng::seed_from_u64(0x5eed_0003);
    for _ in 0..CASES {
        let line = random_text(&mut rng, 20);
        let escaped = description::encode(&line);
        assert!(
            escaped
                .bytes()
                .all(|b| (0x20..0x7f).contains(&b) && b != b':'),
            "{escaped:?}"
        );
        assert_eq!(description::decode(&escaped), line);
    }
}

#[test]
fn drive_sizes_read_back_in_bytes() {
    let mut rng = ChaCha8Rng::seed_from_u64(0x5eed_0004);
    for _ in 0..CASES {
        let number: u64 = rng.random_range(0..1 << 20);
        let (unit, factor) = [
            ("", 1u64),
            ("K", 1 << 10),
            ("M", 1 << 20),
            ("G", 1 << 30),
            ("T", 1 << 40),
        ][rng.random_range(0..5)];
        assert_eq!(
            parse_size(&format!("{number}{unit}")),
            Some(number * factor)
        );
    }
}
