//! Where a waiter's task log lines come from: the watcher's
//! [`TaskLogFollower`] on the node-local file, or the API's `.../log`
//! polled with backoff (100 ms growing to 2 s) from the last line read.
use std::time::Duration;

use crate::pve_api::{PveClient, TaskExit};
use crate::watch::{TaskEnd, TaskLogFollower, TaskLogItem};

const API_FIRST: Duration = Duration::from_millis(100);
const API_MAX: Duration = Duration::from_secs(2);

/// The end a line announces: `TASK OK`, `TASK WARNINGS: n`, `TASK ERROR: msg`.
pub fn final_line(line: &str) -> Option<TaskExit> {
    let rest = line.strip_prefix("TASK ")?;
    let known = rest == "OK" || rest.starts_with("WARNINGS: ") || rest.starts_with("ERROR: ");
    known.then(|| TaskExit::parse(rest))
}

/// One step of a log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LogItem {
    Line(String),
    /// The task's end and its final line.
    End(TaskExit, String),
    /// Nothing new this time.
    Nothing,
}

/// A task log as it grows.
pub enum LogFeed {
    /// The local file, woken by the watcher.
    Follow(Box<TaskLogFollower>),
    /// The API, from line `next` on, polled every `every`.
    Api {
        next: u64,
        every: Duration,
        ready: std::collections::VecDeque<LogItem>,
    },
}

impl LogFeed {
    pub fn api() -> LogFeed {
        LogFeed::api_from(0)
    }

    /// The API feed skipping the `seen` lines already read.
    pub fn api_from(seen: u64) -> LogFeed {
        LogFeed::Api {
            next: seen,
            every: API_FIRST,
            ready: std::collections::VecDeque::new(),
        }
    }

    /// The next item; waits for the file to change (or the poll interval).
    /// Cancel-safe: items read but not returned stay queued.
    pub async fn next(
        &mut self,
        pve: &PveClient,
        node: &str,
        upid: &str,
    ) -> Result<LogItem, String> {
        match self {
            LogFeed::Follow(follower) => match follower.next().await {
                Ok(Some(TaskLogItem::Line(line))) => Ok(LogItem::Line(line)),
                Ok(Some(TaskLogItem::End(end))) => Ok(end_item(end)),
                // after the end the waiter has stopped asking
                Ok(None) => std::future::pending().await,
                Err(err) => Err(err.to_string()),
            },
            LogFeed::Api { ready, every, .. } => {
                if let Some(item) = ready.pop_front() {
                    return Ok(item);
                }
                let wait = *every;
                tokio::time::sleep(wait).await;
                let items = self.read_now(pve, node, upid).await?;
                let LogFeed::Api { ready, every, .. } = self else {
                    return Ok(LogItem::Nothing);
                };
                *every = if items.is_empty() {
                    every.mul_f64(1.5).min(API_MAX)
                } else {
                    API_FIRST
                };
                ready.extend(items);
                Ok(ready.pop_front().unwrap_or(LogItem::Nothing))
            }
        }
    }

    /// Reads the API's new lines at once (the follower reads on its own).
    pub async fn read_now(
        &mut self,
        pve: &PveClient,
        node: &str,
        upid: &str,
    ) -> Result<Vec<LogItem>, String> {
        let LogFeed::Api { next, .. } = self else {
            return Ok(Vec::new());
        };
        let log = pve
            .task_log(node, upid, *next, 0)
            .await
            .map_err(|e| e.to_string())?;
        let empty =
            *next == 0 && log.total <= 1 && log.lines.first().is_some_and(|l| l.t == "no content");
        if empty {
            return Ok(Vec::new());
        }
        *next += log.lines.len() as u64;
        let mut items = Vec::new();
        for line in log.lines {
            match final_line(&line.t) {
                Some(exit) => {
                    items.push(LogItem::End(exit, line.t));
                    break;
                }
                None => items.push(LogItem::Line(line.t)),
            }
        }
        Ok(items)
    }
}

/// The follower's end as the API's exit, with PVE's final line.
fn end_item(end: TaskEnd) -> LogItem {
    match end {
        TaskEnd::Ok => LogItem::End(TaskExit::Ok, "TASK OK".into()),
        TaskEnd::Warnings(n) => LogItem::End(TaskExit::Warnings(n), format!("TASK WARNINGS: {n}")),
        TaskEnd::Error(message) => {
            let line = format!("TASK ERROR: {message}");
            LogItem::End(TaskExit::Failed(message), line)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn final_lines_are_recognised_and_nothing_else() {
        assert_eq!(final_line("TASK OK"), Some(TaskExit::Ok));
        assert_eq!(final_line("TASK WARNINGS: 2"), Some(TaskExit::Warnings(2)));
        assert_eq!(
            final_line("TASK ERROR: clone failed: disk I/O error"),
            Some(TaskExit::Failed("clone failed: disk I/O error".into()))
        );
        assert_eq!(final_line("transferred 1.0 GiB of 4.0 GiB (25.00%)"), None);
        assert_eq!(final_line("TASK OKAY"), None);
    }

    #[test]
    fn the_followers_end_keeps_pves_final_line() {
        assert_eq!(
            end_item(TaskEnd::Error("clone failed: boom".into())),
            LogItem::End(
                TaskExit::Failed("clone failed: boom".into()),
                "TASK ERROR: clone failed: boom".into()
            )
        );
        assert_eq!(
            end_item(TaskEnd::Ok),
            LogItem::End(TaskExit::Ok, "TASK OK".into())
        );
    }
}
