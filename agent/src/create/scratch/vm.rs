//! `CreateVm`: a VM from scratch, checked (name, disks, NICs, ISO, OS
//! type, tags) into the record the journal keeps, and the parameters of
//! PVE's `POST /nodes/{node}/qemu`.
use std::collections::BTreeSet;

use pvectl_proto::guest_values::{NIC_MODELS, OS_TYPES};
use pvectl_proto::v1::{self, OperationKind};
use serde::{Deserialize, Serialize};

use super::Scratch;
use super::checks::{DiskNeed, Needs};
use super::values::{self, Basics};
use crate::create::create_task::CreatePlan;
use crate::create::request::check_storage_id;
use crate::error::AgentError;
use crate::pmxcfs::GuestKind;
use crate::pve_api::Params;

/// The ISO's drive: PVE's GUI puts the installer CD-ROM on `ide2`.
const ISO_KEY: &str = "ide2";

/// One disk to allocate.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VmDisk {
    /// `scsi0`, `virtio1`.
    pub key: String,
    pub storage: String,
    pub size_gib: u32,
}

/// One NIC.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VmNic {
    pub model: String,
    pub bridge: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vlan_tag: Option<u16>,
    #[serde(default)]
    pub firewall: bool,
}

/// A checked `CreateVmRequest`; the journal's `vm.create-scratch` detail.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VmRecord {
    #[serde(flatten)]
    pub basics: Basics,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub disks: Vec<VmDisk>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub nets: Vec<VmNic>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iso: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub os_type: Option<String>,
}

/// Checks a request.
pub fn check(request: v1::CreateVmRequest) -> Result<VmRecord, AgentError> {
    let basics = Basics {
        name: request.name,
        node: request.node,
        vmid: request.vmid,
        cores: Some(request.cores),
        memory_mib: Some(request.memory_mib),
        tags: request.tags,
        start: request.start,
        timeout_seconds: request.timeout_seconds,
    };
    let basics = Basics::check(basics, "VM name")?;
    let iso = Some(request.iso).filter(|iso| !iso.is_empty());
    if let Some(iso) = &iso {
        values::volume(iso, "iso", "ISO")?;
    }
    let os_type = Some(request.os_type).filter(|t| !t.is_empty());
    if let Some(os_type) = &os_type
        && !OS_TYPES.contains(&os_type.as_str())
    {
        return Err(AgentError::invalid(format!(
            "unknown OS type '{os_type}': PVE knows {}",
            OS_TYPES.join(", ")
        )));
    }
    if request.nets.len() > 32 {
        return Err(AgentError::invalid(
            "a VM has at most 32 network devices (net0..net31)",
        ));
    }
    Ok(VmRecord {
        basics,
        disks: disks(&request.disks, iso.is_some())?,
        nets: request.nets.iter().map(nic).collect::<Result<_, _>>()?,
        iso,
        os_type,
    })
}

/// The disks with their keys: as given, else the next free `scsiN`.
fn disks(specs: &[v1::DiskSpec], with_iso: bool) -> Result<Vec<VmDisk>, AgentError> {
    let mut used: BTreeSet<String> = BTreeSet::new();
    if with_iso {
        used.insert(ISO_KEY.to_string());
    }
    let mut out = Vec::new();
    for spec in specs {
        let key = if spec.key.is_empty() {
            (0..=30)
                .map(|n| format!("scsi{n}"))
                .find(|key| !used.contains(key))
                .ok_or_else(|| AgentError::invalid("a VM has at most 31 SCSI disks"))?
        } else {
            disk_key(&spec.key)?;
            spec.key.clone()
        };
        if !used.insert(key.clone()) {
            let why = if key == ISO_KEY && with_iso {
                "it holds the ISO"
            } else {
                "it is given twice"
            };
            return Err(AgentError::invalid(format!(
                "disk {key} cannot be used: {why}"
            )));
        }
        check_storage_id(&spec.storage)?;
        values::size_gib(spec.size_gib, &format!("disk {key}"))?;
        out.push(VmDisk {
            key,
            storage: spec.storage.clone(),
            size_gib: spec.size_gib,
        });
    }
    Ok(out)
}

