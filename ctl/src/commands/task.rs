//! `pvectl task list | watch | logs | stop`: PVE tasks of every node and the
//! operations the agents run. A UPID names its node; an operation id names
//! its node in its prefix, else whichever agent lists it is asked.

mod list;
mod logs;
mod stop;
mod views;

use std::future::Future;

use pvectl_proto::v1::agent_client::AgentClient;
use pvectl_proto::v1::{ListOperationsRequest, WatchOperationRequest};
use tonic::transport::Channel;

use super::Io;
use super::operation::{follow, print_finished};
use super::remote::{Session, answers};
use crate::Error;
use crate::cli::{GlobalArgs, TaskCommand};
use crate::cluster::Cluster;
use crate::cluster::routing::{TaskId, operation_node};
use crate::error::CommandError;
use crate::remote::RemoteError;

pub(super) fn run(command: TaskCommand, global: &GlobalArgs, io: &mut Io<'_>) -> Result<(), Error> {
    let session = Session::open(global, io)?;
    match command {
        TaskCommand::List(args) => session.block_on(list::list(&session, args, io)),
        TaskCommand::Watch { task } => session.block_on(watch(&session, task, io)),
        TaskCommand::Logs { task, follow } => {
            session.block_on(logs::logs(&session, &task, follow, io))
        }
        TaskCommand::Stop { task } => session.block_on(stop::stop(&session, &task, io)),
    }
}

/// An operation's events to its end; a UPID's log to its end.
async fn watch(session: &Session, task: TaskId, io: &mut Io<'_>) -> Result<(), Error> {
    let TaskId::Operation(operation_id) = &task else {
        return logs::logs(session, &task, true, io).await;
    };
    let cluster = session.discover().await?;
    let request = WatchOperationRequest {
        operation_id: operation_id.clone(),
        from_start: true,
    };
    let (node, mut stream) = on_task_node(&cluster, &task, "WatchOperation", io, |mut agent| {
        let request = request.clone();
        async move { agent.watch_operation(request).await }
    })
    .await?;
    let finished = follow(&node, None, &mut stream, None, io).await?;
    print_finished(finished, session.format, io)
}

/// Runs `call` (named `name` in errors) on the agent of the node `task` is
/// on: a UPID's node (following a WRONG_NODE hint once); an operation id's
/// node by its prefix, else the node whose agent lists the operation.
async fn on_task_node<T, F, Fut>(
    cluster: &Cluster,
    task: &TaskId,
    name: &'static str,
    io: &mut Io<'_>,
    call: F,
) -> Result<(String, T), Error>
where
    F: Fn(AgentClient<Channel>) -> Fut,
    Fut: Future<Output = Result<tonic::Response<T>, tonic::Status>>,
{
    let operation_id = match task {
        TaskId::Upid(upid) => {
            let target = cluster.target(&upid.node)?;
            let (answered, value) = cluster.call(target, name, &call).await?;
            return Ok((answered.node, value));
        }
        TaskId::Operation(id) => id,
    };
    let named = operation_node(operation_id, cluster.members()).map(|m| m.name.clone());
    if let Some(node) = named {
        match cluster.call_at(&cluster.target(&node)?, name, &call).await {
            Ok(value) => return Ok((node, value)),
            Err(error) if is_absent_or_unreachable(&error) => {}
            Err(error) => return Err(error.into()),
        }
    }
    let node = owner_by_listing(cluster, operation_id, io).await?;
    let value = cluster
        .call_at(&cluster.target(&node)?, name, &call)
        .await?;
    Ok((node, value))
}

/// Whether asking every agent might still find the operation.
fn is_absent_or_unreachable(error: &RemoteError) -> bool {
    match error {
        RemoteError::Connect { .. } | RemoteError::Timeout { .. } => true,
        RemoteError::Rpc { code, .. } => *code == tonic::Code::NotFound,
        _ => false,
    }
}

/// The node whose agent lists the operation.
async fn owner_by_listing(
    cluster: &Cluster,
    operation_id: &str,
    io: &mut Io<'_>,
) -> Result<String, Error> {
    let results = cluster
        .fan_out(
            &cluster.member_names(),
            "ListOperations",
            |target, mut agent| async move {
                agent
                    .list_operations(ListOperationsRequest { active_only: false })
                    .await
                    .map(|response| response.into_inner().operations)
                    .map_err(|status| {
                        RemoteError::from_status(&target.node, "ListOperations", &status)
                    })
            },
        )
        .await;
    let (answered, unreachable) = answers(results, io)?;
    answered
        .into_iter()
        .find(|(_, operations)| {
            operations
                .iter()
                .any(|operation| operation.operation_id == operation_id)
        })
        .map(|(node, _)| node)
        .ok_or_else(|| {
            CommandError::OperationNotFound {
                operation_id: operation_id.to_owned(),
                unreachable,
            }
            .into()
        })
}
