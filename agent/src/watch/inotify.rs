//! The inotify adapter: `notify`'s Linux backend, kept thin. It watches directories (never a
//! file's inode, which a rename replaces), one watch per directory however many targets
//! share it, and leaves all meaning to [`Routes`].
//!
//! `notify` 8 has no feature for inotify: on Linux its `RecommendedWatcher` is the
//! `INotifyWatcher`, built with `default-features = false` (the default feature is macOS
//! FSEvents only). Its watch mask is fixed (it adds `IN_OPEN`, `IN_MODIFY`, `IN_ATTRIB` to
//! the `IN_CREATE`, `IN_MOVED_TO`, `IN_MOVED_FROM`, `IN_CLOSE_WRITE`, `IN_DELETE` this
//! module needs); the extra kinds are dropped here.

use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use notify::Watcher as _;
use notify::event::{AccessKind, AccessMode, EventKind, ModifyKind, RenameMode};

use super::event::{Backend, WatchEvent, WatchTarget};
use super::routes::{DirChange, Routes};
use super::{EventSender, WatchError, Watcher};

/// Watches directories with inotify; sees changes made on this node only.
pub struct InotifyWatcher {
    notify: notify::INotifyWatcher,
    routes: Arc<Mutex<Routes>>,
}

impl InotifyWatcher {
    /// Initialises inotify (its own thread, run by `notify`); events go to `events`.
    pub fn start(events: EventSender) -> Result<Self, WatchError> {
        let routes = Arc::new(Mutex::new(Routes::default()));
        let handler_routes = Arc::clone(&routes);
        let handler = move |result: notify::Result<notify::Event>| {
            for event in translate(&handler_routes, result) {
                // A closed receiver means nobody listens any more; nothing to do.
                let _ = events.send(event);
            }
        };
        let notify = notify::INotifyWatcher::new(handler, notify::Config::default())
            .map_err(WatchError::InotifyUnavailable)?;
        Ok(Self { notify, routes })
    }
}

impl Watcher for InotifyWatcher {
    fn subscribe(&mut self, target: &WatchTarget) -> Result<Backend, WatchError> {
        // The routes lock is never held while calling into notify: notify's thread takes it
        // for every event and answers (un)watch requests on the same thread.
        let new_dir = lock(&self.routes).add(target)?;
        if let Some(dir) = new_dir
            && let Err(source) = self.notify.watch(&dir, notify::RecursiveMode::NonRecursive)
        {
            // Cannot fail: the route was added just above.
            let _ = lock(&self.routes).remove(target);
            return Err(WatchError::Watch { path: dir, source });
        }
        Ok(Backend::Inotify)
    }

    fn unsubscribe(&mut self, target: &WatchTarget) -> Result<(), WatchError> {
        let gone_dir = lock(&self.routes).remove(target)?;
        if let Some(dir) = gone_dir {
            // Fails only when the kernel already dropped the watch (the directory went away);
            // the watch is gone either way.
            let _ = self.notify.unwatch(&dir);
        }
        Ok(())
    }
}

/// What one notify callback means to the subscribers.
fn translate(routes: &Mutex<Routes>, result: notify::Result<notify::Event>) -> Vec<WatchEvent> {
    let event = match result {
        Ok(event) => event,
        Err(error) => {
            tracing::warn!("inotify reported an error, rescanning: {error}");
            return vec![WatchEvent::Rescan];
        }
    };
    if event.need_rescan() {
        return vec![WatchEvent::Rescan];
    }
    let Some(change) = dir_change(&event.kind) else {
        return Vec::new();
    };
    let routes = lock(routes);
    event
        .paths
        .iter()
        .filter_map(|path| routes.classify(path, change))
        .collect()
}

/// The inotify event behind a notify event kind; `None` for the kinds nobody keys on.
fn dir_change(kind: &EventKind) -> Option<DirChange> {
    match kind {
        EventKind::Create(_) => Some(DirChange::Created),
        EventKind::Modify(ModifyKind::Data(_)) => Some(DirChange::Modified),
        EventKind::Access(AccessKind::Close(AccessMode::Write)) => {
            Some(DirChange::ClosedAfterWrite)
        }
        EventKind::Modify(ModifyKind::Name(RenameMode::To)) => Some(DirChange::MovedIn),
        EventKind::Modify(ModifyKind::Name(RenameMode::From)) => Some(DirChange::MovedOut),
        EventKind::Remove(_) => Some(DirChange::Deleted),
        // `Both` repeats a `From` + `To` pair already seen; opens, reads, attribute changes
        // say nothing about contents.
        _ => None,
    }
}

fn lock(routes: &Mutex<Routes>) -> MutexGuard<'_, Routes> {
    routes.lock().unwrap_or_else(PoisonError::into_inner)
}
