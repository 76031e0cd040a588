//! Node-local validation of a template before any clone (DESIGN, create
//! step 2): it is a template, not locked, has a boot disk, its volumes
//! exist, the target storage has room for a full clone (or can do a linked
//! one), and it lies in this node's range. Each finding names the cause and
//! the fix. Gathering the storage facts is IO; judging them is pure.
use std::collections::{BTreeMap, BTreeSet};

use pvectl_proto::v1::{self, FindingCode, FindingSeverity};

use super::TemplateInfo;
use crate::context::AgentCtx;
use crate::error::AgentError;
use crate::pmxcfs::{DiskBus, GuestDisk};
use crate::pve_api::StorageStatus;

/// One validation result.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    pub code: FindingCode,
    pub severity: FindingSeverity,
    /// The config key concerned, empty when none.
    pub key: String,
    pub cause: String,
    pub fix: String,
}

impl Finding {
    fn error(code: FindingCode, key: &str, cause: String, fix: impl Into<String>) -> Finding {
        Finding {
            code,
            severity: FindingSeverity::Error,
            key: key.to_string(),
            cause,
            fix: fix.into(),
        }
    }

    pub fn is_error(&self) -> bool {
        self.severity == FindingSeverity::Error
    }

    pub fn into_proto(self) -> v1::ValidationFinding {
        v1::ValidationFinding {
            code: self.code as i32,
            severity: self.severity as i32,
            key: self.key,
            cause: self.cause,
            fix: self.fix,
        }
    }
}

/// What the storages of this node say, gathered once per validation.
#[derive(Debug, Clone, Default)]
pub struct StorageFacts {
    /// The storages this node can use, by id.
    pub storages: BTreeMap<String, StorageStatus>,
    /// The volume ids on each storage the template's disks use; `Err` when
    /// the content could not be listed.
    pub volumes: BTreeMap<String, Result<BTreeSet<String>, String>>,
}

/// The disks a clone allocates anew: every drive except unused volumes and
/// CD-ROMs (cloud-init drives are copied, so they count).
pub fn copied_disks(template: &TemplateInfo) -> Vec<GuestDisk> {
    template
        .config
        .disks()
        .unwrap_or_default()
        .into_iter()
        .filter(|disk| disk.bus != DiskBus::Unused)
        .filter(|disk| !disk.drive.is_cdrom() || disk.drive.is_cloudinit())
        .filter(|disk| disk.drive.volume != "none" && disk.drive.volume != "cdrom")
        .collect()
}

impl StorageFacts {
    /// Lists this node's storages and the content of those the template uses.
    pub async fn gather(
        ctx: &AgentCtx,
        template: &TemplateInfo,
    ) -> Result<StorageFacts, AgentError> {
        let storages = ctx
            .pve
            .storage_list(&ctx.node, None)
            .await
            .map_err(|e| AgentError::pve("listing this node's storages", &e))?
            .into_iter()
            .filter_map(|s| s.storage.clone().map(|id| (id, s)))
            .collect::<BTreeMap<_, _>>();
        let disks = copied_disks(template);
        let used: BTreeSet<&str> = disks
            .iter()
            .filter_map(|d| d.drive.storage_id())
            .filter(|id| storages.contains_key(*id))
            .collect();
        let mut volumes = BTreeMap::new();
        for storage in used {
            let expected: Vec<&str> = disks
                .iter()
                .filter(|d| d.drive.storage_id() == Some(storage))
                .map(|d| d.drive.volume.as_str())
                .collect();
            volumes.insert(
                storage.to_string(),
                list_volumes(ctx, storage, template.vmid, &expected).await,
            );
        }
        Ok(StorageFacts { storages, volumes })
    }
}

/// The volumes of `owner` on `storage`; when one of `expected` is not among
/// them (a volume owned by another id), the whole storage is listed.
async fn list_volumes(
    ctx: &AgentCtx,
    storage: &str,
    owner: u32,
    expected: &[&str],
) -> Result<BTreeSet<String>, String> {
    let list = |vmid| ctx.pve.storage_content(&ctx.node, storage, None, vmid);
    let owned: BTreeSet<String> = list(Some(owner))
        .await
        .map_err(|e| e.to_string())?
        .into_iter()
        .map(|c| c.volid)
        .collect();
    if expected.iter().all(|v| owned.contains(*v)) {
        return Ok(owned);
    }
    Ok(list(None)
        .await
        .map_err(|e| e.to_string())?
        .into_iter()
        .map(|c| c.volid)
        .collect())
}

