//! Following a task log: the new complete lines as the file grows, and the task's end from
//! its final line (`TASK OK`, `TASK WARNINGS: n`, `TASK ERROR: msg`).
//!
//! Reads happen when the watcher reports the file changed, and every
//! [`DEFAULT_RECHECK`] without events as a safety net (an event lost to an overflowing
//! queue, or a backend blind to the writer). The log may not exist yet; a last line without
//! its newline is held back until the newline arrives.

use std::collections::VecDeque;
use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::time::Duration;

use super::WatchError;
use super::event::WatchTarget;
use super::hub::{Subscription, WatchHub};

/// How long a follower waits without events before it looks at the log anyway.
pub const DEFAULT_RECHECK: Duration = Duration::from_secs(2);

/// How a task ended, from its log's final line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TaskEnd {
    /// `TASK OK`.
    Ok,
    /// `TASK WARNINGS: n`: it succeeded with `n` `WARN:` lines.
    Warnings(u32),
    /// `TASK ERROR: msg`.
    Error(String),
}

impl TaskEnd {
    /// The end a line announces, if it is a final line; the same patterns PVE's
    /// `upid_read_status` accepts.
    pub fn from_line(line: &str) -> Option<Self> {
        if line == "TASK OK" {
            return Some(Self::Ok);
        }
        if let Some(count) = line.strip_prefix("TASK WARNINGS: ") {
            return count.parse().ok().map(Self::Warnings);
        }
        line.strip_prefix("TASK ERROR: ")
            .filter(|message| !message.is_empty())
            .map(|message| Self::Error(message.to_owned()))
    }
}

/// What a follower yields.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TaskLogItem {
    /// A complete line, without its newline.
    Line(String),
    /// The final line; nothing follows.
    End(TaskEnd),
}

/// Why following a task log failed.
#[derive(Debug, thiserror::Error)]
pub enum FollowError {
    #[error("cannot read task log {path}: {source}")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("task log {path} shrank from {from} to {to} bytes; task logs only grow")]
    Shrank { path: PathBuf, from: u64, to: u64 },
}

/// Reads one task log as it grows.
pub struct TaskLogFollower {
    path: PathBuf,
    subscription: Subscription,
    recheck: Duration,
    lines: LineSplitter,
}

impl TaskLogFollower {
    /// Follows the log at `path` (it may not exist yet), woken by `hub`'s events for it.
    pub fn start(hub: &WatchHub, path: &Path) -> Result<Self, WatchError> {
        let subscription = hub.subscribe(WatchTarget::TaskLog {
            path: path.to_path_buf(),
        })?;
        Ok(Self {
            path: path.to_path_buf(),
            subscription,
            recheck: DEFAULT_RECHECK,
            lines: LineSplitter::default(),
        })
    }

