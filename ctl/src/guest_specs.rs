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

/// A VM's `--net`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct VmNetArg {
    pub bridge: String,
    pub model: String,
    pub tag: u32,
    pub firewall: bool,
}

/// A container's `--net`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CtNetArg {
    pub name: String,
    pub bridge: String,
    pub ip: String,
    pub gateway: String,
    pub tag: u32,
    pub firewall: bool,
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

fn bridge(what: &'static str, text: &str, bridge: &str) -> Result<(), SpecError> {
    if is_interface_name(bridge) {
        Ok(())
    } else {
        Err(fail(
            what,
            text,
            format!("bridge '{bridge}' is no interface name (up to 15 letters, digits, -, _, .)"),
        ))
    }
}

fn tag(what: &'static str, text: &str, value: &str) -> Result<u32, SpecError> {
    value
        .parse()
        .ok()
        .filter(|tag| (1..=4094).contains(tag))
        .ok_or_else(|| fail(what, text, "tag is a VLAN id, 1..4094"))
}

fn flag(what: &'static str, text: &str, key: &str, value: &str) -> Result<bool, SpecError> {
    match value {
        "1" => Ok(true),
        "0" => Ok(false),
        _ => Err(fail(what, text, format!("{key} is 1 or 0"))),
    }
}

/// `bridge=vmbr0[,model=virtio][,tag=N][,firewall=1]`.
pub fn vm_net(text: &str) -> Result<VmNetArg, SpecError> {
    let what = "network device";
    let mut net = VmNetArg::default();
    for (key, value) in pairs(what, text)? {
        match key {
            "bridge" => {
                bridge(what, text, value)?;
                value.clone_into(&mut net.bridge);
            }
            "model" if NIC_MODELS.contains(&value) => value.clone_into(&mut net.model),
            "model" => {
                return Err(fail(
                    what,
                    text,
                    format!("model is one of {}", NIC_MODELS.join(", ")),
                ));
            }
            "tag" => net.tag = tag(what, text, value)?,
            "firewall" => net.firewall = flag(what, text, key, value)?,
            _ => {
                return Err(fail(
                    what,
                    text,
                    format!("unknown key '{key}' (bridge, model, tag, firewall)"),
                ));
            }
        }
    }
    if net.bridge.is_empty() {
        return Err(fail(what, text, "it needs bridge=NAME"));
    }
    Ok(net)
}

/// `name=eth0,bridge=vmbr0,ip=dhcp|manual|CIDR[,gw=IP][,tag=N][,firewall=1]`.
pub fn ct_net(text: &str) -> Result<CtNetArg, SpecError> {
    let what = "interface";
    let mut net = CtNetArg::default();
    for (key, value) in pairs(what, text)? {
        match key {
            "name" => {
                if !is_interface_name(value) {
                    return Err(fail(what, text, format!("'{value}' is no interface name")));
                }
                value.clone_into(&mut net.name);
            }
            "bridge" => {
                bridge(what, text, value)?;
                value.clone_into(&mut net.bridge);
            }
            "ip" => {
                if !matches!(value, "dhcp" | "manual") && ipv4_cidr(value).is_none() {
                    return Err(fail(
                        what,
                        text,
                        "ip is dhcp, manual or IPv4/prefix (10.0.0.5/24)",
                    ));
                }
                value.clone_into(&mut net.ip);
            }
            "gw" => {
                if value.parse::<Ipv4Addr>().is_err() {
                    return Err(fail(what, text, "gw is an IPv4 address"));
                }
                value.clone_into(&mut net.gateway);
            }
            "tag" => net.tag = tag(what, text, value)?,
            "firewall" => net.firewall = flag(what, text, key, value)?,
            _ => {
                return Err(fail(
                    what,
                    text,
                    format!("unknown key '{key}' (name, bridge, ip, gw, tag, firewall)"),
                ));
            }
        }
    }
    if net.bridge.is_empty() {
        return Err(fail(what, text, "it needs bridge=NAME"));
    }
    if !net.gateway.is_empty() && ipv4_cidr(&net.ip).is_none() {
        return Err(fail(what, text, "gw needs a static ip=ADDRESS/PREFIX"));
    }
    Ok(net)
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
