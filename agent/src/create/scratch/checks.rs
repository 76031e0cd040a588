//! What a guest from scratch needs of its node, checked before anything is
//! made: each disk's storage exists there, is active, holds that content
//! and has room for every disk put on it; each named volume (the ISO, the
//! container's OS template) exists with its content type; each bridge
//! exists. Gathering the facts is IO; judging them is pure.
use std::collections::{BTreeMap, BTreeSet};

use crate::context::AgentCtx;
use crate::error::AgentError;
use crate::pve_api::StorageStatus;
use crate::templates::validate::human_size;

/// One disk to allocate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DiskNeed {
    /// `scsi0`, `rootfs`.
    pub key: String,
    pub storage: String,
    /// `images` (VM disks) or `rootdir` (container volumes).
    pub content: &'static str,
    pub bytes: u64,
}

/// Everything a create from scratch needs of its node.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Needs {
    pub disks: Vec<DiskNeed>,
    /// Volumes that must exist: `(volid, content)`, e.g. an ISO (`iso`) or
    /// an OS template (`vztmpl`).
    pub volumes: Vec<(String, &'static str)>,
    pub bridges: Vec<String>,
}

impl Needs {
    /// The storages the disks are allocated on.
    pub fn disk_storages(&self) -> BTreeSet<String> {
        self.disks.iter().map(|d| d.storage.clone()).collect()
    }
}

/// What the node said, gathered once.
#[derive(Debug, Clone, Default)]
pub struct NodeFacts {
    pub storages: BTreeMap<String, StorageStatus>,
    /// The volume ids of each content type on each storage a volume is
    /// looked for on, by `(storage, content)`.
    pub volumes: BTreeMap<(String, String), BTreeSet<String>>,
    /// The bridges (any kind, SDN vnets included) of the node.
    pub bridges: BTreeSet<String>,
}

/// Gathers the facts `needs` depends on and judges them.
pub async fn check(ctx: &AgentCtx, needs: &Needs) -> Result<(), AgentError> {
    let facts = gather(ctx, needs).await?;
    judge(needs, &facts, &ctx.node)
}

async fn gather(ctx: &AgentCtx, needs: &Needs) -> Result<NodeFacts, AgentError> {
    let node = &ctx.node;
    let storages: BTreeMap<String, StorageStatus> = ctx
        .pve
        .storage_list(node, None)
        .await
        .map_err(|e| AgentError::pve("listing this node's storages", &e))?
        .into_iter()
        .filter_map(|s| s.storage.clone().map(|id| (id, s)))
        .collect();
    let mut volumes = BTreeMap::new();
    for (volid, content) in &needs.volumes {
        let Some((storage, _)) = volid.split_once(':') else {
            continue;
        };
        let usable = storages
            .get(storage)
            .is_some_and(|s| s.active && s.enabled && s.allows(content));
        let key = (storage.to_string(), content.to_string());
        if !usable || volumes.contains_key(&key) {
            continue;
        }
        let listed = ctx
            .pve
            .storage_content(node, storage, Some(content), None)
            .await
            .map_err(|e| {
                AgentError::pve(&format!("listing the {content} volumes of '{storage}'"), &e)
            })?
            .into_iter()
            .map(|c| c.volid)
            .collect();
        volumes.insert(key, listed);
    }
    let bridges = if needs.bridges.is_empty() {
        BTreeSet::new()
    } else {
        ctx.pve
            .network_bridges(node)
            .await
            .map_err(|e| AgentError::pve("listing this node's bridges", &e))?
            .into_iter()
            .map(|iface| iface.iface)
            .collect()
    };
    Ok(NodeFacts {
        storages,
        volumes,
        bridges,
    })
}

