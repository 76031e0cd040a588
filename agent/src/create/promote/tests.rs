use super::request::{check, check_shared};
use super::*;
use crate::pmxcfs::GuestConfig;
use crate::pve_api::StorageStatus;

fn source(text: &str) -> TemplateInfo {
    let parsed = GuestConfig::parse(GuestKind::Qemu, text.as_bytes()).unwrap();
    TemplateInfo {
        vmid: 101,
        node: "pve1".into(),
        config: parsed.config,
        digest: parsed.digest,
        in_node_range: false,
    }
}

fn facts() -> StorageFacts {
    let storage = |shared: u8| -> StorageStatus {
        serde_json::from_value(serde_json::json!({
            "type": "dir", "content": "images,iso", "active": 1, "enabled": 1, "shared": shared
        }))
        .unwrap()
    };
    StorageFacts {
        storages: [
            ("local-lvm".to_string(), storage(0)),
            ("shared".to_string(), storage(1)),
        ]
        .into(),
        volumes: Default::default(),
    }
}

#[test]
fn an_empty_node_means_the_answering_one_and_bad_values_are_refused() {
    let record = check(v1_request(101, ""), "pve1").unwrap();
    assert_eq!(record.node, "pve1");
    assert_eq!(record.name, "");
    assert!(check(v1_request(42, "pve2"), "pve1").is_err());
    let mut named = v1_request(101, "pve2");
    named.name = "web_tmpl".into();
    let err = check(named, "pve1").unwrap_err();
    assert!(
        err.message.starts_with("invalid template name"),
        "{}",
        err.message
    );
}

fn v1_request(source_vmid: u32, node: &str) -> pvectl_proto::v1::PromoteTemplateRequest {
    pvectl_proto::v1::PromoteTemplateRequest {
        source_vmid,
        node: node.into(),
        ..Default::default()
    }
}

#[test]
fn a_clone_to_another_node_needs_every_volume_on_shared_storage() {
    let shared = source("scsi0: shared:101/vm-101-disk-0.qcow2,size=4G\nide2: none,media=cdrom\n");
    check_shared(&shared, &facts(), None, "pve2").unwrap();
    let err = check_shared(&shared, &facts(), Some("local-lvm"), "pve2").unwrap_err();
    assert_eq!(err.kind(), ErrorKind::RefusedBySafety);
    assert!(err.message.starts_with("storage 'local-lvm' is not shared"));
    let local = source(
        "scsi0: shared:101/vm-101-disk-0.qcow2,size=4G\nscsi1: local-lvm:vm-101-disk-1,size=1G\n",
    );
    let err = check_shared(&local, &facts(), None, "pve2").unwrap_err();
    assert_eq!(
        err.message,
        "VM 101 uses local storage (scsi1 on local-lvm): PVE clones to node pve2 only from shared storage"
    );
}
