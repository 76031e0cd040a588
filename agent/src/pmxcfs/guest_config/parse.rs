//! The reader: PVE's line-by-line parse of a guest config (non-strict mode), as in
//! `PVE::QemuServer::parse_vm_config` and `PVE::LXC::Config::parse_pct_config`.

use super::{ConfigError, GuestConfig, GuestKind, Pending, Section};
use crate::pmxcfs::description;
use crate::pmxcfs::text::{is_blank, is_perl_space, line_value, trim_perl};

/// Where the lines being read go.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Target {
    Main,
    Pending,
    Special(String),
    Snapshot(String),
    /// After an unknown section header (qemu): lines are dropped until the next header.
    Skip,
}

/// A section header line, classified.
enum Header {
    Known(Target),
    Unknown(String),
}

struct Parser {
    config: GuestConfig,
    issues: Vec<ConfigError>,
    target: Target,
    description: Option<String>,
    pending_seen: bool,
}

pub(super) fn parse(
    kind: GuestKind,
    bytes: &[u8],
) -> Result<(GuestConfig, Vec<ConfigError>), ConfigError> {
    let mut parser = Parser {
        config: GuestConfig::new(kind),
        issues: Vec::new(),
        target: Target::Main,
        description: None,
        pending_seen: false,
    };
    for (index, raw) in bytes.split(|&byte| byte == b'\n').enumerate() {
        let line = index + 1;
        let text = std::str::from_utf8(raw).map_err(|_| ConfigError::NotUtf8 { line })?;
        parser.read_line(line, text);
    }
    parser.finish_description();
    // PVE drops a `snapstate` of the main section "just to be sure".
    parser.config.main.options.remove("snapstate");
    Ok((parser.config, parser.issues))
}

impl Parser {
    fn kind(&self) -> GuestKind {
        self.config.kind
    }

    fn read_line(&mut self, line: usize, text: &str) {
        if is_blank(text) {
            return;
        }
        if let Some(header) = header(self.kind(), text) {
            self.finish_description();
            self.enter(line, header);
            return;
        }
        if self.target == Target::Skip {
            return;
        }
        if let Some(comment) = text.strip_prefix('#') {
            let description = self.description.get_or_insert_with(String::new);
            description.push_str(&description::decode(comment));
            description.push('\n');
            return;
        }
        if self.kind() == GuestKind::Lxc
            && let Some((key, value)) = lxc_key(text)
        {
            let entry = (key.to_owned(), value.to_owned());
            self.section().lxc.push(entry);
            return;
        }
        if let Some(value) = non_blank_value(text, "description:") {
            let decoded = description::decode(value);
            self.description
                .get_or_insert_with(String::new)
                .push_str(&decoded);
            return;
        }
        if let Some(value) = non_blank_value(text, "delete:") {
            if self.target == Target::Pending {
                self.config.pending.delete = Pending::parse_delete(value);
            } else {
                self.issues.push(ConfigError::DeleteOutsidePending { line });
            }
            return;
        }
        match key_value(self.kind(), text) {
            // A whitespace-only description adds nothing.
            Some(("description", _)) => {}
            Some((key, value)) if key != "delete" => {
                self.section()
                    .options
                    .insert(key.to_owned(), value.to_owned());
            }
            _ => self.issues.push(ConfigError::MalformedLine {
                line,
                text: text.to_owned(),
            }),
        }
    }

    fn enter(&mut self, line: usize, header: Header) {
        let target = match header {
            Header::Unknown(name) => {
                self.issues.push(ConfigError::UnknownSection { line, name });
                self.target = Target::Skip;
                return;
            }
            Header::Known(target) => target,
        };
        let duplicate = match &target {
            Target::Pending => {
                let seen = self.pending_seen;
                self.pending_seen = true;
                self.config.pending = Pending::default();
                seen.then(|| match self.kind() {
                    GuestKind::Qemu => "PENDING".to_owned(),
                    GuestKind::Lxc => "pve:pending".to_owned(),
                })
            }
            Target::Special(name) => self
                .config
                .special
                .insert(name.clone(), Section::default())
                .map(|_| format!("special:{name}")),
            Target::Snapshot(name) => self
                .config
                .snapshots
                .insert(name.clone(), Section::default())
                .map(|_| name.clone()),
            Target::Main | Target::Skip => None,
        };
        if let Some(name) = duplicate {
            self.issues
                .push(ConfigError::DuplicateSection { line, name });
        }
        self.target = target;
    }

