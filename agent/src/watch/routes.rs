//! Which watched directory means what, and how a raw change of a name in it becomes a
//! [`WatchEvent`]. Pure, so the rules PVE's write path dictates are tested without a kernel.
//!
//! PVE writes a config as `<vmid>.conf.tmp.<pid>` and renames it onto `<vmid>.conf`, so the
//! rename onto the name (or a writer closing it) is the change; a create is not, since the
//! file is empty until its writer closes it. A task log is appended to while its worker
//! holds it open, so for task logs every modification counts: readers take complete lines
//! only and never see half a line.

use std::collections::HashMap;
use std::collections::hash_map::Entry;
use std::ffi::OsString;
use std::path::{Path, PathBuf};

use super::WatchError;
use super::event::{WatchEvent, WatchTarget, config_vmid, is_task_log_name};
use crate::pmxcfs::GuestKind;

/// A change of one name in a watched directory, as inotify reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum DirChange {
    /// `IN_CREATE`.
    Created,
    /// `IN_MODIFY`.
    Modified,
    /// `IN_CLOSE_WRITE`.
    ClosedAfterWrite,
    /// `IN_MOVED_TO`.
    MovedIn,
    /// `IN_MOVED_FROM`.
    MovedOut,
    /// `IN_DELETE`.
    Deleted,
}

/// Refuses targets no watcher can serve: relative paths, task logs not named by a UPID.
pub(crate) fn check_target(target: &WatchTarget) -> Result<(), WatchError> {
    let path = match target {
        WatchTarget::GuestConfigs { pmxcfs_root, .. } => pmxcfs_root,
        WatchTarget::TaskLog { path } => path,
    };
    if !path.is_absolute() {
        return Err(WatchError::RelativePath(path.clone()));
    }
    if let WatchTarget::TaskLog { path } = target
        && !path.file_name().is_some_and(is_task_log_name)
    {
        return Err(WatchError::NotATaskLog(path.clone()));
    }
    Ok(())
}

/// The subscriptions of an inotify-style watcher, by directory.
#[derive(Debug, Default)]
pub(crate) struct Routes {
    dirs: HashMap<PathBuf, DirRoutes>,
}

#[derive(Debug, Default)]
struct DirRoutes {
    /// Subscriptions to this directory as a config directory, by identity.
    configs: HashMap<(String, GuestKind), usize>,
    /// Subscribed task logs in this directory, by file name.
    task_logs: HashMap<OsString, usize>,
}

impl DirRoutes {
    fn is_empty(&self) -> bool {
        self.configs.is_empty() && self.task_logs.is_empty()
    }
}

impl Routes {
    /// Records a subscription. Returns the directory when nothing watched it before.
    pub(crate) fn add(&mut self, target: &WatchTarget) -> Result<Option<PathBuf>, WatchError> {
        check_target(target)?;
        let dir = target.directory();
        let new_dir = !self.dirs.contains_key(&dir);
        let routes = self.dirs.entry(dir.clone()).or_default();
        match target {
            WatchTarget::GuestConfigs { node, kind, .. } => {
                *routes.configs.entry((node.clone(), *kind)).or_default() += 1;
            }
            WatchTarget::TaskLog { path } => {
                let name = path.file_name().unwrap_or_default().to_owned();
                *routes.task_logs.entry(name).or_default() += 1;
            }
        }
        Ok(new_dir.then_some(dir))
    }

    /// Drops a subscription. Returns the directory when nothing watches it any more.
    pub(crate) fn remove(&mut self, target: &WatchTarget) -> Result<Option<PathBuf>, WatchError> {
        let dir = target.directory();
        let not_subscribed = || WatchError::NotSubscribed(target.to_string());
        let routes = self.dirs.get_mut(&dir).ok_or_else(not_subscribed)?;
        let removed = match target {
            WatchTarget::GuestConfigs { node, kind, .. } => {
                decrement(routes.configs.entry((node.clone(), *kind)))
            }
            WatchTarget::TaskLog { path } => {
                let name = path.file_name().unwrap_or_default().to_owned();
                decrement(routes.task_logs.entry(name))
            }
        };
        if !removed {
            return Err(not_subscribed());
        }
        if routes.is_empty() {
            self.dirs.remove(&dir);
            return Ok(Some(dir));
        }
        Ok(None)
    }

    /// What `change` of `path` means to the subscribers, if anything.
    pub(crate) fn classify(&self, path: &Path, change: DirChange) -> Option<WatchEvent> {
        if self.dirs.contains_key(path) {
            // The watched directory itself was deleted or moved: its watch is gone.
            return Some(WatchEvent::Rescan);
        }
        let routes = self.dirs.get(path.parent()?)?;
        let name = path.file_name()?;
        if let Some(vmid) = config_vmid(name)
            && let Some((node, kind)) = routes.configs.keys().next()
        {
            let (node, kind) = (node.clone(), *kind);
            return match change {
                DirChange::MovedIn | DirChange::ClosedAfterWrite => {
                    Some(WatchEvent::GuestConfigChanged { node, kind, vmid })
                }
                DirChange::MovedOut | DirChange::Deleted => {
                    Some(WatchEvent::GuestConfigRemoved { node, kind, vmid })
                }
                DirChange::Created | DirChange::Modified => None,
            };
        }
        routes
            .task_logs
            .contains_key(name)
            .then(|| WatchEvent::TaskLogChanged {
                path: path.to_path_buf(),
            })
    }
}

/// Counts one subscription down; false if there was none.
fn decrement<K>(entry: Entry<'_, K, usize>) -> bool {
    match entry {
        Entry::Occupied(mut count) => {
            *count.get_mut() -= 1;
            if *count.get() == 0 {
                count.remove();
            }
            true
        }
        Entry::Vacant(_) => false,
    }
}
