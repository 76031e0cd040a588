//! Placement when no `--node` is given: ask the candidate nodes for their
//! free memory and pick the node with the most (DESIGN step 1), saying why.

use pvectl_proto::v1::GetNodeInfoRequest;

use super::remote::answers;
use super::{Io, view};
use crate::Error;
use crate::cluster::Cluster;
use crate::cluster::routing::{Candidate, most_free_memory};
use crate::output::OutputError;
use crate::remote::RemoteError;

/// The node among `nodes` with most free memory (nodes that do not answer
/// come last); `None` when `nodes` is empty. `only` says why when there is
/// one candidate. Returns the node and why it was chosen.
pub(super) async fn most_free(
    cluster: &Cluster,
    nodes: &[String],
    only: &str,
    io: &mut Io<'_>,
) -> Result<Option<(String, String)>, Error> {
    let results = cluster
        .fan_out(nodes, "GetNodeInfo", |target, mut agent| async move {
            agent
                .get_node_info(GetNodeInfoRequest::default())
                .await
                .map(|response| response.into_inner())
                .map_err(|status| RemoteError::from_status(&target.node, "GetNodeInfo", &status))
        })
        .await;
    let (answered, _) = answers(results, io)?;
    let candidates: Vec<Candidate> = nodes
        .iter()
        .map(|node| Candidate {
            node: node.clone(),
            node_id: cluster
                .member(node)
                .map_or(u32::MAX, |member| member.node_id),
            free_memory_bytes: answered
                .iter()
                .find(|(name, _)| name == node)
                .and_then(|(_, info)| info.resources)
                .map(|resources| resources.memory_free_bytes),
        })
        .collect();
    let Some(chosen) = most_free_memory(&candidates).cloned() else {
        return Ok(None);
    };
    let why = match (nodes.len(), chosen.free_memory_bytes) {
        (1, _) => only.to_owned(),
        (_, Some(free)) => format!("most free memory, {}", view::bytes(free)),
        (_, None) => "no node reported its free memory".to_owned(),
    };
    Ok(Some((chosen.node, why)))
}

/// The node a guest from scratch is made on: `--node` (a member), else the
/// online member with most free memory, said on stderr.
pub(super) async fn creation_node(
    cluster: &Cluster,
    node: Option<&str>,
    what: &str,
    io: &mut Io<'_>,
) -> Result<String, Error> {
    if let Some(node) = node {
        cluster.member(node)?;
        return Ok(node.to_owned());
    }
    let online: Vec<String> = cluster
        .members()
        .iter()
        .filter(|member| member.online)
        .map(|member| member.name.clone())
        .collect();
    let Some((chosen, why)) = most_free(cluster, &online, "the only node online", io).await? else {
        return Ok(cluster.seed().node.clone());
    };
    writeln!(io.stderr, "creating {what} on {chosen} ({why})").map_err(OutputError::from)?;
    Ok(chosen)
}
