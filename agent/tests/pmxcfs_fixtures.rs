//! The pmxcfs guest-config parser against PVE's own test configs
//! (`tests/fixtures/pve/pve-configs/{qemu,lxc}`, from qemu-server and pve-container).
//!
//! Every file in those folders is read; none is listed by hand. What is checked:
//! - every file parses, renders, and reads back as the same config, and rendering is stable;
//! - files PVE's writer produced (`snapshot-*`, `parse-config-expected__*`, and the
//!   `parse-config-input__*` that PVE's test expects to be written back unchanged) are
//!   reproduced byte for byte;
//! - for `parse-config-input__X` with a `parse-config-expected__X`, rendering the input gives
//!   the expected file, as PVE's `run_parse_config_tests.pl` checks. The file-format
//!   normalisations (a duplicate section replaces the earlier one, unknown sections are
//!   dropped) are matched exactly. One semantic normalisation is skipped by applying it to
//!   our result first: PVE's schema check drops a value of a boolean option that is not a
//!   boolean (`numa: verify meee~ :)` in `cloudinit-snapshot` and `verify-snapshot`).
//! - The other input/expected pairs are not about the file format and are not compared:
//!   `snapshot-input/expected` are the configs before and after snapshot operations, and
//!   `restore-config-input/expected` show how a restore remaps storages, drops `lock`,
//!   `parent`, unused disks and `#qmdump#map` lines. Both still go through the checks above.
//! - The lxc folder also holds three `resolv.conf` files (`test-*__etc__resolv.conf`), which
//!   are not guest configs; they only contain comments, so they parse as a description.

use std::fs;
use std::path::{Path, PathBuf};

use pvectl_agent::pmxcfs::{BootDiskSource, GuestConfig, GuestKind, Section};

struct Fixture {
    name: String,
    kind: GuestKind,
    bytes: Vec<u8>,
}

fn fixture_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures/pve/pve-configs")
}

fn fixtures() -> Vec<Fixture> {
    let mut all = Vec::new();
    for (folder, kind) in [("qemu", GuestKind::Qemu), ("lxc", GuestKind::Lxc)] {
        let mut paths: Vec<PathBuf> = fs::read_dir(fixture_dir().join(folder))
            .unwrap()
            .map(|entry| entry.unwrap().path())
            .collect();
        paths.sort();
        for path in paths {
            all.push(Fixture {
                name: format!("{folder}/{}", path.file_name().unwrap().to_string_lossy()),
                kind,
                bytes: fs::read(&path).unwrap(),
            });
        }
    }
    assert!(all.len() > 300, "fixtures missing: found {}", all.len());
    all
}

fn fixture(name: &str) -> Fixture {
    fixtures()
        .into_iter()
        .find(|fixture| fixture.name == name)
        .unwrap_or_else(|| panic!("no fixture {name}"))
}

fn parse(fixture: &Fixture) -> GuestConfig {
    GuestConfig::parse(fixture.kind, &fixture.bytes)
        .unwrap_or_else(|err| panic!("{}: {err}", fixture.name))
        .config
}

fn file_name(fixture: &Fixture) -> &str {
    fixture.name.split_once('/').unwrap().1
}

/// The `parse-config-expected__X` beside a `parse-config-input__X`.
fn expected_sibling<'a>(fixture: &Fixture, all: &'a [Fixture]) -> Option<&'a Fixture> {
    let case = file_name(fixture).strip_prefix("parse-config-input__")?;
    let wanted = format!("parse-config-expected__{case}");
    all.iter()
        .find(|other| other.kind == fixture.kind && file_name(other) == wanted)
}

#[test]
fn every_fixture_config_parses_renders_and_reads_back_the_same() {
    let mut failures = Vec::new();
    for fixture in fixtures() {
        let config = parse(&fixture);
        let rendered = match config.render() {
            Ok(text) => text,
            Err(err) => {
                failures.push(format!("{}: render: {err}", fixture.name));
                continue;
            }
        };
        match GuestConfig::parse_strict(fixture.kind, rendered.as_bytes()) {
            Ok(again) if again == config => {
                if again.render().unwrap() != rendered {
                    failures.push(format!("{}: rendering is not stable", fixture.name));
                }
            }
            Ok(_) => failures.push(format!("{}: reads back differently", fixture.name)),
            Err(err) => failures.push(format!("{}: rendered text rejected: {err}", fixture.name)),
        }
    }
    assert_eq!(failures, Vec::<String>::new());
}

