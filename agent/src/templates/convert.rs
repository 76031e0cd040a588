//! Templates in the contract's shape.
use pvectl_proto::v1;

use super::TemplateInfo;
use crate::pmxcfs::DiskBus;

/// PVE's defaults when a config leaves them out.
const DEFAULT_CORES: u32 = 1;
const DEFAULT_MEMORY_MIB: u64 = 512;

/// The template with its disks (unused volumes left out: clones drop them).
pub fn to_proto(template: &TemplateInfo) -> v1::Template {
    let config = &template.config;
    let boot = config.boot_disk().ok().flatten().map(|boot| boot.disk.key);
    let disks = config
        .disks()
        .unwrap_or_default()
        .into_iter()
        .filter(|disk| disk.bus != DiskBus::Unused)
        .map(|disk| v1::TemplateDisk {
            boot: boot.as_deref() == Some(disk.key.as_str()),
            cdrom: disk.drive.is_cdrom(),
            storage: disk.drive.storage_id().unwrap_or_default().to_string(),
            size_bytes: disk.drive.size.unwrap_or_default(),
            volume: disk.drive.volume,
            key: disk.key,
        })
        .collect();
    v1::Template {
        vmid: template.vmid,
        kind: v1::GuestKind::Qemu as i32,
        node: template.node.clone(),
        name: template.name().to_string(),
        os_type: config.get("ostype").unwrap_or_default().to_string(),
        cores: config.cores().ok().flatten().unwrap_or(DEFAULT_CORES),
        memory_mib: config
            .memory_mib()
            .ok()
            .flatten()
            .unwrap_or(DEFAULT_MEMORY_MIB),
        disks,
        tags: config.tags().iter().map(|t| t.to_string()).collect(),
        lock: config.lock().unwrap_or_default().to_string(),
        in_node_range: template.in_node_range,
    }
}
