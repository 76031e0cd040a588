//! The hardware of a guest from scratch as the command line spells it —
//! `--disk STORAGE:GiB`, `--net bridge=vmbr0,tag=5`, `--iso
//! local:iso/FILE`, `--ostemplate local:vztmpl/FILE` — parsed and checked
//! as PVE checks them (pve-facts §5, §9), so a bad value is a usage error
//! before anything is sent. The agent checks again.

use std::net::Ipv4Addr;

use pvectl_proto::guest_values::{
    NIC_MODELS, ipv4_cidr, is_interface_name, is_ssh_public_key, is_storage_id, volume_file,
};

/// Why a spec was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid {what} {value:?}: {reason}")]
pub struct SpecError {
    what: &'static str,
    value: String,
    reason: String,
}

fn fail(what: &'static str, value: &str, reason: impl Into<String>) -> SpecError {
    SpecError {
        what,
        value: value.to_owned(),
        reason: reason.into(),
    }
}

/// `STORAGE:GiB`: a disk to allocate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DiskArg {
    pub storage: String,
    pub size_gib: u32,
}

/// What every `--net` has: the bridge, a VLAN tag (0: none), the firewall.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct NicArg {
    pub bridge: String,
    pub tag: u32,
    pub firewall: bool,
}

/// A VM's `--net`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct VmNetArg {
    pub nic: NicArg,
    /// Empty: the agent's default, virtio.
    pub model: String,
}

/// A container's `--net`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CtNetArg {
    pub nic: NicArg,
    /// Empty: `eth<index>`.
    pub name: String,
    pub ip: String,
    pub gateway: String,
}

/// `local-lvm:32`.
pub fn disk(text: &str) -> Result<DiskArg, SpecError> {
    let what = "disk";
    let (storage, size) = text
        .split_once(':')
        .ok_or_else(|| fail(what, text, "use STORAGE:GiB, like local-lvm:32"))?;
    if !is_storage_id(storage) {
        return Err(fail(what, text, format!("'{storage}' is no storage id")));
    }
    let size_gib: u32 = size
        .parse()
        .ok()
        .filter(|size| *size > 0)
        .ok_or_else(|| fail(what, text, "the size is a whole number of GiB, at least 1"))?;
    Ok(DiskArg {
        storage: storage.to_owned(),
        size_gib,
    })
}

/// `key=value` pairs of a property string, each key once.
fn pairs<'a>(what: &'static str, text: &'a str) -> Result<Vec<(&'a str, &'a str)>, SpecError> {
    let mut seen = Vec::new();
    for part in text.split(',') {
        let (key, value) = part
            .split_once('=')
            .ok_or_else(|| fail(what, text, format!("'{part}' is not key=value")))?;
        if seen.iter().any(|(k, _)| *k == key) {
            return Err(fail(what, text, format!("{key} is given twice")));
        }
        seen.push((key, value));
    }
    Ok(seen)
}

/// Parses a `--net` spec: the keys every NIC has here, the rest by
/// `other(key, value)`, which says whether it knew the key; `keys` lists
/// them all for the error.
fn nic(
    what: &'static str,
    text: &str,
    keys: &str,
    mut other: impl FnMut(&str, &str) -> Result<bool, SpecError>,
) -> Result<NicArg, SpecError> {
    let mut nic = NicArg::default();
    for (key, value) in pairs(what, text)? {
        match key {
            "bridge" if is_interface_name(value) => value.clone_into(&mut nic.bridge),
            "bridge" => {
                return Err(fail(
                    what,
                    text,
                    format!(
                        "bridge '{value}' is no interface name (up to 15 letters, digits, -, _, .)"
                    ),
                ));
            }
            "tag" => {
                nic.tag = value
                    .parse()
                    .ok()
                    .filter(|tag| (1..=4094).contains(tag))
                    .ok_or_else(|| fail(what, text, "tag is a VLAN id, 1..4094"))?;
            }
            "firewall" => {
                nic.firewall = match value {
                    "1" => true,
                    "0" => false,
                    _ => return Err(fail(what, text, "firewall is 1 or 0")),
                };
            }
            _ if other(key, value)? => {}
            _ => return Err(fail(what, text, format!("unknown key '{key}' ({keys})"))),
        }
    }
    if nic.bridge.is_empty() {
        return Err(fail(what, text, "it needs bridge=NAME"));
    }
    Ok(nic)
}

