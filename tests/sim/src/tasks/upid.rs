//! PVE's unique process id of a task (`PVE::Tools::upid_encode` / `upid_decode`).

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// `UPID:<node>:<pid %08X>:<pstart %08X>:<starttime %08X>:<type>:<id>:<user>:`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Upid {
    pub node: String,
    pub pid: u32,
    /// Process start in clock ticks since boot (8 or 9 hex digits).
    pub pstart: u64,
    /// Epoch seconds; must not be negative.
    pub starttime: i64,
    pub task_type: String,
    /// Usually the VMID; may be empty.
    pub id: String,
    pub user: String,
}

impl Upid {
    /// The log subdirectory: the last hex digit of `starttime`, uppercase.
    pub fn log_subdir(&self) -> String {
        format!("{:X}", self.starttime & 0xF)
    }
}

impl fmt::Display for Upid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "UPID:{}:{:08X}:{:08X}:{:08X}:{}:{}:{}:",
            self.node, self.pid, self.pstart, self.starttime, self.task_type, self.id, self.user
        )
    }
}

/// A UPID that does not match PVE's pattern, and which part is wrong.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unable to parse worker upid '{upid}': {problem}")]
pub struct UpidError {
    pub upid: String,
    pub problem: UpidProblem,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UpidProblem {
    #[error("it does not start with 'UPID:'")]
    MissingPrefix,
    #[error("it does not end with ':'")]
    MissingTrailingColon,
    #[error("expected 7 fields between 'UPID:' and the final ':', found {0}")]
    FieldCount(usize),
    #[error("node '{0}' is not a node name (letters, digits and inner '-')")]
    Node(String),
    #[error("{field} '{value}' is not {digits} hex digits")]
    Hex {
        field: &'static str,
        value: String,
        digits: &'static str,
    },
    #[error("{field} '{value}' is empty or contains whitespace")]
    Text { field: &'static str, value: String },
}

impl FromStr for Upid {
    type Err = UpidError;

    fn from_str(s: &str) -> Result<Upid, UpidError> {
        let fail = |problem| UpidError {
            upid: s.to_string(),
            problem,
        };
        let body = s
            .strip_prefix("UPID:")
            .ok_or_else(|| fail(UpidProblem::MissingPrefix))?;
        let body = body
            .strip_suffix(':')
            .ok_or_else(|| fail(UpidProblem::MissingTrailingColon))?;
        let fields: Vec<&str> = body.split(':').collect();
        let [node, pid, pstart, starttime, task_type, id, user] = fields[..] else {
            return Err(fail(UpidProblem::FieldCount(fields.len())));
        };
        if !is_node_name(node) {
            return Err(fail(UpidProblem::Node(node.to_string())));
        }
        let hex = |field, value: &str, min: usize, max: usize, digits| {
            let ok =
                (min..=max).contains(&value.len()) && value.bytes().all(|b| b.is_ascii_hexdigit());
            ok.then(|| u64::from_str_radix(value, 16).ok())
                .flatten()
                .ok_or_else(|| {
                    fail(UpidProblem::Hex {
                        field,
                        value: value.to_string(),
                        digits,
                    })
                })
        };
        let pid = hex("pid", pid, 8, 8, "8")?;
        let pstart = hex("pstart", pstart, 8, 9, "8 or 9")?;
        let starttime = hex("starttime", starttime, 8, 8, "8")?;
        let text = |field, value: &str, may_be_empty: bool| {
            if (value.is_empty() && !may_be_empty) || value.chars().any(char::is_whitespace) {
                Err(fail(UpidProblem::Text {
                    field,
                    value: value.to_string(),
                }))
            } else {
                Ok(value.to_string())
            }
        };
        Ok(Upid {
            node: node.to_string(),
            // 8 hex digits always fit.
            pid: pid as u32,
            pstart,
            starttime: starttime as i64,
            task_type: text("type", task_type, false)?,
            id: text("id", id, true)?,
            user: text("user", user, false)?,
        })
    }
}

/// `[a-zA-Z0-9]([a-zA-Z0-9\-]*[a-zA-Z0-9])?`
fn is_node_name(s: &str) -> bool {
    let b = s.as_bytes();
    !b.is_empty()
        && b.iter().all(|c| c.is_ascii_alphanumeric() || *c == b'-')
        && b[0] != b'-'
        && b[b.len() - 1] != b'-'
}

impl Serialize for Upid {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Upid {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Upid, D::Error> {
        let s = String::deserialize(deserializer)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}
