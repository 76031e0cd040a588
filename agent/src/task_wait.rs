//! Waiting for a PVE task to end while following its log, the way DESIGN
//! step 5 asks: the node-local log followed through the watcher
//! ([`TaskLogFollower`]: lines as they are written, the final `TASK OK` /
//! `TASK ERROR: …`), the guest's config directory watched for the clone's
//! writes (the lock going is a wake-up, not the end), and the API's task
//! status as a slow safety net (1 s, doubling to 10 s). Without a watcher
//! (API-only mode, or a log the watcher cannot follow) the log comes from
//! the API, polled with backoff.

mod log;

use std::collections::VecDeque;
use std::time::Duration;

use tokio::time::Instant;

use crate::cluster::Source;
use crate::context::AgentCtx;
use crate::pmxcfs::GuestKind;
use crate::pve_api::{PveClient, PveError, TaskExit};
use crate::watch::{Subscription, TaskLogFollower, WatchEvent, WatchTarget, task_log_path};

use log::{LogFeed, LogItem};

/// Lines of the task log kept for error reports.
pub const TAIL_LINES: usize = 10;
const STATUS_FIRST: Duration = Duration::from_secs(1);
const STATUS_MAX: Duration = Duration::from_secs(10);

/// What a waiter reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WaitEvent {
    /// A new line of the task log (not the final one).
    Line(String),
    /// The guest's config changed (or may have): re-read it.
    GuestChanged,
    /// The task ended.
    Ended(TaskExit),
    /// The deadline passed first.
    TimedOut,
}

/// The guest whose config writes wake a waiter.
struct GuestWatch {
    vmid: u32,
    subscription: Subscription,
}

/// Follows one task until it ends.
pub struct TaskWaiter {
    pve: PveClient,
    node: String,
    upid: String,
    log: LogFeed,
    guest: Option<GuestWatch>,
    deadline: Instant,
    next_status: Instant,
    status_every: Duration,
    pending: VecDeque<WaitEvent>,
    tail: VecDeque<String>,
    lines_seen: u64,
    ended: Option<TaskExit>,
}

impl TaskWaiter {
    /// Starts following task `upid` on `node`; writes of `guest`'s config
    /// also wake the waiter. Subscribes before reading anything, so no
    /// change after this call is missed.
    pub fn start(
        ctx: &AgentCtx,
        node: &str,
        upid: &str,
        guest: Option<(GuestKind, u32)>,
        deadline: Instant,
    ) -> TaskWaiter {
        let mut log = LogFeed::api();
        let mut guest_watch = None;
        if let (Source::Pmxcfs(root), Some(hub), true) = (&ctx.source, &ctx.watch, node == ctx.node)
        {
            if let Some(path) = task_log_path(&ctx.config.task_log_root, upid) {
                match TaskLogFollower::start(hub, &path) {
                    Ok(follower) => log = LogFeed::Follow(Box::new(follower)),
                    Err(err) => tracing::warn!(%err, "following the task log through the API"),
                }
            }
            if let Some((kind, vmid)) = guest {
                let target = WatchTarget::GuestConfigs {
                    pmxcfs_root: root.clone(),
                    node: node.to_string(),
                    kind,
                };
                match hub.subscribe(target) {
                    Ok(subscription) => guest_watch = Some(GuestWatch { vmid, subscription }),
                    Err(err) => tracing::warn!(%err, "not watching the guest's config"),
                }
            }
        }
        TaskWaiter {
            pve: ctx.pve.clone(),
            node: node.to_string(),
            upid: upid.to_string(),
            log,
            guest: guest_watch,
            deadline,
            next_status: Instant::now() + STATUS_FIRST,
            status_every: STATUS_FIRST,
            pending: VecDeque::new(),
            tail: VecDeque::new(),
            lines_seen: 0,
            ended: None,
        }
    }

    pub fn upid(&self) -> &str {
        &self.upid
    }

    /// The last lines of the log seen so far, final line included.
    pub fn tail(&self) -> Vec<String> {
        self.tail.iter().cloned().collect()
    }

    /// The next line, config change, the end, or the deadline.
    pub async fn next(&mut self) -> WaitEvent {
        loop {
            if let Some(event) = self.pending.pop_front() {
                return event;
            }
            if let Some(exit) = &self.ended {
                return WaitEvent::Ended(exit.clone());
            }
            let (log, guest) = (&mut self.log, &mut self.guest);
            tokio::select! {
                item = log.next(&self.pve, &self.node, &self.upid) => self.take(item),
                changed = guest_changed(guest) => {
                    if changed {
                        self.pending.push_back(WaitEvent::GuestChanged);
                    }
                }
                () = tokio::time::sleep_until(self.next_status) => self.check_status().await,
                () = tokio::time::sleep_until(self.deadline) => return WaitEvent::TimedOut,
            }
        }
    }

    fn take(&mut self, item: Result<LogItem, String>) {
        match item {
            Ok(LogItem::Line(line)) => {
                self.lines_seen += 1;
                self.remember(&line);
                self.pending.push_back(WaitEvent::Line(line));
            }
            Ok(LogItem::End(exit, line)) => {
                self.lines_seen += 1;
                self.remember(&line);
                self.ended = Some(exit);
            }
            Ok(LogItem::Nothing) => {}
            Err(problem) => {
                tracing::warn!(upid = %self.upid, %problem, "cannot read the task log; using the API");
                self.log = LogFeed::api_from(self.lines_seen);
            }
        }
    }

    fn remember(&mut self, line: &str) {
        if self.tail.len() == TAIL_LINES {
            self.tail.pop_front();
        }
        self.tail.push_back(line.to_string());
    }

    /// The slow safety net: asks the API whether the task stopped. If it
    /// did, the rest of the log comes from the API and, lacking a final
    /// line, the status decides.
    async fn check_status(&mut self) {
        self.status_every = (self.status_every * 2).min(STATUS_MAX);
        self.next_status = Instant::now() + self.status_every;
        let status = match self.pve.task_status(&self.node, &self.upid).await {
            Ok(status) => status,
            Err(err @ (PveError::NotFound { .. } | PveError::Parameters { .. })) => {
                self.ended = Some(TaskExit::Failed(format!(
                    "PVE does not know the task: {err}"
                )));
                return;
            }
            Err(err) => {
                tracing::warn!(upid = %self.upid, %err, "cannot read the task status; will retry");
                return;
            }
        };
        let Some(exit) = status.exit() else {
            return;
        };
        let mut api = LogFeed::api_from(self.lines_seen);
        loop {
            match api.read_now(&self.pve, &self.node, &self.upid).await {
                Ok(items) if !items.is_empty() => {
                    for item in items {
                        self.take(Ok(item));
                    }
                }
                _ => break,
            }
            if self.ended.is_some() {
                return;
            }
        }
        self.ended = Some(exit);
    }
}

/// Whether the watched guest's config changed; pending forever without a
/// watch, or once the watcher is gone.
async fn guest_changed(guest: &mut Option<GuestWatch>) -> bool {
    let Some(watch) = guest else {
        return std::future::pending().await;
    };
    match watch.subscription.next().await {
        Some(
            WatchEvent::GuestConfigChanged { vmid, .. }
            | WatchEvent::GuestConfigRemoved { vmid, .. },
        ) => vmid == watch.vmid,
        Some(WatchEvent::VmlistMaybeChanged | WatchEvent::Rescan) => true,
        Some(WatchEvent::TaskLogChanged { .. }) => false,
        None => {
            *guest = None;
            false
        }
    }
}
