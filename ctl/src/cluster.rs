//! Discovery and routing: the members and their agents learnt from the
//! context's seed agent, a channel to any node's agent, calls that follow an
//! agent's owner hint (WRONG_NODE) exactly once, and fan-outs over nodes that
//! run in parallel with a per-node timeout.

pub mod routing;
#[cfg(test)]
mod tests;

use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::future::join_all;
use pvectl_proto::Vmid;
use pvectl_proto::v1::agent_client::AgentClient;
use pvectl_proto::v1::{ErrorDetail, ErrorKind, GetNodeInfoRequest, Member, NodeInfo};
use tonic::transport::Channel;

use crate::channel::{AgentAddress, Connector};
use crate::remote::RemoteError;

/// How long one node may take to answer a call (or a fan-out's work on it)
/// once connected.
pub const DEFAULT_CALL_TIMEOUT: Duration = Duration::from_secs(30);

/// Where one node's agent is dialled.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// The node's name (for the seed before discovery, its address).
    pub node: String,
    pub address: AgentAddress,
    /// The name the agent's certificate must hold; `None`: the address's host.
    pub server_name: Option<String>,
}

/// A cluster as its seed agent describes it, and the means to reach every
/// member's agent.
#[derive(Debug, Clone)]
pub struct Cluster {
    connector: Connector,
    call_timeout: Duration,
    seed: Target,
    info: NodeInfo,
    channels: Channels,
}

/// The channels dialled so far, by address and expected certificate name:
/// a command that calls one agent twice (discovery, then the work on the
/// seed; a template lookup, then the create) does one TLS handshake.
#[derive(Debug, Clone, Default)]
struct Channels(Arc<Mutex<HashMap<String, Channel>>>);

impl Channels {
    fn key(target: &Target) -> String {
        format!(
            "{}|{}",
            target.address,
            target.server_name.as_deref().unwrap_or("")
        )
    }

    fn map(&self) -> std::sync::MutexGuard<'_, HashMap<String, Channel>> {
        self.0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn get(&self, target: &Target) -> Option<Channel> {
        self.map().get(&Self::key(target)).cloned()
    }

    fn keep(&self, target: &Target, channel: &Channel) {
        self.map().insert(Self::key(target), channel.clone());
    }
}

impl Cluster {
    /// Asks the seed agent for its node and the cluster's members.
    pub async fn discover(
        connector: Connector,
        seed: AgentAddress,
        server_name: Option<String>,
        call_timeout: Duration,
    ) -> Result<Cluster, RemoteError> {
        let target = Target {
            node: format!("{seed} (seed)"),
            address: seed,
            server_name,
        };
        let mut cluster = Cluster {
            connector,
            call_timeout,
            seed: target.clone(),
            info: NodeInfo::default(),
            channels: Channels::default(),
        };
        let info = cluster
            .call_at(&target, "GetNodeInfo", |mut agent| async move {
                agent
                    .get_node_info(GetNodeInfoRequest { members_only: true })
                    .await
            })
            .await?;
        if let Some(node) = &info.node {
            cluster.seed.node = node.name.clone();
        }
        cluster.info = info;
        Ok(cluster)
    }

    /// A cluster from what a seed already said (for tests of routing).
    pub fn from_parts(
        connector: Connector,
        seed: Target,
        info: NodeInfo,
        call_timeout: Duration,
    ) -> Cluster {
        Cluster {
            connector,
            call_timeout,
            seed,
            info,
            channels: Channels::default(),
        }
    }

    /// The same cluster with another per-node call timeout (bulk actions
    /// wait for every guest's task).
    pub fn with_call_timeout(&self, call_timeout: Duration) -> Cluster {
        Cluster {
            call_timeout,
            ..self.clone()
        }
    }

    /// The seed's answer to `GetNodeInfo`.
    pub fn info(&self) -> &NodeInfo {
        &self.info
    }

    /// The cluster's name; empty for a node without a cluster.
    pub fn name(&self) -> &str {
        &self.info.cluster_name
    }

    /// The seed agent.
    pub fn seed(&self) -> &Target {
        &self.seed
    }

    /// Every member, sorted by node id.
    pub fn members(&self) -> &[Member] {
        &self.info.members
    }

    /// Every member's name, in member order.
    pub fn member_names(&self) -> Vec<String> {
        self.members().iter().map(|m| m.name.clone()).collect()
    }

    /// The member named `name`.
    pub fn member(&self, name: &str) -> Result<&Member, RemoteError> {
        self.members()
            .iter()
            .find(|member| member.name == name)
            .ok_or_else(|| RemoteError::UnknownNode {
                name: name.to_owned(),
                known: self.member_names(),
            })
    }

    /// The member owning template VMID `vmid` by its range, if any.
    pub fn template_owner(&self, vmid: Vmid) -> Option<&Member> {
        let ids: Vec<u32> = self.members().iter().map(|m| m.node_id).collect();
        let owner = pvectl_proto::template_owner(vmid, &ids)?;
        self.members().iter().find(|member| member.node_id == owner)
    }

