//! qemu (`qemu-server/<vmid>.conf`) and lxc (`lxc/<vmid>.conf`) guest configs: the full file
//! format with description comments, pending changes, special sections and snapshots, a
//! writer that renders PVE's format, and helpers for the values the agent checks.
//!
//! Parsing follows `parse_vm_config` / `parse_pct_config` in PVE's non-strict mode (the mode
//! PVE reads configs in): what PVE warns about and skips is skipped here too and reported as
//! a [`ConfigError`] in [`ParsedGuestConfig::issues`]. [`GuestConfig::parse_strict`] turns the
//! first such issue into an error, like PVE's strict mode. Values are not checked against
//! PVE's schema; the typed accessors check the values they read.

mod disks;
mod parse;
mod render;

use std::collections::BTreeMap;

use sha1::{Digest, Sha1};

use super::property_string::{PropertyString, PropertyStringFormat};
use super::text::{is_perl_space, split_list};

pub use disks::{BootDisk, BootDiskSource, DiskBus, DiskError, GuestDisk, disk_slot};
pub use render::RenderError;

/// Which kind of guest a config belongs to; the two formats differ in details.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum GuestKind {
    Qemu,
    Lxc,
}

/// A guest config: the main section, pending changes, special sections and snapshots.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GuestConfig {
    pub kind: GuestKind,
    /// The current configuration.
    pub main: Section,
    /// Changes not applied yet (`[PENDING]`, `[pve:pending]` for containers).
    pub pending: Pending,
    /// qemu's `[special:cloudinit]` and `[special:fleecing]`, by name as written.
    pub special: BTreeMap<String, Section>,
    /// Snapshots by name; each holds the config at snapshot time plus `snaptime`, `parent`
    /// and `vmstate`.
    pub snapshots: BTreeMap<String, Section>,
}

/// One section of a config: its description and `key: value` options.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Section {
    /// The description (the `#` lines), unescaped, trailing whitespace removed.
    pub description: Option<String>,
    /// The options, sorted by key as PVE writes them.
    pub options: BTreeMap<String, String>,
    /// Raw `lxc.*` keys of containers, in file order; a key may repeat.
    pub lxc: Vec<(String, String)>,
}

/// The pending section: new values, plus options to delete.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Pending {
    pub values: Section,
    /// `delete: a,!b`, sorted by key, each key once.
    pub delete: Vec<PendingDelete>,
}

/// One option queued for deletion; `force` is the `!` prefix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingDelete {
    pub key: String,
    pub force: bool,
}

/// A parsed config with the SHA-1 digest of its bytes and the lines PVE would skip.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParsedGuestConfig {
    pub config: GuestConfig,
    /// SHA-1 hex of the whole file, as PVE's `digest`.
    pub digest: String,
    /// Lines and sections skipped, with PVE's reason.
    pub issues: Vec<ConfigError>,
}

/// A problem in a config file, with its 1-based line number.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    #[error("line {line}: not valid utf-8")]
    NotUtf8 { line: usize },
    #[error("line {line}: unknown section `[{name}]`; its lines are ignored")]
    UnknownSection { line: usize, name: String },
    #[error("line {line}: duplicate section `[{name}]` replaces the earlier one")]
    DuplicateSection { line: usize, name: String },
    #[error("line {line}: `delete` is only allowed in the pending section")]
    DeleteOutsidePending { line: usize },
    #[error("line {line}: cannot parse `{text}`; expected `key: value`")]
    MalformedLine { line: usize, text: String },
}

/// An option whose value does not have the expected shape.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("option `{key}` has invalid value `{value}`: expected {expected}")]
pub struct ConfigValueError {
    pub key: String,
    pub value: String,
    pub expected: &'static str,
}

/// SHA-1 hex of a config's bytes: PVE's `digest`, also useful to deduplicate re-reads.
pub fn digest(bytes: &[u8]) -> String {
    hex::encode(Sha1::digest(bytes))
}

impl GuestConfig {
    /// An empty config of `kind`.
    pub fn new(kind: GuestKind) -> Self {
        Self {
            kind,
            main: Section::default(),
            pending: Pending::default(),
            special: BTreeMap::new(),
            snapshots: BTreeMap::new(),
        }
    }

    /// Parses a config file like PVE does when it reads one: skipped lines are reported in
    /// `issues`. Fails only on bytes that are not UTF-8.
    pub fn parse(kind: GuestKind, bytes: &[u8]) -> Result<ParsedGuestConfig, ConfigError> {
        let (config, issues) = parse::parse(kind, bytes)?;
        Ok(ParsedGuestConfig {
            config,
            digest: digest(bytes),
            issues,
        })
    }

    /// Parses a config file and fails on the first line PVE's strict mode would reject.
    pub fn parse_strict(kind: GuestKind, bytes: &[u8]) -> Result<Self, ConfigError> {
        let (config, issues) = parse::parse(kind, bytes)?;
        match issues.into_iter().next() {
            Some(issue) => Err(issue),
            None => Ok(config),
        }
    }

    /// Renders the config in PVE's format (`write_vm_config` / `write_pct_config`).
    pub fn render(&self) -> Result<String, RenderError> {
        render::render(self)
    }

