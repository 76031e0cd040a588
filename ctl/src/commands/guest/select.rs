//! Which guests a bulk command (`start`, `stop`, `delete`, …) acts on:
//! VMIDs, `--selector` or `--all`, resolved by one fan-out of `ListGuests`
//! into the guests of each node, so each owning agent gets its share.

use std::collections::{BTreeMap, BTreeSet};

use pvectl_proto::v1::{Guest, ListGuestsRequest};

use super::{Resource, list_nodes};
use crate::Error;
use crate::cli::GuestSelectArgs;
use crate::cluster::Cluster;
use crate::commands::Io;
use crate::error::CommandError;
use crate::output::OutputError;

/// The guests to act on, and what could not be resolved.
#[derive(Debug, Default)]
pub(in crate::commands) struct Selected {
    /// The guests by node, each node's in VMID order.
    pub by_node: BTreeMap<String, Vec<Guest>>,
    /// VMIDs asked for that no answering node has, while some node did not
    /// answer: they may live there.
    pub unresolved: Vec<u32>,
    /// Nodes that did not answer or are offline (already warned about on
    /// stderr).
    pub unreachable: Vec<String>,
}

impl Selected {
    /// How many guests were selected.
    pub fn count(&self) -> usize {
        self.by_node.values().map(Vec::len).sum()
    }
}

/// Resolves `args` for `resource`'s `verb` over every member that corosync
/// sees online (the others are warned about and count as not answering,
/// without waiting for them). VMIDs that exist
/// nowhere (every node answered), or name a guest of the other kind, are
/// refused before anything is done. A selector and `--all` leave templates
/// out; VMIDs name exactly what they name.
pub(in crate::commands) async fn select(
    cluster: &Cluster,
    resource: Resource,
    verb: &'static str,
    args: &GuestSelectArgs,
    io: &mut Io<'_>,
) -> Result<Selected, Error> {
    let (online, offline): (Vec<_>, Vec<_>) =
        cluster.members().iter().partition(|member| member.online);
    for member in &offline {
        writeln!(
            io.stderr,
            "warning: node {} is offline (corosync): not asked",
            member.name
        )
        .map_err(OutputError::from)?;
    }
    let nodes: Vec<String> = online.iter().map(|member| member.name.clone()).collect();
    let request = ListGuestsRequest::default();
    let (guests, mut unreachable) = list_nodes(cluster, &nodes, &request, io).await?;
    unreachable.extend(offline.iter().map(|member| member.name.clone()));
    let mut selected = Selected {
        unreachable,
        ..Selected::default()
    };
    let chosen: Vec<Guest> = if args.vmids.is_empty() {
        guests
            .into_iter()
            .filter(|g| g.kind() == resource.kind && !g.template)
            .filter(|g| args.selector.as_ref().is_none_or(|s| s.matches(g)))
            .collect()
    } else {
        let wanted: BTreeSet<u32> = args.vmids.iter().map(|v| v.get()).collect();
        let mut by_vmid: BTreeMap<u32, Guest> = guests
            .into_iter()
            .filter(|g| wanted.contains(&g.vmid))
            .map(|g| (g.vmid, g))
            .collect();
        for guest in by_vmid.values() {
            resource.check_kind(guest.vmid, guest.kind(), verb)?;
        }
        let missing: Vec<u32> = wanted
            .iter()
            .copied()
            .filter(|vmid| !by_vmid.contains_key(vmid))
            .collect();
        if !missing.is_empty() {
            if selected.unreachable.is_empty() {
                return Err(CommandError::GuestsNotFound {
                    noun: resource.noun,
                    vmids: missing,
                    unreachable: Vec::new(),
                }
                .into());
            }
            selected.unresolved = missing;
        }
        wanted
            .iter()
            .filter_map(|vmid| by_vmid.remove(vmid))
            .collect()
    };
    for guest in chosen {
        selected
            .by_node
            .entry(guest.node.clone())
            .or_default()
            .push(guest);
    }
    Ok(selected)
}
