//! UPIDs and a node's task directory, kept the way PVE keeps `/var/log/pve/tasks`:
//! - `<root>/<X>/<UPID>`: the task log (X = last hex digit of the start time), one line per
//!   write, ending with `TASK OK`, `TASK WARNINGS: n` or `TASK ERROR: <msg>`;
//! - `<root>/active`: running tasks (`UPID 0`) and the most recent finished ones
//!   (`UPID 1 ENDTIME STATUS`), at most 25 finished plus running;
//! - `<root>/index`: every finished task (`UPID ENDTIME STATUS`), rotated to `index.1`
//!   beyond 50000 bytes.
//!
//! PVE decides "running" by checking the worker's pid; the simulator has no worker processes,
//! so a task runs from [`TaskLogDir::start`] until [`TaskLog::finish`] (or until its
//! [`TaskLog`] is dropped unfinished, which ends it like a killed worker: `unexpected status`).

mod records;
#[cfg(test)]
mod tests;
mod upid;

use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{SystemTime, UNIX_EPOCH};

pub use records::TaskRecord;
pub use upid::{Upid, UpidError, UpidProblem};

/// How a task ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TaskEnd {
    Ok,
    /// The number of `WARN:` lines.
    Warnings(u32),
    Error(String),
}

impl TaskEnd {
    /// The log's final line: `TASK OK`, `TASK WARNINGS: n` or `TASK ERROR: <msg>` (one trailing
    /// newline dropped, other newlines turned into spaces).
    pub fn final_line(&self) -> String {
        match self {
            TaskEnd::Ok => "TASK OK".to_string(),
            TaskEnd::Warnings(n) => format!("TASK WARNINGS: {n}"),
            TaskEnd::Error(msg) => format!("TASK ERROR: {}", one_line(msg)),
        }
    }

    /// The `exitstatus` the task status API reports: `OK`, `WARNINGS: n` or the message.
    pub fn exitstatus(&self) -> String {
        match self {
            TaskEnd::Ok => "OK".to_string(),
            TaskEnd::Warnings(n) => format!("WARNINGS: {n}"),
            TaskEnd::Error(msg) => one_line(msg),
        }
    }
}

/// Perl's `chomp $err; $err =~ s/\n/ /mg;`.
fn one_line(msg: &str) -> String {
    msg.strip_suffix('\n').unwrap_or(msg).replace('\n', " ")
}

/// The source of task end times (epoch seconds), so a simulated clock can drive them.
pub type Clock = Arc<dyn Fn() -> i64 + Send + Sync>;

/// A node's task directory. Cheap to clone; clones share the list of active tasks.
#[derive(Clone)]
pub struct TaskLogDir {
    inner: Arc<Inner>,
}

struct Inner {
    root: PathBuf,
    clock: Clock,
    /// The tasks `active` lists, in its order.
    active: Mutex<Vec<TaskRecord>>,
}

impl TaskLogDir {
    /// Opens (creating it if needed) a task directory that uses the system clock.
    pub fn create(root: &Path) -> io::Result<TaskLogDir> {
        TaskLogDir::create_with_clock(
            root,
            Arc::new(|| {
                SystemTime::now()
                    .duration_since(UNIX_EPOCH)
                    .map_or(0, |d| d.as_secs() as i64)
            }),
        )
    }

    /// Opens (creating it if needed) a task directory whose end times come from `clock`.
    /// Tasks an earlier run left running are ended with the status their log shows.
    pub fn create_with_clock(root: &Path, clock: Clock) -> io::Result<TaskLogDir> {
        fs::create_dir_all(root)?;
        let dir = TaskLogDir {
            inner: Arc::new(Inner {
                root: root.to_path_buf(),
                clock,
                active: Mutex::new(Vec::new()),
            }),
        };
        let mut tasks = match fs::read_to_string(root.join("active")) {
            Ok(text) => records::parse_active(&text),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Vec::new(),
            Err(e) => return Err(e),
        };
        let now = (dir.inner.clock)();
        for task in tasks.iter_mut().filter(|t| t.endtime.is_none()) {
            task.status = Some(dir.read_status(&task.upid));
            task.endtime = Some(now);
        }
        records::update(root, &mut tasks)?;
        *dir.lock() = tasks;
        Ok(dir)
    }

    pub fn root(&self) -> &Path {
        &self.inner.root
    }

    /// `<root>/<last hex digit of starttime>/<UPID>`.
    pub fn log_path(&self, upid: &Upid) -> PathBuf {
        self.inner
            .root
            .join(upid.log_subdir())
            .join(upid.to_string())
    }

    /// Creates the task's log (`O_CREAT|O_EXCL`, mode 0640) and lists it in `active` as
    /// running.
    pub fn start(&self, upid: &Upid) -> io::Result<TaskLog> {
        let path = self.log_path(upid);
        if let Some(parent) = path.parent() {
            fs::create_dir_all(parent)?;
        }
        let file = OpenOptions::new()
            .append(true)
            .create_new(true)
            .mode(0o640)
            .open(&path)?;
        {
            let mut active = self.lock();
            let insert_at = active
                .iter()
                .position(|t| t.endtime.is_some())
                .unwrap_or(active.len());
            active.insert(insert_at, TaskRecord::running(upid.clone()));
            records::update(&self.inner.root, &mut active)?;
        }
        Ok(TaskLog {
            dir: self.clone(),
            upid: upid.clone(),
            file,
            warnings: AtomicU32::new(0),
            finished: false,
        })
    }

