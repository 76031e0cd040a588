//! Creating a guest from scratch through PVE (pve-facts §4 `qmcreate`, §9
//! `vzcreate`): POST `/nodes/{node}/{qemu|lxc}` writes a config holding only
//! `lock: create` before the UPID comes back (a taken VMID fails right
//! there), the worker allocates the disks and writes the final config once,
//! unlocked; a failure frees the volumes and unlinks the config. The task
//! is followed to its final line, then the new config is verified.
use pvectl_proto::v1::{CreatePhase, ErrorKind};

use super::Run;
use super::attempts::{Attempt, is_collision, retryable};
use super::failure::{self, TaskReport, words};
use super::record::Request;
use crate::error::AgentError;
use crate::guests::read_config;
use crate::pmxcfs::GuestKind;
use crate::pve_api::{Params, TaskExit};
use crate::task_wait::{TaskWaiter, WaitEvent};

/// One create: the guest's kind, the parameters of the POST (secrets
/// included: never journaled or logged), and the disks the result must
/// have.
pub struct CreatePlan {
    pub kind: GuestKind,
    /// Every parameter but `vmid`.
    pub params: Params,
    /// `(config key, storage)` of each disk the create allocates.
    pub disks: Vec<(String, String)>,
}

/// One attempt: submit, then follow the task to its end and verify.
pub async fn attempt<R: Request>(
    run: &mut Run<R>,
    plan: &CreatePlan,
    vmid: u32,
) -> Result<Attempt, AgentError> {
    let (word, _) = words(plan.kind);
    run.op.emit(
        CreatePhase::Waiting,
        None,
        format!("creating {word} {vmid} on {}", run.ctx.node),
    );
    let ctx = run.ctx.clone();
    let upid = match ctx
        .pve
        .create_guest(&ctx.node, plan.kind, vmid, &plan.params)
        .await
    {
        Ok(upid) => upid,
        Err(err) => {
            return match err.pve_message().filter(|m| is_collision(m)) {
                Some(message) => Ok(Attempt::Collision(message.trim_end().to_string())),
                None => Err(AgentError::pve(&format!("creating {word} {vmid}"), &err)),
            };
        }
    };
    run.task_started(&upid).await;
    run.progress.upid = Some(upid.clone());
    run.mark("create").await;
    wait(run, plan, vmid, &upid).await
}

/// Follows a create submitted before the agent restarted, to its end.
pub async fn resume<R: Request>(
    run: &mut Run<R>,
    plan: &CreatePlan,
    vmid: u32,
    upid: &str,
) -> Result<(), AgentError> {
    run.op.set_vmid(vmid);
    run.op.set_upid(upid);
    match wait(run, plan, vmid, upid).await? {
        Attempt::Done => Ok(()),
        Attempt::Collision(message) | Attempt::StorageBusy(message) => {
            Err(AgentError::unavailable(format!(
                "the create of {vmid} failed while the agent was down: {message}; create it again"
            )))
        }
    }
}

/// Follows the create task to its end, then verifies the config.
async fn wait<R: Request>(
    run: &mut Run<R>,
    plan: &CreatePlan,
    vmid: u32,
    upid: &str,
) -> Result<Attempt, AgentError> {
    let ctx = run.ctx.clone();
    let (word, _) = words(plan.kind);
    let what = format!("create of {word} {vmid}");
    let mut waiter =
        TaskWaiter::start(&ctx, &ctx.node, upid, Some((plan.kind, vmid)), run.deadline);
    let mut announced = false;
    loop {
        match waiter.next().await {
            WaitEvent::Line(line) => run.op.emit(CreatePhase::Waiting, None, line),
            WaitEvent::GuestChanged => {
                let locked = read_config(&ctx, &ctx.node, plan.kind, vmid)
                    .await?
                    .is_some_and(|parsed| parsed.config.lock() == Some("create"));
                if locked && !announced {
                    announced = true;
                    run.op.emit(
                        CreatePhase::Waiting,
                        None,
                        format!("{word} {vmid} holds `lock: create` while PVE allocates its disks"),
                    );
                }
            }
            WaitEvent::Ended(TaskExit::Failed(message)) => {
                let message = match retryable(message) {
                    Ok(attempt) => return Ok(attempt),
                    Err(message) => message,
                };
                let task = TaskReport::of(&waiter);
                return Err(
                    failure::task_failed(&ctx, plan.kind, &what, vmid, task, &message).await,
                );
            }
            WaitEvent::Ended(_) => break,
            WaitEvent::TimedOut => {
                let task = TaskReport::of(&waiter);
                return Err(
                    failure::timed_out(&ctx, plan.kind, run.timeout, &what, vmid, task).await,
                );
            }
        }
    }
    run.op.emit(
        CreatePhase::Waiting,
        Some(100),
        format!("create task {upid} ended OK; checking {word} {vmid}'s disks"),
    );
    verify(run, plan, vmid).await?;
    Ok(Attempt::Done)
}

/// After `TASK OK`: the config exists, is unlocked, and has each disk on
/// the storage asked for.
async fn verify<R: Request>(run: &Run<R>, plan: &CreatePlan, vmid: u32) -> Result<(), AgentError> {
    let ctx = &run.ctx;
    let (word, _) = words(plan.kind);
    let wrong = |problem: String| {
        AgentError::new(
            ErrorKind::PveApiError,
            format!("the create of {word} {vmid} ended OK but {problem}"),
        )
    };
    let parsed = read_config(ctx, &ctx.node, plan.kind, vmid)
        .await?
        .ok_or_else(|| wrong("it has no config".into()))?;
    if let Some(lock) = parsed.config.lock() {
        return Err(wrong(format!("it is still locked ({lock})")));
    }
    let disks = parsed
        .config
        .disks()
        .map_err(|e| wrong(format!("it has a bad disk: {e}")))?;
    for (key, storage) in &plan.disks {
        let found = disks
            .iter()
            .find(|disk| &disk.key == key)
            .and_then(|disk| disk.drive.storage_id());
        match found {
            Some(on) if on == storage => {}
            Some(on) => return Err(wrong(format!("disk {key} is on '{on}', not '{storage}'"))),
            None => return Err(wrong(format!("it lacks disk {key}"))),
        }
    }
    Ok(())
}
