//! The same test bodies against the inotify adapter and the polling adapter, on real files.

use std::time::Duration;

use super::fixture::{
    Adapter, FakeNode, NODE, OTHER_NODE, STEP, append, changed, fast_polling, next_change, removed,
};
use crate::pmxcfs::GuestKind::{Lxc, Qemu};
use crate::watch::{TaskEnd, TaskLogFollower, TaskLogItem, WatchHub};

/// Generates one `#[tokio::test]` per adapter for each shared body.
macro_rules! for_both_adapters {
    ($($body:ident),* $(,)?) => {
        mod inotify {
            $(
                #[tokio::test]
                async fn $body() {
                    super::$body(super::Adapter::Inotify).await;
                }
            )*
        }
        mod poll {
            $(
                #[tokio::test]
                async fn $body() {
                    super::$body(super::Adapter::Poll).await;
                }
            )*
        }
    };
}

for_both_adapters!(
    tmp_rename_config_write_is_reported_once_as_changed,
    deleted_config_is_reported_as_removed,
    files_not_named_like_configs_are_ignored,
    container_configs_are_reported_with_their_kind,
    config_moved_to_another_node_is_removed_there_and_changed_here,
    task_log_lines_and_final_line_are_followed,
    follower_joins_a_partial_line_completed_later,
);

async fn tmp_rename_config_write_is_reported_once_as_changed(adapter: Adapter) {
    let mut node = FakeNode::new();
    let (mut watcher, mut events) = adapter.start();
    watcher.subscribe(&node.configs(NODE, Qemu)).unwrap();

    node.write_config(Qemu, 100, "lock: clone\n");
    assert_eq!(next_change(&mut events).await, changed(NODE, Qemu, 100));
    // A second write is the barrier: nothing (no repeat, no tmp file) came in between.
    node.write_config(Qemu, 101, "name: other\n");
    assert_eq!(next_change(&mut events).await, changed(NODE, Qemu, 101));
}

async fn deleted_config_is_reported_as_removed(adapter: Adapter) {
    let mut node = FakeNode::new();
    node.write_config(Qemu, 100, "name: doomed\n");
    let (mut watcher, mut events) = adapter.start();
    watcher.subscribe(&node.configs(NODE, Qemu)).unwrap();

    node.delete_config(Qemu, 100);
    assert_eq!(next_change(&mut events).await, removed(NODE, Qemu, 100));
}

async fn files_not_named_like_configs_are_ignored(adapter: Adapter) {
    let mut node = FakeNode::new();
    let (mut watcher, mut events) = adapter.start();
    watcher.subscribe(&node.configs(NODE, Qemu)).unwrap();

    for stray in [
        "notes.txt",
        "100.conf.tmp.4242",
        "0100.conf",
        "100.conf~",
        "x.conf",
    ] {
        node.write_stray(Qemu, stray);
    }
    node.write_config(Qemu, 102, "name: real\n");
    assert_eq!(next_change(&mut events).await, changed(NODE, Qemu, 102));
}

async fn container_configs_are_reported_with_their_kind(adapter: Adapter) {
    let mut node = FakeNode::new();
    let (mut watcher, mut events) = adapter.start();
    watcher.subscribe(&node.configs(NODE, Qemu)).unwrap();
    watcher.subscribe(&node.configs(NODE, Lxc)).unwrap();

    node.write_config(Lxc, 200, "hostname: ct\n");
    assert_eq!(next_change(&mut events).await, changed(NODE, Lxc, 200));
}

async fn config_moved_to_another_node_is_removed_there_and_changed_here(adapter: Adapter) {
    let mut node = FakeNode::new();
    node.write_config(Qemu, 100, "name: moving\n");
    let (mut watcher, mut events) = adapter.start();
    watcher.subscribe(&node.configs(NODE, Qemu)).unwrap();
    watcher.subscribe(&node.configs(OTHER_NODE, Qemu)).unwrap();

    node.migrate(100);
    let mut seen = vec![
        next_change(&mut events).await,
        next_change(&mut events).await,
    ];
    seen.sort_by_key(|event| format!("{event:?}"));
    assert_eq!(
        seen,
        [changed(OTHER_NODE, Qemu, 100), removed(NODE, Qemu, 100)]
    );
}

/// A follower driven by events alone: its safety-net re-check is too slow to matter here.
/// In `join!(follower.next(), async { append(..) })` the follower reads first (its reads are
/// synchronous) and then waits, so only the watcher's event can bring it the appended line.
fn event_driven_follower(hub: &WatchHub, node: &FakeNode) -> TaskLogFollower {
    TaskLogFollower::start(hub, &node.task_log(0x66A0_B1C2))
        .unwrap()
        .with_recheck(Duration::from_secs(3600))
}

async fn next_item(follower: &mut TaskLogFollower) -> Option<TaskLogItem> {
    tokio::time::timeout(STEP, follower.next())
        .await
        .expect("a task log item within the step timeout")
        .unwrap()
}

fn line(text: &str) -> Option<TaskLogItem> {
    Some(TaskLogItem::Line(text.to_owned()))
}

async fn task_log_lines_and_final_line_are_followed(adapter: Adapter) {
    let node = FakeNode::new();
    let hub = WatchHub::start(adapter.mode(), fast_polling()).unwrap();
    // Started before the log exists, as an operation does right after PVE returns the UPID.
    let mut follower = event_driven_follower(&hub, &node);
    let log = follower.path().to_path_buf();

    let (first, ()) = tokio::join!(next_item(&mut follower), async {
        append(&log, "create full clone of drive scsi0\n");
    });
    assert_eq!(first, line("create full clone of drive scsi0"));
    let (second, ()) = tokio::join!(next_item(&mut follower), async {
        append(&log, "transferred 4.0 GiB of 4.0 GiB (100.00%)\n");
    });
    assert_eq!(second, line("transferred 4.0 GiB of 4.0 GiB (100.00%)"));
    let (end, ()) = tokio::join!(next_item(&mut follower), async {
        append(&log, "TASK OK\n");
    });
    assert_eq!(end, Some(TaskLogItem::End(TaskEnd::Ok)));
    assert_eq!(next_item(&mut follower).await, None);
}

async fn follower_joins_a_partial_line_completed_later(adapter: Adapter) {
    let node = FakeNode::new();
    let hub = WatchHub::start(adapter.mode(), fast_polling()).unwrap();
    let mut follower = event_driven_follower(&hub, &node);
    let log = follower.path().to_path_buf();

    append(
        &log,
        "create full clone of drive scsi0\ntransferred 1.0 GiB",
    );
    assert_eq!(
        next_item(&mut follower).await,
        line("create full clone of drive scsi0")
    );
    let (joined, ()) = tokio::join!(next_item(&mut follower), async {
        append(&log, " of 4.0 GiB (25.00%)\n");
    });
    assert_eq!(joined, line("transferred 1.0 GiB of 4.0 GiB (25.00%)"));
    append(&log, "TASK ERROR: clone failed: interrupted by signal\n");
    assert_eq!(
        next_item(&mut follower).await,
        Some(TaskLogItem::End(TaskEnd::Error(
            "clone failed: interrupted by signal".to_owned()
        )))
    );
}
