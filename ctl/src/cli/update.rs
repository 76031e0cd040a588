//! The flags of `vm|ct update`: the common keys by name, any other key
//! with `--set key=value`, removals with `--delete key`. Names and tags are
//! checked here as PVE checks them; every other value is checked by the
//! agent (a bad one is a usage error too, and nothing is changed).

use clap::Args;
use pvectl_proto::Vmid;

use crate::guest_names;

#[derive(Debug, Clone, Args)]
pub struct GuestUpdateArgs {
    /// The guest's VMID
    #[arg(value_name = "VMID")]
    pub vmid: Vmid,
    /// CPU cores
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=8192))]
    pub cores: Option<u32>,
    /// Memory in MiB
    #[arg(long, value_name = "MIB", value_parser = clap::value_parser!(u64).range(16..))]
    pub memory: Option<u64>,
    /// Name (a VM's name, a container's hostname; DNS name rules)
    #[arg(long, value_name = "NAME", value_parser = guest_names::guest_name)]
    pub name: Option<String>,
    /// Tag, replacing the current tags; repeat for more (remove all: --delete tags)
    #[arg(long = "tag", value_name = "TAG", value_parser = guest_names::tag)]
    pub tags: Vec<String>,
    /// Description (the notes shown in PVE's web interface)
    #[arg(long, value_name = "TEXT")]
    pub description: Option<String>,
    /// Any config key as PVE names it (onboot=1, net1=virtio,bridge=vmbr1); repeat for more
    #[arg(long = "set", value_name = "KEY=VALUE", value_parser = key_value)]
    pub set: Vec<(String, String)>,
    /// Remove a config key (a disk key detaches or destroys the disk); repeat for more
    #[arg(long = "delete", value_name = "KEY")]
    pub delete: Vec<String>,
}

/// `key=value`, split at the first `=`; the value may contain more.
fn key_value(text: &str) -> Result<(String, String), String> {
    match text.split_once('=') {
        Some((key, value)) if !key.is_empty() => Ok((key.to_owned(), value.to_owned())),
        _ => Err(format!("expected KEY=VALUE, got {text:?}")),
    }
}

#[cfg(test)]
mod tests {
    use super::key_value;

    #[test]
    fn set_values_split_at_the_first_equals_sign() {
        assert_eq!(
            key_value("net1=virtio,bridge=vmbr1").unwrap(),
            ("net1".to_owned(), "virtio,bridge=vmbr1".to_owned())
        );
        assert_eq!(
            key_value("args=").unwrap(),
            ("args".to_owned(), String::new())
        );
        assert!(key_value("cores").is_err());
        assert!(key_value("=4").is_err());
    }
}
