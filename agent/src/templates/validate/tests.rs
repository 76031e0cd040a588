use super::*;
use crate::pmxcfs::{GuestConfig, GuestKind};

const TEMPLATE: &str = "boot: order=scsi0\nide2: local-lvm:vm-9100-cloudinit,media=cdrom\n\
    name: ubuntu\nscsi0: local-lvm:base-9100-disk-0,size=4G\ntemplate: 1\n";

fn template(text: &str) -> TemplateInfo {
    let parsed = GuestConfig::parse(GuestKind::Qemu, text.as_bytes()).unwrap();
    TemplateInfo {
        vmid: 9100,
        node: "pve1".into(),
        config: parsed.config,
        digest: parsed.digest,
        in_node_range: true,
    }
}

fn storage(kind: &str, avail: u64) -> StorageStatus {
    serde_json::from_value(serde_json::json!({
        "type": kind, "content": "images,rootdir", "active": 1, "enabled": 1, "avail": avail
    }))
    .unwrap()
}

fn facts(avail: u64) -> StorageFacts {
    let volumes = ["local-lvm:base-9100-disk-0", "local-lvm:vm-9100-cloudinit"]
        .into_iter()
        .map(String::from)
        .collect();
    StorageFacts {
        storages: [("local-lvm".to_string(), storage("lvmthin", avail))].into(),
        volumes: [("local-lvm".to_string(), Ok(volumes))].into(),
    }
}

fn codes(findings: &[Finding]) -> Vec<FindingCode> {
    findings.iter().map(|f| f.code).collect()
}

#[test]
fn a_sound_template_with_room_has_no_findings() {
    let found = findings(&template(TEMPLATE), &facts(100 << 30), None, false, "pve1");
    assert!(found.is_empty(), "{found:?}");
    assert!(refusal(&found).is_none());
}

#[test]
fn a_template_without_boot_disk_is_refused_with_the_fix() {
    let text = "ide2: local-lvm:vm-9100-cloudinit,media=cdrom\nname: broken\ntemplate: 1\n";
    let mut template = template(text);
    template.vmid = 9205;
    let found = findings(&template, &facts(100 << 30), None, false, "pve1");
    assert_eq!(codes(&found), [FindingCode::NoBootDisk]);
    let err = refusal(&found).unwrap();
    assert_eq!(err.message, "template 9205 has no boot disk: recreate it");
    assert_eq!(err.detail.findings.len(), 1);
}

#[test]
fn a_lock_and_a_missing_volume_are_both_reported() {
    let text = format!("{TEMPLATE}lock: backup\n");
    let mut facts = facts(100 << 30);
    facts.volumes.insert(
        "local-lvm".into(),
        Ok(["local-lvm:vm-9100-cloudinit".to_string()].into()),
    );
    let found = findings(&template(&text), &facts, None, false, "pve1");
    assert_eq!(
        codes(&found),
        [FindingCode::Locked, FindingCode::VolumeMissing]
    );
    assert!(found[0].fix.contains("qm unlock 9100"));
    assert_eq!(found[1].key, "scsi0");
}

#[test]
fn a_full_clone_needs_room_for_every_copied_disk_but_a_linked_one_does_not() {
    let found = findings(&template(TEMPLATE), &facts(1 << 30), None, false, "pve1");
    assert_eq!(codes(&found), [FindingCode::StorageFull]);
    assert!(
        found[0].cause.contains("1.0 GiB free"),
        "{}",
        found[0].cause
    );
    let linked = findings(&template(TEMPLATE), &facts(1 << 30), None, true, "pve1");
    assert!(linked.is_empty(), "{linked:?}");
}

#[test]
fn an_unknown_target_storage_names_the_ones_that_exist() {
    let found = findings(
        &template(TEMPLATE),
        &facts(100 << 30),
        Some("fast"),
        false,
        "pve1",
    );
    assert_eq!(codes(&found), [FindingCode::StorageUnavailable]);
    assert!(found[0].fix.contains("local-lvm"));
}

#[test]
fn linked_clones_need_a_template_on_a_storage_that_can_link() {
    let text = TEMPLATE.replace("template: 1\n", "");
    let found = findings(&template(&text), &facts(100 << 30), None, true, "pve1");
    assert_eq!(
        codes(&found),
        [
            FindingCode::NotATemplate,
            FindingCode::LinkedCloneUnsupported
        ]
    );
    let mut thick = facts(100 << 30);
    thick
        .storages
        .insert("local-lvm".into(), storage("lvm", 100 << 30));
    let found = findings(&template(TEMPLATE), &thick, None, true, "pve1");
    assert_eq!(codes(&found), [FindingCode::LinkedCloneUnsupported]);
    assert!(supports_linked_clone(
        "dir",
        "local:9100/base-9100-disk-0.qcow2"
    ));
    assert!(!supports_linked_clone(
        "dir",
        "local:9100/base-9100-disk-0.raw"
    ));
}

#[test]
fn a_template_outside_the_range_is_only_a_warning() {
    let mut template = template(TEMPLATE);
    template.in_node_range = false;
    let found = findings(&template, &facts(100 << 30), None, false, "pve1");
    assert_eq!(codes(&found), [FindingCode::OutsideNodeRange]);
    assert!(!found[0].is_error());
    assert!(refusal(&found).is_none());
}
