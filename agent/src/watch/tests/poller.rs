//! The poller's own behaviour under a paused clock: what a `.vmlist` change reports, how the
//! interval backs off and resets, and that an idle poller does not wake up.

use std::time::Duration;

use tokio::sync::mpsc;
use tokio::time::Instant;

use super::fixture::{FakeNode, NODE, OTHER_NODE, append, changed, removed, within_virtual_hour};
use crate::pmxcfs::GuestKind::{Lxc, Qemu};
use crate::watch::{EventReceiver, PollConfig, PollWatcher, WatchEvent, WatchTarget, Watcher};

async fn next(events: &mut EventReceiver) -> WatchEvent {
    within_virtual_hour(events.recv())
        .await
        .expect("the poller is running")
}

#[tokio::test(start_paused = true)]
async fn poller_reports_the_vmids_whose_vmlist_version_changed() {
    let mut node = FakeNode::new();
    node.write_config(Qemu, 100, "name: a\n");
    node.write_config(Qemu, 101, "name: b\n");
    node.write_config(Qemu, 102, "name: c\n");
    node.remote_change(200, OTHER_NODE, Qemu);
    node.write_config(Lxc, 300, "hostname: ct\n");
    let (sender, mut events) = mpsc::unbounded_channel();
    let mut poller = PollWatcher::start(PollConfig::default(), sender);
    poller.subscribe(&node.configs(NODE, Qemu)).unwrap();

    // All seen in one poll, as pmxcfs would show changes made on other nodes.
    node.remote_change(100, NODE, Qemu);
    node.remote_removal(101);
    node.remote_change(102, OTHER_NODE, Qemu);
    node.remote_change(105, NODE, Qemu);
    node.remote_change(200, OTHER_NODE, Qemu);
    node.remote_change(300, NODE, Lxc);

    let mut seen = Vec::new();
    while seen.last() != Some(&WatchEvent::VmlistMaybeChanged) {
        seen.push(next(&mut events).await);
    }
    assert_eq!(
        seen,
        [
            changed(NODE, Qemu, 100),
            removed(NODE, Qemu, 101),
            removed(NODE, Qemu, 102),
            changed(NODE, Qemu, 105),
            WatchEvent::VmlistMaybeChanged,
        ]
    );
    assert_eq!(poller.wakeups(), 1);
}

#[tokio::test(start_paused = true)]
async fn poller_backs_off_while_idle_and_polls_soon_after_a_change() {
    let config = PollConfig {
        min_interval: Duration::from_millis(100),
        max_interval: Duration::from_millis(1600),
        backoff_factor: 2,
    };
    let mut node = FakeNode::new();
    let (sender, mut events) = mpsc::unbounded_channel();
    let mut poller = PollWatcher::start(config.clone(), sender);
    poller.subscribe(&node.configs(NODE, Qemu)).unwrap();

    tokio::time::sleep(Duration::from_secs(10)).await;
    let idle_wakeups = poller.wakeups();
    node.remote_change(100, NODE, Qemu);
    let noticed_from = Instant::now();
    assert_eq!(next(&mut events).await, changed(NODE, Qemu, 100));
    assert_eq!(next(&mut events).await, WatchEvent::VmlistMaybeChanged);
    let delay_when_idle = noticed_from.elapsed();

    node.remote_change(101, NODE, Qemu);
    let noticed_from = Instant::now();
    assert_eq!(next(&mut events).await, changed(NODE, Qemu, 101));
    let delay_after_change = noticed_from.elapsed();

    // Polling every 100 ms for 10 s would be 100 polls; backing off to 1.6 s makes far fewer.
    assert!(idle_wakeups <= 12, "{idle_wakeups} polls in 10 s of idling");
    assert!(
        delay_when_idle > config.min_interval && delay_when_idle <= config.max_interval,
        "an idle poller noticed a change after {delay_when_idle:?}"
    );
    assert!(
        delay_after_change <= config.min_interval,
        "right after a change the poller noticed the next one after {delay_after_change:?}"
    );
}

#[tokio::test(start_paused = true)]
async fn a_new_subscription_resets_the_backoff() {
    let config = PollConfig {
        min_interval: Duration::from_millis(100),
        max_interval: Duration::from_secs(30),
        backoff_factor: 2,
    };
    let node = FakeNode::new();
    let (sender, mut events) = mpsc::unbounded_channel();
    let mut poller = PollWatcher::start(config.clone(), sender);
    poller.subscribe(&node.configs(NODE, Qemu)).unwrap();
    tokio::time::sleep(Duration::from_secs(60)).await;

    let log = node.task_log(0x66A0_B1C2);
    poller
        .subscribe(&WatchTarget::TaskLog { path: log.clone() })
        .unwrap();
    append(&log, "starting\n");
    let noticed_from = Instant::now();
    assert_eq!(
        next(&mut events).await,
        WatchEvent::TaskLogChanged { path: log }
    );
    assert!(noticed_from.elapsed() <= config.min_interval);
}

#[tokio::test(start_paused = true)]
async fn idle_poller_wakes_at_most_once_a_second_and_not_at_all_without_subscriptions() {
    let node = FakeNode::new();
    let (sender, _events) = mpsc::unbounded_channel();
    let mut poller = PollWatcher::start(PollConfig::default(), sender);

    tokio::time::sleep(Duration::from_secs(3600)).await;
    assert_eq!(poller.wakeups(), 0, "woke up with nothing subscribed");

    let target = node.configs(NODE, Qemu);
    poller.subscribe(&target).unwrap();
    tokio::time::sleep(Duration::from_secs(60)).await;
    let wakeups = poller.wakeups();
    assert!(
        (1..=60).contains(&wakeups),
        "{wakeups} wake-ups in an idle minute"
    );

    poller.unsubscribe(&target).unwrap();
    tokio::time::sleep(Duration::from_secs(3600)).await;
    assert_eq!(
        poller.wakeups(),
        wakeups,
        "woke up after the last unsubscribe"
    );
}

#[tokio::test]
async fn poller_refuses_a_pmxcfs_root_without_vmlist() {
    let node = FakeNode::new();
    std::fs::remove_file(node.pmxcfs_root().join(".vmlist")).unwrap();
    let (sender, _events) = mpsc::unbounded_channel();
    let mut poller = PollWatcher::start(PollConfig::default(), sender);

    let error = poller.subscribe(&node.configs(NODE, Qemu)).unwrap_err();
    assert!(
        error.to_string().contains(".vmlist"),
        "the error names the file: {error}"
    );
}