#[test]
fn files_written_by_pve_are_reproduced_byte_for_byte() {
    let all = fixtures();
    let written_by_pve = all.iter().filter(|fixture| {
        let name = file_name(fixture);
        name.starts_with("snapshot-")
            || name.starts_with("parse-config-expected__")
            || (name.starts_with("parse-config-input__")
                && expected_sibling(fixture, &all).is_none())
    });
    let mut checked = 0;
    let mut failures = Vec::new();
    for fixture in written_by_pve {
        checked += 1;
        let rendered = parse(fixture).render().unwrap();
        if rendered.as_bytes() != fixture.bytes.as_slice() {
            failures.push(fixture.name.clone());
        }
    }
    assert!(checked > 150, "only {checked} files checked");
    assert_eq!(failures, Vec::<String>::new());
}

#[test]
fn parse_config_inputs_normalise_to_what_pve_writes() {
    let all = fixtures();
    let mut pairs = 0;
    for input in &all {
        let Some(expected) = expected_sibling(input, &all) else {
            continue;
        };
        pairs += 1;
        let mut config = parse(input);
        drop_non_boolean_values_of_boolean_options(&mut config);
        let rendered = config.render().unwrap();
        assert_eq!(
            rendered,
            String::from_utf8_lossy(&expected.bytes),
            "{} → {}",
            input.name,
            expected.name
        );
    }
    assert!(pairs >= 4, "only {pairs} pairs found");
}

/// PVE's schema check (not the file format) drops e.g. `numa: verify meee~ :)`; the
/// fixtures use only `numa` for this, so only the boolean options seen there are listed.
fn drop_non_boolean_values_of_boolean_options(config: &mut GuestConfig) {
    fn clean(section: &mut Section) {
        for key in ["numa"] {
            if section.flag(key).is_err() {
                section.options.remove(key);
            }
        }
    }
    clean(&mut config.main);
    clean(&mut config.pending.values);
    config.special.values_mut().for_each(clean);
    config.snapshots.values_mut().for_each(clean);
}

#[test]
fn only_files_pve_itself_normalises_have_issues_and_strict_mode_rejects_them() {
    let all = fixtures();
    let mut with_issues = Vec::new();
    for fixture in &all {
        let parsed = GuestConfig::parse(fixture.kind, &fixture.bytes).unwrap();
        if parsed.issues.is_empty() {
            assert!(GuestConfig::parse_strict(fixture.kind, &fixture.bytes).is_ok());
            continue;
        }
        with_issues.push(fixture.name.clone());
        assert!(
            expected_sibling(fixture, &all).is_some(),
            "{} has issues {:?} but PVE expects it unchanged",
            fixture.name,
            parsed.issues
        );
        let strict = GuestConfig::parse_strict(fixture.kind, &fixture.bytes);
        assert_eq!(strict, Err(parsed.issues[0].clone()), "{}", fixture.name);
    }
    assert!(
        !with_issues.is_empty(),
        "the odd fixtures should report issues"
    );
}

#[test]
fn the_digest_of_every_fixture_is_the_sha1_of_its_bytes() {
    for fixture in fixtures() {
        let parsed = GuestConfig::parse(fixture.kind, &fixture.bytes).unwrap();
        assert_eq!(parsed.digest.len(), 40, "{}", fixture.name);
        assert!(parsed.digest.bytes().all(|b| b.is_ascii_hexdigit()));
    }
    let parsed = GuestConfig::parse(GuestKind::Qemu, &fixture("qemu/cfg2cmd__ide.conf").bytes);
    assert_ne!(
        parsed.unwrap().digest,
        GuestConfig::parse(GuestKind::Qemu, &fixture("qemu/cfg2cmd__aio.conf").bytes)
            .unwrap()
            .digest
    );
}

