//! `pvectl task watch OPID`: re-attach to an operation on the node its id
//! names, else on whichever agent lists it.

use pvectl_proto::v1::{ListOperationsRequest, WatchOperationRequest};

use super::Io;
use super::operation::{follow, print_finished};
use super::remote::{Session, answers};
use crate::Error;
use crate::cli::{GlobalArgs, TaskCommand};
use crate::cluster::routing::operation_node;
use crate::cluster::{Cluster, Target};
use crate::error::CommandError;
use crate::remote::RemoteError;

pub(super) fn run(command: TaskCommand, global: &GlobalArgs, io: &mut Io<'_>) -> Result<(), Error> {
    let session = Session::open(global, io)?;
    match command {
        TaskCommand::Watch { operation_id } => session.block_on(watch(&session, operation_id, io)),
    }
}

async fn watch(session: &Session, operation_id: String, io: &mut Io<'_>) -> Result<(), Error> {
    let cluster = session.discover().await?;
    let named = operation_node(&operation_id, cluster.members()).map(|m| m.name.clone());
    if let Some(node) = named {
        match attach(&cluster, cluster.target(&node)?, &operation_id).await {
            Ok(mut stream) => return finish(session, &node, &mut stream, io).await,
            Err(error) if is_absent_or_unreachable(&error) => {}
            Err(error) => return Err(error.into()),
        }
    }
    let node = owner_by_listing(&cluster, &operation_id, io).await?;
    let mut stream = attach(&cluster, cluster.target(&node)?, &operation_id).await?;
    finish(session, &node, &mut stream, io).await
}

async fn attach(
    cluster: &Cluster,
    target: Target,
    operation_id: &str,
) -> Result<tonic::Streaming<pvectl_proto::v1::CreateEvent>, RemoteError> {
    let request = WatchOperationRequest {
        operation_id: operation_id.to_owned(),
        from_start: true,
    };
    cluster
        .call_at(&target, "WatchOperation", |mut agent| async move {
            agent.watch_operation(request).await
        })
        .await
}

async fn finish(
    session: &Session,
    node: &str,
    stream: &mut tonic::Streaming<pvectl_proto::v1::CreateEvent>,
    io: &mut Io<'_>,
) -> Result<(), Error> {
    let finished = follow(node, None, stream, None, io).await?;
    print_finished(finished, session.format, io)
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
