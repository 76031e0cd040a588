//! Clones that fail inside their task or never end.
use pve_sim::faults::Fault;
use pvectl_proto::v1::ErrorKind;

use crate::support::*;

#[tokio::test(flavor = "multi_thread")]
async fn a_clone_failing_in_its_task_reports_pves_message_and_log_tail_and_leaves_no_config() {
    let h = harness(sim().fault(Fault::CloneFails {
        vmid: Some(UBUNTU),
        percent: 50,
        message: "disk I/O error".into(),
    }))
    .await;
    let before = h.vmlist();
    let events = h.create(create_request("web9")).await.unwrap();
    let error = error(&events);
    assert_eq!(error.kind(), ErrorKind::PveApiError);
    assert_eq!(error.pve_message, "clone failed: disk I/O error");
    assert!(
        error.message.contains("PVE removed the partial VM"),
        "{}",
        error.message
    );
    let tail = &error.task_log_tail;
    assert!(!tail.is_empty() && tail.len() <= 10, "{tail:?}");
    assert_eq!(
        tail.last().unwrap(),
        "TASK ERROR: clone failed: disk I/O error"
    );
    assert!(
        tail.iter().any(|l| l.starts_with("transferred ")),
        "{tail:?}"
    );
    assert!(error.upid.contains(":qmclone:9100:"));
    let vmid = events.last().unwrap().vmid;
    assert!(h.config_text(vmid).is_none(), "a config of {vmid} was left");
    assert_eq!(h.vmlist().guests, before.guests);
    assert_eq!(h.journal_lines().pop().unwrap()["outcome"], "failed");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_lock_never_released_times_out_with_the_config_state_and_log_tail() {
    let h = harness(sim().fault(Fault::LockNeverReleased { vmid: Some(UBUNTU) })).await;
    let mut request = create_request("web9");
    request.timeout_seconds = 1;
    let events = h.create(request).await.unwrap();
    let error = error(&events);
    assert_eq!(error.kind(), ErrorKind::Timeout);
    assert!(
        error.message.contains("did not finish within 1s"),
        "{}",
        error.message
    );
    assert!(
        error.message.contains("lock clone, disks"),
        "{}",
        error.message
    );
    assert!(error.message.contains("scsi0"), "{}", error.message);
    assert!(error.hint.contains("qm unlock"), "{}", error.hint);
    assert!(!error.task_log_tail.is_empty());
    assert!(error.upid.contains(":qmclone:"));
    let vmid = events.last().unwrap().vmid;
    let text = h.config_text(vmid).unwrap();
    assert_eq!(config_value(&text, "lock").as_deref(), Some("clone"));
}
