//! Creates refused before anything changes: an unknown template, a
//! template failing validation, a request for another node, bad input.
use pve_sim::faults::Fault;
use pvectl_proto::v1::{ErrorDetail, ErrorKind, FindingCode};

use crate::support::*;

/// The create fails with `kind` and `.vmlist` is unchanged.
async fn refused(
    h: &Harness,
    request: pvectl_proto::v1::CreateVmFromTemplateRequest,
    kind: ErrorKind,
) -> ErrorDetail {
    let before = h.vmlist();
    let events = h.create(request).await.unwrap();
    let error = error(&events);
    assert_eq!(error.kind(), kind, "{error:?}");
    assert_eq!(h.vmlist().guests, before.guests, "something was created");
    error
}

#[tokio::test(flavor = "multi_thread")]
async fn an_unknown_template_is_not_found_and_the_error_lists_the_templates_here() {
    let h = harness(sim()).await;
    let mut request = create_request("web9");
    request.template = by_name("centos-7");
    let error = refused(&h, request, ErrorKind::NotFound).await;
    assert!(
        error.message.contains("template 'centos-7' not found"),
        "{}",
        error.message
    );
    assert!(
        error.message.contains("ubuntu-24.04 (9100)"),
        "{}",
        error.message
    );
    assert!(
        error.message.contains("debian-12 (9101)"),
        "{}",
        error.message
    );
    let finish = h.journal_lines().pop().unwrap();
    assert_eq!(finish["outcome"], "refused");
    assert_eq!(finish["actor"], ACTOR);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_template_without_disk_is_refused_with_the_fix() {
    let h = harness(sim().fault(Fault::TemplateWithoutDisk { vmid: UBUNTU })).await;
    let error = refused(&h, create_request("web9"), ErrorKind::RefusedBySafety).await;
    assert!(
        error
            .message
            .starts_with("template 9100 has no boot disk: recreate it"),
        "{}",
        error.message
    );
    assert_eq!(error.findings[0].code, FindingCode::NoBootDisk as i32);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_locked_template_is_refused_naming_qm_unlock() {
    let h = harness(sim().fault(Fault::SetLock {
        vmid: UBUNTU,
        lock: "backup".into(),
    }))
    .await;
    let error = refused(&h, create_request("web9"), ErrorKind::RefusedBySafety).await;
    assert!(
        error.message.contains("template 9100 is locked (backup)"),
        "{}",
        error.message
    );
    assert!(error.hint.contains("qm unlock 9100"), "{}", error.hint);
    assert_eq!(error.findings[0].code, FindingCode::Locked as i32);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_storage_without_room_for_a_full_clone_is_refused() {
    // pve1's seeded volumes take ~48 GiB of local-lvm: 50 GiB leaves less
    // than the template's 4 GiB disk
    let h = harness(sim().storage_capacity("local-lvm", 50 << 30)).await;
    let error = refused(&h, create_request("web9"), ErrorKind::RefusedBySafety).await;
    assert!(
        error.message.contains("storage 'local-lvm' has"),
        "{}",
        error.message
    );
    assert_eq!(error.findings[0].code, FindingCode::StorageFull as i32);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_template_vmid_in_another_nodes_range_is_sent_to_its_owner() {
    let h = harness(sim()).await;
    let mut request = create_request("web9");
    request.template = by_vmid(9200);
    let status = h.create(request).await.unwrap_err();
    let detail = ErrorDetail::from_status(&status).unwrap();
    assert_eq!(detail.kind(), ErrorKind::WrongNode);
    assert_eq!(detail.owner_node, "pve2");
    assert_eq!(detail.owner_address, "127.0.10.2:8446");
    assert_eq!(status.code(), tonic::Code::FailedPrecondition);
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_input_is_refused_before_an_operation_exists() {
    let h = harness(sim()).await;
    let status = h.create(create_request("web_9")).await.unwrap_err();
    assert_eq!(status.code(), tonic::Code::InvalidArgument);
    assert!(status.message().contains("invalid VM name 'web_9'"));
    let mut request = create_request("web9");
    request.vmid = Some(9150);
    let events = h.create(request).await.unwrap();
    let error = error(&events);
    assert_eq!(error.kind(), ErrorKind::InvalidArgument);
    assert!(
        error.message.contains("template range"),
        "{}",
        error.message
    );
    let last = h.journal_lines().pop().unwrap();
    assert_eq!(last["outcome"], "refused");
}
