//! `CreateVmFromTemplate`, the headline flow: resolve → validate → queue →
//! allocate → clone → wait → configure → start, on the template's node.
use std::sync::Arc;

use pvectl_proto::v1::{CreatePhase, CreateResult, CreateVmFromTemplateRequest};

use super::allocate::{self, IdPool};
use super::clone::{self, ClonePlan};
use super::finish;
use super::request::{self, CreateRecord, TemplateChoice};
use super::{CreateRun, Flow, launch, refuse};
use crate::authz::Caller;
use crate::context::Ctx;
use crate::error::AgentError;
use crate::operations::Operation;
use crate::pmxcfs::GuestKind;
use crate::templates::{self, TemplateInfo, refusal};

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
        Err(err) => return Err(refuse::<CreateRecord>(ctx, caller, &name, err).await),
    };
    let view = ctx.cluster().await?;
    templates::check_node(ctx, &view, &record.node)?;
    if let TemplateChoice::Vmid(vmid) = record.template {
        templates::check_template_vmid(ctx, &view, vmid)?;
    }
    launch(ctx, caller, record).await
}

impl Flow for CreateRecord {
    async fn execute(run: &mut CreateRun) -> Result<CreateResult, AgentError> {
        // held until the end: the VMID stays this operation's while it works
        let _reservation;
        let vmid = match (&run.progress.upid, run.progress.vmid) {
            (Some(upid), Some(vmid)) => {
                let upid = upid.clone();
                if run.progress.start_upid.is_none() {
                    let template = resumed_template(run).await?;
                    let plan = plan(run, &template);
                    clone::resume(run, &plan, vmid, &upid).await?;
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
            finish::start(run, GuestKind::Qemu, vmid).await?;
        }
        let node = run.ctx.node.clone();
        finish::result(run, &node, vmid).await
    }

    fn done_message(result: &CreateResult) -> String {
        let started = if result.started { " and started" } else { "" };
        format!(
            "VM {} '{}' created on {}{started}",
            result.vmid, result.name, result.node
        )
    }
}

/// The clone this create makes of `template`.
fn plan<'a>(run: &CreateRun, template: &'a TemplateInfo) -> ClonePlan<'a> {
    ClonePlan {
        source: template,
        name: run.record.name.clone(),
        linked: run.record.linked,
        storage: run.record.storage.clone(),
        target: None,
    }
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
    let plan = plan(run, &template);
    // the clone slot first, the VMID after: an id is not held (and lost to
    // other nodes' creates) while this create waits in the queue
    let _permits = super::queue::wait_for_slots(run, &plan.target_storages(), "clone").await?;
    let reservation = allocate::first(run, &IdPool::Ordinary).await?;
    clone::clone_with_retries(run, &plan, reservation, &IdPool::Ordinary).await
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
