//! Reading a task log as it grows: the node-local file (`<root>/<X>/<UPID>`,
//! X the last hex digit of the start time) from the last offset, or the API's
//! `.../log` from the last line; complete lines only, and PVE's final line.
use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

use crate::pve_api::{PveClient, TaskExit};

/// Where PVE keeps the log of `upid`; `None` if it is not a UPID.
pub fn task_log_path(root: &Path, upid: &str) -> Option<PathBuf> {
    let fields: Vec<&str> = upid.split(':').collect();
    let [
        "UPID",
        node,
        _pid,
        _pstart,
        starttime,
        _kind,
        _id,
        _user,
        "",
    ] = fields.as_slice()
    else {
        return None;
    };
    let valid = !node.is_empty()
        && !starttime.is_empty()
        && starttime.bytes().all(|b| b.is_ascii_hexdigit())
        && !upid.contains('/');
    let last = starttime.get(starttime.len().checked_sub(1)?..)?;
    valid.then(|| root.join(last.to_ascii_uppercase()).join(upid))
}

/// The end a line announces: `TASK OK`, `TASK WARNINGS: n`, `TASK ERROR: msg`.
pub fn final_line(line: &str) -> Option<TaskExit> {
    let rest = line.strip_prefix("TASK ")?;
    let known = rest == "OK" || rest.starts_with("WARNINGS: ") || rest.starts_with("ERROR: ");
    known.then(|| TaskExit::parse(rest))
}

/// Reads new lines of one task log.
pub enum LogReader {
    /// The node-local file.
    File { path: PathBuf, lines: LineSplitter },
    /// The API, from this many lines on.
    Api { next: u64 },
}

impl LogReader {
    pub fn file(path: PathBuf) -> LogReader {
        LogReader::File {
            path,
            lines: LineSplitter::default(),
        }
    }

    pub fn api() -> LogReader {
        LogReader::Api { next: 0 }
    }

    /// The API reader skipping the `seen` lines already read.
    pub fn api_from(seen: u64) -> LogReader {
        LogReader::Api { next: seen }
    }

    /// The complete lines added since the last read.
    pub async fn read(
        &mut self,
        pve: &PveClient,
        node: &str,
        upid: &str,
    ) -> Result<Vec<String>, String> {
        match self {
            LogReader::File { path, lines } => read_file(path, lines),
            LogReader::Api { next } => {
                let log = pve
                    .task_log(node, upid, *next, 0)
                    .await
                    .map_err(|e| e.to_string())?;
                let empty = log.total <= 1
                    && *next == 0
                    && log.lines.first().is_some_and(|l| l.t == "no content");
                if empty {
                    return Ok(Vec::new());
                }
                *next += log.lines.len() as u64;
                Ok(log.lines.into_iter().map(|l| l.t).collect())
            }
        }
    }
}

/// Local and small: a synchronous read of what was appended.
fn read_file(path: &Path, lines: &mut LineSplitter) -> Result<Vec<String>, String> {
    let mut file = match std::fs::File::open(path) {
        Ok(file) => file,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(format!("cannot open {}: {e}", path.display())),
    };
    let problem = |e: std::io::Error| format!("cannot read {}: {e}", path.display());
    let len = file.metadata().map_err(problem)?.len();
    if len <= lines.offset {
        return Ok(Vec::new());
    }
    file.seek(SeekFrom::Start(lines.offset)).map_err(problem)?;
    let mut bytes = Vec::new();
    file.read_to_end(&mut bytes).map_err(problem)?;
    Ok(lines.feed(&bytes))
}

/// Splits appended bytes into complete lines; a last line without its
/// newline waits for it. No IO.
#[derive(Debug, Default)]
pub struct LineSplitter {
    /// Bytes consumed, the partial line included.
    offset: u64,
    partial: Vec<u8>,
}

impl LineSplitter {
    pub fn feed(&mut self, bytes: &[u8]) -> Vec<String> {
        self.offset += bytes.len() as u64;
        self.partial.extend_from_slice(bytes);
        let Some(last) = self.partial.iter().rposition(|&b| b == b'\n') else {
            return Vec::new();
        };
        let rest = self.partial.split_off(last + 1);
        let complete = std::mem::replace(&mut self.partial, rest);
        complete[..complete.len() - 1]
            .split(|&b| b == b'\n')
            .map(|raw| String::from_utf8_lossy(raw.strip_suffix(b"\r").unwrap_or(raw)).into_owned())
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn logs_live_under_the_last_hex_digit_of_the_start_time() {
        let upid = "UPID:pve1:0003A1B2:01C2D3E4:66A0B1CF:qmclone:9000:root@pam:";
        assert_eq!(
            task_log_path(Path::new("/var/log/pve/tasks"), upid),
            Some(PathBuf::from(format!("/var/log/pve/tasks/F/{upid}")))
        );
        assert_eq!(task_log_path(Path::new("/t"), "UPID:pve1:x"), None);
        assert_eq!(
            task_log_path(Path::new("/t"), "UPID:a/b:1:2:3:q:1:u:"),
            None
        );
    }

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
    fn a_partial_line_waits_for_its_newline() {
        let mut lines = LineSplitter::default();
        assert_eq!(
            lines.feed(b"create full clone\ntransferred 1"),
            ["create full clone"]
        );
        assert!(lines.feed(b".0 GiB").is_empty());
        assert_eq!(
            lines.feed(b" (25%)\r\nTASK OK\n"),
            ["transferred 1.0 GiB (25%)", "TASK OK"]
        );
        assert_eq!(lines.offset, 53);
    }
}
