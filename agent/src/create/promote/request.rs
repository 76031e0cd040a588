//! A promote request checked into the record the journal keeps, and PVE's
//! rule for a clone that moves to another node: every volume of the source
//! (CD-ROM ISOs and the cloud-init drive included) on shared storage, and a
//! shared target storage.
use pvectl_proto::routing::Vmid;
use pvectl_proto::v1::{self, OperationKind};
use serde::{Deserialize, Serialize};

use crate::create::record::Request;
use crate::create::request::{check_dns_name, check_storage_id};
use crate::error::AgentError;
use crate::pmxcfs::{DiskBus, GuestKind};
use crate::templates::{StorageFacts, TemplateInfo};

/// A checked `PromoteTemplateRequest`; the journal's `template.promote`
/// detail.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PromoteRecord {
    pub source_vmid: u32,
    /// The node whose range receives the template.
    pub node: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vmid: Option<u32>,
    /// The new template's name (the source's when none was asked for).
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub storage: Option<String>,
}

impl Request for PromoteRecord {
    const ACTION: &'static str = "template.promote";
    const KIND: OperationKind = OperationKind::PromoteTemplate;
    const TARGET: &'static str = "template";
    const GUEST: GuestKind = GuestKind::Qemu;
    const MAIN_TASK: &'static str = "clone";

    fn name(&self) -> &str {
        &self.name
    }

    fn vmid(&self) -> Option<u32> {
        self.vmid
    }

    fn timeout_seconds(&self) -> u32 {
        0
    }
}

/// Checks a request; an empty node means `own_node`.
pub fn check(
    request: v1::PromoteTemplateRequest,
    own_node: &str,
) -> Result<PromoteRecord, AgentError> {
    Vmid::new(request.source_vmid).map_err(|e| AgentError::invalid(format!("source {e}")))?;
    if let Some(vmid) = request.vmid {
        Vmid::new(vmid).map_err(|e| AgentError::invalid(e.to_string()))?;
    }
    if !request.name.is_empty() {
        check_dns_name(&request.name, "template name")?;
    }
    let storage = Some(request.storage).filter(|s| !s.is_empty());
    if let Some(storage) = &storage {
        check_storage_id(storage)?;
    }
    let node = if request.node.is_empty() {
        own_node.to_string()
    } else {
        request.node
    };
    Ok(PromoteRecord {
        source_vmid: request.source_vmid,
        node,
        vmid: request.vmid,
        name: request.name,
        storage,
    })
}

/// A clone moving to `target` needs every source volume and the target
/// storage shared (pve-facts §4); refused otherwise, naming what is local.
pub fn check_shared(
    source: &TemplateInfo,
    facts: &StorageFacts,
    storage: Option<&str>,
    target: &str,
) -> Result<(), AgentError> {
    let shared = |id: &str| facts.storages.get(id).is_some_and(|s| s.shared);
    let vmid = source.vmid;
    let node = &source.node;
    if let Some(storage) = storage
        && !shared(storage)
    {
        return Err(AgentError::refused(format!(
            "storage '{storage}' is not shared: a template for node {target} cannot be cloned onto it from {node}"
        ))
        .with_hint("name a shared storage, or leave --storage out"));
    }
    let local: Vec<String> = source
        .config
        .disks()
        .unwrap_or_default()
        .into_iter()
        .filter(|disk| disk.bus != DiskBus::Unused)
        .filter_map(|disk| {
            let id = disk.drive.storage_id()?.to_string();
            (!shared(&id)).then(|| format!("{} on {id}", disk.key))
        })
        .collect();
    if local.is_empty() {
        return Ok(());
    }
    Err(AgentError::refused(format!(
        "VM {vmid} uses local storage ({}): PVE clones to node {target} only from shared storage",
        local.join(", ")
    ))
    .with_hint(format!(
        "promote it into {node}'s range instead, or move its disks to shared storage first"
    )))
}
