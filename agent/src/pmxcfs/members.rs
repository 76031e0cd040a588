//! `/etc/pve/.members`: this node's name, the cluster and its nodes with their corosync ids,
//! online state and addresses. The node ids decide which template VMIDs a node owns, and the
//! addresses are where the other agents are dialled.
//!
//! A node without a cluster shows only `nodename` and `version`; a node's `ip` may be missing.

use std::collections::BTreeMap;
use std::net::IpAddr;

use super::status_json::{StatusFile, StatusFileError, field};

const FILE: StatusFile = StatusFile { name: ".members" };

/// The parsed `.members` file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Members {
    /// The name of the node this file was read on.
    pub nodename: String,
    /// pmxcfs's cluster-info version counter.
    pub version: u64,
    /// The cluster, if this node is in one.
    pub cluster: Option<ClusterInfo>,
    /// The cluster's nodes by name; empty for a node without a cluster.
    pub nodes: BTreeMap<String, MemberNode>,
}

/// The `cluster` object of `.members`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClusterInfo {
    pub name: String,
    pub version: u64,
    /// The number of nodes configured in the cluster.
    pub nodes: u64,
    pub quorate: bool,
}

/// One node of the `nodelist` object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemberNode {
    /// The corosync node id.
    pub id: u32,
    pub online: bool,
    /// The node's address, when pmxcfs knows it.
    pub ip: Option<IpAddr>,
}

impl Members {
    /// Parses the bytes of `.members`.
    pub fn parse(bytes: &[u8]) -> Result<Self, StatusFileError> {
        let top = FILE.parse_object(bytes)?;
        let nodename = match field(&top, "nodename") {
            Some(value) => FILE.string(value, "nodename")?,
            None => return Err(missing("nodename", "a string")),
        };
        let version = match field(&top, "version") {
            Some(value) => FILE.u64(value, "version")?,
            None => 0,
        };
        let cluster = field(&top, "cluster").map(parse_cluster).transpose()?;
        let mut nodes = BTreeMap::new();
        if let Some(list) = field(&top, "nodelist") {
            for (name, value) in FILE.object(list, "nodelist")? {
                let node = parse_node(value, &format!("nodelist.{name}"))?;
                nodes.insert(name.clone(), node);
            }
        }
        Ok(Self {
            nodename,
            version,
            cluster,
            nodes,
        })
    }

    /// The entry of the node this file was read on, if it is in a cluster.
    pub fn local_node(&self) -> Option<&MemberNode> {
        self.nodes.get(&self.nodename)
    }

    /// The entry of the node called `name`.
    pub fn node(&self, name: &str) -> Option<&MemberNode> {
        self.nodes.get(name)
    }

    /// The name of the node with corosync id `id`.
    pub fn node_name_by_id(&self, id: u32) -> Option<&str> {
        self.nodes
            .iter()
            .find(|(_, node)| node.id == id)
            .map(|(name, _)| name.as_str())
    }
}

fn parse_cluster(value: &serde_json::Value) -> Result<ClusterInfo, StatusFileError> {
    let object = FILE.object(value, "cluster")?;
    let name = match field(object, "name") {
        Some(value) => FILE.string(value, "cluster.name")?,
        None => return Err(missing("cluster.name", "a string")),
    };
    let version = field(object, "version")
        .map(|v| FILE.u64(v, "cluster.version"))
        .transpose()?
        .unwrap_or(0);
    let nodes = field(object, "nodes")
        .map(|v| FILE.u64(v, "cluster.nodes"))
        .transpose()?
        .unwrap_or(0);
    let quorate = field(object, "quorate")
        .map(|v| FILE.bool(v, "cluster.quorate"))
        .transpose()?
        .unwrap_or(false);
    Ok(ClusterInfo {
        name,
        version,
        nodes,
        quorate,
    })
}