/// Validates `template` for a clone onto `target` (each disk's own storage
/// when `None`), full or `linked`.
pub async fn check(
    ctx: &AgentCtx,
    template: &TemplateInfo,
    target: Option<&str>,
    linked: bool,
) -> Result<Vec<Finding>, AgentError> {
    let facts = StorageFacts::gather(ctx, template).await?;
    Ok(findings(template, &facts, target, linked, &ctx.node))
}

/// Every finding, errors first.
pub fn findings(
    template: &TemplateInfo,
    facts: &StorageFacts,
    target: Option<&str>,
    linked: bool,
    node: &str,
) -> Vec<Finding> {
    let vmid = template.vmid;
    let config = &template.config;
    // a guest named as a template, or the source of a promote
    let what = if template.is_template() {
        "template"
    } else {
        "VM"
    };
    let mut out = Vec::new();
    if !template.is_template() {
        out.push(Finding::error(
            FindingCode::NotATemplate,
            "",
            format!("guest {vmid} is not a template"),
            format!("convert it with `qm template {vmid}`, or name a template"),
        ));
    }
    if let Some(lock) = config.lock() {
        out.push(Finding::error(
            FindingCode::Locked,
            "lock",
            format!("{what} {vmid} is locked ({lock})"),
            format!("wait for the {lock} to finish; if the lock is stale, run `qm unlock {vmid}`"),
        ));
    }
    match config.boot_disk() {
        Ok(Some(_)) => {}
        Ok(None) => out.push(Finding::error(
            FindingCode::NoBootDisk,
            "",
            format!("{what} {vmid} has no boot disk"),
            "recreate it",
        )),
        Err(e) => out.push(Finding::error(
            FindingCode::NoBootDisk,
            "boot",
            format!("{what} {vmid} has no usable boot disk: {e}"),
            "fix its boot order or recreate it",
        )),
    }
    if let Err(e) = config.disks() {
        out.push(Finding::error(
            FindingCode::VolumeMissing,
            &e.key,
            format!("{what} {vmid}: {e}"),
            "fix the disk line or recreate the template",
        ));
    }
    let disks = copied_disks(template);
    volume_findings(&disks, facts, node, &mut out);
    if linked {
        linked_findings(template, &disks, facts, &mut out);
    } else {
        room_findings(
            &format!("{what} {vmid}"),
            &disks,
            facts,
            target,
            node,
            &mut out,
        );
    }
    if !template.in_node_range {
        out.push(Finding {
            code: FindingCode::OutsideNodeRange,
            severity: FindingSeverity::Warning,
            key: String::new(),
            cause: format!("template {vmid} lies outside node {node}'s template range"),
            fix: format!(
                "promote it into the range with `pvectl template promote {vmid} --node {node}`"
            ),
        });
    }
    out.sort_by_key(|f| !f.is_error());
    out
}

fn volume_findings(disks: &[GuestDisk], facts: &StorageFacts, node: &str, out: &mut Vec<Finding>) {
    for disk in disks {
        let Some(storage) = disk.drive.storage_id() else {
            continue;
        };
        let volume = &disk.drive.volume;
        match facts.volumes.get(storage) {
            None => out.push(Finding::error(
                FindingCode::StorageUnavailable,
                &disk.key,
                format!(
                    "storage '{storage}' of disk {} is not available on node {node}",
                    disk.key
                ),
                "enable the storage on this node or move the disk",
            )),
            Some(Err(problem)) => out.push(Finding::error(
                FindingCode::StorageUnavailable,
                &disk.key,
                format!(
                    "cannot list storage '{storage}' of disk {}: {problem}",
                    disk.key
                ),
                "check the storage's state on this node",
            )),
            Some(Ok(volumes)) if !volumes.contains(volume) => out.push(Finding::error(
                FindingCode::VolumeMissing,
                &disk.key,
                format!("volume {volume} of disk {} does not exist", disk.key),
                "restore the volume or recreate the template",
            )),
            Some(Ok(_)) => {}
        }
    }
}

