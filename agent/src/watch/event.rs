//! The pure event model: what can be watched, what a watcher reports, and which file names
//! count (`<vmid>.conf` for configs, a UPID for task logs). No IO here.

use std::ffi::OsStr;
use std::fmt;
use std::path::{Path, PathBuf};

use pvectl_proto::Upid;

use crate::pmxcfs::GuestKind;

/// Something a watcher reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WatchEvent {
    /// `<vmid>.conf` has new contents (a rename onto it, or a writer closed it): re-read it.
    GuestConfigChanged {
        node: String,
        kind: GuestKind,
        vmid: u32,
    },
    /// `<vmid>.conf` was deleted or moved away.
    GuestConfigRemoved {
        node: String,
        kind: GuestKind,
        vmid: u32,
    },
    /// A subscribed task log appeared, grew, or went away: read what is new.
    TaskLogChanged { path: PathBuf },
    /// `.vmlist` has a new version (a guest changed somewhere in the cluster): re-read it.
    /// Only the poller can see this; inotify sees no `.vmlist` changes.
    VmlistMaybeChanged,
    /// Events may have been lost (inotify's queue overflowed, a watched directory went
    /// away): re-read everything watched.
    Rescan,
}

/// Something to watch.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum WatchTarget {
    /// The configs of one node and kind: `<pmxcfs_root>/nodes/<node>/<qemu-server|lxc>/`.
    GuestConfigs {
        pmxcfs_root: PathBuf,
        node: String,
        kind: GuestKind,
    },
    /// One task log, `<task root>/<X>/<UPID>`; it need not exist yet.
    TaskLog { path: PathBuf },
}

impl WatchTarget {
    /// The directory a watcher watches for this target.
    pub fn directory(&self) -> PathBuf {
        match self {
            Self::GuestConfigs {
                pmxcfs_root,
                node,
                kind,
            } => pmxcfs_root
                .join("nodes")
                .join(node)
                .join(config_dir_name(*kind)),
            Self::TaskLog { path } => path.parent().map(Path::to_path_buf).unwrap_or_default(),
        }
    }

    /// Whether a subscriber to this target wants `event`. Config events name no pmxcfs root,
    /// so they match by node and kind.
    pub fn wants(&self, event: &WatchEvent) -> bool {
        match (self, event) {
            (_, WatchEvent::Rescan) => true,
            (Self::GuestConfigs { .. }, WatchEvent::VmlistMaybeChanged) => true,
            (
                Self::GuestConfigs { node, kind, .. },
                WatchEvent::GuestConfigChanged {
                    node: event_node,
                    kind: event_kind,
                    ..
                }
                | WatchEvent::GuestConfigRemoved {
                    node: event_node,
                    kind: event_kind,
                    ..
                },
            ) => node == event_node && kind == event_kind,
            (Self::TaskLog { path }, WatchEvent::TaskLogChanged { path: changed }) => {
                path == changed
            }
            _ => false,
        }
    }
}

impl fmt::Display for WatchTarget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::GuestConfigs { .. } => {
                write!(f, "guest configs in {}", self.directory().display())
            }
            Self::TaskLog { path } => write!(f, "task log {}", path.display()),
        }
    }
}

/// Which mechanism serves a subscription.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Backend {
    Inotify,
    Poll,
}

impl fmt::Display for Backend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Inotify => "inotify",
            Self::Poll => "polling",
        })
    }
}

/// The directory name of a kind's configs under `nodes/<node>/`.
pub fn config_dir_name(kind: GuestKind) -> &'static str {
    match kind {
        GuestKind::Qemu => "qemu-server",
        GuestKind::Lxc => "lxc",
    }
}

/// The VMID of a config file name: `^\d+\.conf$`, so `<vmid>.conf.tmp.<pid>` and anything
/// else is `None`. A leading zero is refused too: PVE never writes one, and `0100.conf` must
/// not be taken for guest 100.
pub fn config_vmid(name: &OsStr) -> Option<u32> {
    let digits = name.to_str()?.strip_suffix(".conf")?;
    if digits.is_empty() || digits.starts_with('0') || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

/// Whether `name` is a UPID and so a task log's file name:
/// `UPID:<node>:<pid>:<pstart>:<starttime>:<type>:<id>:<user>:`.
pub fn is_task_log_name(name: &OsStr) -> bool {
    name.to_str()
        .is_some_and(|name| name.parse::<Upid>().is_ok())
}

/// Where PVE keeps the log of task `upid`: `<task_root>/<last hex digit of starttime>/<upid>`.
/// `None` if `upid` is not a UPID.
pub fn task_log_path(task_root: &Path, upid: &str) -> Option<PathBuf> {
    let upid: Upid = upid.parse().ok()?;
    Some(task_root.join(upid.log_subdir()).join(upid.as_str()))
}
