//! A node's task list as PVE keeps it, read without IO: the `active` file
//! (`UPID 0` for a running task, `UPID 1 ENDTIME STATUS` for a recently
//! finished one), the `index` archive (`UPID ENDTIME STATUS`), the end a
//! log's last line announces, and the filters and order of `ListTasks`.

use std::collections::BTreeMap;

use pvectl_proto::Upid;
use pvectl_proto::v1::{ListTasksRequest, Task, TaskSource, TaskState};

use crate::pve_api::TaskExit;

/// How many tasks a listing returns when the request says 0 (PVE's default).
pub const DEFAULT_LIMIT: usize = 50;

/// One task: its UPID and, once it ended, when and how.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaskRecord {
    pub upid: Upid,
    pub end: Option<Ended>,
}

/// How and when a task ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ended {
    pub unix_ms: i64,
    /// PVE's exit status: `OK`, `WARNINGS: n`, the error text, or
    /// `unexpected status` for a worker killed before its final line.
    pub status: String,
}

impl Ended {
    /// The end a waiter or a log's final line reports, at `unix_ms`.
    pub fn from_exit(exit: &TaskExit, unix_ms: i64) -> Ended {
        let status = match exit {
            TaskExit::Ok => "OK".to_string(),
            TaskExit::Warnings(n) => format!("WARNINGS: {n}"),
            TaskExit::Failed(message) => message.clone(),
        };
        Ended { unix_ms, status }
    }
}

/// The state an exit status stands for: `OK`, `WARNINGS: n`, else an error
/// (PVE's own classification in its task list).
pub fn state_of(status: &str) -> TaskState {
    if status == "OK" {
        TaskState::Ok
    } else if status.starts_with("WARNINGS") {
        TaskState::Warnings
    } else {
        TaskState::Error
    }
}

/// The `active` file: running tasks and the most recent finished ones.
/// Lines that do not parse are skipped, as PVE only warns about them.
pub fn parse_active(text: &str) -> Vec<TaskRecord> {
    text.lines()
        .filter_map(|line| {
            let mut parts = line.splitn(4, ' ');
            let upid = parts.next()?.parse().ok()?;
            if !matches!(parts.next()?, "0" | "1") {
                return None;
            }
            let end = match parts.next() {
                None => None,
                Some(hex) => Some(Ended {
                    unix_ms: hex_seconds_ms(hex)?,
                    status: parts.next().unwrap_or_default().to_string(),
                }),
            };
            Some(TaskRecord { upid, end })
        })
        .collect()
}

/// The `index` archive (and `index.1`): finished tasks, oldest first.
pub fn parse_index(text: &str) -> Vec<TaskRecord> {
    text.lines()
        .filter_map(|line| {
            let mut parts = line.splitn(3, ' ');
            let upid = parts.next()?.parse().ok()?;
            let unix_ms = hex_seconds_ms(parts.next()?)?;
            let status = parts.next().unwrap_or_default().to_string();
            Some(TaskRecord {
                upid,
                end: Some(Ended { unix_ms, status }),
            })
        })
        .collect()
}

fn hex_seconds_ms(hex: &str) -> Option<i64> {
    i64::from_str_radix(hex, 16).ok()?.checked_mul(1000)
}

/// One record per UPID: a task `active` still calls running but the archive
/// lists as finished is finished; otherwise the first record wins.
pub fn merge(records: impl IntoIterator<Item = TaskRecord>) -> Vec<TaskRecord> {
    let mut by_upid: BTreeMap<String, TaskRecord> = BTreeMap::new();
    for record in records {
        match by_upid.get_mut(record.upid.as_str()) {
            Some(known) if known.end.is_none() => *known = record,
            Some(_) => {}
            None => {
                by_upid.insert(record.upid.as_str().to_string(), record);
            }
        }
    }
    by_upid.into_values().collect()
}

/// The contract's task; `operation_id` names the pvectl operation that
/// started it, empty for others.
pub fn to_proto(record: &TaskRecord, operation_id: &str) -> Task {
    let upid = &record.upid;
    let (state, end_unix_ms, exit_status) = match &record.end {
        None => (TaskState::Running, 0, String::new()),
        Some(end) => (state_of(&end.status), end.unix_ms, end.status.clone()),
    };
    Task {
        upid: upid.to_string(),
        node: upid.node.clone(),
        task_type: upid.task_type.clone(),
        id: upid.id.clone(),
        user: upid.user.clone(),
        start_unix_ms: upid.starttime.saturating_mul(1000),
        end_unix_ms,
        state: state as i32,
        exit_status,
        operation_id: operation_id.to_string(),
    }
}

/// What a `ListTasksRequest` asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Filter {
    pub source: TaskSource,
    pub limit: usize,
    pub vmid: Option<u32>,
    pub task_type: String,
    pub errors_only: bool,
    pub since_unix_ms: i64,
}

impl Filter {
    pub fn new(request: &ListTasksRequest) -> Filter {
        let limit = match request.limit {
            0 => DEFAULT_LIMIT,
            n => usize::try_from(n).unwrap_or(usize::MAX),
        };
        Filter {
            source: request.source(),
            limit,
            vmid: request.vmid,
            task_type: request.task_type.clone(),
            errors_only: request.errors_only,
            since_unix_ms: request.since_unix_ms,
        }
    }

    /// Whether the listing wants finished tasks at all.
    pub fn wants_finished(&self) -> bool {
        self.source != TaskSource::Active
    }

    pub fn matches(&self, task: &Task) -> bool {
        let running = task.state() == TaskState::Running;
        let source = match self.source {
            TaskSource::Active => running,
            TaskSource::Archive => !running,
            TaskSource::Unspecified => true,
        };
        source
            && self.vmid.is_none_or(|vmid| task.id == vmid.to_string())
            && (self.task_type.is_empty() || task.task_type == self.task_type)
            && (!self.errors_only || task.state() == TaskState::Error)
            && task.start_unix_ms >= self.since_unix_ms
    }

    /// The matching tasks, newest first, at most `limit`.
    pub fn select(&self, tasks: impl IntoIterator<Item = Task>) -> Vec<Task> {
        let mut tasks: Vec<Task> = tasks.into_iter().filter(|t| self.matches(t)).collect();
        sort_newest_first(&mut tasks);
        tasks.truncate(self.limit);
        tasks
    }
}

/// Newest first by start time; ties by UPID, so the order is stable.
pub fn sort_newest_first(tasks: &mut [Task]) {
    tasks.sort_by(|a, b| {
        b.start_unix_ms
            .cmp(&a.start_unix_ms)
            .then_with(|| b.upid.cmp(&a.upid))
    });
}
