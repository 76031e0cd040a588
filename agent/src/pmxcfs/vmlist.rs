//! `/etc/pve/.vmlist`: every guest in the cluster, the node it lives on, its type, and a
//! per-guest version that increases on every create, write or rename of its config on any
//! node. That makes `.vmlist` a cheap cluster-wide change feed and the source of taken VMIDs.
//!
//! `ids` is omitted when there are no guests.

use std::collections::BTreeMap;

use super::guest_config::GuestKind;
use super::status_json::{StatusFile, StatusFileError, field};

const FILE: StatusFile = StatusFile { name: ".vmlist" };

/// The parsed `.vmlist` file.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Vmlist {
    /// The global version; increases whenever any guest's entry changes.
    pub version: u64,
    /// The guests by VMID.
    pub guests: BTreeMap<u32, VmlistEntry>,
}

/// One guest of `.vmlist`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VmlistEntry {
    pub node: String,
    pub guest_type: GuestType,
    /// Increases on every create, write or rename of this guest's config.
    pub version: u64,
}

/// The `type` of a `.vmlist` entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GuestType {
    Qemu,
    Lxc,
    /// A type this code does not know (old pmxcfs wrote `openvz`); the VMID is still taken.
    Other(String),
}

impl GuestType {
    /// The config kind, for the types that have guest configs this crate parses.
    pub fn kind(&self) -> Option<GuestKind> {
        match self {
            Self::Qemu => Some(GuestKind::Qemu),
            Self::Lxc => Some(GuestKind::Lxc),
            Self::Other(_) => None,
        }
    }
}

impl Vmlist {
    /// Parses the bytes of `.vmlist`.
    pub fn parse(bytes: &[u8]) -> Result<Self, StatusFileError> {
        let top = FILE.parse_object(bytes)?;
        let version = field(&top, "version")
            .map(|v| FILE.u64(v, "version"))
            .transpose()?
            .unwrap_or(0);
        let mut guests = BTreeMap::new();
        if let Some(ids) = field(&top, "ids") {
            for (vmid_text, value) in FILE.object(ids, "ids")? {
                let path = format!("ids.{vmid_text}");
                let vmid = vmid_text.parse().map_err(|_| StatusFileError::Field {
                    file: FILE.name,
                    path: path.clone(),
                    expected: "a key that is a vmid",
                    found: vmid_text.clone(),
                })?;
                guests.insert(vmid, parse_entry(value, &path)?);
            }
        }
        Ok(Self { version, guests })
    }

    /// The entry of guest `vmid`.
    pub fn get(&self, vmid: u32) -> Option<&VmlistEntry> {
        self.guests.get(&vmid)
    }

    /// Whether `vmid` is taken by any guest in the cluster.
    pub fn contains(&self, vmid: u32) -> bool {
        self.guests.contains_key(&vmid)
    }

    /// The VMIDs of the guests on `node`, ascending.
    pub fn vmids_on_node<'a>(&'a self, node: &'a str) -> impl Iterator<Item = u32> + 'a {
        self.guests
            .iter()
            .filter(move |(_, entry)| entry.node == node)
            .map(|(vmid, _)| *vmid)
    }

    /// The VMIDs whose entry differs from `previous` (new, gone, moved, or a new version),
    /// ascending: the guests whose configs are worth re-reading.
    pub fn changed_since(&self, previous: &Vmlist) -> Vec<u32> {
        let mut changed: Vec<u32> = self
            .guests
            .iter()
            .filter(|(vmid, entry)| previous.guests.get(vmid) != Some(entry))
            .map(|(vmid, _)| *vmid)
            .collect();
        changed.extend(
            previous
                .guests
                .keys()
                .filter(|vmid| !self.guests.contains_key(vmid)),
        );
        changed.sort_unstable();
        changed
    }
}

fn parse_entry(value: &serde_json::Value, path: &str) -> Result<VmlistEntry, StatusFileError> {
    let object = FILE.object(value, path)?;
    let text_field = |key: &str| -> Result<String, StatusFileError> {
        let key_path = format!("{path}.{key}");
        match field(object, key) {
            Some(value) => FILE.string(value, &key_path),
            None => Err(StatusFileError::Field {
                file: FILE.name,
                path: key_path,
                expected: "a string",
                found: "nothing".to_owned(),
            }),
        }
    };
    let node = text_field("node")?;
    let guest_type = match text_field("type")?.as_str() {
        "qemu" => GuestType::Qemu,
        "lxc" => GuestType::Lxc,
        other => GuestType::Other(other.to_owned()),
    };
    let version = field(object, "version")
        .map(|v| FILE.u64(v, &format!("{path}.version")))
        .transpose()?
        .unwrap_or(0);
    Ok(VmlistEntry {
        node,
        guest_type,
        version,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const TWO_GUESTS: &str = r#"{
"version": 12,
"ids": {
"100": { "node": "pve1", "type": "qemu", "version": 7 },
"101": { "node": "pve2", "type": "lxc", "version": 9 }}

}
"#;

    #[test]
    fn guests_have_node_type_and_version() {
        let list = Vmlist::parse(TWO_GUESTS.as_bytes()).unwrap();
        assert_eq!(list.version, 12);
        let vm = list.get(100).unwrap();
        assert_eq!(
            (vm.node.as_str(), &vm.guest_type, vm.version),
            ("pve1", &GuestType::Qemu, 7)
        );
        assert_eq!(
            list.get(101).unwrap().guest_type.kind(),
            Some(GuestKind::Lxc)
        );
        assert!(list.contains(101) && !list.contains(102));
        assert_eq!(list.vmids_on_node("pve2").collect::<Vec<_>>(), vec![101]);
    }

    #[test]
    fn ids_may_be_missing_when_there_are_no_guests() {
        let list = Vmlist::parse(br#"{"version": 1}"#).unwrap();
        assert_eq!(list.version, 1);
        assert!(list.guests.is_empty());
    }

    #[test]
    fn unknown_types_keep_their_vmid_taken() {
        let list = Vmlist::parse(
            br#"{"version":"3","ids":{"5":{"node":"n","type":"openvz","version":"2"}}}"#,
        )
        .unwrap();
        assert_eq!(
            list.get(5).unwrap().guest_type,
            GuestType::Other("openvz".into())
        );
        assert_eq!(list.get(5).unwrap().version, 2);
        assert_eq!(list.get(5).unwrap().guest_type.kind(), None);
    }

    #[test]
    fn a_key_that_is_not_a_vmid_is_named_in_the_error() {
        let err = Vmlist::parse(br#"{"ids":{"abc":{"node":"n","type":"qemu"}}}"#).unwrap_err();
        assert!(err.to_string().contains("`ids.abc`"), "{err}");
        let err = Vmlist::parse(br#"{"ids":{"100":{"type":"qemu"}}}"#).unwrap_err();
        assert!(err.to_string().contains("`ids.100.node`"), "{err}");
    }

    #[test]
    fn changed_since_lists_new_gone_moved_and_rewritten_guests() {
        let before = Vmlist::parse(TWO_GUESTS.as_bytes()).unwrap();
        let after = Vmlist::parse(
            br#"{"version":14,"ids":{
                "100":{"node":"pve1","type":"qemu","version":8},
                "102":{"node":"pve1","type":"qemu","version":1}}}"#,
        )
        .unwrap();
        assert_eq!(after.changed_since(&before), vec![100, 101, 102]);
        assert!(after.changed_since(&after).is_empty());
    }
}
