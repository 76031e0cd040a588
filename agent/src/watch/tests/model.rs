//! The pure rules (names, classification of raw directory changes, subscription counting)
//! and the backend each watcher mode picks.

use std::ffi::OsStr;
use std::path::{Path, PathBuf};

use super::fixture::{FakeNode, NODE, fast_polling};
use crate::pmxcfs::GuestKind::{Lxc, Qemu};
use crate::watch::routes::{DirChange, Routes};
use crate::watch::{
    Backend, WatchError, WatchEvent, WatchTarget, WatcherMode, config_vmid, is_task_log_name,
    start_watcher, task_log_path,
};

const UPID: &str = "UPID:pve1:0003A1B2:01C2D3E4:66A0B1C2:qmclone:9000:root@pam:";

#[test]
fn config_names_are_digits_then_dot_conf() {
    let vmid = |name: &str| config_vmid(OsStr::new(name));
    assert_eq!(vmid("100.conf"), Some(100));
    assert_eq!(vmid("999999999.conf"), Some(999_999_999));
    for not_a_config in [
        "100.conf.tmp.4242",
        "0100.conf",
        ".conf",
        "100.conf~",
        "x100.conf",
        "100.cfg",
        "99999999999.conf",
    ] {
        assert_eq!(vmid(not_a_config), None, "{not_a_config}");
    }
}

#[test]
fn task_log_names_are_upids() {
    assert!(is_task_log_name(OsStr::new(UPID)));
    assert!(is_task_log_name(OsStr::new(
        "UPID:pve-2:0003A1B2:101C2D3E4:66A0B1C2:vzdump::root@pam!backup:"
    )));
    for not_a_upid in [
        "index",
        "active",
        "UPID:pve1:0003A1B2:01C2D3E4:66A0B1C2:qmclone:9000:root@pam",
        "UPID:pve1:3A1B2:01C2D3E4:66A0B1C2:qmclone:9000:root@pam:",
        "UPID:-pve1:0003A1B2:01C2D3E4:66A0B1C2:qmclone:9000:root@pam:",
        "UPID:pve1:0003A1B2:01C2D3E4:66A0B1C2::9000:root@pam:",
    ] {
        assert!(!is_task_log_name(OsStr::new(not_a_upid)), "{not_a_upid}");
    }
}

#[test]
fn task_log_path_uses_the_last_hex_digit_of_the_start_time() {
    assert_eq!(
        task_log_path(Path::new("/var/log/pve/tasks"), UPID),
        Some(PathBuf::from(format!("/var/log/pve/tasks/2/{UPID}")))
    );
    assert_eq!(
        task_log_path(Path::new("/var/log/pve/tasks"), "UPID:x"),
        None
    );
}

fn qemu_configs() -> WatchTarget {
    WatchTarget::GuestConfigs {
        pmxcfs_root: PathBuf::from("/etc/pve"),
        node: NODE.to_owned(),
        kind: Qemu,
    }
}

#[test]
fn a_pve_config_write_classifies_to_one_change() {
    let mut routes = Routes::default();
    routes.add(&qemu_configs()).unwrap();
    let dir = Path::new("/etc/pve/nodes/pve1/qemu-server");
    let tmp = dir.join("100.conf.tmp.4242");
    let conf = dir.join("100.conf");
    // What inotify reports for PVE's file_set_contents, then a destroy.
    let sequence = [
        (&tmp, DirChange::Created),
        (&tmp, DirChange::Modified),
        (&tmp, DirChange::ClosedAfterWrite),
        (&tmp, DirChange::MovedOut),
        (&conf, DirChange::MovedIn),
        (&conf, DirChange::Deleted),
    ];
    let events: Vec<WatchEvent> = sequence
        .iter()
        .filter_map(|(path, change)| routes.classify(path, *change))
        .collect();
    let config_event = |removed: bool| {
        let (node, kind, vmid) = (NODE.to_owned(), Qemu, 100);
        if removed {
            WatchEvent::GuestConfigRemoved { node, kind, vmid }
        } else {
            WatchEvent::GuestConfigChanged { node, kind, vmid }
        }
    };
    assert_eq!(events, [config_event(false), config_event(true)]);
    // A direct write counts when its writer closes the file, not when it creates it.
    assert_eq!(routes.classify(&conf, DirChange::Created), None);
    assert_eq!(routes.classify(&conf, DirChange::Modified), None);
    assert_eq!(
        routes.classify(&conf, DirChange::ClosedAfterWrite),
        Some(config_event(false))
    );
}

