//! A fake pmxcfs and task directory in a temp dir that change the way PVE changes them:
//! configs by `<vmid>.conf.tmp.<pid>` + rename, each change bumping `.vmlist` versions.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::fs;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::time::Duration;

use tempfile::TempDir;

use crate::pmxcfs::GuestKind;
use crate::watch::{
    EventReceiver, PollConfig, WatchEvent, WatchTarget, Watcher, WatcherMode, config_dir_name,
    start_watcher, task_log_path,
};

pub(super) const NODE: &str = "pve1";
pub(super) const OTHER_NODE: &str = "pve2";
/// How long a step may take before the test fails instead of hanging.
pub(super) const STEP: Duration = Duration::from_secs(10);

/// Under a paused clock: fails a step that has not finished within an hour of virtual time,
/// instead of letting a poller or follower that misses its change spin forever.
pub(super) async fn within_virtual_hour<F: std::future::Future>(step: F) -> F::Output {
    tokio::time::timeout(Duration::from_secs(3600), step)
        .await
        .expect("the step finishes within an hour of virtual time")
}

/// Which adapter a shared test body runs against.
#[derive(Debug, Clone, Copy)]
pub(super) enum Adapter {
    Inotify,
    Poll,
}

impl Adapter {
    pub(super) fn mode(self) -> WatcherMode {
        match self {
            Self::Inotify => WatcherMode::Inotify,
            Self::Poll => WatcherMode::Poll,
        }
    }

    pub(super) fn start(self) -> (Box<dyn Watcher>, EventReceiver) {
        start_watcher(self.mode(), fast_polling()).unwrap()
    }
}

/// Polling fast enough for tests on a real clock.
pub(super) fn fast_polling() -> PollConfig {
    PollConfig {
        min_interval: Duration::from_millis(5),
        max_interval: Duration::from_millis(40),
        backoff_factor: 2,
    }
}

/// The next event other than `VmlistMaybeChanged` (which only the poller sends).
pub(super) async fn next_change(events: &mut EventReceiver) -> WatchEvent {
    loop {
        let event = tokio::time::timeout(STEP, events.recv())
            .await
            .expect("an event within the step timeout")
            .expect("the watcher is running");
        if event != WatchEvent::VmlistMaybeChanged {
            return event;
        }
    }
}

pub(super) fn changed(node: &str, kind: GuestKind, vmid: u32) -> WatchEvent {
    WatchEvent::GuestConfigChanged {
        node: node.to_owned(),
        kind,
        vmid,
    }
}

pub(super) fn removed(node: &str, kind: GuestKind, vmid: u32) -> WatchEvent {
    WatchEvent::GuestConfigRemoved {
        node: node.to_owned(),
        kind,
        vmid,
    }
}

#[derive(Debug, Clone)]
struct Guest {
    node: String,
    kind: GuestKind,
    version: u64,
}

/// `/etc/pve` and `/var/log/pve/tasks` of a two-node cluster, seen from `pve1`.
pub(super) struct FakeNode {
    dir: TempDir,
    version: u64,
    guests: BTreeMap<u32, Guest>,
}

