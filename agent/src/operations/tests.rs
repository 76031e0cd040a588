use futures::StreamExt;

use super::*;

fn info() -> OperationInfo {
    OperationInfo {
        kind: OperationKind::CreateFromTemplate,
        actor: "alice".into(),
        name: "web1".into(),
    }
}

fn result(vmid: u32) -> CreateResult {
    CreateResult {
        vmid,
        ..CreateResult::default()
    }
}

#[tokio::test]
async fn ids_are_unique_and_name_the_node() {
    let ops = Operations::new("pve1");
    let a = ops.start(info());
    let b = ops.start(info());
    assert_ne!(a.id(), b.id());
    assert!(a.id().starts_with("pve1-"));
    assert!(ops.get(a.id()).is_some());
}

#[tokio::test]
async fn phases_never_move_backwards_and_events_carry_vmid_and_upid() {
    let ops = Operations::new("pve1");
    let op = ops.start(info());
    op.emit(CreatePhase::Cloning, Some(10), "cloning");
    op.set_vmid(104);
    op.set_upid("UPID:x");
    op.emit(CreatePhase::Allocating, None, "retrying with 104");
    let events = op.events();
    assert_eq!(events[1].phase, CreatePhase::Cloning as i32);
    assert_eq!((events[1].vmid, events[1].upid.as_str()), (104, "UPID:x"));
    assert_eq!(events[0].vmid, 0);
}

#[tokio::test]
async fn every_watcher_sees_the_whole_history_and_the_final_event() {
    let ops = Operations::new("pve1");
    let op = ops.start(info());
    op.emit(CreatePhase::Resolving, None, "resolving");
    let early = op.watch(true);
    let live = tokio::spawn(early.collect::<Vec<_>>());
    op.emit(CreatePhase::Cloning, Some(50), "cloning");
    op.finish_ok(result(104), "done");
    op.emit(CreatePhase::Cloning, Some(60), "ignored after the end");
    let seen = live.await.unwrap();
    assert_eq!(seen.len(), 3);
    let late: Vec<CreateEvent> = op.watch(true).collect().await;
    assert_eq!(late, seen);
    let latest: Vec<CreateEvent> = op.watch(false).collect().await;
    assert_eq!(latest.len(), 1);
    assert_eq!(latest[0].phase, CreatePhase::Done as i32);
    assert!(matches!(latest[0].outcome, Some(Outcome::Result(ref r)) if r.vmid == 104));
}

#[tokio::test]
async fn listing_is_newest_first_and_can_leave_out_finished_ones() {
    let ops = Operations::new("pve1");
    let old = ops.adopt("pve1-1-1", info(), 1);
    let new = ops.start(info());
    old.finish_err(ErrorDetail::default());
    let all: Vec<String> = ops.list(false).iter().map(|o| o.id().to_string()).collect();
    assert_eq!(all, [new.id(), old.id()]);
    let active: Vec<String> = ops.list(true).iter().map(|o| o.id().to_string()).collect();
    assert_eq!(active, [new.id()]);
}
