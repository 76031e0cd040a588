//! `PromoteTemplate`: a guest becomes a template in a node's range (DESIGN
//! `template promote ID --node N`). The source's own agent runs it: full
//! clone to the lowest free VMID of N's range (PVE's clone `target` moves
//! it to N when N is another node, which PVE allows only with every volume
//! on shared storage), then `POST …/template` on N, followed to its task's
//! end and verified. The source stays untouched. Refused up front: a source
//! that is a container, already a template in N's range, locked, running,
//! without a boot disk or without room; N's range full.

mod request;

use std::sync::Arc;

use pvectl_proto::routing;
use pvectl_proto::v1::{CreatePhase, CreateResult, ErrorKind, FindingCode, PromoteTemplateRequest};

use super::allocate::{self, IdPool};
use super::clone::{self, ClonePlan};
use super::failure::{self, TaskReport};
use super::finish;
use super::queue::wait_for_slots;
use super::{Flow, Run, launch, refuse};
use crate::authz::Caller;
use crate::context::{AgentCtx, Ctx};
use crate::error::AgentError;
use crate::guests::{self, read_config};
use crate::operations::Operation;
use crate::pmxcfs::GuestKind;
use crate::pve_api::TaskExit;
use crate::task_wait::{TaskWaiter, WaitEvent};
use crate::templates::{self, StorageFacts, TemplateInfo, refusal};

pub use request::PromoteRecord;

/// Checks the request, routes it to the source's node (WRONG_NODE
/// otherwise), refuses what can be refused without any change, and starts
/// the operation.
pub async fn start(
    ctx: &Ctx,
    caller: &Caller,
    request: PromoteTemplateRequest,
) -> Result<Arc<Operation>, AgentError> {
    let name = request.source_vmid.to_string();
    let checked = request::check(request, &ctx.node);
    let mut record = match checked {
        Ok(record) => record,
        Err(err) => return Err(refuse::<PromoteRecord>(ctx, caller, &name, err).await),
    };
    match routed(ctx, &mut record).await {
        Ok(()) => launch(ctx, caller, record).await,
        Err(err) if err.kind() == ErrorKind::WrongNode => Err(err),
        Err(err) => Err(refuse::<PromoteRecord>(ctx, caller, &name, err).await),
    }
}

/// Where the source lives and what it is, and N's range: fills in the name.
async fn routed(ctx: &AgentCtx, record: &mut PromoteRecord) -> Result<(), AgentError> {
    let source = record.source_vmid;
    let located = guests::locate_here(ctx, source).await?;
    if located.kind != GuestKind::Qemu {
        return Err(AgentError::invalid(format!(
            "guest {source} is a container: pvectl promotes VMs into template ranges"
        )));
    }
    let range = target_range(ctx, record).await?;
    let source_info = read_source(ctx, source).await?;
    if source_info.is_template()
        && routing::Vmid::new(source).is_ok_and(|vmid| range.contains(vmid))
    {
        return Err(AgentError::refused(format!(
            "template {source} already lies in node {}'s template range {range}: nothing to promote",
            record.node
        )));
    }
    if record.name.is_empty() {
        record.name = match source_info.name() {
            "" => format!("template-{source}"),
            name => name.to_string(),
        };
    }
    Ok(())
}

/// N's template range.
async fn target_range(
    ctx: &AgentCtx,
    record: &PromoteRecord,
) -> Result<routing::TemplateRange, AgentError> {
    let view = ctx.cluster().await?;
    let member = view.member(&record.node).ok_or_else(|| {
        AgentError::not_found(format!(
            "node '{}' is not a member of the cluster",
            record.node
        ))
    })?;
    routing::template_range(member.id).map_err(|e| AgentError::invalid(e.to_string()))
}

/// The source's config as a clone source.
async fn read_source(ctx: &AgentCtx, vmid: u32) -> Result<TemplateInfo, AgentError> {
    let parsed = read_config(ctx, &ctx.node, GuestKind::Qemu, vmid)
        .await?
        .ok_or_else(|| AgentError::not_found(format!("guest {vmid} does not exist")))?;
    Ok(TemplateInfo {
        vmid,
        node: ctx.node.clone(),
        config: parsed.config,
        digest: parsed.digest,
        in_node_range: false,
    })
}

impl Flow for PromoteRecord {
    async fn execute(run: &mut Run<Self>) -> Result<CreateResult, AgentError> {
        let ctx = run.ctx.clone();
        let node = run.record.node.clone();
        let source = read_source(&ctx, run.record.source_vmid).await?;
        let plan = ClonePlan {
            source: &source,
            name: run.record.name.clone(),
            linked: false,
            storage: run.record.storage.clone(),
            target: (node != ctx.node).then(|| node.clone()),
        };
        // held until the end: the VMID stays this operation's while it works
        let _reservation;
        let vmid = match (&run.progress.upid, run.progress.vmid) {
            (Some(upid), Some(vmid)) => {
                let upid = upid.clone();
                if run.progress.template_upid.is_none() {
                    clone::resume(run, &plan, vmid, &upid).await?;
                }
                vmid
            }
            _ => {
                let reservation = prepare_and_clone(run, &plan).await?;
                let vmid = reservation.vmid();
                _reservation = reservation;
                vmid
            }
        };
        convert(run, &node, vmid).await?;
        finish::result(run, &node, vmid).await
    }

    fn done_message(result: &CreateResult) -> String {
        format!(
            "template {} '{}' promoted into node {}'s range",
            result.vmid, result.name, result.node
        )
    }
}

