//! The writer: renders a config in PVE's format, as `write_vm_config` and
//! `write_pct_config` do — description as `#` lines, options sorted by key, raw `lxc.*` keys
//! last in their order, then the pending section, special sections and snapshots by name.
//!
//! It refuses what would not read back as the same config (keys of the wrong shape, values
//! with newlines or padding, descriptions ending in whitespace, bad section names), instead
//! of writing a file PVE misreads.
//! Unlike PVE it keeps `[special:cloudinit]` even without a cloud-init drive (that is
//! config semantics, not file format).

use std::fmt::Write as _;

use super::parse::{is_option_key, is_snapshot_name, key_value, lxc_key, special_name};
use super::{GuestConfig, GuestKind, Section};
use crate::pmxcfs::description;
use crate::pmxcfs::text::{is_perl_space, trim_perl};

/// Something in a config that cannot be written in PVE's format.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RenderError {
    #[error("{section}: `{key}` is not a valid option key for this guest type")]
    InvalidKey { section: String, key: String },
    #[error("{section}: the value of `{key}` would not read back (empty, multi-line or padded)")]
    InvalidValue { section: String, key: String },
    #[error("`[{name}]` is not a valid section name for this guest type")]
    InvalidSectionName { name: String },
    #[error("{section}: the description would not read back (empty, or ends in whitespace)")]
    InvalidDescription { section: String },
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Place<'a> {
    Main,
    Pending,
    Special(&'a str),
    Snapshot(&'a str),
}

impl Place<'_> {
    fn label(self) -> String {
        match self {
            Place::Main => "main section".to_owned(),
            Place::Pending => "pending section".to_owned(),
            Place::Special(name) => format!("section [special:{name}]"),
            Place::Snapshot(name) => format!("snapshot [{name}]"),
        }
    }
}

pub(super) fn render(config: &GuestConfig) -> Result<String, RenderError> {
    let kind = config.kind;
    let mut out = String::new();
    write_section(&mut out, kind, &config.main, None, Place::Main)?;
    if !config.pending.is_empty() {
        out.push_str(match kind {
            GuestKind::Qemu => "\n[PENDING]\n",
            GuestKind::Lxc => "\n[pve:pending]\n",
        });
        let delete = (!config.pending.delete.is_empty()).then(|| config.pending.render_delete());
        write_section(
            &mut out,
            kind,
            &config.pending.values,
            delete.as_deref(),
            Place::Pending,
        )?;
    }
    for (name, section) in &config.special {
        let header = format!("special:{name}");
        if kind != GuestKind::Qemu || special_name(&header) != Some(name.as_str()) {
            return Err(RenderError::InvalidSectionName { name: header });
        }
        let _ = write!(out, "\n[{header}]\n");
        write_section(&mut out, kind, section, None, Place::Special(name))?;
    }
    for (name, section) in &config.snapshots {
        let clashes_with_pending = kind == GuestKind::Qemu && name.eq_ignore_ascii_case("pending");
        if !is_snapshot_name(name) || clashes_with_pending {
            return Err(RenderError::InvalidSectionName { name: name.clone() });
        }
        let _ = write!(out, "\n[{name}]\n");
        write_section(&mut out, kind, section, None, Place::Snapshot(name))?;
    }
    Ok(out)
}

fn write_section(
    out: &mut String,
    kind: GuestKind,
    section: &Section,
    delete: Option<&str>,
    place: Place<'_>,
) -> Result<(), RenderError> {
    if let Some(text) = &section.description {
        let normal = match kind {
            GuestKind::Qemu => text.trim_end_matches(is_perl_space),
            GuestKind::Lxc => text.trim_end_matches('\n'),
        };
        let empty_allowed = kind == GuestKind::Qemu && place == Place::Pending;
        if normal != text || (text.is_empty() && !empty_allowed) {
            return Err(RenderError::InvalidDescription {
                section: place.label(),
            });
        }
    }
    match section.description.as_deref() {
        Some("") => out.push_str("#\n"),
        Some(text) => {
            let mut lines: Vec<&str> = text.split('\n').collect();
            while lines.last() == Some(&"") {
                lines.pop();
            }
            for line in lines {
                let _ = writeln!(out, "#{}", description::encode(line));
            }
        }
        None => {}
    }

    let mut options: Vec<(&str, &str)> = section
        .options
        .iter()
        .filter(|(key, _)| !(place == Place::Main && *key == "snapstate"))
        .map(|(key, value)| (key.as_str(), value.as_str()))
        .collect();
    for (key, _) in &options {
        if !is_option_key(kind, key) || *key == "description" || *key == "delete" {
            return Err(RenderError::InvalidKey {
                section: place.label(),
                key: (*key).to_owned(),
            });
        }
    }
    if let Some(delete) = delete {
        options.push(("delete", delete));
        options.sort_by_key(|(key, _)| *key);
    }
    for (key, value) in options {
        let line = format!("{key}: {value}");
        if value.contains('\n') || key_value(kind, &line) != Some((key, value)) {
            return Err(RenderError::InvalidValue {
                section: place.label(),
                key: key.to_owned(),
            });
        }
        out.push_str(&line);
        out.push('\n');
    }

    for (key, value) in &section.lxc {
        let probe = format!("{key}: x");
        if kind != GuestKind::Lxc || lxc_key(&probe) != Some((key.as_str(), "x")) {
            return Err(RenderError::InvalidKey {
                section: place.label(),
                key: key.clone(),
            });
        }
        if value.contains('\n') || trim_perl(value) != value {
            return Err(RenderError::InvalidValue {
                section: place.label(),
                key: key.clone(),
            });
        }
        let _ = writeln!(out, "{key}: {value}");
    }
    Ok(())
}
