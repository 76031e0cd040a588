//! The agent's audit journal: append-only JSON lines, each entry hash-chained
//! to the one before and fsynced before `append` returns, so `audit verify`
//! detects any edit and a crash loses at most the entry being written.
//!
//! The line format is in [`Entry`]. Opening verifies the whole chain; a torn
//! last line (a crash mid-write) is cut off and reported, corruption anywhere
//! else refuses to open. Operations (a create, say) journal their start,
//! progress and finish under one id, so [`Journal::in_flight`] tells a
//! restarted agent which ones to resume or mark failed.
//!
//! Concurrency: one writer per file. The process holds an exclusive `flock`
//! on the journal while it is open, and appends are serialised by a
//! `std::sync::Mutex`: the guarded section is a `write` and an `fsync`, plain
//! blocking IO that never awaits, so an async mutex would add nothing. Call
//! [`Journal::append`] from `tokio::task::spawn_blocking` (or another blocking
//! context) in async code. Readers take the lock only to learn how far the
//! file is complete, then read without it.

mod verify;

use std::collections::BTreeMap;
use std::fs::{File, OpenOptions};
use std::io::{self, BufRead, BufReader, Read, Write};
use std::os::unix::fs::{FileExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard, PoisonError};

use nix::fcntl::{Flock, FlockArg};
use time::OffsetDateTime;
use tokio::sync::watch;

pub use pvectl_proto::journal::{
    ChainVerifier, Entry, Head, NewEntry, OperationMark, OperationPhase, Outcome, Problem, Record,
    ZERO_HASH,
};
pub use verify::{VerifyError, verify, verify_against};

/// Entries between two remembered offsets, so `read` seeks instead of
/// scanning from the start.
const CHECKPOINT_EVERY: u64 = 256;

/// Why the journal could not be opened, appended to or read.
#[derive(Debug, thiserror::Error)]
pub enum JournalError {
    /// A file operation failed.
    #[error("cannot {action} journal {path}: {source}")]
    Io {
        action: &'static str,
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    /// Another process (or another `Journal` in this one) has it open.
    #[error("journal {path} is in use by another process")]
    InUse { path: PathBuf },
    /// The chain does not verify; the journal is left untouched.
    #[error("journal {path} is corrupt: {source}")]
    Corrupt {
        path: PathBuf,
        #[source]
        source: VerifyError,
    },
    /// An earlier append failed and could not be rolled back; appending more
    /// would break the chain. Restart the agent to re-verify and repair.
    #[error("journal {path} is unusable after a failed write: {reason}")]
    Broken { path: PathBuf, reason: String },
    /// A `start` for an operation id that is already in flight.
    #[error("operation {id} is already in flight")]
    OperationInFlight { id: String },
    /// A `progress` or `finish` for an operation that is not in flight.
    #[error("operation {id} is not in flight")]
    OperationNotInFlight { id: String },
    /// The outcome does not fit the phase: a start must be `started`, a
    /// finish must not be.
    #[error("operation {id}: a {phase:?} entry cannot have outcome {outcome:?}")]
    OutcomeDoesNotFitPhase {
        id: String,
        phase: OperationPhase,
        outcome: Outcome,
    },
}

/// A torn last line cut off when the journal was opened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TornTail {
    /// Where the torn line began (the file's length afterwards).
    pub offset: u64,
    /// How many bytes were cut off.
    pub len: u64,
    /// True when the line lacked its newline; false when it had one but was
    /// not JSON.
    pub missing_newline: bool,
}

/// An operation that started and has not finished.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InFlightOperation {
    /// The operation id.
    pub id: String,
    /// Its `start` entry (actor, action and target of the whole operation).
    pub start: Entry,
    /// Its latest entry (the start itself, or the last progress).
    pub last: Entry,
}

/// An open journal; share it behind an `Arc`.
#[derive(Debug)]
pub struct Journal {
    path: PathBuf,
    file: Flock<File>,
    torn_tail: Option<TornTail>,
    state: Mutex<State>,
    head_changes: watch::Sender<Head>,
}

#[derive(Debug)]
struct State {
    head: Head,
    /// Bytes of complete lines; appends start here.
    len: u64,
    /// `checkpoints[i]` is the offset of entry `i * CHECKPOINT_EVERY + 1`.
    checkpoints: Vec<u64>,
    in_flight: BTreeMap<String, InFlightOperation>,
    broken: Option<String>,
}

