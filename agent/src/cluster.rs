//! The cluster as this agent sees it: members, their ids and addresses, and
//! quorum — from pmxcfs's `.members` when the tree is there, from the API's
//! `/cluster/status` in API-only mode.
use std::net::IpAddr;
use std::path::PathBuf;

use pvectl_proto::routing;
use pvectl_proto::v1;

use crate::error::AgentError;
use crate::pmxcfs::Members;
use crate::pve_api::PveClient;

/// One cluster member.
#[derive(Debug, Clone, PartialEq)]
pub struct ClusterMember {
    pub name: String,
    pub id: u32,
    pub ip: Option<IpAddr>,
    pub online: bool,
}

/// Members and quorum at one moment.
#[derive(Debug, Clone, PartialEq)]
pub struct ClusterView {
    pub name: String,
    pub quorate: bool,
    pub members: Vec<ClusterMember>,
}

/// Where the agent reads cluster state from.
#[derive(Debug, Clone)]
pub enum Source {
    /// A pmxcfs tree (`/etc/pve` or a simulator's view of it).
    Pmxcfs(PathBuf),
    /// No tree: everything through the API, waiting by polling.
    ApiOnly,
}

impl Source {
    /// pmxcfs mode when `<root>/.members` exists, API-only otherwise.
    pub fn detect(root: &std::path::Path) -> Source {
        if root.join(".members").is_file() {
            Source::Pmxcfs(root.to_path_buf())
        } else {
            Source::ApiOnly
        }
    }

    pub fn is_api_only(&self) -> bool {
        matches!(self, Source::ApiOnly)
    }
}

impl ClusterView {
    pub fn member(&self, name: &str) -> Option<&ClusterMember> {
        self.members.iter().find(|m| m.name == name)
    }

    pub fn member_ids(&self) -> Vec<u32> {
        self.members.iter().map(|m| m.id).collect()
    }

    /// Reads the view from `source`.
    pub async fn read(source: &Source, pve: &PveClient) -> Result<ClusterView, AgentError> {
        match source {
            Source::Pmxcfs(root) => {
                let path = root.join(".members");
                let bytes = tokio::fs::read(&path).await.map_err(|e| {
                    AgentError::unavailable(format!("cannot read {}: {e}", path.display()))
                })?;
                let members = Members::parse(&bytes)
                    .map_err(|e| AgentError::internal(format!("{}: {e}", path.display())))?;
                Ok(Self::from_members(&members))
            }
            Source::ApiOnly => {
                let status = pve
                    .cluster_status()
                    .await
                    .map_err(|e| AgentError::pve("reading /cluster/status", &e))?;
                let mut view = ClusterView {
                    name: String::new(),
                    quorate: true,
                    members: Vec::new(),
                };
                for entry in status {
                    match entry.kind.as_str() {
                        "cluster" => {
                            view.name = entry.name;
                            view.quorate = entry.quorate;
                        }
                        "node" => view.members.push(ClusterMember {
                            id: entry.nodeid.unwrap_or(0),
                            ip: entry.ip.as_deref().and_then(|ip| ip.parse().ok()),
                            online: entry.online,
                            name: entry.name,
                        }),
                        _ => {}
                    }
                }
                view.members.sort_by_key(|m| m.id);
                Ok(view)
            }
        }
    }

    fn from_members(members: &Members) -> ClusterView {
        let mut list: Vec<ClusterMember> = members
            .nodes
            .iter()
            .map(|(name, node)| ClusterMember {
                name: name.clone(),
                id: node.id,
                ip: node.ip,
                online: node.online,
            })
            .collect();
        list.sort_by_key(|m| m.id);
        ClusterView {
            name: members
                .cluster
                .as_ref()
                .map(|c| c.name.clone())
                .unwrap_or_default(),
            quorate: members.cluster.as_ref().is_none_or(|c| c.quorate),
            members: list,
        }
    }

    /// A member as the contract describes it; `agent_port` is where every
    /// node's agent listens.
    pub fn to_proto(member: &ClusterMember, agent_port: u16) -> v1::Member {
        v1::Member {
            name: member.name.clone(),
            node_id: member.id,
            ip: member.ip.map(|ip| ip.to_string()).unwrap_or_default(),
            online: member.online,
            agent_address: member
                .ip
                .map(|ip| std::net::SocketAddr::new(ip, agent_port).to_string())
                .unwrap_or_default(),
            agent_version: String::new(),
            template_range: routing::template_range(member.id).ok().map(Into::into),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn members_file_becomes_a_sorted_view_with_agent_addresses() {
        let text = br#"{"nodename": "pve1", "version": 5,
            "cluster": {"name": "c1", "version": 3, "nodes": 2, "quorate": 1},
            "nodelist": {"pve7": {"id": 7, "online": 1, "ip": "127.0.10.2"},
                         "pve1": {"id": 1, "online": 1, "ip": "127.0.10.1"}}}"#;
        let view = ClusterView::from_members(&Members::parse(text).unwrap());
        assert_eq!(view.name, "c1");
        assert_eq!(view.member_ids(), [1, 7]);
        let member = ClusterView::to_proto(view.member("pve7").unwrap(), 8446);
        assert_eq!(member.agent_address, "127.0.10.2:8446");
        let range = member.template_range.unwrap();
        assert_eq!((range.first, range.last), (9700, 9799));
    }
}