    /// The value of a main-section option.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.main.get(key)
    }

    /// The guest's name: `name` for VMs, `hostname` for containers.
    pub fn name(&self) -> Option<&str> {
        match self.kind {
            GuestKind::Qemu => self.get("name"),
            GuestKind::Lxc => self.get("hostname"),
        }
    }

    /// Memory in MiB, if set (PVE's default is 512 for both kinds). qemu's `memory` may be a
    /// property string `current=<MiB>`.
    pub fn memory_mib(&self) -> Result<Option<u64>, ConfigValueError> {
        let Some(value) = self.get("memory") else {
            return Ok(None);
        };
        let format = PropertyStringFormat {
            default_key: Some("current"),
            aliases: &[],
        };
        let current = match self.kind {
            GuestKind::Qemu => PropertyString::parse(value, format)
                .ok()
                .and_then(|parsed| parsed.get("current").map(str::to_owned)),
            GuestKind::Lxc => Some(value.to_owned()),
        };
        current
            .and_then(|mib| mib.parse().ok())
            .map(Some)
            .ok_or_else(|| invalid("memory", value, "a size in MiB"))
    }

    /// CPU cores, if set (qemu's default is 1; a container without `cores` may use all).
    pub fn cores(&self) -> Result<Option<u32>, ConfigValueError> {
        self.main.uint("cores")
    }

    /// The tags (`tags: a;b`), split on `;`, `,` and whitespace as PVE reads them.
    pub fn tags(&self) -> Vec<&str> {
        self.get("tags").map(split_list).unwrap_or_default()
    }

    /// Whether the guest is a template (`template: 1`).
    pub fn is_template(&self) -> Result<bool, ConfigValueError> {
        Ok(self.main.flag("template")?.unwrap_or(false))
    }

    /// The `lock` value (`clone`, `backup`, `create`, ...), if the guest is locked.
    pub fn lock(&self) -> Option<&str> {
        self.get("lock")
    }

    /// Whether `protection: 1` is set.
    pub fn is_protected(&self) -> Result<bool, ConfigValueError> {
        Ok(self.main.flag("protection")?.unwrap_or(false))
    }

    /// Whether any change is pending.
    pub fn has_pending(&self) -> bool {
        !self.pending.is_empty()
    }

    /// The latest snapshot (`parent` of the main section).
    pub fn parent(&self) -> Option<&str> {
        self.get("parent")
    }
}

impl Section {
    /// The value of an option.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.options.get(key).map(String::as_str)
    }

    /// Whether the section has no description, options or lxc keys.
    pub fn is_empty(&self) -> bool {
        self.description.is_none() && self.options.is_empty() && self.lxc.is_empty()
    }

    /// A boolean option; PVE accepts `1/0`, `on/off`, `yes/no`, `true/false` in any case.
    pub fn flag(&self, key: &str) -> Result<Option<bool>, ConfigValueError> {
        let Some(value) = self.get(key) else {
            return Ok(None);
        };
        match value.to_ascii_lowercase().as_str() {
            "1" | "on" | "yes" | "true" => Ok(Some(true)),
            "0" | "off" | "no" | "false" => Ok(Some(false)),
            _ => Err(invalid(key, value, "a boolean (1 or 0)")),
        }
    }

    /// A non-negative integer option.
    pub fn uint<T: std::str::FromStr>(&self, key: &str) -> Result<Option<T>, ConfigValueError> {
        let Some(value) = self.get(key) else {
            return Ok(None);
        };
        let digits_only = !value.is_empty() && value.bytes().all(|b| b.is_ascii_digit());
        match value.parse() {
            Ok(number) if digits_only => Ok(Some(number)),
            _ => Err(invalid(key, value, "a non-negative integer")),
        }
    }

    /// A snapshot's creation time (`snaptime`, seconds since the epoch).
    pub fn snaptime(&self) -> Result<Option<u64>, ConfigValueError> {
        self.uint("snaptime")
    }

    /// A snapshot's saved RAM state volume (`vmstate`).
    pub fn vmstate(&self) -> Option<&str> {
        self.get("vmstate")
    }
}

impl Pending {
    /// Whether nothing is pending; an empty pending section is not written.
    pub fn is_empty(&self) -> bool {
        self.values.is_empty() && self.delete.is_empty()
    }

    /// Whether `key` is queued for deletion.
    pub fn deletes(&self, key: &str) -> bool {
        self.delete.iter().any(|entry| entry.key == key)
    }

    /// Parses a `delete:` value like `parse_pending_delete`: keys separated by `,`, `;` or
    /// whitespace, `!` marks a forced delete, a repeated key keeps its last flag.
    pub fn parse_delete(value: &str) -> Vec<PendingDelete> {
        let mut by_key: BTreeMap<&str, bool> = BTreeMap::new();
        let separators = |c: char| c == ',' || c == ';' || is_perl_space(c);
        for entry in value.split(separators).filter(|entry| !entry.is_empty()) {
            let (force, key) = match entry.strip_prefix('!') {
                Some(key) => (true, key),
                None => (false, entry),
            };
            if !key.is_empty() {
                by_key.insert(key, force);
            }
        }
        by_key
            .into_iter()
            .map(|(key, force)| PendingDelete {
                key: key.to_owned(),
                force,
            })
            .collect()
    }

    /// Renders the delete list like `print_pending_delete`: sorted, comma-separated.
    pub fn render_delete(&self) -> String {
        let mut entries: Vec<&PendingDelete> = self.delete.iter().collect();
        entries.sort_by(|a, b| a.key.cmp(&b.key));
        let keys: Vec<String> = entries
            .into_iter()
            .map(|entry| format!("{}{}", if entry.force { "!" } else { "" }, entry.key))
            .collect();
        keys.join(",")
    }
}

fn invalid(key: &str, value: &str, expected: &'static str) -> ConfigValueError {
    ConfigValueError {
        key: key.to_owned(),
        value: value.to_owned(),
        expected,
    }
}

#[cfg(test)]
mod tests;