    /// Where `node`'s agent is dialled: the seed as configured for the seed's
    /// own node, else the address the seed reports, checked against a
    /// certificate for the node's name.
    pub fn target(&self, node: &str) -> Result<Target, RemoteError> {
        if node == self.seed.node {
            return Ok(self.seed.clone());
        }
        let member = self.member(node)?;
        self.address_target(node, &member.agent_address)
    }

    /// Where an owner hint points: its address, or the member's when the
    /// hint has none.
    pub fn owner_target(&self, detail: &ErrorDetail) -> Result<Target, RemoteError> {
        let node = detail.owner_node.as_str();
        if detail.owner_address.is_empty() {
            return self.target(node);
        }
        if node == self.seed.node && detail.owner_address == self.seed.address.to_string() {
            return Ok(self.seed.clone());
        }
        self.address_target(node, &detail.owner_address)
    }

    fn address_target(&self, node: &str, address: &str) -> Result<Target, RemoteError> {
        if address.is_empty() {
            return Err(RemoteError::NoAddress {
                node: node.to_owned(),
            });
        }
        let address = address
            .parse::<AgentAddress>()
            .map_err(|error| RemoteError::BadAddress {
                node: node.to_owned(),
                address: address.to_owned(),
                reason: error.to_string(),
            })?;
        Ok(Target {
            node: node.to_owned(),
            address,
            server_name: Some(node.to_owned()),
        })
    }

    /// A client of `target`'s agent, on the channel dialled before if there
    /// is one.
    pub async fn client(&self, target: &Target) -> Result<AgentClient<Channel>, RemoteError> {
        if let Some(channel) = self.channels.get(target) {
            return Ok(AgentClient::new(channel));
        }
        let channel = self
            .connector
            .channel(&target.address, target.server_name.as_deref())
            .await
            .map_err(|source| RemoteError::Connect {
                node: target.node.clone(),
                source,
            })?;
        self.channels.keep(target, &channel);
        Ok(AgentClient::new(channel))
    }

    /// Runs `call` (named `name` in errors) on `target`'s agent within the
    /// call timeout. An answer of WRONG_NODE is followed once, to the owner
    /// it names; the target that answered comes back with the result.
    pub async fn call<T, F, Fut>(
        &self,
        target: Target,
        name: &'static str,
        mut call: F,
    ) -> Result<(Target, T), RemoteError>
    where
        F: FnMut(AgentClient<Channel>) -> Fut,
        Fut: Future<Output = Result<tonic::Response<T>, tonic::Status>>,
    {
        match self.call_at(&target, name, &mut call).await {
            Err(error) => match wrong_node_hint(&error) {
                Some(detail) => {
                    let owner = self.owner_target(detail)?;
                    let answer = self.call_at(&owner, name, &mut call).await?;
                    Ok((owner, answer))
                }
                None => Err(error),
            },
            Ok(answer) => Ok((target, answer)),
        }
    }

    /// Runs `call` on `target`'s agent within the call timeout, without
    /// following an owner hint.
    pub async fn call_at<T, F, Fut>(
        &self,
        target: &Target,
        name: &'static str,
        call: F,
    ) -> Result<T, RemoteError>
    where
        F: FnOnce(AgentClient<Channel>) -> Fut,
        Fut: Future<Output = Result<tonic::Response<T>, tonic::Status>>,
    {
        let client = self.client(target).await?;
        match tokio::time::timeout(self.call_timeout, call(client)).await {
            Ok(Ok(response)) => Ok(response.into_inner()),
            Ok(Err(status)) => Err(RemoteError::from_status(&target.node, name, &status)),
            Err(_) => Err(RemoteError::Timeout {
                node: target.node.clone(),
                call: name,
                after: self.call_timeout,
            }),
        }
    }

    /// Runs `work` against every node in `nodes` at once, each within the
    /// call timeout; one result per node, in the order given.
    pub async fn fan_out<T, F, Fut>(
        &self,
        nodes: &[String],
        name: &'static str,
        work: F,
    ) -> Vec<(String, Result<T, RemoteError>)>
    where
        F: Fn(Target, AgentClient<Channel>) -> Fut,
        Fut: Future<Output = Result<T, RemoteError>>,
    {
        let work = &work;
        let runs = nodes.iter().map(|node| async move {
            let result = async {
                let target = self.target(node)?;
                let client = self.client(&target).await?;
                let timeout_target = target.node.clone();
                tokio::time::timeout(self.call_timeout, work(target, client))
                    .await
                    .unwrap_or_else(|_| {
                        Err(RemoteError::Timeout {
                            node: timeout_target,
                            call: name,
                            after: self.call_timeout,
                        })
                    })
            }
            .await;
            (node.clone(), result)
        });
        join_all(runs).await
    }
}

/// The owner hint in a WRONG_NODE answer.
pub fn wrong_node_hint(error: &RemoteError) -> Option<&ErrorDetail> {
    error
        .detail()
        .filter(|detail| detail.kind() == ErrorKind::WrongNode)
}
