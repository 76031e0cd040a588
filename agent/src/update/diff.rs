//! What an update changes, computed without IO: the request checked key by
//! key ([`check`]), the planned diff against the config as read ([`plan`]:
//! keys whose value would not change are left out), and the diff as PVE
//! stored it, read back afterwards ([`read_back`]: the stored values, and
//! which keys went to the pending section instead of applying).

use std::collections::BTreeMap;

use pvectl_proto::v1::{ConfigChange, ConfigDiffEntry};

use super::{keys, value};
use crate::error::AgentError;
use crate::pmxcfs::{GuestConfig, GuestKind};

/// What secrets show as in diffs and the journal.
pub const HIDDEN: &str = "(hidden)";

/// One checked change: the value PVE will store, or `None` to delete.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    pub key: String,
    pub value: Option<String>,
}

/// Checks every key and value of a request for a guest of `kind`; the
/// changes come back sorted by key with values as PVE stores them.
pub fn check(
    kind: GuestKind,
    changes: &[ConfigChange],
    deletes: &[String],
) -> Result<Vec<Change>, AgentError> {
    if changes.is_empty() && deletes.is_empty() {
        return Err(AgentError::invalid(
            "nothing to change: name keys to set or delete",
        ));
    }
    let mut checked: BTreeMap<&str, Option<String>> = BTreeMap::new();
    for change in changes {
        let key = change.key.as_str();
        let format = keys::format(kind, key).map_err(AgentError::invalid)?;
        let stored = value::check(key, format, &change.value).map_err(AgentError::invalid)?;
        if checked.insert(key, Some(stored)).is_some() {
            return Err(AgentError::invalid(format!("{key} is set twice")));
        }
    }
    for key in deletes {
        keys::format(kind, key).map_err(AgentError::invalid)?;
        match checked.insert(key, None) {
            Some(Some(_)) => {
                return Err(AgentError::invalid(format!(
                    "{key} is both set and deleted"
                )));
            }
            Some(None) => return Err(AgentError::invalid(format!("{key} is deleted twice"))),
            None => {}
        }
    }
    Ok(checked
        .into_iter()
        .map(|(key, value)| Change {
            key: key.to_string(),
            value,
        })
        .collect())
}

/// `key`'s value as the guest will have it: its pending value, nothing if
/// the pending section deletes it, else its current value.
pub fn effective<'a>(config: &'a GuestConfig, key: &str) -> Option<&'a str> {
    if config.pending.deletes(key) {
        return None;
    }
    if key == "description" {
        let pending = config.pending.values.description.as_deref();
        return pending.or(config.main.description.as_deref());
    }
    config
        .pending
        .values
        .get(key)
        .or_else(|| config.main.get(key))
}

/// Whether `key` waits in the pending section (a value or a delete).
fn is_pending(config: &GuestConfig, key: &str) -> bool {
    let value = if key == "description" {
        config.pending.values.description.is_some()
    } else {
        config.pending.values.get(key).is_some()
    };
    value || config.pending.deletes(key)
}

/// The changes that change something, as diff entries in key order.
pub fn plan(config: &GuestConfig, changes: &[Change]) -> Vec<ConfigDiffEntry> {
    changes
        .iter()
        .filter_map(|change| {
            let old = effective(config, &change.key);
            (old != change.value.as_deref()).then(|| ConfigDiffEntry {
                key: change.key.clone(),
                old_value: old.map(str::to_string),
                new_value: change.value.clone(),
                pending: false,
            })
        })
        .collect()
}

/// The planned keys as PVE stored them in `after`: the value each has now
/// and whether it waits in the pending section.
pub fn read_back(planned: &[ConfigDiffEntry], after: &GuestConfig) -> Vec<ConfigDiffEntry> {
    planned
        .iter()
        .map(|entry| ConfigDiffEntry {
            key: entry.key.clone(),
            old_value: entry.old_value.clone(),
            new_value: effective(after, &entry.key).map(str::to_string),
            pending: is_pending(after, &entry.key),
        })
        .collect()
}

/// The diff with secret values replaced by [`HIDDEN`].
pub fn masked(diff: &[ConfigDiffEntry]) -> Vec<ConfigDiffEntry> {
    let hide = |value: &Option<String>| value.as_ref().map(|_| HIDDEN.to_string());
    diff.iter()
        .map(|entry| {
            if keys::is_secret(&entry.key) {
                ConfigDiffEntry {
                    old_value: hide(&entry.old_value),
                    new_value: hide(&entry.new_value),
                    ..entry.clone()
                }
            } else {
                entry.clone()
            }
        })
        .collect()
}

#[cfg(test)]
mod tests;