impl FakeNode {
    pub(super) fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let node = Self {
            dir,
            version: 1,
            guests: BTreeMap::new(),
        };
        for name in [NODE, OTHER_NODE] {
            for kind in [GuestKind::Qemu, GuestKind::Lxc] {
                fs::create_dir_all(node.config_dir(name, kind)).unwrap();
            }
        }
        for subdir in "0123456789ABCDEF".chars() {
            fs::create_dir_all(node.task_root().join(subdir.to_string())).unwrap();
        }
        node.write_vmlist();
        node
    }

    pub(super) fn pmxcfs_root(&self) -> PathBuf {
        self.dir.path().join("etc-pve")
    }

    pub(super) fn task_root(&self) -> PathBuf {
        self.dir.path().join("tasks")
    }

    pub(super) fn config_dir(&self, node: &str, kind: GuestKind) -> PathBuf {
        self.pmxcfs_root()
            .join("nodes")
            .join(node)
            .join(config_dir_name(kind))
    }

    pub(super) fn configs(&self, node: &str, kind: GuestKind) -> WatchTarget {
        WatchTarget::GuestConfigs {
            pmxcfs_root: self.pmxcfs_root(),
            node: node.to_owned(),
            kind,
        }
    }

    /// A task log path of this node (the file is not created).
    pub(super) fn task_log(&self, starttime: u32) -> PathBuf {
        let upid = format!("UPID:{NODE}:0003A1B2:01C2D3E4:{starttime:08X}:qmclone:9000:root@pam:");
        task_log_path(&self.task_root(), &upid).unwrap()
    }

    /// Writes a config of `pve1` the way PVE does: tmp file, rename, `.vmlist` bump.
    pub(super) fn write_config(&mut self, kind: GuestKind, vmid: u32, text: &str) {
        let dir = self.config_dir(NODE, kind);
        let tmp = dir.join(format!("{vmid}.conf.tmp.{}", std::process::id()));
        fs::write(&tmp, text).unwrap();
        fs::rename(&tmp, dir.join(format!("{vmid}.conf"))).unwrap();
        self.bump(vmid, NODE, kind);
    }

    /// Deletes a config of `pve1` (PVE's destroy unlinks it).
    pub(super) fn delete_config(&mut self, kind: GuestKind, vmid: u32) {
        fs::remove_file(self.config_dir(NODE, kind).join(format!("{vmid}.conf"))).unwrap();
        self.guests.remove(&vmid);
        self.version += 1;
        self.write_vmlist();
    }

    /// Moves a qemu config from `pve1` to `pve2` (PVE's migration renames it).
    pub(super) fn migrate(&mut self, vmid: u32) {
        let name = format!("{vmid}.conf");
        fs::rename(
            self.config_dir(NODE, GuestKind::Qemu).join(&name),
            self.config_dir(OTHER_NODE, GuestKind::Qemu).join(&name),
        )
        .unwrap();
        self.bump(vmid, OTHER_NODE, GuestKind::Qemu);
    }

    /// Writes a file into `pve1`'s config directory that is not a config.
    pub(super) fn write_stray(&self, kind: GuestKind, name: &str) {
        fs::write(self.config_dir(NODE, kind).join(name), "not a config\n").unwrap();
    }

    /// A change made on another node: pmxcfs updates `.vmlist` and raises no local event.
    pub(super) fn remote_change(&mut self, vmid: u32, node: &str, kind: GuestKind) {
        self.bump(vmid, node, kind);
    }

    /// A guest removed on another node.
    pub(super) fn remote_removal(&mut self, vmid: u32) {
        self.guests.remove(&vmid);
        self.version += 1;
        self.write_vmlist();
    }

    fn bump(&mut self, vmid: u32, node: &str, kind: GuestKind) {
        self.version += 1;
        let version = self.version;
        let guest = self.guests.entry(vmid).or_insert(Guest {
            node: node.to_owned(),
            kind,
            version,
        });
        guest.node = node.to_owned();
        guest.kind = kind;
        guest.version = version;
        self.write_vmlist();
    }

    /// `.vmlist` in pmxcfs's format, replaced atomically.
    fn write_vmlist(&self) {
        let mut text = format!("{{\n\"version\": {},\n\"ids\": {{\n", self.version);
        let entries: Vec<String> = self
            .guests
            .iter()
            .map(|(vmid, guest)| {
                let kind = match guest.kind {
                    GuestKind::Qemu => "qemu",
                    GuestKind::Lxc => "lxc",
                };
                format!(
                    "\"{vmid}\": {{ \"node\": \"{}\", \"type\": \"{kind}\", \"version\": {} }}",
                    guest.node, guest.version
                )
            })
            .collect();
        let _ = write!(text, "{}}}\n\n}}\n", entries.join(",\n"));
        let path = self.pmxcfs_root().join(".vmlist");
        let tmp = path.with_extension("tmp");
        fs::write(&tmp, text).unwrap();
        fs::rename(tmp, path).unwrap();
    }
}

/// Appends `text` to a task log in one write, creating it if needed (as a worker does).
pub(super) fn append(path: &Path, text: &str) {
    let mut file = fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .unwrap();
    file.write_all(text.as_bytes()).unwrap();
}