    /// The log's lines without their newlines.
    pub fn read_log(&self, upid: &Upid) -> io::Result<Vec<String>> {
        let text = fs::read(self.log_path(upid))?;
        Ok(String::from_utf8_lossy(&text)
            .lines()
            .map(str::to_string)
            .collect())
    }

    /// The status PVE's `upid_read_status` derives from the log's last line: `OK`,
    /// `WARNINGS: n`, the error message, or `unexpected status` for anything else.
    pub fn read_status(&self, upid: &Upid) -> String {
        let mut file = match File::open(self.log_path(upid)) {
            Ok(file) => file,
            Err(e) => return format!("unable to open file - {}", os_message(&e)),
        };
        let mut tail = Vec::new();
        let read = file
            .seek(SeekFrom::End(-4096))
            .or_else(|_| file.seek(SeekFrom::Start(0)))
            .and_then(|_| file.read_to_end(&mut tail));
        if read.is_err() || tail.is_empty() {
            return format!("unable to read tail (got {} bytes)", tail.len());
        }
        let text = String::from_utf8_lossy(&tail);
        let text = text.strip_suffix('\n').unwrap_or(&text);
        let last = text.rsplit('\n').next().unwrap_or("");
        if last.is_empty() {
            return "unable to extract last line".to_string();
        }
        if last == "TASK OK" {
            "OK".to_string()
        } else if let Some(msg) = last.strip_prefix("TASK ERROR: ").filter(|m| !m.is_empty()) {
            msg.to_string()
        } else if let Some(n) = last
            .strip_prefix("TASK WARNINGS: ")
            .filter(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
        {
            format!("WARNINGS: {n}")
        } else {
            "unexpected status".to_string()
        }
    }

    /// The tasks `active` lists: running ones first, then recently finished ones.
    pub fn active(&self) -> Vec<TaskRecord> {
        self.lock().clone()
    }

    /// The finished tasks archived in `index` (oldest first; `index.1` is not included).
    pub fn read_index(&self) -> io::Result<Vec<TaskRecord>> {
        match fs::read_to_string(self.inner.root.join("index")) {
            Ok(text) => Ok(records::parse_index(&text)),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(Vec::new()),
            Err(e) => Err(e),
        }
    }

    fn end_task(&self, upid: &Upid, status: String) -> io::Result<()> {
        let now = (self.inner.clock)();
        let mut active = self.lock();
        if let Some(task) = active.iter_mut().find(|t| &t.upid == upid) {
            task.endtime = Some(now);
            task.status = Some(status);
        }
        records::update(&self.inner.root, &mut active)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<TaskRecord>> {
        self.inner
            .active
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }
}

/// `$!` as Perl prints it: the OS message without Rust's `(os error N)`.
fn os_message(e: &io::Error) -> String {
    let text = e.to_string();
    match text.find(" (os error") {
        Some(i) => text[..i].to_string(),
        None => text,
    }
}

/// A running task's log. Every line is one `write` on an append-only file, so a watcher sees
/// each line (and the final one) as soon as it is written.
pub struct TaskLog {
    dir: TaskLogDir,
    upid: Upid,
    file: File,
    warnings: AtomicU32,
    finished: bool,
}

impl TaskLog {
    pub fn upid(&self) -> &Upid {
        &self.upid
    }

    /// Appends `text` and a newline in one write.
    pub fn line(&self, text: &str) -> io::Result<()> {
        let mut buf = String::with_capacity(text.len() + 1);
        buf.push_str(text);
        buf.push('\n');
        (&self.file).write_all(buf.as_bytes())?;
        (&self.file).flush()
    }

    /// Appends `WARN: <text>` and counts it (PVE's `$rpcenv->warn`).
    pub fn warn(&self, text: &str) -> io::Result<()> {
        self.line(&format!("WARN: {text}"))?;
        self.warnings.fetch_add(1, Ordering::Relaxed);
        Ok(())
    }

    /// How many `WARN:` lines were written.
    pub fn warnings(&self) -> u32 {
        self.warnings.load(Ordering::Relaxed)
    }

    /// Writes the final line and moves the task from running to finished in `active` and
    /// `index`.
    pub fn finish(mut self, end: &TaskEnd) -> io::Result<()> {
        self.finished = true;
        let written = self.line(&end.final_line());
        let status = match written {
            Ok(()) => end.exitstatus(),
            Err(_) => self.dir.read_status(&self.upid),
        };
        self.dir.end_task(&self.upid, status)?;
        written
    }
}

impl Drop for TaskLog {
    fn drop(&mut self) {
        if self.finished {
            return;
        }
        let status = self.dir.read_status(&self.upid);
        if let Err(e) = self.dir.end_task(&self.upid, status) {
            tracing::warn!("cannot record the end of task {}: {e}", self.upid);
        }
    }
}
