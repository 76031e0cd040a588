//! `StreamTaskLog`: a task's log in chunks of lines. Without `follow` (or
//! for a task that has ended) it is what the log holds now; with `follow`
//! the lines come as PVE writes them, through the task waiter — the log file
//! followed by the watcher in pmxcfs mode, the API's log polled with backoff
//! in API-only mode — and the last chunk carries the task's final state.

use std::sync::Arc;
use std::time::Duration;

use futures::{FutureExt, StreamExt};
use pvectl_proto::Upid;
use pvectl_proto::v1::{StreamTaskLogRequest, Task, TaskLogChunk, TaskLogLine};
use tokio::sync::mpsc::Sender;
use tokio::time::Instant;
use tonic::Status;
use tonic::codegen::BoxStream;

use super::records::{Ended, TaskRecord, to_proto};
use super::{Named, TaskDir, blocking, find, operation_owners, resolve, unknown_task};
use crate::cluster::Source;
use crate::context::{AgentCtx, Ctx};
use crate::error::AgentError;
use crate::operations::Operation;
use crate::pve_api::TaskExit;
use crate::service::async_stream_follow;
use crate::task_wait::{TaskWaiter, WaitEvent};
use crate::watch::TaskEnd;

/// Lines per chunk at most.
const CHUNK_LINES: usize = 256;

/// How long a follower stays with one task before it gives up.
const FOLLOW_LIMIT: Duration = Duration::from_secs(30 * 24 * 3600);

/// Opens the stream; an unknown task or operation fails here, before any
/// chunk.
pub async fn stream_log(
    ctx: &Ctx,
    request: StreamTaskLogRequest,
) -> Result<BoxStream<TaskLogChunk>, AgentError> {
    let upid = match resolve(ctx, request.task.as_ref()).await? {
        Named::Task(upid) => upid,
        Named::Operation(op) => operation_task(&op, request.follow).await?,
    };
    let record = find(ctx, &upid)
        .await?
        .ok_or_else(|| unknown_task(ctx, &upid))?;
    let start = request.start_line;
    if request.follow && record.end.is_none() {
        let ctx = Arc::clone(ctx);
        return Ok(async_stream_follow(move |tx| async move {
            follow(&ctx, &upid, start, &tx).await;
        }));
    }
    let lines = current_lines(ctx, &upid, start).await?;
    let task = record.end.is_some().then(|| task_of(ctx, &record));
    Ok(Box::pin(futures::stream::iter(
        chunks(lines, task).into_iter().map(Ok),
    )))
}

/// The PVE task an operation runs now; with `wait`, an operation that has
/// not started one yet is waited for until it does or ends.
async fn operation_task(op: &Arc<Operation>, wait: bool) -> Result<Upid, AgentError> {
    let events = op.watch(false);
    futures::pin_mut!(events);
    loop {
        let upid = op.upid();
        if !upid.is_empty() {
            return upid.parse().map_err(|e: pvectl_proto::UpidError| {
                AgentError::internal(format!("operation {}: {e}", op.id()))
            });
        }
        if !wait || events.next().await.is_none() && op.upid().is_empty() {
            return Err(AgentError::not_found(format!(
                "operation '{}' has not started a PVE task{}",
                op.id(),
                if op.is_finished() { "" } else { " yet" }
            )));
        }
    }
}

/// The log's lines from `start` (0-based) as the node has them now.
async fn current_lines(
    ctx: &AgentCtx,
    upid: &Upid,
    start: u32,
) -> Result<Vec<TaskLogLine>, AgentError> {
    let numbered: Vec<(u32, String)> = match &ctx.source {
        Source::Pmxcfs(_) => {
            let dir = TaskDir::new(&ctx.config.task_log_root);
            let upid = upid.clone();
            let lines = blocking(move || dir.read_log(&upid)).await?;
            (1..).zip(lines).collect()
        }
        Source::ApiOnly => {
            let log = ctx
                .pve
                .task_log(&ctx.node, upid.as_str(), u64::from(start), 0)
                .await
                .map_err(|e| AgentError::pve("reading the task log", &e))?;
            let empty = start == 0
                && log.total <= 1
                && log.lines.first().is_some_and(|l| l.t == "no content");
            if empty {
                Vec::new()
            } else {
                log.lines
                    .into_iter()
                    .map(|l| (u32::try_from(l.n).unwrap_or(u32::MAX), l.t))
                    .collect()
            }
        }
    };
    Ok(numbered
        .into_iter()
        .filter(|(n, _)| *n > start)
        .map(|(n, text)| TaskLogLine { n, text })
        .collect())
}

