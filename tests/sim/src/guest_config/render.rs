//! Writing a [`GuestConfig`] as PVE's `generate_raw_config` does.

use std::collections::BTreeMap;

use super::{GuestConfig, encode_description, has_cloudinit};
use crate::pmxcfs::GuestType;

pub(super) fn render(conf: &GuestConfig, kind: GuestType) -> String {
    let mut out = String::new();
    if !conf.description.is_empty() {
        out.push_str(&encode_description(&conf.description));
    }
    push_keys(
        &mut out,
        conf.props
            .iter()
            .filter(|(key, _)| key.as_str() != "description"),
        kind,
    );

    if !conf.pending.is_empty() || !conf.pending_delete.is_empty() {
        out.push_str(match kind {
            GuestType::Qemu => "\n[PENDING]\n",
            GuestType::Lxc => "\n[pve:pending]\n",
        });
        let mut pending = conf.pending.clone();
        if !conf.pending_delete.is_empty() {
            pending.insert("delete".to_string(), render_delete(&conf.pending_delete));
        }
        push_section(&mut out, &pending, kind, kind == GuestType::Qemu);
    }

    if kind == GuestType::Qemu && !conf.cloudinit.is_empty() && has_cloudinit(&conf.props) {
        out.push_str("\n[special:cloudinit]\n");
        push_section(&mut out, &conf.cloudinit, kind, false);
    }

    let mut snapshots: Vec<&(String, BTreeMap<String, String>)> = conf.snapshots.iter().collect();
    snapshots.sort_by(|a, b| a.0.cmp(&b.0));
    for (name, snap) in snapshots {
        out.push_str(&format!("\n[{name}]\n"));
        push_section(&mut out, snap, kind, false);
    }
    out
}

/// `delete: a,!b` as `PVE::AbstractConfig::print_pending_delete` writes it.
fn render_delete(list: &[(String, bool)]) -> String {
    list.iter()
        .map(|(key, force)| {
            if *force {
                format!("!{key}")
            } else {
                key.clone()
            }
        })
        .collect::<Vec<_>>()
        .join(",")
}

/// A section map: its `description` as `#` lines, then the other keys. In qemu's pending
/// section an empty description is written as a lone `#` (it marks a pending removal).
fn push_section(
    out: &mut String,
    map: &BTreeMap<String, String>,
    kind: GuestType,
    empty_description_marker: bool,
) {
    if let Some(descr) = map.get("description") {
        if !descr.is_empty() {
            out.push_str(&encode_description(descr));
        } else if empty_description_marker {
            out.push_str("#\n");
        }
    }
    push_keys(
        out,
        map.iter().filter(|(key, _)| key.as_str() != "description"),
        kind,
    );
}

/// `key: value` lines in sorted order; for containers raw `lxc.*` keys come last.
fn push_keys<'a>(
    out: &mut String,
    entries: impl Iterator<Item = (&'a String, &'a String)>,
    kind: GuestType,
) {
    let (raw, plain): (Vec<_>, Vec<_>) =
        entries.partition(|(key, _)| kind == GuestType::Lxc && key.starts_with("lxc."));
    for (key, value) in plain.into_iter().chain(raw) {
        out.push_str(key);
        out.push_str(": ");
        out.push_str(value);
        out.push('\n');
    }
}
