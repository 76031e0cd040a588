use super::*;
use pvectl_proto::v1::ErrorKind;

fn storage(content: &str, avail: u64) -> StorageStatus {
    serde_json::from_value(serde_json::json!({
        "type": "lvmthin", "content": content, "active": 1, "enabled": 1, "avail": avail
    }))
    .unwrap()
}

fn facts() -> NodeFacts {
    NodeFacts {
        storages: [
            (
                "local".to_string(),
                storage("iso,vztmpl,images,rootdir", 100 << 30),
            ),
            ("local-lvm".to_string(), storage("images,rootdir", 20 << 30)),
            ("backups".to_string(), storage("backup", 500 << 30)),
        ]
        .into(),
        volumes: [(
            ("local".to_string(), "iso".to_string()),
            ["local:iso/debian-12.iso".to_string()].into(),
        )]
        .into(),
        bridges: ["vmbr0".to_string()].into(),
    }
}

fn disk(key: &str, storage: &str, gib: u64) -> DiskNeed {
    DiskNeed {
        key: key.into(),
        storage: storage.into(),
        content: "images",
        bytes: gib << 30,
    }
}

#[test]
fn disks_volumes_and_bridges_that_exist_with_room_pass() {
    let needs = Needs {
        disks: vec![disk("scsi0", "local-lvm", 16), disk("scsi1", "local", 8)],
        volumes: vec![("local:iso/debian-12.iso".into(), "iso")],
        bridges: vec!["vmbr0".into()],
    };
    judge(&needs, &facts(), "pve1").unwrap();
    assert_eq!(
        needs.disk_storages().into_iter().collect::<Vec<_>>(),
        ["local", "local-lvm"]
    );
}

#[test]
fn an_unknown_storage_is_refused_naming_the_storages_that_hold_the_content() {
    let needs = Needs {
        disks: vec![disk("scsi0", "nope", 1)],
        ..Needs::default()
    };
    let err = judge(&needs, &facts(), "pve1").unwrap_err();
    assert_eq!(err.kind(), ErrorKind::RefusedBySafety);
    assert_eq!(
        err.message,
        "storage 'nope' of scsi0 does not exist on node pve1; its storages: backups, local, local-lvm"
    );
    assert_eq!(
        err.detail.hint,
        "name a storage that holds images: local, local-lvm"
    );
}

#[test]
fn a_storage_without_the_content_type_is_refused() {
    let needs = Needs {
        disks: vec![disk("scsi0", "backups", 1)],
        ..Needs::default()
    };
    let err = judge(&needs, &facts(), "pve1").unwrap_err();
    assert_eq!(
        err.message,
        "storage 'backups' of scsi0 cannot hold images (content: backup)"
    );
}

#[test]
fn disks_on_one_storage_need_room_together() {
    let needs = Needs {
        disks: vec![
            disk("scsi0", "local-lvm", 12),
            disk("scsi1", "local-lvm", 12),
        ],
        ..Needs::default()
    };
    let err = judge(&needs, &facts(), "pve1").unwrap_err();
    assert_eq!(err.kind(), ErrorKind::RefusedBySafety);
    assert_eq!(
        err.message,
        "storage 'local-lvm' has 20.0 GiB free on node pve1; scsi0 and scsi1 need 24.0 GiB"
    );
}

#[test]
fn a_missing_volume_or_bridge_is_not_found_naming_what_exists() {
    let needs = Needs {
        volumes: vec![("local:iso/nope.iso".into(), "iso")],
        ..Needs::default()
    };
    let err = judge(&needs, &facts(), "pve1").unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound);
    assert_eq!(
        err.message,
        "local:iso/nope.iso does not exist on node pve1; iso volumes on 'local': local:iso/debian-12.iso"
    );
    let needs = Needs {
        bridges: vec!["vmbr0".into(), "vmbr9".into()],
        ..Needs::default()
    };
    let err = judge(&needs, &facts(), "pve1").unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound);
    assert_eq!(
        err.message,
        "bridge 'vmbr9' does not exist on node pve1; its bridges: vmbr0"
    );
}

#[test]
fn a_volume_on_a_storage_without_its_content_type_is_refused() {
    let needs = Needs {
        volumes: vec![("local-lvm:vztmpl/debian.tar.zst".into(), "vztmpl")],
        ..Needs::default()
    };
    let err = judge(&needs, &facts(), "pve1").unwrap_err();
    assert_eq!(err.kind(), ErrorKind::RefusedBySafety);
    assert!(
        err.message.contains("cannot hold vztmpl"),
        "{}",
        err.message
    );
}