fn room_findings(
    source: &str,
    disks: &[GuestDisk],
    facts: &StorageFacts,
    target: Option<&str>,
    node: &str,
    out: &mut Vec<Finding>,
) {
    let mut need: BTreeMap<&str, u64> = BTreeMap::new();
    for disk in disks {
        if let Some(storage) = target.or(disk.drive.storage_id()) {
            *need.entry(storage).or_default() += disk.drive.size.unwrap_or_default();
        }
    }
    let known: Vec<&str> = facts.storages.keys().map(String::as_str).collect();
    for (storage, bytes) in need {
        let Some(status) = facts.storages.get(storage) else {
            if target.is_some() {
                out.push(Finding::error(
                    FindingCode::StorageUnavailable,
                    "",
                    format!("storage '{storage}' does not exist on node {node}"),
                    format!("name one of: {}", known.join(", ")),
                ));
            }
            continue;
        };
        if !status.active || !status.enabled {
            out.push(Finding::error(
                FindingCode::StorageUnavailable,
                "",
                format!("storage '{storage}' is not active on node {node}"),
                "enable it or choose another storage",
            ));
        } else if !status.allows("images") {
            out.push(Finding::error(
                FindingCode::StorageUnavailable,
                "",
                format!(
                    "storage '{storage}' cannot hold VM disks (content: {})",
                    status.content
                ),
                "choose a storage that holds images",
            ));
        } else if let Some(avail) = status.avail.filter(|avail| *avail < bytes) {
            out.push(Finding::error(
                FindingCode::StorageFull,
                "",
                format!(
                    "storage '{storage}' has {} free; a full clone of {source} needs {}",
                    human_size(avail),
                    human_size(bytes)
                ),
                format!("free space on '{storage}', choose another storage, or clone linked"),
            ));
        }
    }
}

fn linked_findings(
    template: &TemplateInfo,
    disks: &[GuestDisk],
    facts: &StorageFacts,
    out: &mut Vec<Finding>,
) {
    let vmid = template.vmid;
    if !template.is_template() {
        out.push(Finding::error(
            FindingCode::LinkedCloneUnsupported,
            "",
            format!("guest {vmid} is not a template: linked clones need one"),
            "clone it in full",
        ));
        return;
    }
    for disk in disks.iter().filter(|d| !d.drive.is_cloudinit()) {
        let Some(storage) = disk.drive.storage_id() else {
            continue;
        };
        let Some(status) = facts.storages.get(storage) else {
            continue; // reported as unavailable already
        };
        if !supports_linked_clone(&status.kind, &disk.drive.volume) {
            out.push(Finding::error(
                FindingCode::LinkedCloneUnsupported,
                &disk.key,
                format!(
                    "storage '{storage}' ({}) cannot make linked clones of {}",
                    status.kind, disk.drive.volume
                ),
                "clone it in full",
            ));
        }
    }
}

/// Whether PVE's storage plugin of `kind` can link-clone `volume`: thin
/// pools and snapshotting stores can, file stores only for qcow2 images,
/// thick LVM and iSCSI never. Unknown plugins are given the benefit of the
/// doubt (PVE itself refuses the clone if they cannot).
pub fn supports_linked_clone(kind: &str, volume: &str) -> bool {
    match kind {
        "lvmthin" | "zfspool" | "zfs" | "rbd" | "btrfs" => true,
        "dir" | "nfs" | "cifs" | "glusterfs" | "cephfs" => volume.ends_with(".qcow2"),
        "lvm" | "iscsi" | "iscsidirect" => false,
        _ => true,
    }
}

/// The refusal for a failed validation: the first error's cause and fix,
/// every finding attached; `None` when nothing blocks the clone.
pub fn refusal(findings: &[Finding]) -> Option<AgentError> {
    let errors: Vec<&Finding> = findings.iter().filter(|f| f.is_error()).collect();
    let first = errors.first()?;
    let mut message = format!("{}: {}", first.cause, first.fix);
    if errors.len() > 1 {
        message.push_str(&format!(" (and {} more problems)", errors.len() - 1));
    }
    let mut err = AgentError::refused(message).with_hint(first.fix.clone());
    err.detail.findings = findings.iter().cloned().map(Finding::into_proto).collect();
    Some(err)
}

/// `4.0 GiB`.
pub fn human_size(bytes: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit < UNITS.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    format!("{value:.1} {}", UNITS[unit])
}

#[cfg(test)]
mod tests;
