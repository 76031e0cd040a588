//! The values of a create from scratch, checked as PVE's schema checks
//! them (pve-facts §5, §8, §9): what every such guest has (name, node,
//! VMID, cores, memory, tags, start, time limit), bridge names, VLAN tags,
//! and volume ids of a given content type.
use pvectl_proto::guest_values::{is_interface_name, volume_file};
use pvectl_proto::routing::Vmid;
use serde::{Deserialize, Serialize};

use crate::create::request::{check_dns_name, normalize_tags};
use crate::error::AgentError;
use crate::pve_api::Params;

/// What every guest from scratch has; part of each record the journal
/// keeps.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Basics {
    /// The VM's name or the container's hostname.
    pub name: String,
    /// The node asked for; empty: the answering one.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub node: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vmid: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cores: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub memory_mib: Option<u64>,
    /// Lowercased, deduplicated, sorted.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<String>,
    #[serde(default)]
    pub start: bool,
    /// 0: the agent's default.
    #[serde(default)]
    pub timeout_seconds: u32,
}

impl Basics {
    /// Checks the values as a request carries them (cores and memory 0 for
    /// PVE's defaults); `what` names the name (`VM name`, `hostname`).
    pub fn check(raw: Basics, what: &str) -> Result<Basics, AgentError> {
        check_dns_name(&raw.name, what)?;
        Ok(Basics {
            vmid: vmid(raw.vmid)?,
            cores: cores(raw.cores.unwrap_or(0))?,
            memory_mib: memory(raw.memory_mib.unwrap_or(0))?,
            tags: normalize_tags(&raw.tags)?,
            ..raw
        })
    }

    /// Adds cores, memory and tags to a create's parameters.
    pub fn params(&self, params: Params) -> Params {
        let tags = Some(self.tags.join(";")).filter(|_| !self.tags.is_empty());
        params
            .opt_int("cores", self.cores)
            .opt_int("memory", self.memory_mib)
            .opt_text("tags", tags)
    }
}

/// The VMID asked for, if any.
fn vmid(vmid: Option<u32>) -> Result<Option<u32>, AgentError> {
    if let Some(vmid) = vmid {
        Vmid::new(vmid).map_err(|e| AgentError::invalid(e.to_string()))?;
    }
    Ok(vmid)
}

/// Cores: 0 leaves PVE's default; else 1..=8192.
fn cores(cores: u32) -> Result<Option<u32>, AgentError> {
    match cores {
        0 => Ok(None),
        1..=8192 => Ok(Some(cores)),
        _ => Err(AgentError::invalid(format!(
            "cores {cores} is too many: PVE takes 1..=8192"
        ))),
    }
}

/// Memory in MiB: 0 leaves PVE's default; else at least 16.
fn memory(memory_mib: u64) -> Result<Option<u64>, AgentError> {
    match memory_mib {
        0 => Ok(None),
        1..16 => Err(AgentError::invalid("memory must be at least 16 MiB")),
        _ => Ok(Some(memory_mib)),
    }
}

/// A bridge name: PVE's `pve-bridge-id` (`[-_.\w\d]+`), at most 15
/// characters as Linux interface names are.
pub fn bridge(bridge: &str) -> Result<(), AgentError> {
    if bridge.is_empty() {
        return Err(AgentError::invalid(
            "a network device needs a bridge (bridge=vmbr0)",
        ));
    }
    if is_interface_name(bridge) {
        Ok(())
    } else {
        Err(AgentError::invalid(format!(
            "invalid bridge name '{bridge}': use up to 15 letters, digits, '-', '_' and '.'"
        )))
    }
}

/// A VLAN tag: 0 for none, else 1..=4094.
pub fn vlan_tag(tag: u32) -> Result<Option<u16>, AgentError> {
    match tag {
        0 => Ok(None),
        1..=4094 => Ok(u16::try_from(tag).ok()),
        _ => Err(AgentError::invalid(format!(
            "vlan tag {tag} is out of range: tags are 1..=4094"
        ))),
    }
}

/// A volume id `STORAGE:<content>/FILE` (`local:iso/debian-12.iso`); `what`
/// names it in errors (`ISO`, `OS template`).
pub fn volume(volid: &str, content: &str, what: &str) -> Result<(), AgentError> {
    if volume_file(volid, content).is_some() {
        return Ok(());
    }
    Err(AgentError::invalid(format!(
        "invalid {what} '{volid}': use STORAGE:{content}/FILE"
    )))
}

/// A size in GiB of a disk to allocate.
pub fn size_gib(size: u32, what: &str) -> Result<u64, AgentError> {
    if size == 0 {
        return Err(AgentError::invalid(format!(
            "{what} needs a size of at least 1 GiB"
        )));
    }
    Ok(u64::from(size) << 30)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bridges_and_volumes_are_judged_by_the_shared_rules() {
        assert!(bridge("vmbr0").is_ok());
        assert!(bridge("").unwrap_err().message.contains("needs a bridge"));
        assert!(bridge("vmbr 0").is_err());
        assert!(volume("local:iso/debian-12.iso", "iso", "ISO").is_ok());
        let err = volume("local:vztmpl/x.tar.zst", "iso", "ISO").unwrap_err();
        assert_eq!(
            err.message,
            "invalid ISO 'local:vztmpl/x.tar.zst': use STORAGE:iso/FILE"
        );
    }

    #[test]
    fn sizes_cores_memory_and_tags_follow_pves_limits() {
        assert_eq!(cores(0).unwrap(), None);
        assert!(cores(8193).is_err());
        assert_eq!(memory(0).unwrap(), None);
        assert!(memory(8).is_err());
        assert_eq!(vlan_tag(0).unwrap(), None);
        assert_eq!(vlan_tag(4094).unwrap(), Some(4094));
        assert!(vlan_tag(4095).is_err());
        assert!(size_gib(0, "disk scsi0").is_err());
        assert_eq!(size_gib(2, "disk scsi0").unwrap(), 2 << 30);
    }
}
