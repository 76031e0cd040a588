//! The `pvectl.v1.Agent` service: each RPC hands over to the module that
//! owns it. RPCs not implemented yet answer UNIMPLEMENTED (generated stubs).
use futures::StreamExt;
use pvectl_proto::v1::agent_server::Agent;
use pvectl_proto::v1::{
    CreateContainerRequest, CreateEvent, CreateVmFromTemplateRequest, CreateVmRequest,
    DeleteGuestsRequest, DeleteGuestsResponse, GetGuestConfigRequest, GetGuestRequest,
    GetJournalHeadRequest, GetNodeInfoRequest, Guest, GuestActionRequest, GuestActionResponse,
    GuestConfig, JournalEntry, JournalHead, ListGuestsRequest, ListGuestsResponse,
    ListOperationsRequest, ListOperationsResponse, ListTasksRequest, ListTasksResponse,
    ListTemplatesRequest, ListTemplatesResponse, NodeInfo, NodeResources, PromoteTemplateRequest,
    ReadJournalRequest, StopTaskRequest, StopTaskResponse, StreamTaskLogRequest, TaskLogChunk,
    UpdateGuestConfigRequest, UpdateGuestConfigResponse, ValidateTemplateRequest,
    ValidateTemplateResponse, WatchOperationRequest,
};
use tonic::codegen::BoxStream;
use tonic::{Request, Response, Status};

use crate::authz::Caller;
use crate::cluster::ClusterView;
use crate::context::Ctx;
use crate::error::AgentError;
use crate::operations::Operation;
use crate::{actions, create, guests, tasks, templates, update};

/// The gRPC service over the agent's context.
#[derive(Clone)]
pub struct AgentService {
    ctx: Ctx,
}

impl AgentService {
    pub fn new(ctx: Ctx) -> Self {
        Self { ctx }
    }
}

#[tonic::async_trait]
impl Agent for AgentService {
    async fn get_node_info(
        &self,
        request: Request<GetNodeInfoRequest>,
    ) -> Result<Response<NodeInfo>, Status> {
        let ctx = &self.ctx;
        let view = ctx.cluster().await?;
        let port = ctx.agent_port();
        let me = view.member(&ctx.node).ok_or_else(|| {
            AgentError::internal(format!("node '{}' is not a cluster member", ctx.node))
        })?;
        let mut node = ClusterView::to_proto(me, port);
        node.agent_version = env!("CARGO_PKG_VERSION").to_string();
        let mut info = NodeInfo {
            node: Some(node),
            cluster_name: view.name.clone(),
            quorate: view.quorate,
            members: view
                .members
                .iter()
                .map(|m| ClusterView::to_proto(m, port))
                .collect(),
            api_only: ctx.source.is_api_only(),
            ..NodeInfo::default()
        };
        if request.into_inner().members_only {
            return Ok(Response::new(info));
        }
        let (status, version) = tokio::join!(ctx.pve.node_status(&ctx.node), ctx.pve.version());
        let status = status.map_err(|e| AgentError::pve("reading the node status", &e))?;
        let version = version.map_err(|e| AgentError::pve("reading the PVE version", &e))?;
        info.pve_version = version.version;
        info.resources = Some(NodeResources {
            cpus: status.cpuinfo.cpus,
            cpu_usage: status.cpu,
            memory_total_bytes: status.memory.total,
            memory_used_bytes: status.memory.used,
            memory_free_bytes: status.memory.free,
        });
        Ok(Response::new(info))
    }

    async fn list_guests(
        &self,
        request: Request<ListGuestsRequest>,
    ) -> Result<Response<ListGuestsResponse>, Status> {
        let request = request.into_inner();
        Ok(Response::new(
            guests::list_guests(&self.ctx, &request).await?,
        ))
    }

    async fn get_guest(
        &self,
        request: Request<GetGuestRequest>,
    ) -> Result<Response<Guest>, Status> {
        let vmid = request.into_inner().vmid;
        Ok(Response::new(guests::get_guest(&self.ctx, vmid).await?))
    }

