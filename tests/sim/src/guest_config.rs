//! The simulator's in-memory guest config and PVE's `<vmid>.conf` text format, written the
//! way qemu-server's `write_vm_config` and pve-container's `write_pct_config` write it.
//!
//! Rendering rules (pve-facts §5):
//! - the description comes first as `#` lines, each line URI-escaped like
//!   `PVE::Tools::encode_text` (control and high-bit bytes and `:`; note that PVE does *not*
//!   escape `%`, so a description containing `%3A` does not survive a round trip — neither in
//!   PVE nor here);
//! - keys are sorted (byte order, like Perl's `sort`); in containers raw `lxc.*` keys follow
//!   the other keys;
//! - then `[PENDING]` (qemu) / `[pve:pending]` (lxc) with `delete: a,!b` sorted in among the
//!   pending keys, then `[special:cloudinit]` (qemu, only while a cloud-init drive exists),
//!   then the snapshots sorted by name.
//!
//! Inside the section maps (`pending`, `cloudinit`, each snapshot) the key `description` is the
//! section's description and is written as `#` lines, exactly like PVE's own hashes. Values must
//! be non-empty single lines without surrounding whitespace; the parser rejects anything else.
//!
//! Parsing mirrors PVE's readers, including their description quirks: qemu trims trailing
//! whitespace from a description, lxc keeps one `\n` after every line.

mod parse;
mod render;
#[cfg(test)]
mod tests;

use std::collections::BTreeMap;

use percent_encoding::{AsciiSet, CONTROLS, percent_decode_str, utf8_percent_encode};
use sha1::{Digest, Sha1};

use crate::pmxcfs::GuestType;

/// One guest's configuration as the simulator keeps it in memory.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GuestConfig {
    /// The main section's description (written as leading `#` lines); empty means none.
    pub description: String,
    /// The main section's keys (`lock`, `template`, `scsi0`, ...). A `description` key here is
    /// not written (PVE skips it too): the description lives in `description`.
    pub props: BTreeMap<String, String>,
    /// The pending section's keys; `description` here is the pending description.
    pub pending: BTreeMap<String, String>,
    /// The pending section's `delete:` list: option name and whether it is forced (`!`).
    pub pending_delete: Vec<(String, bool)>,
    /// `[special:cloudinit]` (qemu only): the cloud-init values the drive was last built from.
    pub cloudinit: BTreeMap<String, String>,
    /// Snapshot sections in file order (PVE writes them sorted by name).
    pub snapshots: Vec<(String, BTreeMap<String, String>)>,
}

impl GuestConfig {
    /// The file text PVE writes for this config.
    pub fn render(&self, kind: GuestType) -> String {
        render::render(self, kind)
    }

    /// Parses a config file the way PVE reads it (strictly: what PVE would only warn about is
    /// an error here).
    pub fn parse(text: &str, kind: GuestType) -> Result<GuestConfig, ConfigError> {
        parse::parse(text, kind)
    }
}

/// Why a config file could not be parsed; `line` is 1-based.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    #[error("line {line}: unable to parse config line '{text}'")]
    Syntax { line: usize, text: String },
    #[error("line {line}: property 'delete' is only allowed in the pending section")]
    DeleteOutsidePending { line: usize },
    #[error("line {line}: duplicate section [{name}]")]
    DuplicateSection { line: usize, name: String },
    #[error("line {line}: section [{name}] is not supported by the simulator's config model")]
    UnsupportedSection { line: usize, name: String },
    #[error(
        "line {line}: raw key '{key}' repeats; the simulator's config model keeps one value per key"
    )]
    RepeatedRawKey { line: usize, key: String },
}

/// The config digest PVE reports: SHA-1 hex of the whole file text.
pub fn digest(text: &str) -> String {
    hex::encode(Sha1::digest(text.as_bytes()))
}

