//! Waiting for a PVE task to end while following its log, the way DESIGN
//! step 5 asks: woken by changes of the task log and of the guest's config
//! directory (a [`Wakeups`] source), reading the node-local log file for
//! progress and the final `TASK OK` / `TASK ERROR: …` line, with the API's
//! task status as a slow safety net (1 s, doubling to 10 s). In API-only
//! mode the log comes from the API, polled with backoff.
//!
//! The wake-up source is a trait so the watcher (inotify, or its polling
//! adapter) plugs in; [`PollingWakeups`] is the timer-only fallback.

mod log;
mod wakeups;

use std::collections::VecDeque;
use std::time::Duration;

use tokio::time::Instant;

use crate::cluster::Source;
use crate::context::AgentCtx;
use crate::pmxcfs::GuestKind;
use crate::pve_api::{PveClient, PveError, TaskExit};

pub use log::{final_line, task_log_path};
pub use wakeups::{GuestDir, PollingWakeups, Wake, WakeTargets, WakeupSource, Wakeups};

use log::LogReader;

/// Lines of the task log kept for error reports.
pub const TAIL_LINES: usize = 10;
const STATUS_FIRST: Duration = Duration::from_secs(1);
const STATUS_MAX: Duration = Duration::from_secs(10);

/// What a waiter reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WaitEvent {
    /// A new line of the task log (not the final one).
    Line(String),
    /// The guest's config directory changed: re-read the config.
    GuestChanged,
    /// The task ended.
    Ended(TaskExit),
    /// The deadline passed first.
    TimedOut,
}

/// Follows one task until it ends.
pub struct TaskWaiter {
    pve: PveClient,
    node: String,
    upid: String,
    log: LogReader,
    wake: Box<dyn Wakeups>,
    deadline: Instant,
    next_status: Instant,
    status_every: Duration,
    pending: VecDeque<WaitEvent>,
    tail: VecDeque<String>,
    lines_seen: u64,
    ended: Option<TaskExit>,
}

impl TaskWaiter {
    /// Starts following task `upid` on `node`; `guest` is the config whose
    /// changes also wake the waiter. Reads nothing yet: the first `next`
    /// reads the log as it is after the watch began.
    pub fn start(
        ctx: &AgentCtx,
        node: &str,
        upid: &str,
        guest: Option<(GuestKind, u32)>,
        deadline: Instant,
    ) -> TaskWaiter {
        let local_log = match &ctx.source {
            Source::Pmxcfs(_) if node == ctx.node => task_log_path(&ctx.config.task_log_root, upid),
            _ => None,
        };
        let (log, wake): (LogReader, Box<dyn Wakeups>) = match (&ctx.source, local_log) {
            (Source::Pmxcfs(root), Some(path)) => {
                let targets = WakeTargets {
                    guest_dir: guest.map(|(kind, _)| GuestDir {
                        pmxcfs_root: root.clone(),
                        node: node.to_string(),
                        kind,
                    }),
                    task_log: Some(path.clone()),
                };
                (LogReader::file(path), ctx.wakeups.open(&targets))
            }
            _ => (LogReader::api(), Box::new(PollingWakeups::api())),
        };
        TaskWaiter {
            pve: ctx.pve.clone(),
            node: node.to_string(),
            upid: upid.to_string(),
            log,
            wake,
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
            self.read_log().await;
            if !self.pending.is_empty() || self.ended.is_some() {
                continue;
            }
            tokio::select! {
                wake = self.wake.next() => {
                    if matches!(wake, Wake::Guest | Wake::Any) {
                        self.pending.push_back(WaitEvent::GuestChanged);
                    }
                }
                () = tokio::time::sleep_until(self.next_status) => self.check_status().await,
                () = tokio::time::sleep_until(self.deadline) => return WaitEvent::TimedOut,
            }
        }
    }

    /// Reads what the log gained; queues its lines and notes the end.
    async fn read_log(&mut self) {
        let lines = match self.log.read(&self.pve, &self.node, &self.upid).await {
            Ok(lines) => lines,
            Err(problem) => {
                tracing::debug!(upid = %self.upid, %problem, "cannot read the task log yet");
                return;
            }
        };
        for line in lines {
            self.lines_seen += 1;
            self.remember(&line);
            if let Some(exit) = final_line(&line) {
                self.ended = Some(exit);
                return;
            }
            self.pending.push_back(WaitEvent::Line(line));
        }
    }

    fn remember(&mut self, line: &str) {
        if self.tail.len() == TAIL_LINES {
            self.tail.pop_front();
        }
        self.tail.push_back(line.to_string());
    }

    /// The slow safety net: asks the API whether the task stopped. If it
    /// did and the log showed no final line, the log is read through the API
    /// and the status decides.
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
        self.read_log().await;
        if self.ended.is_some() {
            return;
        }
        // the local log is missing or blind: take the rest from the API
        self.log = LogReader::api_from(self.lines_seen);
        self.read_log().await;
        if self.ended.is_none() {
            self.ended = Some(exit);
        }
    }
}