impl Journal {
    /// Opens (or creates) the journal at `path`, verifies its chain, cuts off
    /// a torn last line ([`Journal::torn_tail`] reports it) and finds the
    /// head and the operations in flight. The parent directory must exist.
    pub fn open(path: &Path) -> Result<Journal, JournalError> {
        let io_error = |action| {
            move |source| JournalError::Io {
                action,
                path: path.to_owned(),
                source,
            }
        };
        let created = !path.exists();
        let file = OpenOptions::new()
            .read(true)
            .append(true)
            .create(true)
            .mode(0o640)
            .open(path)
            .map_err(io_error("open"))?;
        let file = Flock::lock(file, FlockArg::LockExclusiveNonblock).map_err(|(_, errno)| {
            if errno == nix::errno::Errno::EWOULDBLOCK {
                JournalError::InUse {
                    path: path.to_owned(),
                }
            } else {
                io_error("lock")(io::Error::from(errno))
            }
        })?;
        if created {
            file.sync_all().map_err(io_error("sync"))?;
            sync_parent_dir(path).map_err(io_error("sync the directory of"))?;
        }

        let mut verifier = ChainVerifier::new();
        let mut checkpoints = Vec::new();
        let mut in_flight = BTreeMap::new();
        let scanned = verify::scan(path, &file, &mut verifier, |entry, offset| {
            if (entry.seq - 1).is_multiple_of(CHECKPOINT_EVERY) {
                checkpoints.push(offset);
            }
            track_operation(&mut in_flight, entry);
        })
        .map_err(|source| JournalError::Corrupt {
            path: path.to_owned(),
            source,
        })?;
        let torn_tail = scanned.torn.map(|torn| TornTail {
            offset: torn.offset,
            len: torn.len,
            missing_newline: torn.missing_newline,
        });
        if torn_tail.is_some() {
            file.set_len(scanned.valid_len)
                .map_err(io_error("cut the torn last line of"))?;
            file.sync_all().map_err(io_error("sync"))?;
        }
        let head = verifier.head().clone();
        Ok(Journal {
            path: path.to_owned(),
            file,
            torn_tail,
            state: Mutex::new(State {
                head: head.clone(),
                len: scanned.valid_len,
                checkpoints,
                in_flight,
                broken: None,
            }),
            head_changes: watch::Sender::new(head),
        })
    }

    /// The torn last line cut off by [`Journal::open`], if there was one.
    pub fn torn_tail(&self) -> Option<&TornTail> {
        self.torn_tail.as_ref()
    }

    /// The latest entry's seq and hash.
    pub fn head(&self) -> Head {
        self.lock().head.clone()
    }

    /// A receiver that sees the head after every append, for clients that
    /// follow the journal.
    pub fn subscribe(&self) -> watch::Receiver<Head> {
        self.head_changes.subscribe()
    }

    /// Operations started and not yet finished, oldest first.
    pub fn in_flight(&self) -> Vec<InFlightOperation> {
        let mut operations: Vec<_> = self.lock().in_flight.values().cloned().collect();
        operations.sort_by_key(|operation| operation.start.seq);
        operations
    }

    /// Appends one entry, stamped now, and fsyncs it before returning.
    pub fn append(&self, new: NewEntry) -> Result<Record, JournalError> {
        self.append_at(new, OffsetDateTime::now_utc())
    }

    fn append_at(&self, new: NewEntry, time: OffsetDateTime) -> Result<Record, JournalError> {
        let mut state = self.lock();
        if let Some(reason) = &state.broken {
            return Err(JournalError::Broken {
                path: self.path.clone(),
                reason: reason.clone(),
            });
        }
        check_operation(&state.in_flight, &new)?;
        let entry = Entry::seal(new, state.head.seq + 1, time, state.head.next_prev());
        let raw = entry.to_line();
        let mut line = Vec::with_capacity(raw.len() + 1);
        line.extend_from_slice(raw.as_bytes());
        line.push(b'\n');

        let written = (&*self.file)
            .write_all(&line)
            .and_then(|()| self.file.sync_data());
        if let Err(source) = written {
            if let Err(rollback) = self.file.set_len(state.len) {
                state.broken = Some(format!(
                    "append failed ({source}) and the partial line could not be removed ({rollback})"
                ));
            }
            return Err(JournalError::Io {
                action: "append to",
                path: self.path.clone(),
                source,
            });
        }

        if (entry.seq - 1).is_multiple_of(CHECKPOINT_EVERY) {
            let offset = state.len;
            state.checkpoints.push(offset);
        }
        state.len += line.len() as u64;
        state.head = Head {
            seq: entry.seq,
            hash: entry.hash.clone(),
        };
        track_operation(&mut state.in_flight, &entry);
        self.head_changes.send_replace(state.head.clone());
        Ok(Record { entry, raw })
    }

