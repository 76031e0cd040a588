//! `pvectl node list`: the members the seed reports, each asked for its own
//! agent version and resources, all at once.

use pvectl_proto::v1::{GetNodeInfoRequest, Member, NodeInfo};
use serde::Serialize;

use super::remote::{Session, answers, complete};
use super::{Io, view};
use crate::Error;
use crate::cli::{GlobalArgs, NodeCommand};
use crate::output::{Column, Tabular, render};
use crate::remote::RemoteError;

pub(super) fn run(command: NodeCommand, global: &GlobalArgs, io: &mut Io<'_>) -> Result<(), Error> {
    let session = Session::open(global, io)?;
    match command {
        NodeCommand::List => session.block_on(list(&session, io)),
    }
}

async fn list(session: &Session, io: &mut Io<'_>) -> Result<(), Error> {
    let cluster = session.discover().await?;
    let names = cluster.member_names();
    let results = cluster
        .fan_out(&names, "GetNodeInfo", |target, mut agent| async move {
            agent
                .get_node_info(GetNodeInfoRequest::default())
                .await
                .map(tonic::Response::into_inner)
                .map_err(|status| RemoteError::from_status(&target.node, "GetNodeInfo", &status))
        })
        .await;
    let (answered, failed) = answers(results, io)?;
    let rows: Vec<NodeRow> = cluster
        .members()
        .iter()
        .map(|member| {
            let own = answered
                .iter()
                .find(|(node, _)| *node == member.name)
                .map(|(_, info)| info);
            NodeRow::new(member, own)
        })
        .collect();
    render(&rows, session.format, io.terminal_width, io.stdout)?;
    complete(failed)
}

/// A member as `node list` shows it.
#[derive(Debug, Serialize)]
struct NodeRow {
    name: String,
    id: u32,
    online: bool,
    /// `None` when its agent did not answer.
    agent_version: Option<String>,
    template_range: Option<Range>,
    address: String,
    resources: Option<Resources>,
}

#[derive(Debug, Serialize)]
struct Range {
    first: u32,
    last: u32,
}

#[derive(Debug, Serialize)]
struct Resources {
    cpus: u32,
    cpu_usage: f64,
    memory_total_bytes: u64,
    memory_used_bytes: u64,
    memory_free_bytes: u64,
}

impl NodeRow {
    fn new(member: &Member, own: Option<&NodeInfo>) -> NodeRow {
        let own_member = own.and_then(|info| info.node.as_ref());
        NodeRow {
            name: member.name.clone(),
            id: member.node_id,
            online: member.online,
            agent_version: own_member.map(|node| node.agent_version.clone()),
            template_range: member.template_range.map(|range| Range {
                first: range.first,
                last: range.last,
            }),
            address: member.agent_address.clone(),
            resources: own
                .and_then(|info| info.resources)
                .map(|resources| Resources {
                    cpus: resources.cpus,
                    cpu_usage: resources.cpu_usage,
                    memory_total_bytes: resources.memory_total_bytes,
                    memory_used_bytes: resources.memory_used_bytes,
                    memory_free_bytes: resources.memory_free_bytes,
                }),
        }
    }
}

impl Tabular for NodeRow {
    const KIND: &'static str = "node";
    const COLUMNS: &'static [Column] = &[
        Column::always("NAME"),
        Column::always("ID"),
        Column::always("ONLINE"),
        Column::always("AGENT"),
        Column::always("TEMPLATES"),
        Column::always("ADDRESS"),
        Column::wide("CPUS"),
        Column::wide("CPU"),
        Column::wide("MEMORY"),
        Column::wide("FREE"),
    ];

    fn cells(&self) -> Vec<String> {
        let resources = self.resources.as_ref();
        vec![
            self.name.clone(),
            self.id.to_string(),
            if self.online { "yes" } else { "no" }.to_owned(),
            self.agent_version
                .as_deref()
                .map_or_else(|| "unreachable".to_owned(), view::or_dash),
            self.template_range
                .as_ref()
                .map_or_else(|| "-".to_owned(), |r| format!("{}-{}", r.first, r.last)),
            view::or_dash(&self.address),
            resources.map_or_else(|| "-".to_owned(), |r| r.cpus.to_string()),
            resources.map_or_else(
                || "-".to_owned(),
                |r| format!("{:.0}%", r.cpu_usage * 100.0),
            ),
            resources.map_or_else(
                || "-".to_owned(),
                |r| {
                    format!(
                        "{} / {}",
                        view::bytes(r.memory_used_bytes),
                        view::bytes(r.memory_total_bytes)
                    )
                },
            ),
            resources.map_or_else(|| "-".to_owned(), |r| view::bytes(r.memory_free_bytes)),
        ]
    }

    fn name(&self) -> String {
        self.name.clone()
    }
}