/// `bridge=vmbr0[,model=virtio][,tag=N][,firewall=1]`.
pub fn vm_net(text: &str) -> Result<VmNetArg, SpecError> {
    let what = "network device";
    let mut model = String::new();
    let nic = nic(what, text, "bridge, model, tag, firewall", |key, value| {
        if key != "model" {
            return Ok(false);
        }
        if !NIC_MODELS.contains(&value) {
            let known = NIC_MODELS.join(", ");
            return Err(fail(what, text, format!("model is one of {known}")));
        }
        value.clone_into(&mut model);
        Ok(true)
    })?;
    Ok(VmNetArg { nic, model })
}

/// `name=eth0,bridge=vmbr0,ip=dhcp|manual|CIDR[,gw=IP][,tag=N][,firewall=1]`.
pub fn ct_net(text: &str) -> Result<CtNetArg, SpecError> {
    let what = "interface";
    let keys = "name, bridge, ip, gw, tag, firewall";
    let (mut name, mut ip, mut gateway) = (String::new(), String::new(), String::new());
    let nic = nic(what, text, keys, |key, value| {
        let (ok, reason, slot) = match key {
            "name" => (
                is_interface_name(value),
                "name is an interface name",
                &mut name,
            ),
            "ip" => (
                matches!(value, "dhcp" | "manual") || ipv4_cidr(value).is_some(),
                "ip is dhcp, manual or IPv4/prefix (10.0.0.5/24)",
                &mut ip,
            ),
            "gw" => (
                value.parse::<Ipv4Addr>().is_ok(),
                "gw is an IPv4 address",
                &mut gateway,
            ),
            _ => return Ok(false),
        };
        if !ok {
            return Err(fail(what, text, reason));
        }
        value.clone_into(slot);
        Ok(true)
    })?;
    if !gateway.is_empty() && ipv4_cidr(&ip).is_none() {
        return Err(fail(what, text, "gw needs a static ip=ADDRESS/PREFIX"));
    }
    Ok(CtNetArg {
        nic,
        name,
        ip,
        gateway,
    })
}

/// `STORAGE:<content>/FILE`.
fn volume(what: &'static str, content: &str, text: &str) -> Result<String, SpecError> {
    match volume_file(text, content) {
        Some(_) => Ok(text.to_owned()),
        None => Err(fail(what, text, format!("use STORAGE:{content}/FILE"))),
    }
}

/// `local:iso/debian-12.iso`.
pub fn iso(text: &str) -> Result<String, SpecError> {
    volume("ISO", "iso", text)
}

/// `local:vztmpl/debian-12-standard_12.7-1_amd64.tar.zst`.
pub fn ostemplate(text: &str) -> Result<String, SpecError> {
    volume("OS template", "vztmpl", text)
}

/// The OpenSSH public keys in an `authorized_keys`-style text: one per
/// non-empty line that is not a comment. `source` names the file.
pub fn ssh_public_keys(source: &str, text: &str) -> Result<Vec<String>, SpecError> {
    let mut keys = Vec::new();
    for (number, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        if !is_ssh_public_key(line) {
            return Err(fail(
                "ssh public key file",
                source,
                format!("line {} is no OpenSSH public key", number + 1),
            ));
        }
        keys.push(line.to_owned());
    }
    if keys.is_empty() {
        return Err(fail("ssh public key file", source, "it holds no key"));
    }
    Ok(keys)
}

#[cfg(test)]
mod tests;