    /// Up to `limit` entries from `from_seq` on (0 or 1: from the start;
    /// `limit` 0: all), in order.
    pub fn read(&self, from_seq: u64, limit: usize) -> Result<Vec<Record>, JournalError> {
        let from_seq = from_seq.max(1);
        let (start_seq, start_offset, end) = {
            let state = self.lock();
            if from_seq > state.head.seq {
                return Ok(Vec::new());
            }
            let index = ((from_seq - 1) / CHECKPOINT_EVERY) as usize;
            let offset = state.checkpoints.get(index).copied().unwrap_or(0);
            (index as u64 * CHECKPOINT_EVERY + 1, offset, state.len)
        };
        let io_error = |source| JournalError::Io {
            action: "read",
            path: self.path.clone(),
            source,
        };
        let region = RegionReader {
            file: &self.file,
            position: start_offset,
            end,
        };
        let mut records = Vec::new();
        for (seq, line) in (start_seq..).zip(BufReader::new(region).lines()) {
            let raw = line.map_err(io_error)?;
            if seq >= from_seq {
                let entry = pvectl_proto::journal::parse_line(&raw).map_err(|problem| {
                    JournalError::Corrupt {
                        path: self.path.clone(),
                        source: VerifyError::Broken {
                            seq,
                            line: seq,
                            problem,
                        },
                    }
                })?;
                records.push(Record { entry, raw });
                if limit != 0 && records.len() >= limit {
                    break;
                }
            }
        }
        Ok(records)
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // A panic while holding the lock happens before the file is touched
        // or after the state is consistent again; the state stays usable.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// Refuses operation marks that would make `in_flight` lie.
fn check_operation(
    in_flight: &BTreeMap<String, InFlightOperation>,
    new: &NewEntry,
) -> Result<(), JournalError> {
    let Some(mark) = &new.operation else {
        return Ok(());
    };
    let id = mark.id.clone();
    let known = in_flight.contains_key(&mark.id);
    match mark.phase {
        OperationPhase::Start if known => Err(JournalError::OperationInFlight { id }),
        OperationPhase::Progress | OperationPhase::Finish if !known => {
            Err(JournalError::OperationNotInFlight { id })
        }
        OperationPhase::Start if new.outcome != Outcome::Started => {
            Err(JournalError::OutcomeDoesNotFitPhase {
                id,
                phase: mark.phase,
                outcome: new.outcome,
            })
        }
        OperationPhase::Finish if new.outcome == Outcome::Started => {
            Err(JournalError::OutcomeDoesNotFitPhase {
                id,
                phase: mark.phase,
                outcome: new.outcome,
            })
        }
        _ => Ok(()),
    }
}

fn track_operation(in_flight: &mut BTreeMap<String, InFlightOperation>, entry: &Entry) {
    let Some(mark) = &entry.operation else {
        return;
    };
    match mark.phase {
        OperationPhase::Start => {
            in_flight.insert(
                mark.id.clone(),
                InFlightOperation {
                    id: mark.id.clone(),
                    start: entry.clone(),
                    last: entry.clone(),
                },
            );
        }
        OperationPhase::Progress => {
            if let Some(operation) = in_flight.get_mut(&mark.id) {
                operation.last = entry.clone();
            }
        }
        OperationPhase::Finish => {
            in_flight.remove(&mark.id);
        }
    }
}

fn sync_parent_dir(path: &Path) -> io::Result<()> {
    let parent = match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    };
    File::open(parent)?.sync_all()
}

/// Reads `file` from `position` up to `end` with positioned reads, so
/// readers share the writer's handle without moving its cursor.
struct RegionReader<'a> {
    file: &'a File,
    position: u64,
    end: u64,
}

impl Read for RegionReader<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let remaining = self.end.saturating_sub(self.position);
        let want = buf
            .len()
            .min(usize::try_from(remaining).unwrap_or(usize::MAX));
        if want == 0 {
            return Ok(0);
        }
        let read = self.file.read_at(&mut buf[..want], self.position)?;
        self.position += read as u64;
        Ok(read)
    }
}

#[cfg(test)]
mod tests;
