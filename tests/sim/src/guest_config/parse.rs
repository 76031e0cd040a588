//! Reading `<vmid>.conf` text the way qemu-server's `parse_vm_config` and pve-container's
//! `parse_pct_config` read it, strictly: what PVE only warns about is an error here.

use std::collections::BTreeMap;

use super::{ConfigError, GuestConfig, decode_text, trim_end_perl};
use crate::pmxcfs::GuestType;

#[derive(Clone, Copy, PartialEq, Eq)]
enum Section {
    Main,
    Pending,
    Cloudinit,
    Snapshot(usize),
}

struct Parser {
    kind: GuestType,
    conf: GuestConfig,
    section: Section,
    seen_pending: bool,
    seen_cloudinit: bool,
    descr: Option<String>,
}

pub(super) fn parse(text: &str, kind: GuestType) -> Result<GuestConfig, ConfigError> {
    let mut parser = Parser {
        kind,
        conf: GuestConfig::default(),
        section: Section::Main,
        seen_pending: false,
        seen_cloudinit: false,
        descr: None,
    };
    for (index, line) in text.split('\n').enumerate() {
        parser.line(index + 1, line)?;
    }
    parser.finish_description();
    Ok(parser.conf)
}

impl Parser {
    fn line(&mut self, n: usize, line: &str) -> Result<(), ConfigError> {
        if line.bytes().all(|b| b.is_ascii_whitespace()) {
            return Ok(());
        }
        if let Some(name) = section_header(line) {
            self.finish_description();
            return self.enter(n, name);
        }
        if let Some(rest) = line.strip_prefix('#') {
            let descr = self.descr.get_or_insert_with(String::new);
            descr.push_str(&decode_text(rest));
            descr.push('\n');
            return Ok(());
        }
        if self.kind == GuestType::Lxc
            && let Some((key, value)) = raw_lxc_line(line)
        {
            let map = self.map();
            if map.contains_key(key) {
                return Err(ConfigError::RepeatedRawKey {
                    line: n,
                    key: key.to_string(),
                });
            }
            map.insert(key.to_string(), value.to_string());
            return Ok(());
        }
        let Some((key, value)) = key_line(line) else {
            return Err(ConfigError::Syntax {
                line: n,
                text: line.to_string(),
            });
        };
        match key {
            "description" => self
                .descr
                .get_or_insert_with(String::new)
                .push_str(&decode_text(value)),
            "delete" if self.section == Section::Pending => {
                self.conf.pending_delete = parse_delete_list(value);
            }
            "delete" => return Err(ConfigError::DeleteOutsidePending { line: n }),
            "cdrom" if self.kind == GuestType::Qemu && self.section != Section::Cloudinit => {
                self.map().insert("ide2".to_string(), value.to_string());
            }
            _ => {
                self.map().insert(key.to_string(), value.to_string());
            }
        }
        Ok(())
    }

    fn enter(&mut self, n: usize, name: &str) -> Result<(), ConfigError> {
        let duplicate = || ConfigError::DuplicateSection {
            line: n,
            name: name.to_string(),
        };
        let unsupported = || ConfigError::UnsupportedSection {
            line: n,
            name: name.to_string(),
        };
        let pending_name = match self.kind {
            GuestType::Qemu => "PENDING",
            GuestType::Lxc => "pve:pending",
        };
        if name.eq_ignore_ascii_case(pending_name) {
            if self.seen_pending {
                return Err(duplicate());
            }
            self.seen_pending = true;
            self.section = Section::Pending;
        } else if self.kind == GuestType::Qemu
            && name
                .get(..8)
                .is_some_and(|p| p.eq_ignore_ascii_case("special:"))
        {
            if !name
                .get(8..)
                .is_some_and(|s| s.eq_ignore_ascii_case("cloudinit"))
            {
                return Err(unsupported());
            }
            if self.seen_cloudinit {
                return Err(duplicate());
            }
            self.seen_cloudinit = true;
            self.section = Section::Cloudinit;
        } else if is_snapshot_name(name) {
            if self.conf.snapshots.iter().any(|(s, _)| s == name) {
                return Err(duplicate());
            }
            self.conf
                .snapshots
                .push((name.to_string(), BTreeMap::new()));
            self.section = Section::Snapshot(self.conf.snapshots.len() - 1);
        } else {
            return Err(unsupported());
        }
        Ok(())
    }

    /// Hands the collected `#` lines to the section they belong to.
    fn finish_description(&mut self) {
        let Some(descr) = self.descr.take() else {
            return;
        };
        let descr = match self.kind {
            GuestType::Qemu => trim_end_perl(&descr).to_string(),
            GuestType::Lxc if descr.is_empty() => return,
            GuestType::Lxc => descr,
        };
        match self.section {
            Section::Main => self.conf.description = descr,
            _ => {
                self.map().insert("description".to_string(), descr);
            }
        }
    }

    fn map(&mut self) -> &mut BTreeMap<String, String> {
        match self.section {
            Section::Main => &mut self.conf.props,
            Section::Pending => &mut self.conf.pending,
            Section::Cloudinit => &mut self.conf.cloudinit,
            Section::Snapshot(i) => &mut self.conf.snapshots[i].1,
        }
    }
}

/// The name inside `[...]` when the whole line is a section header.
fn section_header(line: &str) -> Option<&str> {
    let inner = line
        .trim_end_matches(|c: char| c.is_ascii_whitespace())
        .strip_prefix('[')?
        .strip_suffix(']')?;
    (!inner.contains(']')).then_some(inner)
}

/// `[a-z][a-z0-9_\-]+`, case-insensitive (PVE's snapshot section pattern).
fn is_snapshot_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && name.len() >= 2
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}

/// `key: value` with a key matching `[a-z][a-z_\-]*\d*` and a non-empty value.
fn key_line(line: &str) -> Option<(&str, &str)> {
    let (key, rest) = line.split_once(':')?;
    let stem = key.trim_end_matches(|c: char| c.is_ascii_digit());
    let mut chars = stem.chars();
    let valid = chars.next().is_some_and(|c| c.is_ascii_lowercase())
        && chars.all(|c| c.is_ascii_lowercase() || c == '_' || c == '-');
    let value = rest.trim_matches(|c: char| c.is_ascii_whitespace());
    (valid && !value.is_empty()).then_some((key, value))
}

/// A raw container key: `lxc.<name>: value` or `lxc.<name> = value` (the value may be empty).
fn raw_lxc_line(line: &str) -> Option<(&str, &str)> {
    let name_len = line.strip_prefix("lxc.").map(|rest| {
        rest.find(|c: char| {
            !(c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '_' | '-' | '.'))
        })
        .unwrap_or(rest.len())
    })?;
    if name_len == 0 {
        return None;
    }
    let (key, rest) = line.split_at(4 + name_len);
    let rest = match rest.strip_prefix(':') {
        Some(value) => value,
        None => rest
            .trim_start_matches(|c: char| c.is_ascii_whitespace())
            .strip_prefix('=')?,
    };
    Some((key, rest.trim_matches(|c: char| c.is_ascii_whitespace())))
}

/// `PVE::AbstractConfig::parse_pending_delete`: names split on `,`, `;` or whitespace, `!`
/// marks a forced delete.
fn parse_delete_list(value: &str) -> Vec<(String, bool)> {
    value
        .split(|c: char| c == ',' || c == ';' || c.is_ascii_whitespace())
        .filter(|item| !item.is_empty())
        .map(|item| match item.strip_prefix('!') {
            Some(name) => (name.to_string(), true),
            None => (item.to_string(), false),
        })
        .collect()
}
