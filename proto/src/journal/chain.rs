//! Verifying the hash chain one stored line at a time, and checking it against
//! a head remembered from earlier: pure, so the agent (over its file) and
//! `pvectl audit verify` (over the lines an agent sends) apply one rule.

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
    pub fn next_prev(&self) -> &str {
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

/// The first bad entry of a chain.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("journal entry {seq} (line {line}) {problem}")]
pub struct ChainError {
    /// The seq the line should carry (previous seq + 1), or the remembered
    /// head's seq for [`Problem::Diverged`].
    pub seq: u64,
    /// 1-based line number.
    pub line: u64,
    /// What is wrong.
    pub problem: Problem,
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
    pub fn push(&mut self, raw: &str) -> Result<Entry, ChainError> {
        let seq = self.head.seq + 1;
        let line = self.line + 1;
        let broken = |problem| ChainError { seq, line, problem };
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

    /// Lines verified so far.
    pub fn lines(&self) -> u64 {
        self.line
    }

    /// The error for an incomplete line after the verified ones.
    pub fn torn_error(&self) -> ChainError {
        ChainError {
            seq: self.head.seq + 1,
            line: self.line + 1,
            problem: Problem::TornTail,
        }
    }
}

/// Parses one line: JSON first (a syntax error may be a torn write), then the
/// entry's shape.
pub fn parse_line(raw: &str) -> Result<Entry, Problem> {
    let value: serde_json::Value =
        serde_json::from_str(raw).map_err(|error| Problem::NotJson(error.to_string()))?;
    serde_json::from_value(value).map_err(|error| Problem::BadEntry(error.to_string()))
}

/// Checks a verified chain against a head remembered from earlier: the entry
/// at its seq must still exist and carry its hash. Feed it every verified
/// entry with [`RememberedHeadCheck::observe`], then call
/// [`RememberedHeadCheck::finish`] with the chain's head.
#[derive(Debug)]
pub struct RememberedHeadCheck {
    remembered: Head,
    diverged: Option<String>,
}

impl RememberedHeadCheck {
    pub fn new(remembered: Head) -> RememberedHeadCheck {
        RememberedHeadCheck {
            remembered,
            diverged: None,
        }
    }

    /// Looks at one verified entry.
    pub fn observe(&mut self, entry: &Entry) {
        if entry.seq == self.remembered.seq
            && entry.hash != self.remembered.hash
            && self.diverged.is_none()
        {
            self.diverged = Some(entry.hash.clone());
        }
    }

    /// The verdict once the whole chain was seen: rewritten history
    /// ([`Problem::Diverged`]) or a cut tail ([`Problem::Truncated`]).
    pub fn finish(self, head: &Head) -> Result<(), ChainError> {
        if let Some(found) = self.diverged {
            return Err(ChainError {
                seq: self.remembered.seq,
                line: self.remembered.seq,
                problem: Problem::Diverged {
                    remembered: self.remembered.hash,
                    found,
                },
            });
        }
        if head.seq < self.remembered.seq {
            return Err(ChainError {
                seq: head.seq + 1,
                line: head.seq + 1,
                problem: Problem::Truncated { last: head.seq },
            });
        }
        Ok(())
    }
}

/// Verifies a whole journal given as its stored lines (each without its
/// newline), optionally against a remembered head, and returns its head.
pub fn verify_lines<'a>(
    lines: impl IntoIterator<Item = &'a str>,
    remembered: Option<&Head>,
) -> Result<Head, ChainError> {
    let mut verifier = ChainVerifier::new();
    let mut check = remembered.cloned().map(RememberedHeadCheck::new);
    for raw in lines {
        let entry = verifier.push(raw)?;
        if let Some(check) = &mut check {
            check.observe(&entry);
        }
    }
    let head = verifier.head().clone();
    if let Some(check) = check {
        check.finish(&head)?;
    }
    Ok(head)
}
