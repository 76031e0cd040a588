//! Verifying the hash chain, line by line, from the stored bytes: used when the
//! journal opens and by `verify`, and written so the client can do the same.

use std::fs::File;
use std::io::{self, BufRead, BufReader};
use std::path::{Path, PathBuf};

use super::entry::{Entry, ZERO_HASH};

/// The journal's latest entry: what a client remembers to detect a truncated
/// tail, which the chain alone cannot show.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Head {
    /// Seq of the latest entry; 0 for an empty journal.
    pub seq: u64,
    /// Hash of the latest entry; empty for an empty journal.
    pub hash: String,
}

impl Head {
    /// The `prev` the next entry carries.
    pub(crate) fn next_prev(&self) -> &str {
        if self.seq == 0 { ZERO_HASH } else { &self.hash }
    }
}

/// What is wrong with one line of the journal.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Problem {
    /// The line is not JSON.
    #[error("is not JSON: {0}")]
    NotJson(String),
    /// JSON, but not an entry (missing or unknown field, bad value).
    #[error("is not a journal entry: {0}")]
    BadEntry(String),
    /// A valid entry written differently from its canonical form (spacing,
    /// field order): the bytes were edited.
    #[error("is not in canonical form")]
    NotCanonical,
    /// The entry's seq is not the one after its predecessor.
    #[error("has seq {found}")]
    SeqMismatch { found: u64 },
    /// The stored hash does not match the entry's content.
    #[error("has hash {stored} but its content hashes to {computed}")]
    HashMismatch { stored: String, computed: String },
    /// `prev` does not match the previous entry's hash.
    #[error("has prev {found} but the previous entry's hash is {expected}")]
    PrevMismatch { expected: String, found: String },
    /// The last line is incomplete (no newline or not JSON).
    #[error("is incomplete (torn write)")]
    TornTail,
    /// The entry at a remembered head's seq has another hash: history was
    /// rewritten.
    #[error("has hash {found} but the remembered head says {remembered}")]
    Diverged { remembered: String, found: String },
    /// The journal ends before a remembered head: its tail was cut off.
    #[error("is missing: the journal ends at seq {last} (truncated)")]
    Truncated { last: u64 },
}

/// Why a journal does not verify.
#[derive(Debug, thiserror::Error)]
pub enum VerifyError {
    /// The journal could not be read.
    #[error("cannot read journal {path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    /// The first bad entry: `seq` is the seq expected at that line.
    #[error("journal entry {seq} (line {line}) {problem}")]
    Broken {
        /// The seq the line should carry (previous seq + 1).
        seq: u64,
        /// 1-based line number in the file.
        line: u64,
        /// What is wrong.
        problem: Problem,
    },
}

impl VerifyError {
    /// The seq of the first bad entry; `None` for read errors.
    pub fn seq(&self) -> Option<u64> {
        match self {
            VerifyError::Io { .. } => None,
            VerifyError::Broken { seq, .. } => Some(*seq),
        }
    }

    /// What is wrong with the first bad entry; `None` for read errors.
    pub fn problem(&self) -> Option<&Problem> {
        match self {
            VerifyError::Io { .. } => None,
            VerifyError::Broken { problem, .. } => Some(problem),
        }
    }
}

/// Checks entries one line at a time against the chain so far.
#[derive(Debug, Default)]
pub struct ChainVerifier {
    head: Head,
    line: u64,
}

impl ChainVerifier {
    /// A verifier expecting seq 1 with `prev` all zeros.
    pub fn new() -> ChainVerifier {
        ChainVerifier::default()
    }

    /// Checks the next stored line (without its newline) and returns its entry.
    /// On error the verifier stays where it was.
    pub fn push(&mut self, raw: &str) -> Result<Entry, VerifyError> {
        let seq = self.head.seq + 1;
        let line = self.line + 1;
        let broken = |problem| VerifyError::Broken { seq, line, problem };
        let entry = parse_line(raw).map_err(broken)?;
        if entry.to_line() != raw {
            return Err(broken(Problem::NotCanonical));
        }
        if entry.seq != seq {
            return Err(broken(Problem::SeqMismatch { found: entry.seq }));
        }
        let computed = entry.compute_hash();
        if entry.hash != computed {
            return Err(broken(Problem::HashMismatch {
                stored: entry.hash.clone(),
                computed,
            }));
        }
        if entry.prev != self.head.next_prev() {
            return Err(broken(Problem::PrevMismatch {
                expected: self.head.next_prev().to_owned(),
                found: entry.prev.clone(),
            }));
        }
        self.head = Head {
            seq: entry.seq,
            hash: entry.hash.clone(),
        };
        self.line = line;
        Ok(entry)
    }

    /// The last verified entry.
    pub fn head(&self) -> &Head {
        &self.head
    }