/// `scsi0..30`, `virtio0..15`, `sata0..5`, `ide0..3`.
fn disk_key(key: &str) -> Result<(), AgentError> {
    let buses = [("scsi", 30), ("virtio", 15), ("sata", 5), ("ide", 3)];
    let ok = buses.iter().any(|(bus, max)| {
        key.strip_prefix(bus)
            .filter(|n| !n.is_empty() && (n.len() == 1 || !n.starts_with('0')))
            .and_then(|n| n.parse::<u32>().ok())
            .is_some_and(|n| n <= *max)
    });
    if ok {
        Ok(())
    } else {
        Err(AgentError::invalid(format!(
            "invalid disk key '{key}': use scsi0-30, virtio0-15, sata0-5 or ide0-3"
        )))
    }
}

fn nic(spec: &v1::NetSpec) -> Result<VmNic, AgentError> {
    values::bridge(&spec.bridge)?;
    let model = if spec.model.is_empty() {
        "virtio".to_string()
    } else {
        spec.model.clone()
    };
    if !NIC_MODELS.contains(&model.as_str()) {
        return Err(AgentError::invalid(format!(
            "unknown NIC model '{model}': PVE knows {}",
            NIC_MODELS.join(", ")
        )));
    }
    Ok(VmNic {
        model,
        bridge: spec.bridge.clone(),
        vlan_tag: values::vlan_tag(spec.vlan_tag)?,
        firewall: spec.firewall,
    })
}

impl Scratch for VmRecord {
    const ACTION: &'static str = "vm.create-scratch";
    const KIND: OperationKind = OperationKind::CreateVm;
    const TARGET: &'static str = "vm";
    const GUEST: GuestKind = GuestKind::Qemu;

    fn needs(&self) -> Needs {
        Needs {
            disks: self
                .disks
                .iter()
                .map(|disk| DiskNeed {
                    key: disk.key.clone(),
                    storage: disk.storage.clone(),
                    content: "images",
                    bytes: u64::from(disk.size_gib) << 30,
                })
                .collect(),
            volumes: self.iso.iter().map(|iso| (iso.clone(), "iso")).collect(),
            bridges: self.nets.iter().map(|nic| nic.bridge.clone()).collect(),
        }
    }

    fn plan(&self) -> CreatePlan {
        let mut params = Params::new()
            .text("name", self.basics.name.clone())
            .opt_text("ostype", self.os_type.clone());
        if self.disks.iter().any(|disk| disk.key.starts_with("scsi")) {
            // PVE's wizard default: one controller per disk, IO threads possible
            params = params.text("scsihw", "virtio-scsi-single");
        }
        for disk in &self.disks {
            params = params.text(&disk.key, format!("{}:{}", disk.storage, disk.size_gib));
        }
        if let Some(iso) = &self.iso {
            params = params.text(ISO_KEY, format!("{iso},media=cdrom"));
        }
        for (index, nic) in self.nets.iter().enumerate() {
            let mut value = format!("{},bridge={}", nic.model, nic.bridge);
            if nic.firewall {
                value.push_str(",firewall=1");
            }
            if let Some(tag) = nic.vlan_tag {
                value.push_str(&format!(",tag={tag}"));
            }
            params = params.text(&format!("net{index}"), value);
        }
        CreatePlan {
            kind: GuestKind::Qemu,
            params: self.basics.params(params),
            disks: self
                .disks
                .iter()
                .map(|disk| (disk.key.clone(), disk.storage.clone()))
                .collect(),
        }
    }

    fn basics(&self) -> &Basics {
        &self.basics
    }
}

#[cfg(test)]
mod tests;
