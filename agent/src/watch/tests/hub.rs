//! The hub's routing against a hand-written fake watcher, and the follower's safety net and
//! patience with a log that does not exist yet, under a paused clock.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::mpsc;
use tokio::time::Instant;

use super::fixture::{FakeNode, NODE, STEP, append, changed, within_virtual_hour};
use crate::pmxcfs::GuestKind::{Lxc, Qemu};
use crate::watch::{
    Backend, EventSender, Subscription, TaskEnd, TaskLogFollower, TaskLogItem, WatchError,
    WatchEvent, WatchHub, WatchTarget, Watcher,
};

/// Records (un)subscriptions and never reports anything by itself.
#[derive(Clone, Default)]
struct FakeWatcher {
    calls: Arc<Mutex<Vec<String>>>,
}

impl FakeWatcher {
    fn calls(&self) -> Vec<String> {
        self.calls.lock().unwrap().clone()
    }
}

impl Watcher for FakeWatcher {
    fn subscribe(&mut self, target: &WatchTarget) -> Result<Backend, WatchError> {
        self.calls
            .lock()
            .unwrap()
            .push(format!("subscribe {target}"));
        Ok(Backend::Poll)
    }

    fn unsubscribe(&mut self, target: &WatchTarget) -> Result<(), WatchError> {
        self.calls
            .lock()
            .unwrap()
            .push(format!("unsubscribe {target}"));
        Ok(())
    }
}

async fn next(subscription: &mut Subscription) -> Option<WatchEvent> {
    tokio::time::timeout(STEP, subscription.next())
        .await
        .expect("an event within the step timeout")
}

fn fake_hub() -> (WatchHub, FakeWatcher, EventSender) {
    let fake = FakeWatcher::default();
    let (sender, events) = mpsc::unbounded_channel();
    (WatchHub::new(Box::new(fake.clone()), events), fake, sender)
}

#[tokio::test]
async fn hub_routes_each_event_to_the_subscriptions_that_want_it() {
    let node = FakeNode::new();
    let (hub, _fake, sender) = fake_hub();
    let mut configs = hub.subscribe(node.configs(NODE, Qemu)).unwrap();
    let log_a = node.task_log(0x66A0_B1C2);
    let log_b = node.task_log(0x66A0_B1C3);
    let mut task_a = hub
        .subscribe(WatchTarget::TaskLog {
            path: log_a.clone(),
        })
        .unwrap();
    let mut task_b = hub.subscribe(WatchTarget::TaskLog { path: log_b }).unwrap();

    let sent = [
        changed(NODE, Lxc, 200),
        changed(NODE, Qemu, 100),
        WatchEvent::TaskLogChanged {
            path: log_a.clone(),
        },
        WatchEvent::VmlistMaybeChanged,
        WatchEvent::Rescan,
    ];
    for event in sent {
        sender.send(event).unwrap();
    }

    assert_eq!(next(&mut configs).await, Some(changed(NODE, Qemu, 100)));
    assert_eq!(
        next(&mut configs).await,
        Some(WatchEvent::VmlistMaybeChanged)
    );
    assert_eq!(next(&mut configs).await, Some(WatchEvent::Rescan));
    assert_eq!(
        next(&mut task_a).await,
        Some(WatchEvent::TaskLogChanged { path: log_a })
    );
    assert_eq!(next(&mut task_a).await, Some(WatchEvent::Rescan));
    assert_eq!(next(&mut task_b).await, Some(WatchEvent::Rescan));
}

#[tokio::test]
async fn dropping_a_subscription_unsubscribes_its_target() {
    let node = FakeNode::new();
    let (hub, fake, _sender) = fake_hub();
    let target = node.configs(NODE, Qemu);

    let subscription = hub.subscribe(target.clone()).unwrap();
    assert_eq!(subscription.backend(), Backend::Poll);
    drop(subscription);
    assert_eq!(
        fake.calls(),
        [
            format!("subscribe {target}"),
            format!("unsubscribe {target}")
        ]
    );
}

#[tokio::test(start_paused = true)]
async fn follower_rechecks_the_log_when_no_event_comes() {
    let node = FakeNode::new();
    let (hub, _fake, _sender) = fake_hub();
    let log = node.task_log(0x66A0_B1C2);
    append(&log, "starting\n");
    let recheck = Duration::from_secs(5);
    let mut follower = TaskLogFollower::start(&hub, &log)
        .unwrap()
        .with_recheck(recheck);
    let line = |text: &str| Some(TaskLogItem::Line(text.to_owned()));

    assert_eq!(follower.next().await.unwrap(), line("starting"));
    let waiting_since = Instant::now();
    // The line is written while the follower waits, and no event announces it.
    let (end, ()) = tokio::join!(within_virtual_hour(follower.next()), async {
        tokio::time::sleep(Duration::from_secs(1)).await;
        append(&log, "TASK WARNINGS: 2\n");
    });
    assert_eq!(end.unwrap(), Some(TaskLogItem::End(TaskEnd::Warnings(2))));
    assert!(
        waiting_since.elapsed() >= recheck,
        "read before the re-check"
    );
    assert_eq!(follower.next().await.unwrap(), None);
}

#[tokio::test(start_paused = true)]
async fn follower_waits_for_a_log_that_does_not_exist_yet() {
    let node = FakeNode::new();
    let (hub, _fake, sender) = fake_hub();
    let log = node.task_log(0x66A0_B1C2);
    let mut follower = TaskLogFollower::start(&hub, &log).unwrap();

    let waited = tokio::time::timeout(Duration::from_secs(60), follower.next()).await;
    assert!(waited.is_err(), "yielded {waited:?} for a missing log");

    append(&log, "TASK OK\n");
    sender
        .send(WatchEvent::TaskLogChanged { path: log.clone() })
        .unwrap();
    assert_eq!(
        within_virtual_hour(follower.next()).await.unwrap(),
        Some(TaskLogItem::End(TaskEnd::Ok))
    );
}
