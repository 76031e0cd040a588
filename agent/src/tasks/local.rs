//! The node's own task directory (`task_log_root`, `/var/log/pve/tasks`),
//! read the way PVE reads it: `active` for running and recent tasks, `index`
//! and `index.1` for the archive, `<X>/<UPID>` for a log. A task `active`
//! still lists as running whose log already ends in its final line has ended
//! (the line is written before `active` is updated).
//!
//! Synchronous: small local files; callers run it on a blocking thread.

use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::time::UNIX_EPOCH;

use pvectl_proto::Upid;

use super::records::{Ended, TaskRecord, merge, parse_active, parse_index};
use crate::pve_api::TaskExit;
use crate::watch::TaskEnd;

/// Bytes read from a log's end to find its last line (as PVE's
/// `upid_read_status` does).
const TAIL_BYTES: i64 = 4096;

/// Why the task directory could not be read.
#[derive(Debug, thiserror::Error)]
#[error("cannot read {}: {source}", path.display())]
pub struct TaskDirError {
    pub path: PathBuf,
    #[source]
    pub source: io::Error,
}

/// A node's task directory.
#[derive(Debug, Clone)]
pub struct TaskDir {
    root: PathBuf,
}

impl TaskDir {
    pub fn new(root: &Path) -> TaskDir {
        TaskDir {
            root: root.to_path_buf(),
        }
    }

    /// `<root>/<last hex digit of the start time>/<UPID>`.
    pub fn log_path(&self, upid: &Upid) -> PathBuf {
        self.root.join(upid.log_subdir()).join(upid.as_str())
    }

    /// The tasks `active` lists and, with `archive`, those `index` and
    /// `index.1` keep; one record per task, ends read from the logs of
    /// tasks still listed as running.
    pub fn records(&self, archive: bool) -> Result<Vec<TaskRecord>, TaskDirError> {
        let mut all = parse_active(&self.read_optional("active")?);
        if archive {
            all.extend(parse_index(&self.read_optional("index")?));
            all.extend(parse_index(&self.read_optional("index.1")?));
        }
        let mut merged = merge(all);
        for record in merged.iter_mut().filter(|r| r.end.is_none()) {
            record.end = self.log_end(&record.upid)?;
        }
        Ok(merged)
    }

    /// One task; `None` when this node has no log for it.
    pub fn find(&self, upid: &Upid) -> Result<Option<TaskRecord>, TaskDirError> {
        let path = self.log_path(upid);
        match std::fs::metadata(&path) {
            Ok(_) => {}
            Err(error) if error.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(source) => return Err(TaskDirError { path, source }),
        }
        let listed = self
            .records(true)?
            .into_iter()
            .find(|record| &record.upid == upid);
        let end = match listed {
            Some(record) => record.end,
            None => self.log_end(upid)?,
        };
        Ok(Some(TaskRecord {
            upid: upid.clone(),
            end,
        }))
    }

    /// The log's lines, without their newlines.
    pub fn read_log(&self, upid: &Upid) -> Result<Vec<String>, TaskDirError> {
        let path = self.log_path(upid);
        let bytes = std::fs::read(&path).map_err(|source| TaskDirError { path, source })?;
        Ok(String::from_utf8_lossy(&bytes)
            .lines()
            .map(str::to_string)
            .collect())
    }

    /// The end the log's last line announces, at the log's last write;
    /// `None` while it has no final line (or no log).
    fn log_end(&self, upid: &Upid) -> Result<Option<Ended>, TaskDirError> {
        let path = self.log_path(upid);
        let fail = |source| TaskDirError {
            path: path.clone(),
            source,
        };
        let mut file = match File::open(&path) {
            Ok(file) => file,
            Err(error) if error.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(error) => return Err(fail(error)),
        };
        let modified = file.metadata().and_then(|m| m.modified()).map_err(fail)?;
        if file.seek(SeekFrom::End(-TAIL_BYTES)).is_err() {
            file.seek(SeekFrom::Start(0)).map_err(fail)?;
        }
        let mut tail = Vec::new();
        file.read_to_end(&mut tail).map_err(fail)?;
        let text = String::from_utf8_lossy(&tail);
        let last = text.lines().last().unwrap_or_default();
        if TaskEnd::from_line(last).is_none() {
            return Ok(None);
        }
        let exit = TaskExit::parse(last.strip_prefix("TASK ").unwrap_or(last));
        let unix_ms = modified
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX));
        Ok(Some(Ended::from_exit(&exit, unix_ms)))
    }

    /// A file of the directory's top level; empty when it does not exist.
    fn read_optional(&self, name: &str) -> Result<String, TaskDirError> {
        let path = self.root.join(name);
        match std::fs::read(&path) {
            Ok(bytes) => Ok(String::from_utf8_lossy(&bytes).into_owned()),
            Err(error) if error.kind() == io::ErrorKind::NotFound => Ok(String::new()),
            Err(source) => Err(TaskDirError { path, source }),
        }
    }
}