    /// Looks at the log every `recheck` when no event arrives (default [`DEFAULT_RECHECK`]).
    pub fn with_recheck(mut self, recheck: Duration) -> Self {
        self.recheck = recheck;
        self
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The next line or the end; `None` after the end. Cancel-safe: it only awaits between
    /// reads.
    pub async fn next(&mut self) -> Result<Option<TaskLogItem>, FollowError> {
        loop {
            if let Some(item) = self.lines.pop() {
                return Ok(Some(item));
            }
            if self.lines.ended {
                return Ok(None);
            }
            self.subscription.discard_pending();
            self.read_new()?;
            if self.lines.has_items() {
                continue;
            }
            tokio::select! {
                event = self.subscription.next() => {
                    if event.is_none() {
                        // The hub is gone: only the re-check is left.
                        tokio::time::sleep(self.recheck).await;
                    }
                }
                () = tokio::time::sleep(self.recheck) => {}
            }
        }
    }

    /// Reads what was appended since the last read. Synchronous on purpose: a task log is a
    /// local file read in small increments from the page cache, which takes microseconds,
    /// and reading before the first await means a pending `next` is waiting for the file's
    /// next change, not still reading the last one.
    fn read_new(&mut self) -> Result<(), FollowError> {
        let read_error = |source| FollowError::Read {
            path: self.path.clone(),
            source,
        };
        let mut file = match File::open(&self.path) {
            Ok(file) => file,
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(()),
            Err(error) => return Err(read_error(error)),
        };
        let len = file.metadata().map_err(read_error)?.len();
        let offset = self.lines.offset;
        if len < offset {
            return Err(FollowError::Shrank {
                path: self.path.clone(),
                from: offset,
                to: len,
            });
        }
        if len == offset {
            return Ok(());
        }
        file.seek(SeekFrom::Start(offset)).map_err(read_error)?;
        let mut bytes = Vec::new();
        file.read_to_end(&mut bytes).map_err(read_error)?;
        self.lines.feed(&bytes);
        Ok(())
    }
}

/// Splits appended bytes into complete lines and finds the final one. No IO.
#[derive(Debug, Default)]
struct LineSplitter {
    /// Bytes of the file consumed so far, including `partial`.
    offset: u64,
    /// The last line's bytes, while its newline has not arrived.
    partial: Vec<u8>,
    ready: VecDeque<TaskLogItem>,
    /// Whether the final line was seen; later bytes are ignored.
    ended: bool,
}

impl LineSplitter {
    fn feed(&mut self, bytes: &[u8]) {
        self.offset += bytes.len() as u64;
        if self.ended {
            return;
        }
        self.partial.extend_from_slice(bytes);
        let Some(last_newline) = self.partial.iter().rposition(|&b| b == b'\n') else {
            return;
        };
        let rest = self.partial.split_off(last_newline + 1);
        let complete = std::mem::replace(&mut self.partial, rest);
        for raw in complete[..complete.len() - 1].split(|&b| b == b'\n') {
            let raw = raw.strip_suffix(b"\r").unwrap_or(raw);
            let line = String::from_utf8_lossy(raw).into_owned();
            if let Some(end) = TaskEnd::from_line(&line) {
                self.ready.push_back(TaskLogItem::End(end));
                self.ended = true;
                self.partial.clear();
                return;
            }
            self.ready.push_back(TaskLogItem::Line(line));
        }
    }

    fn pop(&mut self) -> Option<TaskLogItem> {
        self.ready.pop_front()
    }

    fn has_items(&self) -> bool {
        !self.ready.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn drain(splitter: &mut LineSplitter) -> Vec<TaskLogItem> {
        std::iter::from_fn(|| splitter.pop()).collect()
    }

    fn line(text: &str) -> TaskLogItem {
        TaskLogItem::Line(text.to_owned())
    }

    #[test]
    fn final_lines_are_read_the_way_pve_reads_them() {
        assert_eq!(TaskEnd::from_line("TASK OK"), Some(TaskEnd::Ok));
        assert_eq!(
            TaskEnd::from_line("TASK WARNINGS: 3"),
            Some(TaskEnd::Warnings(3))
        );
        assert_eq!(
            TaskEnd::from_line("TASK ERROR: clone failed: no space left"),
            Some(TaskEnd::Error("clone failed: no space left".to_owned()))
        );
        for not_final in [
            "TASK OK ",
            "TASK ERROR: ",
            "TASK WARNINGS: x",
            "task ok",
            "OK",
        ] {
            assert_eq!(TaskEnd::from_line(not_final), None, "{not_final:?}");
        }
    }

    #[test]
    fn a_partial_line_waits_for_its_newline() {
        let (start, rest) = (
            "create full clone\ntransferred 1.0 GiB",
            " of 4.0 GiB (25.00%)\r\n",
        );
        let mut splitter = LineSplitter::default();
        splitter.feed(start.as_bytes());
        assert_eq!(drain(&mut splitter), [line("create full clone")]);
        splitter.feed(rest.as_bytes());
        assert_eq!(
            drain(&mut splitter),
            [line("transferred 1.0 GiB of 4.0 GiB (25.00%)")]
        );
        assert_eq!(splitter.offset, (start.len() + rest.len()) as u64);
    }

    #[test]
    fn nothing_after_the_final_line_is_yielded() {
        let mut splitter = LineSplitter::default();
        splitter.feed(b"a\nTASK ERROR: broken\nlate\n");
        assert_eq!(
            drain(&mut splitter),
            [
                line("a"),
                TaskLogItem::End(TaskEnd::Error("broken".to_owned()))
            ]
        );
        splitter.feed(b"later\n");
        assert_eq!(drain(&mut splitter), []);
        assert!(splitter.ended);
    }
}