    pub(crate) fn torn_error(&self) -> VerifyError {
        VerifyError::Broken {
            seq: self.head.seq + 1,
            line: self.line + 1,
            problem: Problem::TornTail,
        }
    }
}

/// Parses one line: JSON first (a syntax error may be a torn write), then the
/// entry's shape.
pub(crate) fn parse_line(raw: &str) -> Result<Entry, Problem> {
    let value: serde_json::Value =
        serde_json::from_str(raw).map_err(|error| Problem::NotJson(error.to_string()))?;
    serde_json::from_value(value).map_err(|error| Problem::BadEntry(error.to_string()))
}

/// The outcome of reading a journal file from the start.
pub(crate) struct Scan {
    /// Bytes of complete, verified lines.
    pub valid_len: u64,
    /// Set when the last line was incomplete.
    pub torn: Option<TornLine>,
}

/// The incomplete last line found by a scan.
pub(crate) struct TornLine {
    pub offset: u64,
    pub len: u64,
    pub missing_newline: bool,
}

/// Reads `path` line by line through `verifier`, calling `visit` with each
/// verified entry and its byte offset. Only the last line may be torn: it is
/// reported, not verified; any other bad line is an error.
pub(crate) fn scan(
    path: &Path,
    file: &File,
    verifier: &mut ChainVerifier,
    mut visit: impl FnMut(&Entry, u64),
) -> Result<Scan, VerifyError> {
    let io_error = |source| VerifyError::Io {
        path: path.to_owned(),
        source,
    };
    let file_len = file.metadata().map_err(io_error)?.len();
    let mut reader = BufReader::new(file);
    let mut offset = 0u64;
    let mut buffer = Vec::new();
    loop {
        buffer.clear();
        let read = reader.read_until(b'\n', &mut buffer).map_err(io_error)?;
        if read == 0 {
            return Ok(Scan {
                valid_len: offset,
                torn: None,
            });
        }
        let read = read as u64;
        let is_last = offset + read >= file_len;
        let torn = || TornLine {
            offset,
            len: read,
            missing_newline: buffer.last() != Some(&b'\n'),
        };
        if buffer.last() != Some(&b'\n') {
            return Ok(Scan {
                valid_len: offset,
                torn: Some(torn()),
            });
        }
        let line = std::str::from_utf8(&buffer[..buffer.len() - 1]);
        let Ok(line) = line else {
            if is_last {
                return Ok(Scan {
                    valid_len: offset,
                    torn: Some(torn()),
                });
            }
            return Err(VerifyError::Broken {
                seq: verifier.head().seq + 1,
                line: verifier.line + 1,
                problem: Problem::NotJson("not UTF-8".to_owned()),
            });
        };
        match verifier.push(line) {
            Ok(entry) => visit(&entry, offset),
            Err(VerifyError::Broken {
                problem: Problem::NotJson(_),
                ..
            }) if is_last => {
                return Ok(Scan {
                    valid_len: offset,
                    torn: Some(torn()),
                });
            }
            Err(error) => return Err(error),
        }
        offset += read;
    }
}

/// Verifies the whole journal at `path` and returns its head. A torn last
/// line is an error here ([`Problem::TornTail`]); `Journal::open` repairs it.
pub fn verify(path: &Path) -> Result<Head, VerifyError> {
    let file = File::open(path).map_err(|source| VerifyError::Io {
        path: path.to_owned(),
        source,
    })?;
    let mut verifier = ChainVerifier::new();
    let scanned = scan(path, &file, &mut verifier, |_, _| {})?;
    if scanned.torn.is_some() {
        return Err(verifier.torn_error());
    }
    Ok(verifier.head().clone())
}

/// Like [`verify`], and also checks a head remembered from earlier: the
/// entry at its seq must still exist and carry its hash. This detects a
/// truncated tail, which the chain alone cannot.
pub fn verify_against(path: &Path, remembered: &Head) -> Result<Head, VerifyError> {
    let file = File::open(path).map_err(|source| VerifyError::Io {
        path: path.to_owned(),
        source,
    })?;
    let mut verifier = ChainVerifier::new();
    let mut diverged = None;
    let scanned = scan(path, &file, &mut verifier, |entry, _| {
        if entry.seq == remembered.seq && entry.hash != remembered.hash && diverged.is_none() {
            diverged = Some(entry.hash.clone());
        }
    })?;
    if scanned.torn.is_some() {
        return Err(verifier.torn_error());
    }
    if let Some(found) = diverged {
        return Err(VerifyError::Broken {
            seq: remembered.seq,
            line: remembered.seq,
            problem: Problem::Diverged {
                remembered: remembered.hash.clone(),
                found,
            },
        });
    }
    let head = verifier.head().clone();
    if head.seq < remembered.seq {
        return Err(VerifyError::Broken {
            seq: head.seq + 1,
            line: head.seq + 1,
            problem: Problem::Truncated { last: head.seq },
        });
    }
    Ok(head)
}