/// Bytes `PVE::Tools::encode_text` escapes: everything outside `\x20-\x39` and `\x3b-\x7e`
/// (controls, DEL, high-bit bytes, and `:`).
const DESCRIPTION_UNSAFE: &AsciiSet = &CONTROLS.add(b':');

/// One description line escaped like `PVE::Tools::encode_text`.
pub fn encode_text(line: &str) -> String {
    utf8_percent_encode(line, DESCRIPTION_UNSAFE).to_string()
}

/// The inverse of [`encode_text`], like `PVE::Tools::decode_text` (invalid UTF-8 becomes U+FFFD).
pub fn decode_text(line: &str) -> String {
    percent_decode_str(line).decode_utf8_lossy().into_owned()
}

/// The `#` comment block PVE writes for a description: one `#<escaped line>\n` per line
/// (trailing empty lines are dropped, like Perl's `split /\n/`).
pub fn encode_description(s: &str) -> String {
    perl_split_lines(s)
        .map(|line| format!("#{}\n", encode_text(line)))
        .collect()
}

/// The description PVE reads back from a block of `#` lines (other lines are ignored): qemu
/// trims trailing whitespace, lxc keeps a `\n` after every line.
pub fn decode_description(block: &str, kind: GuestType) -> String {
    let mut descr = String::new();
    for line in block.split('\n') {
        if let Some(rest) = line.strip_prefix('#') {
            descr.push_str(&decode_text(rest));
            descr.push('\n');
        }
    }
    match kind {
        GuestType::Qemu => trim_end_perl(&descr).to_string(),
        GuestType::Lxc => descr,
    }
}

/// The lines of `s` as Perl's `split(/\n/, $s)` yields them: trailing empty fields dropped.
fn perl_split_lines(s: &str) -> impl Iterator<Item = &str> {
    let mut lines: Vec<&str> = s.split('\n').collect();
    while lines.last().is_some_and(|l| l.is_empty()) {
        lines.pop();
    }
    lines.into_iter()
}

/// Perl's `s/\s+$//`.
fn trim_end_perl(s: &str) -> &str {
    s.trim_end_matches(|c: char| c.is_ascii_whitespace() || c == '\x0b')
}

/// Whether `props` has a cloud-init drive (PVE's `has_cloudinit`): a drive key whose volume
/// matches `[:/](vm-\d+-)?cloudinit(\.<fmt>)?$`.
pub fn has_cloudinit(props: &BTreeMap<String, String>) -> bool {
    props
        .iter()
        .any(|(key, value)| is_drive_key(key) && drive_is_cloudinit(drive_file(value)))
}

fn is_drive_key(key: &str) -> bool {
    if key == "efidisk0" || key == "tpmstate0" {
        return true;
    }
    ["ide", "sata", "scsi", "virtio"].iter().any(|bus| {
        key.strip_prefix(bus)
            .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
    })
}

/// The volume of a drive value: `[file=]<volid>,k=v,...`.
fn drive_file(value: &str) -> &str {
    let first = value.split(',').next().unwrap_or("");
    first.strip_prefix("file=").unwrap_or(first)
}

fn drive_is_cloudinit(file: &str) -> bool {
    let mut name = file;
    for fmt in ["raw", "cow", "qcow", "qed", "qcow2", "vmdk", "cloop"] {
        if let Some(stripped) = file
            .strip_suffix(fmt)
            .and_then(|s| s.strip_suffix('.'))
            .filter(|s| s.ends_with("cloudinit"))
        {
            name = stripped;
            break;
        }
    }
    let Some(before) = name.strip_suffix("cloudinit") else {
        return false;
    };
    if before.ends_with([':', '/']) {
        return true;
    }
    // `vm-<digits>-` directly after the separator.
    let Some(rest) = before.strip_suffix('-') else {
        return false;
    };
    let digits = rest.trim_end_matches(|c: char| c.is_ascii_digit());
    digits.len() < rest.len()
        && digits
            .strip_suffix("vm-")
            .is_some_and(|s| s.ends_with([':', '/']))
}
