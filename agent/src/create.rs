//! Creating a VM from a template, the headline flow (DESIGN "Create a VM
//! from a template"): every create is an [`Operation`] that runs in its own
//! task through the phases resolve → validate → allocate → queue → clone →
//! wait → configure → start, streams its progress to any number of
//! watchers, and journals its start, key steps and end.

pub mod allocate;
mod clone;
mod failure;
mod finish;
mod progress;
pub mod queue;
pub mod record;
pub mod request;
pub mod resume;

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use pvectl_proto::v1::{CreatePhase, CreateResult, CreateVmFromTemplateRequest, OperationKind};
use tokio::time::Instant;
use tracing::Instrument;

use crate::authz::Caller;
use crate::context::Ctx;
use crate::error::AgentError;
use crate::operations::{Operation, OperationInfo};
use crate::templates::{self, TemplateInfo, refusal};
use record::CreateProgress;
use request::{CreateRecord, TemplateChoice};

pub use clone::is_collision;

/// One running create: what was asked, what is done, and its deadline.
pub struct CreateRun {
    pub ctx: Ctx,
    pub op: Arc<Operation>,
    pub record: CreateRecord,
    pub progress: CreateProgress,
    pub deadline: Instant,
    pub timeout: Duration,
}

impl CreateRun {
    fn new(ctx: &Ctx, op: Arc<Operation>, record: CreateRecord, progress: CreateProgress) -> Self {
        let timeout = record.timeout(ctx.config.timeouts.create);
        CreateRun {
            ctx: ctx.clone(),
            op,
            record,
            progress,
            deadline: Instant::now() + timeout,
            timeout,
        }
    }
}

/// Checks the request, routes it, registers the operation, journals its
/// start and sets it running. Bad input (INVALID_ARGUMENT) and requests for
/// another node (WRONG_NODE) fail here, before there is an operation; every
/// later failure is the operation's final event.
pub async fn start(
    ctx: &Ctx,
    caller: &Caller,
    request: CreateVmFromTemplateRequest,
) -> Result<Arc<Operation>, AgentError> {
    let name = request.name.clone();
    let record = match request::check(request) {
        Ok(record) => record,
        Err(err) => {
            record::refused(ctx, &caller.cn, &name, &err).await;
            return Err(err);
        }
    };
    let view = ctx.cluster().await?;
    templates::check_node(ctx, &view, &record.node)?;
    if let TemplateChoice::Vmid(vmid) = record.template {
        templates::check_template_vmid(ctx, &view, vmid)?;
    }
    let op = ctx.operations.start(OperationInfo {
        kind: OperationKind::CreateFromTemplate,
        actor: caller.cn.clone(),
        name: record.name.clone(),
    });
    if let Err(err) = record::started(ctx, &op, &record).await {
        op.finish_err((*err.detail).clone());
        return Err(err);
    }
    spawn(CreateRun::new(
        ctx,
        Arc::clone(&op),
        record,
        CreateProgress::default(),
    ));
    Ok(op)
}

/// Runs `run` to its end in its own task; the caller only watches.
pub fn spawn(run: CreateRun) {
    let span = tracing::info_span!("create", operation = run.op.id());
    tokio::spawn(run_to_end(run).instrument(span));
}

async fn run_to_end(mut run: CreateRun) {
    let outcome = execute(&mut run).await.map_err(|err| {
        let mut detail = *err.detail;
        if run.op.is_cancelled() && detail.hint.is_empty() {
            detail.hint = "the operation was stopped (pvectl task stop)".to_string();
        }
        detail
    });
    let target = record::target(&run.record, &run.progress);
    record::finished(&run.ctx, &run.op, target, &outcome).await;
    match outcome {
        Ok(result) => {
            let started = if result.started { " and started" } else { "" };
            let message = format!(
                "VM {} '{}' created on {}{started}",
                result.vmid, result.name, result.node
            );
            run.op.finish_ok(result, message);
        }
        Err(detail) => run.op.finish_err(detail),
    }
}