#[test]
fn every_fixture_lists_its_disks_and_answers_the_boot_disk_question() {
    for fixture in fixtures() {
        let config = parse(&fixture);
        let disks = config
            .disks()
            .unwrap_or_else(|err| panic!("{}: {err}", fixture.name));
        let boot = config
            .boot_disk()
            .unwrap_or_else(|err| panic!("{}: {err}", fixture.name));
        if let Some(boot) = boot {
            assert!(disks.contains(&boot.disk), "{}", fixture.name);
            assert!(!boot.disk.drive.is_cdrom(), "{}", fixture.name);
        }
    }
}

fn boot_of(name: &str) -> Option<(String, BootDiskSource)> {
    let config = parse(&fixture(name));
    config
        .boot_disk()
        .unwrap()
        .map(|boot| (boot.disk.key, boot.source))
}

#[test]
fn pve_boot_order_fixtures_choose_the_disk_pve_would() {
    // order=virtio1;net0;scsi4;ide2
    assert_eq!(
        boot_of("qemu/cfg2cmd__bootorder.conf"),
        Some(("virtio1".into(), BootDiskSource::BootOrder))
    );
    // boot: ndca (legacy) with bootdisk: virtio1
    assert_eq!(
        boot_of("qemu/cfg2cmd__bootorder-legacy.conf"),
        Some(("virtio1".into(), BootDiskSource::LegacyBootdisk))
    );
    // `boot: ` (blank): no boot devices at all
    assert_eq!(boot_of("qemu/cfg2cmd__bootorder-empty.conf"), None);
    // order=scsi1;ide2;net0;ide1 with cdroms on ide1/ide2
    assert_eq!(
        boot_of("qemu/parse-config-input__snapshots.conf"),
        Some(("scsi1".into(), BootDiskSource::BootOrder))
    );
    // bootdisk: ide2 is a cdrom, so PVE finds no boot disk
    assert_eq!(
        boot_of("qemu/snapshot-input__rollback__qemu-server__101.conf"),
        None
    );
    let efi = parse(&fixture("qemu/parse-config-input__regular-vm-efi.conf"));
    let boot = efi.boot_disk().unwrap().unwrap();
    assert_eq!(boot.disk.key, "scsi0");
    assert_eq!(boot.disk.drive.size, Some(4 << 30));
    assert_eq!(boot.disk.drive.storage_id(), Some("rbdkvm"));
}

#[test]
fn fixture_facades_read_templates_locks_and_cloudinit_drives() {
    let template = parse(&fixture("qemu/cfg2cmd__simple1-template.conf"));
    assert_eq!(template.is_template(), Ok(true));
    let locked = parse(&fixture("qemu/parse-config-input__locked.conf"));
    assert_eq!(locked.lock(), Some("backup"));
    assert_eq!(locked.main.description.as_deref(), Some(" locked"));
    let plain = parse(&fixture("qemu/parse-config-input__plain.conf"));
    assert_eq!(plain.tags(), vec!["foo", "bar"]);
    assert_eq!(
        (plain.name(), plain.memory_mib()),
        (Some("apache"), Ok(Some(512)))
    );
    let cloudinit = parse(&fixture("qemu/parse-config-input__sections.conf"));
    let ide2 = cloudinit
        .disks()
        .unwrap()
        .into_iter()
        .find(|d| d.key == "ide2")
        .unwrap();
    assert!(ide2.drive.is_cloudinit() && ide2.drive.is_cdrom());
    assert!(cloudinit.has_pending());
    assert_eq!(
        cloudinit.snapshots["foo"].snaptime(),
        Ok(Some(1_737_548_747))
    );
    let container = parse(&fixture("lxc/snapshot-input__create__lxc__101.conf"));
    assert_eq!(container.name(), Some("test"));
    assert_eq!(container.memory_mib(), Ok(Some(2048)));
}

#[test]
fn resolv_conf_fixtures_are_not_guest_configs_but_parse_as_a_description() {
    let mut seen = 0;
    for fixture in fixtures()
        .iter()
        .filter(|f| f.name.ends_with("resolv.conf"))
    {
        seen += 1;
        let config = parse(fixture);
        assert!(config.main.options.is_empty(), "{}", fixture.name);
        assert!(
            config
                .main
                .description
                .as_deref()
                .unwrap()
                .starts_with(" Existing data")
        );
    }
    assert_eq!(seen, 3);
}