#[test]
fn task_log_changes_are_reported_only_for_subscribed_logs() {
    let mut routes = Routes::default();
    let log = PathBuf::from(format!("/var/log/pve/tasks/2/{UPID}"));
    routes
        .add(&WatchTarget::TaskLog { path: log.clone() })
        .unwrap();
    let other = log.with_file_name(UPID.replace("9000", "9001"));

    assert_eq!(
        routes.classify(&log, DirChange::Modified),
        Some(WatchEvent::TaskLogChanged { path: log.clone() })
    );
    assert_eq!(routes.classify(&other, DirChange::Modified), None);
    assert_eq!(
        routes.classify(Path::new("/var/log/pve/tasks/2"), DirChange::Deleted),
        Some(WatchEvent::Rescan),
        "the watched directory itself going away"
    );
}

#[test]
fn subscriptions_are_counted_and_a_directory_is_watched_once() {
    let mut routes = Routes::default();
    let dir = PathBuf::from("/etc/pve/nodes/pve1/qemu-server");
    assert_eq!(routes.add(&qemu_configs()).unwrap(), Some(dir.clone()));
    assert_eq!(routes.add(&qemu_configs()).unwrap(), None);
    assert_eq!(routes.remove(&qemu_configs()).unwrap(), None);
    assert_eq!(routes.remove(&qemu_configs()).unwrap(), Some(dir));
    assert!(matches!(
        routes.remove(&qemu_configs()),
        Err(WatchError::NotSubscribed(_))
    ));
}

#[test]
fn relative_paths_and_task_logs_not_named_by_a_upid_are_refused() {
    let mut routes = Routes::default();
    let relative = WatchTarget::GuestConfigs {
        pmxcfs_root: PathBuf::from("etc/pve"),
        node: NODE.to_owned(),
        kind: Lxc,
    };
    assert!(matches!(
        routes.add(&relative),
        Err(WatchError::RelativePath(_))
    ));
    let not_a_log = WatchTarget::TaskLog {
        path: PathBuf::from("/var/log/pve/tasks/active"),
    };
    assert!(matches!(
        routes.add(&not_a_log),
        Err(WatchError::NotATaskLog(_))
    ));
}

#[tokio::test]
async fn auto_mode_watches_existing_directories_with_inotify_and_polls_missing_ones() {
    let mut node = FakeNode::new();
    std::fs::remove_dir(node.config_dir(NODE, Lxc)).unwrap();
    let (mut watcher, mut events) = start_watcher(WatcherMode::Auto, fast_polling()).unwrap();

    let qemu = watcher.subscribe(&node.configs(NODE, Qemu)).unwrap();
    let lxc = watcher.subscribe(&node.configs(NODE, Lxc)).unwrap();
    assert_eq!((qemu, lxc), (Backend::Inotify, Backend::Poll));

    node.remote_change(200, NODE, Lxc);
    assert_eq!(
        super::fixture::next_change(&mut events).await,
        super::fixture::changed(NODE, Lxc, 200)
    );
    watcher.unsubscribe(&node.configs(NODE, Lxc)).unwrap();
    watcher.unsubscribe(&node.configs(NODE, Qemu)).unwrap();
}

#[tokio::test]
async fn inotify_mode_refuses_a_directory_that_does_not_exist() {
    let node = FakeNode::new();
    std::fs::remove_dir(node.config_dir(NODE, Lxc)).unwrap();
    let (mut watcher, _events) = start_watcher(WatcherMode::Inotify, fast_polling()).unwrap();

    match watcher.subscribe(&node.configs(NODE, Lxc)) {
        Err(WatchError::Watch { path, .. }) => assert_eq!(path, node.config_dir(NODE, Lxc)),
        other => panic!("expected a watch error, got {other:?}"),
    }
}

#[tokio::test]
async fn poll_mode_serves_every_target_by_polling() {
    let node = FakeNode::new();
    let (mut watcher, _events) = start_watcher(WatcherMode::Poll, fast_polling()).unwrap();
    let log = WatchTarget::TaskLog {
        path: node.task_log(0x66A0_B1C2),
    };
    assert_eq!(
        watcher.subscribe(&node.configs(NODE, Qemu)).unwrap(),
        Backend::Poll
    );
    assert_eq!(watcher.subscribe(&log).unwrap(), Backend::Poll);
}
