//! After the clone (DESIGN, create step 6): apply cores, memory and tags
//! with a synchronous config PUT, start the VM when asked and wait for that
//! task, and describe the result.
use pvectl_proto::v1::{self, CreatePhase, ErrorKind};

use super::failure::step_timed_out;
use super::{CreateRun, record};
use crate::error::AgentError;
use crate::guests::read_config;
use crate::pmxcfs::GuestKind;
use crate::pve_api::{GuestAction, Params, TaskExit};
use crate::task_wait::{TaskWaiter, WaitEvent};

/// Applies the requested cores, memory and tags.
pub async fn configure(run: &mut CreateRun, vmid: u32) -> Result<(), AgentError> {
    let Some(params) = run.record.config_params() else {
        return Ok(());
    };
    run.op.emit(
        CreatePhase::Configuring,
        None,
        format!("setting {} on VM {vmid}", run.record.describe_config()),
    );
    let ctx = &run.ctx;
    ctx.pve
        .put_guest_config(&ctx.node, GuestKind::Qemu, vmid, &params)
        .await
        .map_err(|e| {
            AgentError::pve(&format!("configuring the new VM {vmid}"), &e).with_hint(format!(
                "VM {vmid} exists; fix it with `pvectl vm update {vmid}`"
            ))
        })
}

/// Starts the VM (or, resumed, waits for the start task already running).
pub async fn start(run: &mut CreateRun, vmid: u32) -> Result<(), AgentError> {
    let ctx = run.ctx.clone();
    let upid = match run.progress.start_upid.clone() {
        Some(upid) => upid,
        None => {
            run.op
                .emit(CreatePhase::Starting, None, format!("starting VM {vmid}"));
            let upid = ctx
                .pve
                .status_action(
                    &ctx.node,
                    GuestKind::Qemu,
                    vmid,
                    GuestAction::Start,
                    &Params::new(),
                )
                .await
                .map_err(|e| {
                    AgentError::pve(&format!("VM {vmid} was created but starting it"), &e)
                })?;
            run.progress.start_upid = Some(upid.clone());
            record::progress(&ctx, &run.op, "start", &run.record, &run.progress).await;
            upid
        }
    };
    run.op.set_upid(&upid);
    let mut waiter = TaskWaiter::start(&ctx, &ctx.node, &upid, None, run.deadline);
    loop {
        match waiter.next().await {
            WaitEvent::Line(_) | WaitEvent::GuestChanged => {}
            WaitEvent::Ended(TaskExit::Failed(message)) => {
                let mut err = AgentError::new(
                    ErrorKind::PveApiError,
                    format!("VM {vmid} was created but did not start: {message}"),
                );
                err.detail.pve_message = message;
                err.detail.task_log_tail = waiter.tail();
                err.detail.upid = upid;
                return Err(err);
            }
            WaitEvent::Ended(_) => return Ok(()),
            WaitEvent::TimedOut => {
                let mut err = step_timed_out(run.timeout, &format!("starting VM {vmid}"));
                err.detail.task_log_tail = waiter.tail();
                err.detail.upid = upid;
                return Err(err);
            }
        }
    }
}

/// The finished VM as the final event reports it.
pub async fn result(run: &CreateRun, vmid: u32) -> Result<v1::CreateResult, AgentError> {
    let ctx = &run.ctx;
    let digest = read_config(ctx, &ctx.node, GuestKind::Qemu, vmid)
        .await?
        .map(|parsed| parsed.digest)
        .unwrap_or_default();
    Ok(v1::CreateResult {
        vmid,
        kind: v1::GuestKind::Qemu as i32,
        node: ctx.node.clone(),
        name: run.record.name.clone(),
        upid: run.progress.upid.clone().unwrap_or_default(),
        config_digest: digest,
        started: run.record.start,
    })
}
