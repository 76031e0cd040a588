//! Reading guests and templates of the node, and requests for other nodes.
use pve_sim::Fault;
use pvectl_proto::v1::agent_server::Agent;
use pvectl_proto::v1::{
    ErrorDetail, ErrorKind, FindingCode, GetGuestConfigRequest, GetGuestRequest, GuestKind,
    GuestStatus, ListTemplatesRequest, ValidateTemplateRequest,
};

use crate::support::*;

fn detail(status: tonic::Status) -> ErrorDetail {
    ErrorDetail::from_status(&status).unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_guest_of_this_node_is_read_from_its_config_and_status() {
    let h = harness(sim()).await;
    let guest = h
        .service
        .get_guest(as_admin(GetGuestRequest { vmid: 100 }))
        .await
        .unwrap()
        .into_inner();
    assert_eq!((guest.name.as_str(), guest.node.as_str()), ("web1", NODE));
    assert_eq!(guest.kind(), GuestKind::Qemu);
    assert_eq!(guest.status(), GuestStatus::Running);
    assert_eq!(guest.tags, ["prod", "web"]);
    assert!(guest.config_version > 0);
    let container = h
        .service
        .get_guest(as_admin(GetGuestRequest { vmid: 102 }))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(container.kind(), GuestKind::Lxc);

    let config = h
        .service
        .get_guest_config(as_admin(GetGuestConfigRequest { vmid: 100 }))
        .await
        .unwrap()
        .into_inner();
    let cores = config.entries.iter().find(|e| e.key == "cores").unwrap();
    assert_eq!(cores.value.as_deref(), Some("2"));
    let text = h.config_text(100).unwrap();
    assert_eq!(
        config.digest,
        pvectl_agent::pmxcfs::guest_config::digest(text.as_bytes())
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_guest_elsewhere_names_its_node_and_a_missing_one_is_not_found() {
    let h = harness(sim()).await;
    let status = h
        .service
        .get_guest(as_admin(GetGuestRequest { vmid: 110 }))
        .await
        .unwrap_err();
    let wrong = detail(status);
    assert_eq!(wrong.kind(), ErrorKind::WrongNode);
    assert_eq!(wrong.owner_node, "pve2");
    assert_eq!(wrong.owner_address, "127.0.10.2:8446");
    let status = h
        .service
        .get_guest_config(as_admin(GetGuestConfigRequest { vmid: 5555 }))
        .await
        .unwrap_err();
    assert_eq!(detail(status).kind(), ErrorKind::NotFound);
}

#[tokio::test(flavor = "multi_thread")]
async fn templates_are_listed_with_disks_and_range_and_validated() {
    let h = harness(sim()).await;
    let listed = h
        .service
        .list_templates(as_admin(ListTemplatesRequest::default()))
        .await
        .unwrap()
        .into_inner();
    let names: Vec<(u32, &str)> = listed
        .templates
        .iter()
        .map(|t| (t.vmid, t.name.as_str()))
        .collect();
    assert_eq!(names, [(UBUNTU, "ubuntu-24.04"), (DEBIAN, "debian-12")]);
    let ubuntu = &listed.templates[0];
    assert!(ubuntu.in_node_range);
    let boot: Vec<&str> = ubuntu
        .disks
        .iter()
        .filter(|d| d.boot)
        .map(|d| d.key.as_str())
        .collect();
    assert_eq!(boot, ["scsi0"]);
    let ide2 = ubuntu.disks.iter().find(|d| d.key == "ide2").unwrap();
    assert!(ide2.cdrom);
    assert_eq!(ubuntu.disks[1].size_bytes, 4 << 30);

    let ok = h
        .service
        .validate_template(as_admin(ValidateTemplateRequest {
            template: by_name("ubuntu-24.04"),
            ..ValidateTemplateRequest::default()
        }))
        .await
        .unwrap()
        .into_inner();
    assert!(ok.ok, "{:?}", ok.findings);
    assert_eq!(ok.template.unwrap().vmid, UBUNTU);

    let status = h
        .service
        .list_templates(as_admin(ListTemplatesRequest {
            node: "pve3".into(),
            template: None,
        }))
        .await
        .unwrap_err();
    assert_eq!(detail(status).owner_node, "pve3");
}

#[tokio::test(flavor = "multi_thread")]
async fn validation_reports_a_missing_boot_disk_and_a_guest_that_is_no_template() {
    let h = harness(sim().fault(Fault::TemplateWithoutDisk { vmid: DEBIAN })).await;
    let validate = |template| ValidateTemplateRequest {
        template,
        ..ValidateTemplateRequest::default()
    };
    let broken = h
        .service
        .validate_template(as_admin(validate(by_vmid(DEBIAN))))
        .await
        .unwrap()
        .into_inner();
    assert!(!broken.ok);
    assert_eq!(broken.findings[0].code, FindingCode::NoBootDisk as i32);
    assert_eq!(broken.findings[0].cause, "template 9101 has no boot disk");
    let vm = h
        .service
        .validate_template(as_admin(validate(by_vmid(101))))
        .await
        .unwrap()
        .into_inner();
    let codes: Vec<i32> = vm.findings.iter().map(|f| f.code).collect();
    assert!(
        codes.contains(&(FindingCode::NotATemplate as i32)),
        "{codes:?}"
    );
    assert!(
        codes.contains(&(FindingCode::OutsideNodeRange as i32)),
        "{codes:?}"
    );
}
