//! After the guest exists (DESIGN, create step 6): apply a template
//! clone's cores, memory and tags with a synchronous config PUT, start the
//! guest when asked and wait for that task, and describe the result.
use pvectl_proto::v1::{self, CreatePhase, ErrorKind};

use super::failure::{step_timed_out, words};
use super::record::Request;
use super::{CreateRun, Run};
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

/// Starts the guest (or, resumed, waits for the start task already
/// running).
pub async fn start<R: Request>(
    run: &mut Run<R>,
    kind: GuestKind,
    vmid: u32,
) -> Result<(), AgentError> {
    let ctx = run.ctx.clone();
    let (word, _) = words(kind);
    let upid = match run.progress.start_upid.clone() {
        Some(upid) => upid,
        None => {
            run.op.emit(
                CreatePhase::Starting,
                None,
                format!("starting {word} {vmid}"),
            );
            let upid = ctx
                .pve
                .status_action(&ctx.node, kind, vmid, GuestAction::Start, &Params::new())
                .await
                .map_err(|e| {
                    AgentError::pve(&format!("{word} {vmid} was created but starting it"), &e)
                })?;
            run.progress.start_upid = Some(upid.clone());
            run.mark("start").await;
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
                    format!("{word} {vmid} was created but did not start: {message}"),
                );
                err.detail.pve_message = message;
                err.detail.task_log_tail = waiter.tail();
                err.detail.upid = upid;
                return Err(err);
            }
            WaitEvent::Ended(_) => return Ok(()),
            WaitEvent::TimedOut => {
                let mut err = step_timed_out(run.timeout, &format!("starting {word} {vmid}"));
                err.detail.task_log_tail = waiter.tail();
                err.detail.upid = upid;
                return Err(err);
            }
        }
    }
}

/// The finished guest on `node` as the final event reports it.
pub async fn result<R: Request>(
    run: &Run<R>,
    node: &str,
    vmid: u32,
) -> Result<v1::CreateResult, AgentError> {
    let digest = read_config(&run.ctx, node, R::GUEST, vmid)
        .await?
        .map(|parsed| parsed.digest)
        .unwrap_or_default();
    Ok(v1::CreateResult {
        vmid,
        kind: crate::guests::proto_kind(R::GUEST) as i32,
        node: node.to_string(),
        name: run.record.name().to_string(),
        upid: run.progress.upid.clone().unwrap_or_default(),
        config_digest: digest,
        started: run.progress.start_upid.is_some(),
    })
}