/// `lines` in chunks; the last one (an empty one if there are no lines)
/// carries `task`.
fn chunks(lines: Vec<TaskLogLine>, task: Option<Task>) -> Vec<TaskLogChunk> {
    let mut chunks: Vec<TaskLogChunk> = lines
        .chunks(CHUNK_LINES)
        .map(|lines| TaskLogChunk {
            lines: lines.to_vec(),
            task: None,
        })
        .collect();
    if let Some(task) = task {
        match chunks.last_mut() {
            Some(last) => last.task = Some(task),
            None => chunks.push(TaskLogChunk {
                lines: Vec::new(),
                task: Some(task),
            }),
        }
    }
    chunks
}

fn task_of(ctx: &AgentCtx, record: &TaskRecord) -> Task {
    let owners = operation_owners(ctx);
    let owner = owners.get(record.upid.as_str());
    to_proto(record, owner.map_or("", String::as_str))
}

/// Sends the log's lines as they are written until the task ends, then its
/// final state; stops when the client goes away.
async fn follow(ctx: &Ctx, upid: &Upid, start: u32, tx: &Sender<Result<TaskLogChunk, Status>>) {
    let deadline = Instant::now() + FOLLOW_LIMIT;
    let mut waiter = TaskWaiter::start(ctx, &ctx.node, upid.as_str(), None, deadline);
    let mut seen: u32 = 0;
    loop {
        let mut events = vec![waiter.next().await];
        while events.len() < CHUNK_LINES && !events.last().is_some_and(ends) {
            match waiter.next().now_or_never() {
                Some(event) => events.push(event),
                None => break,
            }
        }
        let mut chunk = TaskLogChunk::default();
        let mut keep = |text: String, chunk: &mut TaskLogChunk| {
            seen += 1;
            if seen > start {
                chunk.lines.push(TaskLogLine { n: seen, text });
            }
        };
        for event in events {
            match event {
                WaitEvent::Line(text) => keep(text, &mut chunk),
                WaitEvent::GuestChanged => {}
                WaitEvent::Ended(exit) => {
                    let tail = waiter.tail();
                    let final_line = tail.last().filter(|l| TaskEnd::from_line(l).is_some());
                    if let Some(line) = final_line {
                        keep(line.clone(), &mut chunk);
                    }
                    chunk.task = Some(final_task(ctx, upid, &exit).await);
                }
                WaitEvent::TimedOut => {
                    let error = AgentError::timeout(format!(
                        "task {upid} is still running after {} days; stopped following it",
                        FOLLOW_LIMIT.as_secs() / 86_400
                    ));
                    let _ = tx.send(Err(error.into())).await;
                    return;
                }
            }
        }
        let last = chunk.task.is_some();
        if (!chunk.lines.is_empty() || last) && tx.send(Ok(chunk)).await.is_err() {
            return;
        }
        if last {
            return;
        }
    }
}

fn ends(event: &WaitEvent) -> bool {
    matches!(event, WaitEvent::Ended(_) | WaitEvent::TimedOut)
}

/// The task as it ended: as the node lists it, or, while the node has not
/// recorded the end yet, as the waiter saw it end.
async fn final_task(ctx: &AgentCtx, upid: &Upid, exit: &TaskExit) -> Task {
    let listed = find(ctx, upid).await.ok().flatten();
    let record = match listed {
        Some(record) if record.end.is_some() => record,
        _ => TaskRecord {
            upid: upid.clone(),
            end: Some(Ended::from_exit(exit, super::api::now_unix_ms())),
        },
    };
    task_of(ctx, &record)
}
