//! Watching PVE's files for the changes the agent waits on: guest configs of this node and
//! task logs. Waiting by watching, not polling, is what makes a create fast (DESIGN, step 5).
//!
//! The shape follows rust-analyzer's vfs loader: a pure event model ([`WatchEvent`],
//! [`WatchTarget`]) and a small [`Watcher`] trait, with thin adapters behind it:
//! - [`InotifyWatcher`]: `notify`'s inotify backend on the directories (never a file's inode).
//!   It sees writes made on this node only; pmxcfs raises no events for other nodes' writes.
//! - [`PollWatcher`]: re-reads `.vmlist` and compares per-guest versions, stats task logs for
//!   growth, with exponential backoff while nothing changes and no timer at all while
//!   nothing is watched.
//! - [`AutoWatcher`]: inotify for each target whose directory can be watched, polling for
//!   the rest.
//!
//! [`WatchHub`] fans one watcher's events out to [`Subscription`]s, and [`TaskLogFollower`]
//! reads a task log line by line as it grows, driven by a subscription.
//!
//! Architecture invariant: only this module touches inotify.

mod auto;
mod backoff;
mod event;
mod follow;
mod hub;
mod inotify;
mod poll;
mod routes;
#[cfg(test)]
mod tests;

use std::path::PathBuf;

use tokio::sync::mpsc;

use crate::config::WatcherMode;
use crate::pmxcfs::StatusFileError;

pub use auto::AutoWatcher;
pub use event::{
    Backend, WatchEvent, WatchTarget, config_dir_name, config_vmid, is_task_log_name, task_log_path,
};
pub use follow::{DEFAULT_RECHECK, FollowError, TaskEnd, TaskLogFollower, TaskLogItem};
pub use hub::{Subscription, WatchHub};
pub use inotify::InotifyWatcher;
pub use poll::{PollConfig, PollWatcher};

/// Where a watcher sends its events. Unbounded: the consumer ([`WatchHub`]) only routes, and
/// a bounded channel would stall notify's thread, which also serves (un)subscriptions.
pub type EventSender = mpsc::UnboundedSender<WatchEvent>;
/// The receiving end of a watcher's events.
pub type EventReceiver = mpsc::UnboundedReceiver<WatchEvent>;

/// A source of [`WatchEvent`]s for the targets it is subscribed to.
///
/// Subscriptions are counted: a target subscribed twice needs two unsubscribes. Every change
/// made after `subscribe` returns is reported; one made before may not be, so read the
/// current state after subscribing, not before.
pub trait Watcher: Send {
    /// Starts reporting changes of `target`; says which backend serves it.
    fn subscribe(&mut self, target: &WatchTarget) -> Result<Backend, WatchError>;
    /// Stops reporting changes of `target` (once all its subscriptions are gone).
    fn unsubscribe(&mut self, target: &WatchTarget) -> Result<(), WatchError>;
}

/// Starts the watcher `mode` (the agent config's `watcher`) asks for and returns it with the receiver of its events.
/// Must run inside a tokio runtime (the poller is a task).
pub fn start_watcher(
    mode: WatcherMode,
    poll: PollConfig,
) -> Result<(Box<dyn Watcher>, EventReceiver), WatchError> {
    let (events, receiver) = mpsc::unbounded_channel();
    let watcher: Box<dyn Watcher> = match mode {
        WatcherMode::Auto => Box::new(AutoWatcher::start(poll, events)),
        WatcherMode::Inotify => Box::new(InotifyWatcher::start(events)?),
        WatcherMode::Poll => Box::new(PollWatcher::start(poll, events)),
    };
    Ok((watcher, receiver))
}

/// Why a watcher could not start or subscribe.
#[derive(Debug, thiserror::Error)]
pub enum WatchError {
    #[error("cannot start inotify: {0}")]
    InotifyUnavailable(#[source] notify::Error),
    #[error("cannot watch directory {path}: {source}")]
    Watch {
        path: PathBuf,
        #[source]
        source: notify::Error,
    },
    #[error("cannot read {path}: {source}")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot parse {path}: {source}")]
    Vmlist {
        path: PathBuf,
        #[source]
        source: StatusFileError,
    },
    #[error("cannot watch {0}: the path is relative; watched paths must be absolute")]
    RelativePath(PathBuf),
    #[error("cannot watch {0}: its name is not a UPID, so it is not a task log")]
    NotATaskLog(PathBuf),
    #[error("cannot unsubscribe from {0}: it is not subscribed")]
    NotSubscribed(String),
}