fn parse_node(value: &serde_json::Value, path: &str) -> Result<MemberNode, StatusFileError> {
    let object = FILE.object(value, path)?;
    let id_path = format!("{path}.id");
    let id = match field(object, "id") {
        Some(value) => FILE.u32(value, &id_path)?,
        None => return Err(missing(&id_path, "a non-negative integer")),
    };
    let online = field(object, "online")
        .map(|v| FILE.bool(v, &format!("{path}.online")))
        .transpose()?
        .unwrap_or(false);
    let ip_path = format!("{path}.ip");
    let ip = match field(object, "ip") {
        None => None,
        Some(value) => {
            let text = FILE.string(value, &ip_path)?;
            let text = text.trim();
            if text.is_empty() {
                None
            } else {
                Some(text.parse().map_err(|_| StatusFileError::Field {
                    file: FILE.name,
                    path: ip_path,
                    expected: "an ip address",
                    found: text.to_owned(),
                })?)
            }
        }
    };
    Ok(MemberNode { id, online, ip })
}

fn missing(path: &str, expected: &'static str) -> StatusFileError {
    StatusFileError::Field {
        file: FILE.name,
        path: path.to_owned(),
        expected,
        found: "nothing".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CLUSTER: &str = r#"{
"nodename": "pve1",
"version": 5,
"cluster": { "name": "c1", "version": 3, "nodes": 2, "quorate": 1 },
"nodelist": {
  "pve1": { "id": 1, "online": 1, "ip": "10.0.0.1"},
  "pve2": { "id": 2, "online": 0}
  }
}
"#;

    #[test]
    fn a_cluster_lists_its_nodes_with_ids_and_addresses() {
        let members = Members::parse(CLUSTER.as_bytes()).unwrap();
        assert_eq!(members.nodename, "pve1");
        assert_eq!(members.version, 5);
        let cluster = members.cluster.as_ref().unwrap();
        assert_eq!(cluster.name, "c1");
        assert_eq!(
            (cluster.version, cluster.nodes, cluster.quorate),
            (3, 2, true)
        );
        let local = members.local_node().unwrap();
        assert_eq!(local.id, 1);
        assert!(local.online);
        assert_eq!(local.ip, Some("10.0.0.1".parse().unwrap()));
        let other = members.node("pve2").unwrap();
        assert_eq!((other.id, other.online, other.ip), (2, false, None));
        assert_eq!(members.node_name_by_id(2), Some("pve2"));
    }

    #[test]
    fn a_node_without_a_cluster_has_only_name_and_version() {
        let members = Members::parse(br#"{"nodename": "solo", "version": 0}"#).unwrap();
        assert_eq!(members.nodename, "solo");
        assert_eq!(members.cluster, None);
        assert!(members.nodes.is_empty());
        assert_eq!(members.local_node(), None);
    }

    #[test]
    fn numbers_and_booleans_may_be_strings() {
        let text = br#"{"nodename":"a","version":"7",
            "cluster":{"name":"c","version":"2","nodes":"1","quorate":"true"},
            "nodelist":{"a":{"id":"4","online":"1","ip":"fd00::4"}}}"#;
        let members = Members::parse(text).unwrap();
        assert_eq!(members.version, 7);
        assert!(members.cluster.unwrap().quorate);
        let node = &members.nodes["a"];
        assert_eq!((node.id, node.online), (4, true));
        assert_eq!(node.ip, Some("fd00::4".parse().unwrap()));
    }

    #[test]
    fn a_bad_field_is_named_in_the_error() {
        let text = br#"{"nodename":"a","nodelist":{"b":{"id":"x"}}}"#;
        let err = Members::parse(text).unwrap_err();
        assert!(err.to_string().contains("`nodelist.b.id`"), "{err}");
        let text = br#"{"nodename":"a","nodelist":{"b":{"id":1,"ip":"not-an-ip"}}}"#;
        let err = Members::parse(text).unwrap_err();
        assert!(
            err.to_string()
                .contains("`nodelist.b.ip` must be an ip address"),
            "{err}"
        );
    }

    #[test]
    fn a_missing_nodename_or_broken_json_is_an_error() {
        assert!(Members::parse(br#"{"version": 1}"#).is_err());
        assert!(matches!(
            Members::parse(b"{\"nodename\":"),
            Err(StatusFileError::Json { .. })
        ));
    }
}
