//! Cloning a guest (DESIGN, create steps 4–5): POST the clone, keep the
//! UPID, follow the task until its final line, and verify the new config.
//! A lost VMID race or a busy storage is an [`Attempt`] outcome the caller
//! retries (`attempts`), never a failure.
use std::collections::BTreeSet;

use pvectl_proto::v1::CreatePhase;

use super::Run;
use super::allocate::{IdPool, Reservation};
use super::attempts::{self, Attempt, Maker, is_collision, retryable};
use super::failure::{self, TaskReport};
use super::progress::CloneProgress;
use super::record::Request;
use crate::error::AgentError;
use crate::guests::read_config;
use crate::pmxcfs::GuestKind;
use crate::pve_api::{CloneRequest, TaskExit};
use crate::task_wait::{TaskWaiter, WaitEvent};
use crate::templates::TemplateInfo;
use crate::templates::validate::copied_disks;

/// One clone: of which guest, named what, full or linked, onto which
/// storage, and to which node when not this one.
pub struct ClonePlan<'a> {
    /// The guest cloned (a template, or the source of a promote).
    pub source: &'a TemplateInfo,
    pub name: String,
    pub linked: bool,
    /// Target storage of a full clone; `None` keeps each disk's.
    pub storage: Option<String>,
    /// The node the clone moves to afterwards (PVE's `target`, shared
    /// storage only); `None`: it stays here.
    pub target: Option<String>,
}

impl ClonePlan<'_> {
    /// The storages the clone writes to: the requested one, or each copied
    /// disk's own.
    pub fn target_storages(&self) -> BTreeSet<String> {
        match &self.storage {
            Some(storage) => [storage.clone()].into(),
            None => copied_disks(self.source)
                .iter()
                .filter_map(|d| d.drive.storage_id().map(str::to_string))
                .collect(),
        }
    }

    /// `template 9100`, `VM 101`.
    fn source_text(&self) -> String {
        let what = if self.source.is_template() {
            "template"
        } else {
            "VM"
        };
        format!("{what} {}", self.source.vmid)
    }
}

/// Clones to the reserved id, retrying with fresh ids from `pool`.
pub async fn clone_with_retries<R: Request>(
    run: &mut Run<R>,
    plan: &ClonePlan<'_>,
    reservation: Reservation,
    pool: &IdPool,
) -> Result<Reservation, AgentError> {
    attempts::with_fresh_ids(run, Maker::Clone(plan), pool, reservation).await
}

/// One attempt: submit, then follow the task to its end.
pub async fn attempt<R: Request>(
    run: &mut Run<R>,
    plan: &ClonePlan<'_>,
    vmid: u32,
) -> Result<Attempt, AgentError> {
    match submit(run, plan, vmid).await? {
        Submitted::Task(upid) => wait_clone(run, plan, vmid, &upid).await,
        Submitted::Collision(message) => Ok(Attempt::Collision(message)),
    }
}

/// Follows a clone submitted before the agent restarted, to its end.
pub async fn resume<R: Request>(
    run: &mut Run<R>,
    plan: &ClonePlan<'_>,
    vmid: u32,
    upid: &str,
) -> Result<(), AgentError> {
    run.op.set_vmid(vmid);
    run.op.set_upid(upid);
    match wait_clone(run, plan, vmid, upid).await? {
        Attempt::Done => Ok(()),
        Attempt::Collision(message) => Err(AgentError::conflict(format!(
            "vmid {vmid} was taken by another create while the agent was down: {message}"
        ))),
        Attempt::StorageBusy(message) => Err(AgentError::unavailable(format!(
            "the clone to {vmid} failed while the agent was down: {message}; create it again"
        ))),
    }
}

/// What the clone POST gave.
enum Submitted {
    /// The clone task's UPID.
    Task(String),
    /// A synchronous collision; PVE's text.
    Collision(String),
}

