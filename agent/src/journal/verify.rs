//! Verifying the journal file's hash chain, line by line, from the stored
//! bytes (the rule itself is `pvectl_proto::journal`, shared with the client):
//! used when the journal opens and by `verify`.

use std::fs::File;
use std::io::{self, BufRead, BufReader};
use std::path::{Path, PathBuf};

use pvectl_proto::journal::{ChainError, ChainVerifier, Entry, Head, Problem, RememberedHeadCheck};

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

impl From<ChainError> for VerifyError {
    fn from(error: ChainError) -> Self {
        VerifyError::Broken {
            seq: error.seq,
            line: error.line,
            problem: error.problem,
        }
    }
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
                line: verifier.lines() + 1,
                problem: Problem::NotJson("not UTF-8".to_owned()),
            });
        };
        match verifier.push(line) {
            Ok(entry) => visit(&entry, offset),
            Err(ChainError {
                problem: Problem::NotJson(_),
                ..
            }) if is_last => {
                return Ok(Scan {
                    valid_len: offset,
                    torn: Some(torn()),
                });
            }
            Err(error) => return Err(error.into()),
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
        return Err(verifier.torn_error().into());
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
    let mut check = RememberedHeadCheck::new(remembered.clone());
    let scanned = scan(path, &file, &mut verifier, |entry, _| check.observe(entry))?;
    if scanned.torn.is_some() {
        return Err(verifier.torn_error().into());
    }
    let head = verifier.head().clone();
    check.finish(&head)?;
    Ok(head)
}
