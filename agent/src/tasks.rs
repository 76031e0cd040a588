//! This node's PVE tasks for `pvectl task`: `ListTasks` (running and
//! finished, from the task directory in pmxcfs mode or `GET
//! /nodes/{node}/tasks` in API-only mode, each tagged with the pvectl
//! operation that started it), `StreamTaskLog` (the log file as it grows,
//! through the watcher) and `StopTask` (PVE's DELETE of the task; by
//! operation id it also cancels the operation). A task is named by its UPID
//! (another node's answers WRONG_NODE) or by an operation of this agent.

mod api;
mod local;
pub mod records;
mod stream;
#[cfg(test)]
mod tests;

use std::collections::HashMap;
use std::sync::Arc;

use pvectl_proto::Upid;
use pvectl_proto::v1::{
    ListTasksRequest, ListTasksResponse, StopTaskRequest, StopTaskResponse, TaskRef, task_ref,
};

use crate::cluster::Source;
use crate::context::{AgentCtx, Ctx};
use crate::error::AgentError;
use crate::operations::Operation;
use records::{Filter, TaskRecord, to_proto};

pub use local::{TaskDir, TaskDirError};
pub use stream::stream_log;

/// `ListTasks`: this node's tasks, newest first.
pub async fn list(ctx: &Ctx, request: &ListTasksRequest) -> Result<ListTasksResponse, AgentError> {
    let filter = Filter::new(request);
    let records = match &ctx.source {
        Source::Pmxcfs(_) => {
            let dir = TaskDir::new(&ctx.config.task_log_root);
            let archive = filter.wants_finished();
            blocking(move || dir.records(archive)).await?
        }
        Source::ApiOnly => api::records(&ctx.pve, &ctx.node, &filter).await?,
    };
    let owners = operation_owners(ctx);
    let tasks = records.iter().map(|record| {
        let owner = owners.get(record.upid.as_str());
        to_proto(record, owner.map_or("", String::as_str))
    });
    Ok(ListTasksResponse {
        tasks: filter.select(tasks),
    })
}

/// `StopTask`: DELETE of a running task; by operation id, the operation is
/// cancelled too (it starts nothing more) and its current task stopped.
pub async fn stop(ctx: &Ctx, request: &StopTaskRequest) -> Result<StopTaskResponse, AgentError> {
    match resolve(ctx, request.task.as_ref()).await? {
        Named::Task(upid) => {
            let record = find(ctx, &upid)
                .await?
                .ok_or_else(|| unknown_task(ctx, &upid))?;
            let was_running = record.end.is_none();
            if was_running {
                stop_task(ctx, &upid).await?;
            }
            Ok(StopTaskResponse {
                upid: upid.to_string(),
                was_running,
            })
        }
        Named::Operation(op) => {
            let was_running = !op.is_finished();
            op.cancel();
            let upid = op.upid();
            if let Ok(task) = upid.parse::<Upid>()
                && find(ctx, &task).await?.is_some_and(|r| r.end.is_none())
            {
                stop_task(ctx, &task).await?;
            }
            Ok(StopTaskResponse { upid, was_running })
        }
    }
}

/// What a `TaskRef` names on this node.
enum Named {
    Task(Upid),
    Operation(Arc<Operation>),
}

/// The task or operation `task` names: a malformed UPID is INVALID_ARGUMENT,
/// another node's WRONG_NODE, an operation this agent does not know NOT_FOUND.
async fn resolve(ctx: &Ctx, task: Option<&TaskRef>) -> Result<Named, AgentError> {
    match task.and_then(|task| task.by.as_ref()) {
        None => Err(AgentError::invalid(
            "name the task: a UPID or a pvectl operation id",
        )),
        Some(task_ref::By::Upid(text)) => {
            let upid: Upid = text
                .parse()
                .map_err(|e: pvectl_proto::UpidError| AgentError::invalid(e.to_string()))?;
            if upid.node != ctx.node {
                let view = ctx.cluster().await?;
                return Err(ctx.wrong_node(&view, &upid.node, &format!("task {upid}")));
            }
            Ok(Named::Task(upid))
        }
        Some(task_ref::By::OperationId(id)) => {
            ctx.operations.get(id).map(Named::Operation).ok_or_else(|| {
                AgentError::not_found(format!("operation '{id}' is not known to this agent"))
            })
        }
    }
}

/// One task of this node as it stands; `None` when the node has no such task.
async fn find(ctx: &AgentCtx, upid: &Upid) -> Result<Option<TaskRecord>, AgentError> {
    match &ctx.source {
        Source::Pmxcfs(_) => {
            let dir = TaskDir::new(&ctx.config.task_log_root);
            let upid = upid.clone();
            blocking(move || dir.find(&upid)).await
        }
        Source::ApiOnly => api::find(&ctx.pve, upid).await,
    }
}

fn unknown_task(ctx: &AgentCtx, upid: &Upid) -> AgentError {
    AgentError::not_found(format!("node '{}' has no task {upid}", ctx.node))
}

async fn stop_task(ctx: &AgentCtx, upid: &Upid) -> Result<(), AgentError> {
    ctx.pve
        .stop_task(&ctx.node, upid.as_str())
        .await
        .map_err(|e| AgentError::pve(&format!("stopping task {upid}"), &e))
}

/// UPID → id of the operation that started the task, for every operation
/// the registry holds (those since the agent started, and resumed ones).
fn operation_owners(ctx: &AgentCtx) -> HashMap<String, String> {
    ctx.operations
        .list(false)
        .iter()
        .flat_map(|op| {
            op.upids()
                .into_iter()
                .map(|upid| (upid, op.id().to_string()))
        })
        .collect()
}

/// Reads the task directory on a blocking thread.
async fn blocking<T: Send + 'static>(
    read: impl FnOnce() -> Result<T, TaskDirError> + Send + 'static,
) -> Result<T, AgentError> {
    tokio::task::spawn_blocking(read)
        .await
        .map_err(|e| AgentError::internal(format!("the task directory reader failed: {e}")))?
        .map_err(|e| AgentError::internal(e.to_string()))
}