    async fn get_guest_config(
        &self,
        request: Request<GetGuestConfigRequest>,
    ) -> Result<Response<GuestConfig>, Status> {
        let vmid = request.into_inner().vmid;
        Ok(Response::new(
            guests::get_guest_config(&self.ctx, vmid).await?,
        ))
    }

    async fn update_guest_config(
        &self,
        request: Request<UpdateGuestConfigRequest>,
    ) -> Result<Response<UpdateGuestConfigResponse>, Status> {
        let caller = Caller::of(&request);
        let request = request.into_inner();
        Ok(Response::new(
            update::update_guest_config(&self.ctx, &caller, &request).await?,
        ))
    }

    async fn run_guest_action(
        &self,
        request: Request<GuestActionRequest>,
    ) -> Result<Response<GuestActionResponse>, Status> {
        let caller = Caller::of(&request);
        let request = request.into_inner();
        Ok(Response::new(
            actions::run_guest_action(&self.ctx, &caller.cn, request).await?,
        ))
    }

    async fn delete_guests(
        &self,
        request: Request<DeleteGuestsRequest>,
    ) -> Result<Response<DeleteGuestsResponse>, Status> {
        let caller = Caller::of(&request);
        let request = request.into_inner();
        Ok(Response::new(
            actions::delete_guests(&self.ctx, &caller.cn, request).await?,
        ))
    }

    async fn list_templates(
        &self,
        request: Request<ListTemplatesRequest>,
    ) -> Result<Response<ListTemplatesResponse>, Status> {
        let request = request.into_inner();
        Ok(Response::new(
            templates::list_templates(&self.ctx, &request).await?,
        ))
    }

    async fn validate_template(
        &self,
        request: Request<ValidateTemplateRequest>,
    ) -> Result<Response<ValidateTemplateResponse>, Status> {
        let request = request.into_inner();
        Ok(Response::new(
            templates::validate_template(&self.ctx, &request).await?,
        ))
    }

    async fn create_vm_from_template(
        &self,
        request: Request<CreateVmFromTemplateRequest>,
    ) -> Result<Response<BoxStream<CreateEvent>>, Status> {
        let caller = Caller::of(&request);
        let op = create::start(&self.ctx, &caller, request.into_inner()).await?;
        Ok(Response::new(event_stream(&op, true)))
    }

    async fn create_vm(
        &self,
        request: Request<CreateVmRequest>,
    ) -> Result<Response<BoxStream<CreateEvent>>, Status> {
        let caller = Caller::of(&request);
        let op = create::scratch::start_vm(&self.ctx, &caller, request.into_inner()).await?;
        Ok(Response::new(event_stream(&op, true)))
    }

    async fn create_container(
        &self,
        request: Request<CreateContainerRequest>,
    ) -> Result<Response<BoxStream<CreateEvent>>, Status> {
        let caller = Caller::of(&request);
        let op = create::scratch::start_container(&self.ctx, &caller, request.into_inner()).await?;
        Ok(Response::new(event_stream(&op, true)))
    }

    async fn promote_template(
        &self,
        request: Request<PromoteTemplateRequest>,
    ) -> Result<Response<BoxStream<CreateEvent>>, Status> {
        let caller = Caller::of(&request);
        let op = create::promote::start(&self.ctx, &caller, request.into_inner()).await?;
        Ok(Response::new(event_stream(&op, true)))
    }

    async fn watch_operation(
        &self,
        request: Request<WatchOperationRequest>,
    ) -> Result<Response<BoxStream<CreateEvent>>, Status> {
        let request = request.into_inner();
        let op = self
            .ctx
            .operations
            .get(&request.operation_id)
            .ok_or_else(|| {
                AgentError::not_found(format!(
                    "operation '{}' is not known to this agent",
                    request.operation_id
                ))
            })?;
        Ok(Response::new(event_stream(&op, request.from_start)))
    }

