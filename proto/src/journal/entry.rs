//! One journal entry, its canonical JSON line and its hash: the part of the
//! journal that must never change shape, because old lines are verified
//! byte for byte against it.

use crate::v1;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use time::OffsetDateTime;

/// The `prev` of the first entry: 64 zeros.
pub const ZERO_HASH: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// How a journaled step ended (proto `JournalOutcome`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    /// The step began; long operations journal their start.
    Started,
    /// The step succeeded.
    Ok,
    /// The step failed after it began.
    Failed,
    /// Refused before anything changed (role, safety check, bad input).
    Refused,
}

/// Where an entry stands in a long operation (a create, say).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OperationPhase {
    /// The operation began; the entry's outcome is [`Outcome::Started`].
    Start,
    /// A step inside the operation (clone submitted with its UPID, disks done).
    Progress,
    /// The operation ended; the entry's outcome says how.
    Finish,
}

/// Marks an entry as part of the operation `id`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OperationMark {
    /// The operation id the client watches (`pvectl task watch ID`).
    pub id: String,
    /// Start, progress or finish.
    pub phase: OperationPhase,
}

/// What a caller journals; the journal adds seq, time and the hashes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewEntry {
    /// The client certificate's CN, or `agent` for the agent's own steps.
    pub actor: String,
    /// What was done, dotted (`guest.create`, `create.clone`).
    pub action: String,
    /// What it was done to (`qemu/104`, `template/9100`, `node/pve2`).
    pub target: String,
    /// How the step ended.
    pub outcome: Outcome,
    /// Short detail: error message, UPID, changed keys.
    pub detail: String,
    /// The operation this step belongs to, if any.
    pub operation: Option<OperationMark>,
}

/// One stored entry. Its JSON line is the fields in this order, as
/// `serde_json` writes them, with no spaces; `hash` is the SHA-256 (hex) of
/// that same line without its `"hash"` member.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Entry {
    /// Position in the journal, from 1, without gaps.
    pub seq: u64,
    /// When it was appended: RFC 3339, UTC, milliseconds (`2025-01-02T03:04:05.678Z`).
    #[serde(with = "rfc3339_millis")]
    pub time: OffsetDateTime,
    /// See [`NewEntry::actor`].
    pub actor: String,
    /// See [`NewEntry::action`].
    pub action: String,
    /// See [`NewEntry::target`].
    pub target: String,
    /// See [`NewEntry::outcome`].
    pub outcome: Outcome,
    /// See [`NewEntry::detail`].
    pub detail: String,
    /// See [`NewEntry::operation`].
    pub operation: Option<OperationMark>,
    /// `hash` of the previous entry; [`ZERO_HASH`] for the first.
    pub prev: String,
    /// SHA-256 (hex) of this entry's canonical line without `hash`.
    pub hash: String,
}

/// The entry without its hash, borrowed: exactly what is hashed.
#[derive(Serialize)]
struct Unhashed<'a> {
    seq: u64,
    #[serde(with = "rfc3339_millis")]
    time: OffsetDateTime,
    actor: &'a str,
    action: &'a str,
    target: &'a str,
    outcome: Outcome,
    detail: &'a str,
    operation: &'a Option<OperationMark>,
    prev: &'a str,
}

/// An entry together with the exact line stored for it (without the newline).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    /// The parsed entry.
    pub entry: Entry,
    /// The stored line; `audit verify` recomputes the chain from these bytes.
    pub raw: String,
}

impl Entry {
    /// Builds entry `seq` after `prev`, computing its hash. `time` is
    /// truncated to milliseconds, the precision stored.
    pub fn seal(new: NewEntry, seq: u64, time: OffsetDateTime, prev: &str) -> Entry {
        let time = truncate_to_millis(time);
        let mut entry = Entry {
            seq,
            time,
            actor: new.actor,
            action: new.action,
            target: new.target,
            outcome: new.outcome,
            detail: new.detail,
            operation: new.operation,
            prev: prev.to_owned(),
            hash: String::new(),
        };
        entry.hash = entry.compute_hash();
        entry
    }

    /// SHA-256 (hex) over the canonical line of this entry without `hash`.
    pub fn compute_hash(&self) -> String {
        let unhashed = Unhashed {
            seq: self.seq,
            time: self.time,
            actor: &self.actor,
            action: &self.action,
            target: &self.target,
            outcome: self.outcome,
            detail: &self.detail,
            operation: &self.operation,
            prev: &self.prev,
        };
        hex::encode(Sha256::digest(to_canonical_json(&unhashed).as_bytes()))
    }

    /// The canonical line for this entry (without the newline).
    pub fn to_line(&self) -> String {
        to_canonical_json(self)
    }

    /// Unix time in milliseconds, as the proto carries it.
    pub fn time_unix_ms(&self) -> i64 {
        i64::try_from(self.time.unix_timestamp_nanos() / 1_000_000).unwrap_or(i64::MAX)
    }
}

impl Record {
    /// The proto form served by `ReadJournal`.
    pub fn to_proto(&self) -> v1::JournalEntry {
        let entry = &self.entry;
        v1::JournalEntry {
            seq: entry.seq,
            time_unix_ms: entry.time_unix_ms(),
            actor: entry.actor.clone(),
            action: entry.action.clone(),
            target: entry.target.clone(),
            outcome: v1::JournalOutcome::from(entry.outcome) as i32,
            detail: entry.detail.clone(),
            operation_id: entry
                .operation
                .as_ref()
                .map(|operation| operation.id.clone())
                .unwrap_or_default(),
            prev_hash: entry.prev.clone(),
            hash: entry.hash.clone(),
            raw: self.raw.clone(),
        }
    }
}

impl From<Outcome> for v1::JournalOutcome {
    fn from(outcome: Outcome) -> Self {
        match outcome {
            Outcome::Started => v1::JournalOutcome::Started,
            Outcome::Ok => v1::JournalOutcome::Ok,
            Outcome::Failed => v1::JournalOutcome::Failed,
            Outcome::Refused => v1::JournalOutcome::Refused,
        }
    }
}

fn truncate_to_millis(time: OffsetDateTime) -> OffsetDateTime {
    let time = time.to_offset(time::UtcOffset::UTC);
    time.replace_millisecond(time.millisecond()).unwrap_or(time)
}

/// Serialization of our own plain structs cannot fail; an empty string would
/// only be produced by a serde_json bug and fails verification.
fn to_canonical_json<T: Serialize>(value: &T) -> String {
    serde_json::to_string(value).unwrap_or_default()
}

/// RFC 3339 in UTC with exactly three fractional digits, so the text of a
/// time is canonical and re-serializes byte for byte.
mod rfc3339_millis {
    use serde::{Deserialize, Deserializer, Serializer, de, ser};
    use time::OffsetDateTime;
    use time::format_description::well_known::Rfc3339;
    use time::macros::format_description;

    const FORMAT: &[time::format_description::BorrowedFormatItem<'static>] =
        format_description!("[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]Z");

    pub fn serialize<S: Serializer>(
        time: &OffsetDateTime,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        let text = time
            .to_offset(time::UtcOffset::UTC)
            .format(FORMAT)
            .map_err(ser::Error::custom)?;
        serializer.serialize_str(&text)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<OffsetDateTime, D::Error> {
        let text = String::deserialize(deserializer)?;
        OffsetDateTime::parse(&text, &Rfc3339)
            .map_err(|error| de::Error::custom(format!("invalid time \"{text}\": {error}")))
    }
}
