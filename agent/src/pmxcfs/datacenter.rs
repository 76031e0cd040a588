//! `/etc/pve/datacenter.cfg`: cluster-wide options as `key: value` lines. The agent needs
//! only `next-id` (the range new VMIDs come from) and `max_workers` (how many bulk actions
//! run at once); every other key is kept as raw text and
//! never interpreted, so options this code does not know cannot break it.
//!
//! The line rules follow `PVE::JSONSchema::parse_config`: lines are trimmed, blank lines and
//! `#` comments are skipped, `key: value` splits at the first colon of the first word, and
//! lines of any other shape are ignored. A later line for the same key wins.

use super::property_string::{PropertyString, PropertyStringError, PropertyStringFormat};
use super::text::{is_perl_space, trim_perl};

/// PVE's `max_workers` when datacenter.cfg does not set it.
pub const DEFAULT_MAX_WORKERS: u32 = 4;

/// The parsed `datacenter.cfg`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct DatacenterConfig {
    entries: Vec<(String, String)>,
}

/// The `next-id` range: `lower` is inclusive, `upper` exclusive.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NextIdRange {
    pub lower: u32,
    pub upper: u32,
}

impl NextIdRange {
    /// PVE's range when `next-id` is not set (or sets neither bound).
    pub const DEFAULT: Self = Self {
        lower: 100,
        upper: 1_000_000,
    };

    /// Whether `vmid` may be handed out by `GET /cluster/nextid`.
    pub fn contains(&self, vmid: u32) -> bool {
        (self.lower..self.upper).contains(&vmid)
    }
}

impl Default for NextIdRange {
    fn default() -> Self {
        Self::DEFAULT
    }
}

/// An option of `datacenter.cfg` whose value cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DatacenterError {
    #[error("datacenter.cfg: `next-id: {value}` is not a property string: {source}")]
    NextIdSyntax {
        value: String,
        #[source]
        source: PropertyStringError,
    },
    #[error("datacenter.cfg: `next-id` has unknown key `{key}` (known: lower, upper)")]
    NextIdUnknownKey { key: String },
    #[error("datacenter.cfg: `next-id` bound `{key}={value}` is not a vmid-sized integer")]
    NextIdBound { key: &'static str, value: String },
}

impl DatacenterConfig {
    /// Parses the bytes of `datacenter.cfg`; bytes that are not UTF-8 are replaced, since
    /// only ASCII keys and values are read.
    pub fn parse(bytes: &[u8]) -> Self {
        let text = String::from_utf8_lossy(bytes);
        let mut entries: Vec<(String, String)> = Vec::new();
        for line in text.lines() {
            let line = trim_perl(line);
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let Some((key, value)) = line.split_once(':') else {
                continue;
            };
            if key.is_empty() || key.contains(is_perl_space) {
                continue;
            }
            let value = value.trim_start_matches(is_perl_space);
            entries.retain(|(existing, _)| existing != key);
            entries.push((key.to_owned(), value.to_owned()));
        }
        Self { entries }
    }

    /// The raw value of `key`.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.entries
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// `max_workers`: how many workers a node starts at once for bulk
    /// actions (PVE's `startall`/`stopall`, the HA manager); PVE's default 4
    /// when unset or not a positive integer.
    pub fn max_workers(&self) -> u32 {
        self.get("max_workers")
            .and_then(|value| value.parse::<u32>().ok())
            .filter(|workers| *workers >= 1)
            .unwrap_or(DEFAULT_MAX_WORKERS)
    }

