//! Tasks: a worker is a tokio task with a UPID, a log file in the node's task
//! directory and a record in the registry; it ends with PVE's final line.
use std::sync::Arc;
use std::time::SystemTime;

use tokio::sync::watch;

use super::{Sim, SimRef};
use crate::api::ApiError;
use crate::tasks::{TaskEnd, TaskLog, Upid};

/// What the registry knows of a task.
#[derive(Debug, Clone)]
pub struct TaskRecord {
    pub upid: Upid,
    /// `(end, endtime)` once stopped
    pub end: Option<(TaskEnd, i64)>,
    /// Wall clock, sub-second: just before the task's log was created.
    pub started_at: SystemTime,
    /// Wall clock, sub-second: just before the final line was written (benchmarks
    /// measure from here; file mtimes are too coarse).
    pub final_line_at: Option<SystemTime>,
    /// set to true to ask the worker to stop (DELETE /tasks/{upid})
    pub stop: watch::Sender<bool>,
}

impl TaskRecord {
    pub fn running(&self) -> bool {
        self.end.is_none()
    }
}

/// Handed to a worker body: logging, the stop signal and the simulator.
pub struct TaskCtx {
    pub sim: SimRef,
    pub upid: Upid,
    pub pid: u32,
    log: Arc<TaskLog>,
    stop: watch::Receiver<bool>,
}

/// PVE's text when a worker gets SIGTERM (it reaches the task's end unprefixed).
pub const INTERRUPTED: &str = "interrupted by signal";

impl TaskCtx {
    /// Appends one line to the task log.
    pub fn log(&self, line: &str) {
        if let Err(err) = self.log.line(line) {
            tracing::warn!(upid = %self.upid, %err, "cannot append to task log");
        }
    }

    /// Whether a stop was requested.
    pub fn stopping(&self) -> bool {
        *self.stop.borrow()
    }

    /// Sleeps `sim` simulated time; `Err(INTERRUPTED)` if stopped meanwhile.
    pub async fn sleep(&mut self, sim: std::time::Duration) -> Result<(), String> {
        let clock = self.sim.clock;
        let interrupted = tokio::select! {
            _ = clock.sleep(sim) => false,
            _ = self.stop.wait_for(|stop| *stop) => true,
        };
        if interrupted || self.stopping() {
            Err(INTERRUPTED.into())
        } else {
            Ok(())
        }
    }

    /// Waits until a stop is requested (a hung worker).
    pub async fn hang(&mut self) -> String {
        let _ = self.stop.wait_for(|stop| *stop).await;
        INTERRUPTED.into()
    }
}

impl Sim {
    /// Starts a worker on `node` and returns its UPID at once, as PVE's
    /// asynchronous calls do. The body's `Err(msg)` becomes `TASK ERROR: msg`.
    pub fn spawn_task<F, Fut>(
        self: &Arc<Self>,
        node: &str,
        task_type: &str,
        id: &str,
        user: &str,
        body: F,
    ) -> Result<Upid, ApiError>
    where
        F: FnOnce(TaskCtx) -> Fut + Send + 'static,
        Fut: std::future::Future<Output = Result<TaskEnd, String>> + Send + 'static,
    {
        let pid = self.state().next_pid();
        let upid = Upid {
            node: node.to_string(),
            pid,
            pstart: 0x0100_0000 + u64::from(pid) * 7,
            starttime: self.clock.epoch_now(),
            task_type: task_type.to_string(),
            id: id.to_string(),
            user: user.to_string(),
        };
        let started_at = SystemTime::now();
        let logs = self
            .tasklogs
            .get(node)
            .ok_or_else(|| ApiError::internal(format!("no task directory for node '{node}'")))?;
        let log = logs
            .start(&upid)
            .map_err(|e| ApiError::internal(format!("unable to create task log: {e}")))?;
        let (stop_tx, stop_rx) = watch::channel(false);
        self.state().tasks.insert(
            upid.to_string(),
            TaskRecord {
                upid: upid.clone(),
                end: None,
                started_at,
                final_line_at: None,
                stop: stop_tx,
            },
        );
        let log = Arc::new(log);
        let ctx = TaskCtx {
            sim: Arc::clone(self),
            upid: upid.clone(),
            pid,
            log: Arc::clone(&log),
            stop: stop_rx,
        };
        let sim = Arc::clone(self);
        let task_upid = upid.clone();
        tokio::spawn(async move {
            let upid = task_upid;
            let end = body(ctx).await.unwrap_or_else(TaskEnd::Error);
            let final_line_at = SystemTime::now();
            // the body has dropped its context, so this is the last handle
            let finished = match Arc::try_unwrap(log) {
                Ok(log) => log.finish(&end),
                Err(shared) => shared.line(&end.final_line()),
            };
            if let Err(err) = finished {
                tracing::warn!(%upid, %err, "cannot finish task log");
            }
            let endtime = sim.clock.epoch_now();
            if let Some(record) = sim.state().tasks.get_mut(&upid.to_string()) {
                record.end = Some((end, endtime));
                record.final_line_at = Some(final_line_at);
            }
        });
        Ok(upid)
    }
}
