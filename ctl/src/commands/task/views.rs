//! Tasks as `task list` and `task stop` print them.

use pvectl_proto::v1::{Task, TaskState};
use serde::Serialize;
use time::OffsetDateTime;
use time::macros::format_description;

use crate::commands::view;
use crate::output::{Column, Tabular};

/// One PVE task as listed.
#[derive(Debug, Serialize)]
pub(super) struct TaskView {
    pub upid: String,
    pub node: String,
    #[serde(rename = "type")]
    pub task_type: String,
    pub id: String,
    pub user: String,
    /// RFC 3339, UTC.
    pub started: String,
    /// RFC 3339, UTC; `None` while running.
    pub ended: Option<String>,
    /// `running`, `ok`, `warnings` or `error`.
    pub state: &'static str,
    /// PVE's exit status (`OK`, `WARNINGS: 2`, the error); empty while running.
    pub exit_status: String,
    /// The pvectl operation that started it; empty for other tasks.
    pub operation_id: String,
    #[serde(skip)]
    start_unix_ms: i64,
    #[serde(skip)]
    end_unix_ms: i64,
}

impl TaskView {
    pub fn new(task: &Task) -> TaskView {
        let ended = (task.state() != TaskState::Running && task.end_unix_ms > 0)
            .then(|| view::unix_ms(task.end_unix_ms));
        TaskView {
            upid: task.upid.clone(),
            node: task.node.clone(),
            task_type: task.task_type.clone(),
            id: task.id.clone(),
            user: task.user.clone(),
            started: view::unix_ms(task.start_unix_ms),
            ended,
            state: state(task.state()),
            exit_status: task.exit_status.clone(),
            operation_id: task.operation_id.clone(),
            start_unix_ms: task.start_unix_ms,
            end_unix_ms: task.end_unix_ms,
        }
    }

    /// `running`, or PVE's exit status.
    fn status(&self) -> String {
        if self.state == "running" || self.exit_status.is_empty() {
            self.state.to_owned()
        } else {
            self.exit_status.clone()
        }
    }

    fn duration(&self) -> String {
        if self.ended.is_none() {
            return "-".to_owned();
        }
        let secs = (self.end_unix_ms - self.start_unix_ms).max(0) / 1000;
        match (secs / 3600, secs % 3600 / 60, secs % 60) {
            (0, 0, s) => format!("{s}s"),
            (0, m, s) => format!("{m}m{s}s"),
            (h, m, _) => format!("{h}h{m}m"),
        }
    }
}

fn state(state: TaskState) -> &'static str {
    match state {
        TaskState::Running => "running",
        TaskState::Ok => "ok",
        TaskState::Warnings => "warnings",
        TaskState::Error => "error",
        TaskState::Unspecified => "unknown",
    }
}

/// `2025-01-31 12:00:05` (UTC), for table cells.
fn short_time(unix_ms: i64) -> String {
    let format = format_description!("[year]-[month]-[day] [hour]:[minute]:[second]");
    OffsetDateTime::from_unix_timestamp(unix_ms.div_euclid(1000))
        .ok()
        .and_then(|time| time.format(&format).ok())
        .unwrap_or_else(|| unix_ms.to_string())
}

impl Tabular for TaskView {
    const KIND: &'static str = "task";
    const COLUMNS: &'static [Column] = &[
        Column::always("STARTED"),
        Column::always("NODE"),
        Column::always("TYPE"),
        Column::always("ID"),
        Column::always("USER"),
        Column::always("STATUS"),
        Column::wide("ENDED"),
        Column::wide("DURATION"),
        Column::wide("OPERATION"),
        Column::always("UPID"),
    ];

    fn cells(&self) -> Vec<String> {
        vec![
            short_time(self.start_unix_ms),
            self.node.clone(),
            self.task_type.clone(),
            view::or_dash(&self.id),
            self.user.clone(),
            self.status(),
            self.ended
                .as_ref()
                .map_or_else(|| "-".to_owned(), |_| short_time(self.end_unix_ms)),
            self.duration(),
            view::or_dash(&self.operation_id),
            self.upid.clone(),
        ]
    }

    fn name(&self) -> String {
        self.upid.clone()
    }
}

/// What `task stop` did.
#[derive(Debug, Serialize)]
pub(super) struct StopView {
    pub node: String,
    /// The task stopped (for an operation, its current one; empty if it had
    /// none yet).
    pub upid: String,
    /// The operation stopped, when one was named.
    pub operation_id: String,
    /// False when it had already ended.
    pub was_running: bool,
}

impl StopView {
    /// The sentence a table format prints.
    pub fn sentence(&self) -> String {
        let node = &self.node;
        match (self.operation_id.is_empty(), self.was_running) {
            (true, true) => format!("stopped task {} on {node}", self.upid),
            (true, false) => format!(
                "task {} on {node} had already ended; nothing to stop",
                self.upid
            ),
            (false, true) if self.upid.is_empty() => format!(
                "stopped operation {} on {node} before it started a PVE task",
                self.operation_id
            ),
            (false, true) => format!(
                "stopped operation {} on {node} and its task {}",
                self.operation_id, self.upid
            ),
            (false, false) => format!(
                "operation {} on {node} had already ended; nothing to stop",
                self.operation_id
            ),
        }
    }
}

impl Tabular for StopView {
    const KIND: &'static str = "task";
    const COLUMNS: &'static [Column] = &[
        Column::always("NODE"),
        Column::always("OPERATION"),
        Column::always("WAS RUNNING"),
        Column::always("UPID"),
    ];

    fn cells(&self) -> Vec<String> {
        vec![
            self.node.clone(),
            view::or_dash(&self.operation_id),
            if self.was_running { "yes" } else { "no" }.to_owned(),
            view::or_dash(&self.upid),
        ]
    }

    fn name(&self) -> String {
        self.upid.clone()
    }
}
