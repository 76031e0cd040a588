//! What the poller last saw, and one poll: the file reads and comparisons, without timing.

use std::collections::HashMap;
use std::fs;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use crate::pmxcfs::{GuestKind, Vmlist, VmlistEntry};
use crate::watch::WatchError;
use crate::watch::event::{WatchEvent, WatchTarget};
use crate::watch::routes::check_target;

/// The poller's subscriptions and its last view of each watched file.
#[derive(Debug, Default)]
pub(super) struct PollState {
    /// By pmxcfs root.
    vmlists: HashMap<PathBuf, VmlistWatch>,
    /// By path.
    task_logs: HashMap<PathBuf, TaskLogWatch>,
}

#[derive(Debug)]
struct VmlistWatch {
    /// The subscribed config directories, by identity, with their subscription counts.
    configs: HashMap<(String, GuestKind), usize>,
    last: Vmlist,
    /// Whether the last read failed (it is reported once, not on every poll).
    failing: bool,
}

#[derive(Debug)]
struct TaskLogWatch {
    subscriptions: usize,
    last: Option<FileStamp>,
}

/// Enough of a file's metadata to see it grow, shrink or be replaced.
#[derive(Debug, Clone, PartialEq, Eq)]
struct FileStamp {
    len: u64,
    dev: u64,
    ino: u64,
    modified: Option<SystemTime>,
}

impl PollState {
    pub(super) fn is_empty(&self) -> bool {
        self.vmlists.is_empty() && self.task_logs.is_empty()
    }

    /// Adds a subscription, reading its file now when it is the first one for that file.
    pub(super) fn subscribe(&mut self, target: &WatchTarget) -> Result<(), WatchError> {
        check_target(target)?;
        match target {
            WatchTarget::GuestConfigs {
                pmxcfs_root,
                node,
                kind,
            } => {
                let watch = match self.vmlists.get_mut(pmxcfs_root) {
                    Some(watch) => watch,
                    None => self
                        .vmlists
                        .entry(pmxcfs_root.clone())
                        .or_insert(VmlistWatch {
                            configs: HashMap::new(),
                            last: read_vmlist(pmxcfs_root)?,
                            failing: false,
                        }),
                };
                *watch.configs.entry((node.clone(), *kind)).or_default() += 1;
            }
            WatchTarget::TaskLog { path } => {
                self.task_logs
                    .entry(path.clone())
                    .or_insert_with(|| TaskLogWatch {
                        subscriptions: 0,
                        last: stamp(path),
                    })
                    .subscriptions += 1;
            }
        }
        Ok(())
    }

    pub(super) fn unsubscribe(&mut self, target: &WatchTarget) -> Result<(), WatchError> {
        let not_subscribed = || WatchError::NotSubscribed(target.to_string());
        match target {
            WatchTarget::GuestConfigs {
                pmxcfs_root,
                node,
                kind,
            } => {
                let watch = self
                    .vmlists
                    .get_mut(pmxcfs_root)
                    .ok_or_else(not_subscribed)?;
                let identity = (node.clone(), *kind);
                let count = watch
                    .configs
                    .get_mut(&identity)
                    .ok_or_else(not_subscribed)?;
                *count -= 1;
                if *count == 0 {
                    watch.configs.remove(&identity);
                }
                if watch.configs.is_empty() {
                    self.vmlists.remove(pmxcfs_root);
                }
            }
            WatchTarget::TaskLog { path } => {
                let watch = self.task_logs.get_mut(path).ok_or_else(not_subscribed)?;
                watch.subscriptions -= 1;
                if watch.subscriptions == 0 {
                    self.task_logs.remove(path);
                }
            }
        }
        Ok(())
    }

    /// Looks at every watched file once; returns what changed since the last look.
    pub(super) fn poll(&mut self) -> Vec<WatchEvent> {
        let mut events = Vec::new();
        let mut vmlist_changed = false;
        for (root, watch) in &mut self.vmlists {
            let current = match read_vmlist(root) {
                Ok(current) => current,
                Err(error) => {
                    if !watch.failing {
                        tracing::warn!("polling for guest config changes: {error}");
                    }
                    watch.failing = true;
                    continue;
                }
            };
            watch.failing = false;
            if current == watch.last {
                continue;
            }
            for vmid in current.changed_since(&watch.last) {
                let (before, after) = (watch.last.get(vmid), current.get(vmid));
                for (node, kind) in watch.configs.keys() {
                    let (node, kind) = (node.clone(), *kind);
                    if lives_in(after, &node, kind) {
                        events.push(WatchEvent::GuestConfigChanged { node, kind, vmid });
                    } else if lives_in(before, &node, kind) {
                        events.push(WatchEvent::GuestConfigRemoved { node, kind, vmid });
                    }
                }
            }
            vmlist_changed |= current.version != watch.last.version;
            watch.last = current;
        }
        for (path, watch) in &mut self.task_logs {
            let current = stamp(path);
            if current != watch.last {
                events.push(WatchEvent::TaskLogChanged { path: path.clone() });
                watch.last = current;
            }
        }
        if vmlist_changed {
            events.push(WatchEvent::VmlistMaybeChanged);
        }
        events
    }
}

/// Whether a `.vmlist` entry puts the guest's config in `node`'s `kind` directory.
fn lives_in(entry: Option<&VmlistEntry>, node: &str, kind: GuestKind) -> bool {
    entry.is_some_and(|entry| entry.node == node && entry.guest_type.kind() == Some(kind))
}

fn read_vmlist(pmxcfs_root: &Path) -> Result<Vmlist, WatchError> {
    let path = pmxcfs_root.join(".vmlist");
    let bytes = fs::read(&path).map_err(|source| WatchError::Read {
        path: path.clone(),
        source,
    })?;
    Vmlist::parse(&bytes).map_err(|source| WatchError::Vmlist { path, source })
}

/// The file's stamp; `None` while it does not exist (or cannot be looked at).
fn stamp(path: &Path) -> Option<FileStamp> {
    let metadata = fs::metadata(path).ok()?;
    Some(FileStamp {
        len: metadata.len(),
        dev: metadata.dev(),
        ino: metadata.ino(),
        modified: metadata.modified().ok(),
    })
}