    async fn list_operations(
        &self,
        request: Request<ListOperationsRequest>,
    ) -> Result<Response<ListOperationsResponse>, Status> {
        let active_only = request.into_inner().active_only;
        let operations = self
            .ctx
            .operations
            .list(active_only)
            .iter()
            .map(|op| op.summary())
            .collect();
        Ok(Response::new(ListOperationsResponse { operations }))
    }

    async fn list_tasks(
        &self,
        request: Request<ListTasksRequest>,
    ) -> Result<Response<ListTasksResponse>, Status> {
        let request = request.into_inner();
        Ok(Response::new(tasks::list(&self.ctx, &request).await?))
    }

    async fn stream_task_log(
        &self,
        request: Request<StreamTaskLogRequest>,
    ) -> Result<Response<BoxStream<TaskLogChunk>>, Status> {
        let request = request.into_inner();
        Ok(Response::new(tasks::stream_log(&self.ctx, request).await?))
    }

    async fn stop_task(
        &self,
        request: Request<StopTaskRequest>,
    ) -> Result<Response<StopTaskResponse>, Status> {
        let request = request.into_inner();
        Ok(Response::new(tasks::stop(&self.ctx, &request).await?))
    }

    async fn get_journal_head(
        &self,
        _request: Request<GetJournalHeadRequest>,
    ) -> Result<Response<JournalHead>, Status> {
        let head = self.ctx.journal.head();
        Ok(Response::new(JournalHead {
            node: self.ctx.node.clone(),
            seq: head.seq,
            hash: head.hash,
        }))
    }

    async fn read_journal(
        &self,
        request: Request<ReadJournalRequest>,
    ) -> Result<Response<BoxStream<JournalEntry>>, Status> {
        let req = request.into_inner();
        let limit = if req.limit == 0 {
            usize::MAX
        } else {
            req.limit as usize
        };
        let from = req.from_seq.max(1);
        let records = self
            .ctx
            .journal
            .read(from, limit)
            .map_err(|e| AgentError::internal(format!("reading the journal: {e}")))?;
        let entries: Vec<Result<JournalEntry, Status>> =
            records.iter().map(|r| Ok(r.to_proto())).collect();
        if !req.follow {
            return Ok(Response::new(Box::pin(tokio_stream::iter(entries))));
        }
        let ctx = self.ctx.clone();
        let mut next = records.last().map_or(from, |r| r.entry.seq + 1);
        let mut heads = ctx.journal.subscribe();
        let follow = async_stream_follow(move |tx| async move {
            for entry in entries {
                if tx.send(entry).await.is_err() {
                    return;
                }
            }
            while heads.changed().await.is_ok() {
                let records = match ctx.journal.read(next, usize::MAX) {
                    Ok(records) => records,
                    Err(e) => {
                        let _ = tx
                            .send(Err(AgentError::internal(format!(
                                "reading the journal: {e}"
                            ))
                            .into()))
                            .await;
                        return;
                    }
                };
                for record in records {
                    next = record.entry.seq + 1;
                    if tx.send(Ok(record.to_proto())).await.is_err() {
                        return;
                    }
                }
            }
        });
        Ok(Response::new(follow))
    }
}

/// An operation's events as a gRPC stream; dropping it (the client going
/// away) leaves the operation running.
fn event_stream(op: &std::sync::Arc<Operation>, from_start: bool) -> BoxStream<CreateEvent> {
    Box::pin(op.watch(from_start).map(Ok))
}

/// A stream fed by a spawned producer through a small channel; the producer
/// stops when the client goes away.
pub fn async_stream_follow<T, F, Fut>(producer: F) -> BoxStream<T>
where
    T: Send + 'static,
    F: FnOnce(tokio::sync::mpsc::Sender<Result<T, Status>>) -> Fut,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    let (tx, rx) = tokio::sync::mpsc::channel(64);
    tokio::spawn(producer(tx));
    Box::pin(tokio_stream::wrappers::ReceiverStream::new(rx))
}