/// POSTs the clone.
async fn submit<R: Request>(
    run: &mut Run<R>,
    plan: &ClonePlan<'_>,
    vmid: u32,
) -> Result<Submitted, AgentError> {
    let request = CloneRequest {
        newid: vmid,
        name: Some(plan.name.clone()),
        full: Some(!plan.linked),
        storage: plan.storage.clone(),
        target: plan.target.clone(),
        ..CloneRequest::default()
    };
    let how = if plan.linked { "linked" } else { "full" };
    let to = match &plan.target {
        Some(node) => format!(" on node {node}"),
        None => String::new(),
    };
    let source = plan.source_text();
    run.op.emit(
        CreatePhase::Cloning,
        Some(0),
        format!("{how} clone of {source} to {vmid}{to}"),
    );
    let ctx = &run.ctx;
    match ctx
        .pve
        .clone_guest(&ctx.node, GuestKind::Qemu, plan.source.vmid, &request)
        .await
    {
        Ok(upid) => {
            run.task_started(&upid).await;
            run.progress.upid = Some(upid.clone());
            run.mark("clone").await;
            Ok(Submitted::Task(upid))
        }
        Err(err) => match err.pve_message().filter(|m| is_collision(m)) {
            Some(message) => Ok(Submitted::Collision(message.trim_end().to_string())),
            None => Err(AgentError::pve(
                &format!("cloning {source} to {vmid}"),
                &err,
            )),
        },
    }
}

/// Follows the clone task to its end and verifies the new config (on the
/// target node when the clone moves there).
async fn wait_clone<R: Request>(
    run: &mut Run<R>,
    plan: &ClonePlan<'_>,
    vmid: u32,
    upid: &str,
) -> Result<Attempt, AgentError> {
    let ctx = run.ctx.clone();
    let mut waiter = TaskWaiter::start(
        &ctx,
        &ctx.node,
        upid,
        Some((GuestKind::Qemu, vmid)),
        run.deadline,
    );
    let sizes = copied_disks(plan.source)
        .into_iter()
        .map(|d| (d.key, d.drive.size.unwrap_or_default()));
    let mut progress = CloneProgress::new(sizes);
    let mut seen_clone_lock = false;
    let mut last_digest = String::new();
    let what = format!("clone of {} to {vmid}", plan.source_text());
    loop {
        match waiter.next().await {
            WaitEvent::Line(line) => {
                if let Some(percent) = progress.line(&line) {
                    run.op.emit(CreatePhase::Cloning, Some(percent), line);
                }
            }
            WaitEvent::GuestChanged => {
                let Some(parsed) = read_config(&ctx, &ctx.node, GuestKind::Qemu, vmid).await?
                else {
                    continue;
                };
                if parsed.digest == last_digest {
                    continue;
                }
                last_digest = parsed.digest;
                match parsed.config.lock() {
                    Some("clone") => seen_clone_lock = true,
                    None if seen_clone_lock => {
                        seen_clone_lock = false;
                        run.op.emit(
                            CreatePhase::Waiting,
                            None,
                            format!("VM {vmid} is unlocked; waiting for the clone task to end"),
                        );
                    }
                    _ => {}
                }
            }
            WaitEvent::Ended(TaskExit::Failed(message)) => {
                let message = match retryable(message) {
                    Ok(attempt) => return Ok(attempt),
                    Err(message) => message,
                };
                let task = TaskReport::of(&waiter);
                return Err(failure::task_failed(
                    &ctx,
                    GuestKind::Qemu,
                    &what,
                    vmid,
                    task,
                    &message,
                )
                .await);
            }
            WaitEvent::Ended(_) => break,
            WaitEvent::TimedOut => {
                let task = TaskReport::of(&waiter);
                return Err(failure::timed_out(
                    &ctx,
                    GuestKind::Qemu,
                    run.timeout,
                    &what,
                    vmid,
                    task,
                )
                .await);
            }
        }
    }
    run.op.emit(
        CreatePhase::Waiting,
        Some(100),
        format!("clone task {upid} ended OK; checking VM {vmid}'s disks"),
    );
    let node = plan.target.as_deref().unwrap_or(&ctx.node);
    failure::verify_clone(&ctx, plan.source, node, vmid).await?;
    Ok(Attempt::Done)
}