    /// Stores the `#` lines read so far as the description of the current section.
    fn finish_description(&mut self) {
        let Some(text) = self.description.take() else {
            return;
        };
        if self.target == Target::Skip {
            return;
        }
        let kind = self.kind();
        // qemu trims trailing whitespace; lxc keeps it, but its writer drops trailing
        // empty lines, so only trailing newlines are cut here to keep round trips stable.
        let trimmed = match kind {
            GuestKind::Qemu => text.trim_end_matches(is_perl_space),
            GuestKind::Lxc => text.trim_end_matches('\n'),
        };
        let description = if !trimmed.is_empty() {
            Some(trimmed.to_owned())
        } else if kind == GuestKind::Qemu && self.target == Target::Pending {
            // A pending empty description (`#` alone) means "clear it"; PVE writes it back.
            Some(String::new())
        } else {
            None
        };
        self.section().description = description;
    }

    fn section(&mut self) -> &mut Section {
        match &self.target {
            Target::Main | Target::Skip => &mut self.config.main,
            Target::Pending => &mut self.config.pending.values,
            Target::Special(name) => self.config.special.entry(name.clone()).or_default(),
            Target::Snapshot(name) => self.config.snapshots.entry(name.clone()).or_default(),
        }
    }
}

/// Recognises `[...]` lines. qemu treats any `[...]` as a header (unknown ones start a
/// skipped section); lxc knows only `[pve:pending]` and snapshots, other brackets are
/// ordinary (malformed) lines.
fn header(kind: GuestKind, text: &str) -> Option<Header> {
    let inner = text
        .strip_prefix('[')?
        .trim_end_matches(is_perl_space)
        .strip_suffix(']')?;
    if inner.contains(']') {
        return None;
    }
    match kind {
        GuestKind::Qemu => {
            if inner.eq_ignore_ascii_case("PENDING") {
                return Some(Header::Known(Target::Pending));
            }
            if let Some(name) = special_name(inner) {
                return Some(Header::Known(Target::Special(name.to_owned())));
            }
            if is_snapshot_name(inner) {
                return Some(Header::Known(Target::Snapshot(inner.to_owned())));
            }
            Some(Header::Unknown(inner.to_owned()))
        }
        GuestKind::Lxc => {
            if inner.eq_ignore_ascii_case("pve:pending") {
                return Some(Header::Known(Target::Pending));
            }
            is_snapshot_name(inner).then(|| Header::Known(Target::Snapshot(inner.to_owned())))
        }
    }
}

/// The name in `[special:<name>]` if qemu knows that special section (any case).
pub(super) fn special_name(inner: &str) -> Option<&str> {
    let prefix = inner.get(..8)?;
    let name = &inner[8..];
    let known = ["cloudinit", "fleecing"]
        .iter()
        .any(|known| name.eq_ignore_ascii_case(known));
    (prefix.eq_ignore_ascii_case("special:") && known).then_some(name)
}

/// Snapshot section names: `[a-z][a-z0-9_-]+`, any case.
pub(super) fn is_snapshot_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && name.len() >= 2
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}

/// Whether `key` matches the option-key pattern: `[a-z][a-z_-]*\d*` for qemu, without `-`
/// for lxc.
pub(super) fn is_option_key(kind: GuestKind, key: &str) -> bool {
    let digits_at = key.find(|c: char| c.is_ascii_digit()).unwrap_or(key.len());
    let (word, digits) = key.split_at(digits_at);
    let word_char =
        |c: char| c.is_ascii_lowercase() || c == '_' || (c == '-' && kind == GuestKind::Qemu);
    word.starts_with(|c: char| c.is_ascii_lowercase())
        && word.chars().all(word_char)
        && digits.chars().all(|c| c.is_ascii_digit())
}

/// A `key: value` line.
pub(super) fn key_value(kind: GuestKind, text: &str) -> Option<(&str, &str)> {
    let (key, rest) = text.split_once(':')?;
    if !is_option_key(kind, key) {
        return None;
    }
    Some((key, line_value(rest)?))
}

/// An `lxc.<key>: value` or `lxc.<key> = value` line; the value may be empty.
pub(super) fn lxc_key(text: &str) -> Option<(&str, &str)> {
    let rest = text.strip_prefix("lxc.")?;
    let key_char =
        |c: char| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '_' | '-' | '.');
    let key_len = rest.find(|c: char| !key_char(c)).unwrap_or(rest.len());
    if key_len == 0 {
        return None;
    }
    let after = &rest[key_len..];
    let value = match after.strip_prefix(':') {
        Some(value) => value,
        None => after.trim_start_matches(is_perl_space).strip_prefix('=')?,
    };
    Some((&text[..4 + key_len], trim_perl(value)))
}

/// The value after `prefix` if it has a non-whitespace character (`prefix\s*(.*\S)\s*$`).
fn non_blank_value<'a>(text: &'a str, prefix: &str) -> Option<&'a str> {
    let value = trim_perl(text.strip_prefix(prefix)?);
    (!value.is_empty()).then_some(value)
}
