//! The `active` and `index` files of a task directory: their line formats and PVE's
//! `active_workers` bookkeeping (pve-common `RESTEnvironment.pm`, `INotify.pm`).

use std::fs::{self, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

use super::Upid;

/// `active` keeps every running task plus the most recent finished ones, this many in all.
const MAX_ACTIVE_FINISHED: usize = 25;

/// `index` is rotated to `index.1` beyond this size (about 1000 entries).
const INDEX_MAX_SIZE: u64 = 50_000;

/// One task as `active` or `index` lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaskRecord {
    pub upid: Upid,
    /// Whether the finished task has been appended to `index`.
    pub saved: bool,
    /// End time (epoch); `None` while running.
    pub endtime: Option<i64>,
    /// `OK`, `WARNINGS: n`, the error text, or `unexpected status`; `None` while running.
    pub status: Option<String>,
}

impl TaskRecord {
    pub(super) fn running(upid: Upid) -> TaskRecord {
        TaskRecord {
            upid,
            saved: false,
            endtime: None,
            status: None,
        }
    }

    /// An `active` line: `UPID saved` or `UPID saved ENDTIME STATUS`.
    fn active_line(&self) -> String {
        let saved = u8::from(self.saved);
        match (self.endtime, &self.status) {
            (Some(end), Some(status)) => format!("{} {saved} {end:08X} {status}\n", self.upid),
            (Some(end), None) => format!("{} {saved} {end:08X}\n", self.upid),
            _ => format!("{} {saved}\n", self.upid),
        }
    }
}

/// Parses `active` (unknown lines are skipped, as PVE only warns about them).
pub(super) fn parse_active(text: &str) -> Vec<TaskRecord> {
    text.lines()
        .filter_map(|line| {
            let mut parts = line.splitn(4, ' ');
            let upid = parts.next()?.parse().ok()?;
            let saved = match parts.next()? {
                "0" => false,
                "1" => true,
                _ => return None,
            };
            let endtime = match parts.next() {
                Some(hex) => Some(i64::from_str_radix(hex, 16).ok()?),
                None => None,
            };
            let status = parts.next().map(str::to_string);
            Some(TaskRecord {
                upid,
                saved,
                endtime,
                status,
            })
        })
        .collect()
}

/// Parses `index`: `UPID ENDTIME STATUS` per finished task.
pub(super) fn parse_index(text: &str) -> Vec<TaskRecord> {
    text.lines()
        .filter_map(|line| {
            let mut parts = line.splitn(3, ' ');
            let upid = parts.next()?.parse().ok()?;
            let endtime = i64::from_str_radix(parts.next()?, 16).ok()?;
            Some(TaskRecord {
                upid,
                saved: true,
                endtime: Some(endtime),
                status: parts.next().map(str::to_string),
            })
        })
        .collect()
}

/// PVE's `active_workers`: archive finished tasks not yet in `index`, keep the running ones and
/// the most recent finished ones, and rewrite `active`.
pub(super) fn update(root: &Path, tasks: &mut Vec<TaskRecord>) -> io::Result<()> {
    let (running, mut finished): (Vec<TaskRecord>, Vec<TaskRecord>) = std::mem::take(tasks)
        .into_iter()
        .partition(|t| t.endtime.is_none());
    finished.sort_by_key(|t| std::cmp::Reverse(t.upid.starttime));

    let mut archive = String::new();
    for task in finished.iter_mut().filter(|t| !t.saved) {
        archive.push_str(&format!(
            "{} {:08X} {}\n",
            task.upid,
            task.endtime.unwrap_or(0),
            task.status.as_deref().unwrap_or("")
        ));
        task.saved = true;
    }
    if !archive.is_empty() {
        append_index(root, &archive)?;
    }

    let keep_finished = MAX_ACTIVE_FINISHED.saturating_sub(running.len());
    *tasks = running
        .into_iter()
        .chain(finished.into_iter().take(keep_finished))
        .collect();
    let text: String = tasks.iter().map(TaskRecord::active_line).collect();
    let tmp = root.join(".active.tmp");
    fs::write(&tmp, text)?;
    fs::rename(&tmp, root.join("active"))
}

fn append_index(root: &Path, lines: &str) -> io::Result<()> {
    let path = root.join("index");
    let mut file = OpenOptions::new()
        .append(true)
        .create(true)
        .mode(0o644)
        .open(&path)?;
    file.write_all(lines.as_bytes())?;
    if file.metadata()?.len() > INDEX_MAX_SIZE {
        fs::rename(&path, root.join("index.1"))?;
    }
    Ok(())
}
