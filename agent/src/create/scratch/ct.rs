//! `CreateContainer`: a container from an OS template, checked (hostname,
//! OS template, root disk, interfaces, keys, password, sizes, tags) into
//! the record the journal keeps — which never holds the root password —
//! and the parameters of PVE's `POST /nodes/{node}/lxc`.
use std::net::Ipv4Addr;

use pvectl_proto::guest_values::{ipv4_cidr, is_interface_name, is_ssh_public_key};
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

/// PVE's root disk storage when none is named (pve-facts §9).
pub const DEFAULT_ROOTFS_STORAGE: &str = "local";
/// PVE's root disk size in GiB when none is asked for.
pub const DEFAULT_ROOTFS_GIB: u32 = 4;
/// PVE's shortest root password.
const PASSWORD_MIN: usize = 5;

/// A root password: sent to PVE once, never serialized, never printed.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Secret(String);

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("<redacted>")
    }
}

/// One interface.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CtNic {
    /// `eth0`.
    pub name: String,
    pub bridge: String,
    /// `dhcp`, `manual` or `10.0.0.5/24`; `None` leaves it unconfigured.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ip: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gateway: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vlan_tag: Option<u16>,
    #[serde(default)]
    pub firewall: bool,
}

/// A checked `CreateContainerRequest`; the journal's `ct.create` detail.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContainerRecord {
    /// The hostname is the name.
    #[serde(flatten)]
    pub basics: Basics,
    pub ostemplate: String,
    pub rootfs_storage: String,
    pub rootfs_size_gib: u32,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub nets: Vec<CtNic>,
    pub unprivileged: bool,
    /// Public keys for root: public, so journaled.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ssh_public_keys: Vec<String>,
    /// Whether a root password was given; the password itself never is
    /// journaled.
    #[serde(default)]
    pub password_set: bool,
    #[serde(skip)]
    pub password: Option<Secret>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub swap_mib: Option<u64>,
}

/// Checks a request.
pub fn check(request: v1::CreateContainerRequest) -> Result<ContainerRecord, AgentError> {
    let basics = Basics {
        name: request.hostname,
        node: request.node,
        vmid: request.vmid,
        cores: Some(request.cores),
        memory_mib: Some(request.memory_mib),
        tags: request.tags,
        start: request.start,
        timeout_seconds: request.timeout_seconds,
    };
    let basics = Basics::check(basics, "hostname")?;
    if request.ostemplate.is_empty() {
        return Err(AgentError::invalid(
            "a container needs an OS template (local:vztmpl/...)",
        ));
    }
    values::volume(&request.ostemplate, "vztmpl", "OS template")?;
    let rootfs_storage = if request.rootfs_storage.is_empty() {
        DEFAULT_ROOTFS_STORAGE.to_string()
    } else {
        check_storage_id(&request.rootfs_storage)?;
        request.rootfs_storage
    };
    let rootfs_size_gib = match request.rootfs_size_gib {
        0 => DEFAULT_ROOTFS_GIB,
        size => size,
    };
    if request.nets.len() > 32 {
        return Err(AgentError::invalid(
            "a container has at most 32 interfaces (net0..net31)",
        ));
    }
    let nets = request
        .nets
        .iter()
        .enumerate()
        .map(|(index, spec)| nic(index, spec))
        .collect::<Result<Vec<_>, _>>()?;
    let ssh_public_keys = request
        .ssh_public_keys
        .iter()
        .map(|key| ssh_key(key))
        .collect::<Result<Vec<_>, _>>()?;
    let password = Some(request.password)
        .filter(|p| !p.is_empty())
        .map(password)
        .transpose()?;
    Ok(ContainerRecord {
        basics,
        swap_mib: request.swap_mib,
        ostemplate: request.ostemplate,
        rootfs_storage,
        rootfs_size_gib,
        nets,
        unprivileged: !request.privileged,
        ssh_public_keys,
        password_set: password.is_some(),
        password,
    })
}