    /// The `next-id` range, with PVE's defaults for what is not set.
    ///
    /// PVE itself drops a malformed `next-id` with a warning and uses the defaults; this
    /// returns the error instead, so the caller decides whether to fall back.
    pub fn next_id(&self) -> Result<NextIdRange, DatacenterError> {
        let Some(value) = self.get("next-id") else {
            return Ok(NextIdRange::DEFAULT);
        };
        let parsed =
            PropertyString::parse(value, PropertyStringFormat::PLAIN).map_err(|source| {
                DatacenterError::NextIdSyntax {
                    value: value.to_owned(),
                    source,
                }
            })?;
        let mut range = NextIdRange::DEFAULT;
        for (key, bound) in parsed.entries() {
            let (name, slot) = match key.as_str() {
                "lower" => ("lower", &mut range.lower),
                "upper" => ("upper", &mut range.upper),
                _ => return Err(DatacenterError::NextIdUnknownKey { key: key.clone() }),
            };
            *slot = bound.parse().map_err(|_| DatacenterError::NextIdBound {
                key: name,
                value: bound.clone(),
            })?;
        }
        Ok(range)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn max_workers_defaults_to_four_unless_a_positive_count_is_set() {
        assert_eq!(DatacenterConfig::parse(b"keyboard: de\n").max_workers(), 4);
        assert_eq!(
            DatacenterConfig::parse(b"max_workers: 12\n").max_workers(),
            12
        );
        assert_eq!(
            DatacenterConfig::parse(b"max_workers: 0\n").max_workers(),
            4
        );
        assert_eq!(
            DatacenterConfig::parse(b"max_workers: many\n").max_workers(),
            4
        );
    }

    #[test]
    fn next_id_defaults_when_absent() {
        let config = DatacenterConfig::parse(b"keyboard: en-us\n");
        assert_eq!(
            config.next_id().unwrap(),
            NextIdRange {
                lower: 100,
                upper: 1_000_000
            }
        );
    }

    #[test]
    fn next_id_reads_both_bounds_among_other_keys() {
        let text = b"# managed by ansible\nkeyboard: de\n\n  next-id: lower=1000,upper=2000  \n\
            migration: secure,network=10.0.0.0/24\ntag-style: shape=none\nnonsense line\n";
        let config = DatacenterConfig::parse(text);
        let range = config.next_id().unwrap();
        assert_eq!(
            range,
            NextIdRange {
                lower: 1000,
                upper: 2000
            }
        );
        assert!(range.contains(1000) && range.contains(1999));
        assert!(!range.contains(2000) && !range.contains(999));
        assert_eq!(config.get("migration"), Some("secure,network=10.0.0.0/24"));
        assert_eq!(config.get("nonsense line"), None);
    }

    #[test]
    fn next_id_with_one_bound_keeps_the_other_default() {
        let config = DatacenterConfig::parse(b"next-id: upper=5000\n");
        assert_eq!(
            config.next_id().unwrap(),
            NextIdRange {
                lower: 100,
                upper: 5000
            }
        );
        let config = DatacenterConfig::parse(b"next-id: lower=300");
        assert_eq!(
            config.next_id().unwrap(),
            NextIdRange {
                lower: 300,
                upper: 1_000_000
            }
        );
    }

    #[test]
    fn a_later_line_wins() {
        let config = DatacenterConfig::parse(b"next-id: lower=200\nnext-id: lower=400\n");
        assert_eq!(config.next_id().unwrap().lower, 400);
    }

    #[test]
    fn malformed_next_id_names_what_is_wrong() {
        let err = DatacenterConfig::parse(b"next-id: lower=abc")
            .next_id()
            .unwrap_err();
        assert_eq!(
            err,
            DatacenterError::NextIdBound {
                key: "lower",
                value: "abc".into()
            }
        );
        let err = DatacenterConfig::parse(b"next-id: first=1")
            .next_id()
            .unwrap_err();
        assert_eq!(
            err,
            DatacenterError::NextIdUnknownKey {
                key: "first".into()
            }
        );
        let err = DatacenterConfig::parse(b"next-id: 1000")
            .next_id()
            .unwrap_err();
        assert!(matches!(err, DatacenterError::NextIdSyntax { .. }), "{err}");
    }
}