/// Validates the source, queues, allocates in N's range and clones.
async fn prepare_and_clone(
    run: &mut Run<PromoteRecord>,
    plan: &ClonePlan<'_>,
) -> Result<allocate::Reservation, AgentError> {
    let ctx = run.ctx.clone();
    let source = plan.source;
    run.op.emit(
        CreatePhase::Validating,
        None,
        format!("checking VM {} on {}", source.vmid, ctx.node),
    );
    refuse_source(&ctx, source, plan).await?;
    let range = target_range(&ctx, &run.record).await?;
    let pool = IdPool::Range {
        node: run.record.node.clone(),
        range,
    };
    let _permits = wait_for_slots(run, &plan.target_storages(), "clone").await?;
    let reservation = allocate::first(run, &pool).await?;
    clone::clone_with_retries(run, plan, reservation, &pool).await
}

/// What PVE would refuse, and what would make a useless template: a lock,
/// a running source, no boot disk, missing volumes, no room, local storage
/// for a clone to another node.
async fn refuse_source(
    ctx: &AgentCtx,
    source: &TemplateInfo,
    plan: &ClonePlan<'_>,
) -> Result<(), AgentError> {
    let vmid = source.vmid;
    if let Some(lock) = source.config.lock() {
        return Err(
            AgentError::refused(format!("VM {vmid} is locked ({lock})")).with_hint(format!(
                "wait for the {lock} to finish; if the lock is stale, run `qm unlock {vmid}`"
            )),
        );
    }
    let status = ctx
        .pve
        .status_current(&ctx.node, GuestKind::Qemu, vmid)
        .await
        .map_err(|e| AgentError::pve(&format!("reading the status of VM {vmid}"), &e))?;
    if status.status == "running" {
        return Err(AgentError::refused(format!(
            "VM {vmid} is running: a template is made from a stopped VM"
        ))
        .with_hint(format!("shut it down first (`pvectl vm shutdown {vmid}`)")));
    }
    let facts = StorageFacts::gather(ctx, source).await?;
    let findings: Vec<_> =
        templates::validate::findings(source, &facts, plan.storage.as_deref(), false, &ctx.node)
            .into_iter()
            .filter(|f| {
                !matches!(
                    f.code,
                    FindingCode::NotATemplate | FindingCode::OutsideNodeRange
                )
            })
            .collect();
    if let Some(err) = refusal(&findings) {
        return Err(err);
    }
    if let Some(target) = &plan.target {
        request::check_shared(source, &facts, plan.storage.as_deref(), target)?;
    }
    Ok(())
}

/// `POST …/template` on `node`, followed to its end, then verified.
async fn convert(run: &mut Run<PromoteRecord>, node: &str, vmid: u32) -> Result<(), AgentError> {
    let ctx = run.ctx.clone();
    let hint = format!(
        "VM {vmid} was cloned but is no template: run `qm template {vmid}` on {node}, or delete it"
    );
    let upid = match run.progress.template_upid.clone() {
        Some(upid) => Some(upid),
        None => {
            run.op.emit(
                CreatePhase::Configuring,
                None,
                format!("converting VM {vmid} on {node} to a template"),
            );
            let upid = ctx
                .pve
                .make_template(node, GuestKind::Qemu, vmid)
                .await
                .map_err(|e| {
                    AgentError::pve(&format!("converting VM {vmid} to a template"), &e)
                        .with_hint(hint.clone())
                })?;
            run.progress.template_upid.clone_from(&upid);
            run.mark("convert").await;
            upid
        }
    };
    if let Some(upid) = upid {
        run.op.set_upid(&upid);
        wait_conversion(run, node, vmid, &upid, &hint).await?;
    }
    let parsed = read_config(&ctx, node, GuestKind::Qemu, vmid).await?;
    match parsed {
        Some(parsed) if parsed.config.is_template().unwrap_or(false) => Ok(()),
        _ => Err(AgentError::new(
            ErrorKind::PveApiError,
            format!("the conversion of VM {vmid} ended OK but it is no template"),
        )
        .with_hint(hint)),
    }
}

async fn wait_conversion(
    run: &mut Run<PromoteRecord>,
    node: &str,
    vmid: u32,
    upid: &str,
    hint: &str,
) -> Result<(), AgentError> {
    let ctx = run.ctx.clone();
    let mut waiter = TaskWaiter::start(&ctx, node, upid, None, run.deadline);
    let what = format!("conversion of VM {vmid} to a template");
    loop {
        match waiter.next().await {
            WaitEvent::Line(line) => run.op.emit(CreatePhase::Configuring, None, line),
            WaitEvent::GuestChanged => {}
            WaitEvent::Ended(TaskExit::Failed(message)) => {
                let mut err =
                    AgentError::new(ErrorKind::PveApiError, format!("{what} failed: {message}"))
                        .with_hint(hint);
                let task = TaskReport::of(&waiter);
                err.detail.pve_message = message;
                err.detail.task_log_tail = task.tail;
                err.detail.upid = task.upid;
                return Err(err);
            }
            WaitEvent::Ended(_) => return Ok(()),
            WaitEvent::TimedOut => {
                let task = TaskReport::of(&waiter);
                let mut err = failure::step_timed_out(run.timeout, &what).with_hint(hint);
                err.detail.upid = task.upid;
                err.detail.task_log_tail = task.tail;
                return Err(err);
            }
        }
    }
}

#[cfg(test)]
mod tests;