fn nic(index: usize, spec: &v1::ContainerNetSpec) -> Result<CtNic, AgentError> {
    let name = if spec.name.is_empty() {
        format!("eth{index}")
    } else {
        spec.name.clone()
    };
    if !is_interface_name(&name) {
        return Err(AgentError::invalid(format!(
            "invalid interface name '{name}': use up to 15 letters, digits, '-', '_' and '.'"
        )));
    }
    values::bridge(&spec.bridge)?;
    let ip = Some(spec.ip.clone()).filter(|ip| !ip.is_empty());
    let is_static = match ip.as_deref() {
        None | Some("dhcp") | Some("manual") => false,
        Some(cidr) => {
            ipv4_cidr(cidr).ok_or_else(|| {
                AgentError::invalid(format!(
                    "invalid address '{cidr}' of {name}: use dhcp, manual or IPv4/prefix (10.0.0.5/24)"
                ))
            })?;
            true
        }
    };
    let gateway = Some(spec.gateway.clone()).filter(|gw| !gw.is_empty());
    if let Some(gateway) = &gateway {
        if !is_static {
            return Err(AgentError::invalid(format!(
                "gateway {gateway} of {name} needs a static address (ip=10.0.0.5/24)"
            )));
        }
        gateway.parse::<Ipv4Addr>().map_err(|_| {
            AgentError::invalid(format!(
                "invalid gateway '{gateway}' of {name}: use an IPv4 address"
            ))
        })?;
    }
    Ok(CtNic {
        name,
        bridge: spec.bridge.clone(),
        ip,
        gateway,
        vlan_tag: values::vlan_tag(spec.vlan_tag)?,
        firewall: spec.firewall,
    })
}

/// One OpenSSH public key line.
fn ssh_key(key: &str) -> Result<String, AgentError> {
    let key = key.trim();
    if is_ssh_public_key(key) {
        Ok(key.to_string())
    } else {
        Err(AgentError::invalid(
            "an ssh public key is not one OpenSSH public key line (ssh-ed25519 AAAA... comment)",
        ))
    }
}

fn password(text: String) -> Result<Secret, AgentError> {
    if text.chars().count() < PASSWORD_MIN {
        return Err(AgentError::invalid(format!(
            "the root password is too short: PVE wants at least {PASSWORD_MIN} characters"
        )));
    }
    if text.contains(['\n', '\r']) {
        return Err(AgentError::invalid("the root password must be one line"));
    }
    Ok(Secret(text))
}

impl Scratch for ContainerRecord {
    const ACTION: &'static str = "ct.create";
    const KIND: OperationKind = OperationKind::CreateContainer;
    const TARGET: &'static str = "ct";
    const GUEST: GuestKind = GuestKind::Lxc;

    fn needs(&self) -> Needs {
        Needs {
            disks: vec![DiskNeed {
                key: "rootfs".into(),
                storage: self.rootfs_storage.clone(),
                content: "rootdir",
                bytes: u64::from(self.rootfs_size_gib) << 30,
            }],
            volumes: vec![(self.ostemplate.clone(), "vztmpl")],
            bridges: self.nets.iter().map(|nic| nic.bridge.clone()).collect(),
        }
    }

    fn plan(&self) -> CreatePlan {
        let mut params = Params::new()
            .text("ostemplate", self.ostemplate.clone())
            .text("hostname", self.basics.name.clone())
            .text(
                "rootfs",
                format!("{}:{}", self.rootfs_storage, self.rootfs_size_gib),
            )
            .flag("unprivileged", self.unprivileged)
            .opt_int("swap", self.swap_mib);
        for (index, nic) in self.nets.iter().enumerate() {
            let mut value = format!("name={},bridge={}", nic.name, nic.bridge);
            if nic.firewall {
                value.push_str(",firewall=1");
            }
            if let Some(gateway) = &nic.gateway {
                value.push_str(&format!(",gw={gateway}"));
            }
            if let Some(ip) = &nic.ip {
                value.push_str(&format!(",ip={ip}"));
            }
            if let Some(tag) = nic.vlan_tag {
                value.push_str(&format!(",tag={tag}"));
            }
            params = params.text(&format!("net{index}"), value);
        }
        if !self.ssh_public_keys.is_empty() {
            params = params.text("ssh-public-keys", self.ssh_public_keys.join("\n"));
        }
        if let Some(Secret(password)) = &self.password {
            params = params.text("password", password.clone());
        }
        CreatePlan {
            kind: GuestKind::Lxc,
            params: self.basics.params(params),
            disks: vec![("rootfs".into(), self.rootfs_storage.clone())],
        }
    }

    fn basics(&self) -> &Basics {
        &self.basics
    }
}

#[cfg(test)]
mod tests;