/// The first problem, as the error the create is refused with.
pub fn judge(needs: &Needs, facts: &NodeFacts, node: &str) -> Result<(), AgentError> {
    judge_storages(needs, facts, node)?;
    for (volid, content) in &needs.volumes {
        judge_volume(volid, content, facts, node)?;
    }
    let missing: Vec<&String> = needs
        .bridges
        .iter()
        .filter(|bridge| !facts.bridges.contains(*bridge))
        .collect();
    if let Some(bridge) = missing.first() {
        let known: Vec<&str> = facts.bridges.iter().map(String::as_str).collect();
        return Err(AgentError::not_found(format!(
            "bridge '{bridge}' does not exist on node {node}; its bridges: {}",
            list(&known)
        ))
        .with_hint("name one of its bridges, or create the bridge on the node first"));
    }
    Ok(())
}

fn judge_storages(needs: &Needs, facts: &NodeFacts, node: &str) -> Result<(), AgentError> {
    let mut total: BTreeMap<&str, (u64, Vec<&str>)> = BTreeMap::new();
    for disk in &needs.disks {
        let status = usable_storage(&disk.storage, disk.content, &disk.key, facts, node)?;
        let entry = total.entry(disk.storage.as_str()).or_default();
        entry.0 += disk.bytes;
        entry.1.push(disk.key.as_str());
        if let Some(avail) = status.avail.filter(|avail| *avail < entry.0) {
            return Err(AgentError::refused(format!(
                "storage '{}' has {} free on node {node}; {} need {}",
                disk.storage,
                human_size(avail),
                entry.1.join(" and "),
                human_size(entry.0)
            ))
            .with_hint(format!(
                "free space on '{}', choose another storage, or ask for less",
                disk.storage
            )));
        }
    }
    Ok(())
}

/// The storage `id` for `content` (used by `what`), when it can take it.
fn usable_storage<'a>(
    id: &str,
    content: &str,
    what: &str,
    facts: &'a NodeFacts,
    node: &str,
) -> Result<&'a StorageStatus, AgentError> {
    let Some(status) = facts.storages.get(id) else {
        let known: Vec<&str> = facts.storages.keys().map(String::as_str).collect();
        return Err(AgentError::refused(format!(
            "storage '{id}' of {what} does not exist on node {node}; its storages: {}",
            list(&known)
        ))
        .with_hint(format!(
            "name a storage that holds {content}: {}",
            holding(facts, content)
        )));
    };
    if !status.active || !status.enabled {
        return Err(AgentError::refused(format!(
            "storage '{id}' of {what} is not active on node {node}"
        ))
        .with_hint("enable it or choose another storage"));
    }
    if !status.allows(content) {
        return Err(AgentError::refused(format!(
            "storage '{id}' of {what} cannot hold {content} (content: {})",
            status.content
        ))
        .with_hint(format!(
            "name a storage that holds {content}: {}",
            holding(facts, content)
        )));
    }
    Ok(status)
}

fn judge_volume(
    volid: &str,
    content: &str,
    facts: &NodeFacts,
    node: &str,
) -> Result<(), AgentError> {
    let storage = volid.split_once(':').map_or(volid, |(storage, _)| storage);
    usable_storage(storage, content, volid, facts, node)?;
    let listed = facts
        .volumes
        .get(&(storage.to_string(), content.to_string()));
    if listed.is_some_and(|volumes| volumes.contains(volid)) {
        return Ok(());
    }
    let known: Vec<&str> = listed
        .map(|volumes| volumes.iter().map(String::as_str).collect())
        .unwrap_or_default();
    Err(AgentError::not_found(format!(
        "{volid} does not exist on node {node}; {content} volumes on '{storage}': {}",
        list(&known)
    ))
    .with_hint(format!(
        "upload it to '{storage}' first, or name one that exists"
    )))
}

/// The storages holding `content`, for a hint.
fn holding(facts: &NodeFacts, content: &str) -> String {
    let ids: Vec<&str> = facts
        .storages
        .iter()
        .filter(|(_, s)| s.active && s.enabled && s.allows(content))
        .map(|(id, _)| id.as_str())
        .collect();
    list(&ids)
}

fn list(items: &[&str]) -> String {
    if items.is_empty() {
        "(none)".to_string()
    } else {
        items.join(", ")
    }
}

#[cfg(test)]
mod tests;