async fn execute(run: &mut CreateRun) -> Result<CreateResult, AgentError> {
    // held until the end: the VMID stays this operation's while it works
    let _reservation;
    let vmid = match (&run.progress.upid, run.progress.vmid) {
        (Some(upid), Some(vmid)) => {
            let upid = upid.clone();
            if run.progress.start_upid.is_none() {
                let template = resumed_template(run).await?;
                clone::resume(run, &template, vmid, &upid).await?;
            }
            vmid
        }
        _ => {
            let reservation = prepare_and_clone(run).await?;
            let vmid = reservation.vmid();
            _reservation = reservation;
            vmid
        }
    };
    finish::configure(run, vmid).await?;
    if run.record.start {
        finish::start(run, vmid).await?;
    }
    finish::result(run, vmid).await
}

/// Steps 1–5 of a fresh create.
async fn prepare_and_clone(run: &mut CreateRun) -> Result<allocate::Reservation, AgentError> {
    let ctx = run.ctx.clone();
    run.op.emit(
        CreatePhase::Resolving,
        None,
        format!("resolving {} on {}", run.record.template, ctx.node),
    );
    let view = ctx.cluster().await?;
    let template = templates::resolve(&ctx, &view, &run.record.template.to_proto()).await?;
    run.progress.template = Some(template.vmid);

    run.op.emit(
        CreatePhase::Validating,
        None,
        format!(
            "validating template {} ({})",
            template.vmid,
            template.name()
        ),
    );
    let findings = templates::validate::check(
        &ctx,
        &template,
        run.record.storage.as_deref(),
        run.record.linked,
    )
    .await?;
    if let Some(err) = refusal(&findings) {
        return Err(err);
    }
    for warning in &findings {
        run.op.emit(
            CreatePhase::Validating,
            None,
            format!("warning: {}: {}", warning.cause, warning.fix),
        );
    }

    // the clone slot first, the VMID after: an id is not held (and lost to
    // other nodes' creates) while this create waits in the queue
    let storages = target_storages(&template, &run.record);
    let per_storage = ctx.clone_queue.per_storage();
    let op = Arc::clone(&run.op);
    let queued = ctx.clone_queue.acquire(&storages, |storage| {
        op.emit(
            CreatePhase::Queued,
            None,
            format!(
                "waiting for a clone slot on storage '{storage}' ({per_storage} clones at once)"
            ),
        );
    });
    let _permits = tokio::select! {
        permits = tokio::time::timeout_at(run.deadline, queued) => permits
            .map_err(|_| failure::step_timed_out(run.timeout, "waiting for a clone slot"))?,
        () = run.op.cancelled() => return Err(stopped("waiting for a clone slot")),
    };
    run.op
        .emit(CreatePhase::Allocating, None, "allocating a VMID");
    let reservation = allocate::allocate(&ctx, run.record.vmid, &BTreeSet::new()).await?;
    let vmid = reservation.vmid();
    run.progress.vmid = Some(vmid);
    run.op.set_vmid(vmid);
    run.op.emit(
        CreatePhase::Allocating,
        None,
        format!("allocated VMID {vmid}"),
    );
    record::progress(&ctx, &run.op, "vmid", &run.record, &run.progress).await;

    clone::clone_with_retries(run, &template, reservation).await
}

/// The error of an operation stopped by `pvectl task stop` before it
/// changed anything; `while_doing` says where it was.
pub fn stopped(while_doing: &str) -> AgentError {
    AgentError::conflict(format!(
        "the create was stopped while {while_doing}; nothing was created"
    ))
}

/// The storages a clone writes to: the requested one, or each copied
/// disk's own.
fn target_storages(template: &TemplateInfo, record: &CreateRecord) -> BTreeSet<String> {
    match &record.storage {
        Some(storage) => [storage.clone()].into(),
        None => templates::validate::copied_disks(template)
            .iter()
            .filter_map(|d| d.drive.storage_id().map(str::to_string))
            .collect(),
    }
}

/// The template of a create taken over after a restart.
async fn resumed_template(run: &CreateRun) -> Result<TemplateInfo, AgentError> {
    let named = match &run.record.template {
        TemplateChoice::Vmid(vmid) => Some(*vmid),
        TemplateChoice::Name(_) => None,
    };
    let vmid = run.progress.template.or(named).ok_or_else(|| {
        AgentError::internal(format!(
            "the journal does not say which VMID {} resolved to",
            run.record.template
        ))
    })?;
    let view = run.ctx.cluster().await?;
    templates::resolve(&run.ctx, &view, &TemplateChoice::Vmid(vmid).to_proto()).await
}
