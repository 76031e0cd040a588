//! Cloning the template (DESIGN, create steps 4–5): POST the clone, keep
//! the UPID, follow the task until its final line, and treat both shapes of
//! a lost VMID race — `config file already exists` / `already exists on
//! node` at once, `close (rename) atomic file … File exists` inside the task
//! — as "take the next id and retry", never as a failure.
use std::collections::BTreeSet;
use std::time::Duration;

use pvectl_proto::v1::CreatePhase;
use tokio::time::Instant;

use super::CreateRun;
use super::allocate::{Reservation, allocate};
use super::failure::{self, TaskReport};
use super::progress::CloneProgress;
use super::record;
use crate::error::AgentError;
use crate::guests::read_config;
use crate::pmxcfs::GuestKind;
use crate::pve_api::{CloneRequest, TaskExit};
use crate::task_wait::{TaskWaiter, WaitEvent};
use crate::templates::TemplateInfo;
use crate::templates::validate::copied_disks;

/// Whether PVE's text says the VMID was taken by someone else meanwhile.
pub fn is_collision(message: &str) -> bool {
    message.contains("config file already exists")
        || message.contains("already exists on node")
        || (message.contains("atomic file") && message.contains("File exists"))
}

/// PVE's storage lock timed out (other allocations on that storage held it
/// for 10 s): the task failed and PVE removed what it had made, so the same
/// clone can simply be tried again.
pub fn is_storage_busy(message: &str) -> bool {
    message.contains("can't lock file '/var/lock/pve-manager/pve-storage-")
        && message.contains("got timeout")
}

/// How one clone attempt ended.
enum Attempt {
    Done,
    /// Lost the VMID to another create; PVE's text.
    Collision(String),
    /// The storage lock timed out; PVE's text.
    StorageBusy(String),
}

/// Clones `template` to the reserved id, retrying on collisions with fresh
/// ids until the operation's deadline; returns the reservation of the id
/// that won. No fixed number of attempts: agents on different nodes all
/// pick the lowest free id, so under load a create can lose many in a row,
/// yet every lost id went to some other create and every retry takes a
/// new one, so concurrent creates never fail for that reason (DESIGN).
pub async fn clone_with_retries(
    run: &mut CreateRun,
    template: &TemplateInfo,
    mut reservation: Reservation,
) -> Result<Reservation, AgentError> {
    let mut lost = BTreeSet::new();
    let mut busy_retries: u32 = 0;
    loop {
        if run.op.is_cancelled() {
            return Err(super::stopped("about to clone"));
        }
        let vmid = reservation.vmid();
        let outcome = match submit(run, template, vmid).await? {
            Submitted::Task(upid) => wait_clone(run, template, vmid, &upid).await?,
            Submitted::Collision(message) => Attempt::Collision(message),
        };
        let message = match outcome {
            Attempt::Done => return Ok(reservation),
            Attempt::Collision(message) => message,
            Attempt::StorageBusy(message) => {
                busy_retries += 1;
                // back off a little more each time, never past the deadline
                let pause = Duration::from_millis(100 * u64::from(busy_retries.min(20)));
                if Instant::now() + pause >= run.deadline {
                    return Err(failure::step_timed_out(
                        run.timeout,
                        &format!("cloning while the storage stays locked ({message})"),
                    ));
                }
                run.op.emit(
                    CreatePhase::Cloning,
                    None,
                    format!("the storage was busy ({message}); retrying the clone to {vmid}"),
                );
                tokio::time::sleep(pause).await;
                continue;
            }
        };
        if run.record.vmid.is_some() {
            return Err(AgentError::conflict(format!(
                "vmid {vmid} was taken by another create meanwhile: {message}"
            )));
        }
        lost.insert(vmid);
        if Instant::now() >= run.deadline {
            return Err(failure::step_timed_out(
                run.timeout,
                &format!("finding a VMID no other create takes (lost {lost:?})"),
            ));
        }
        reservation = allocate(&run.ctx, None, &lost).await?;
        let next = reservation.vmid();
        run.progress.vmid = Some(next);
        run.progress.upid = None;
        run.op.set_vmid(next);
        run.op.set_upid("");
        run.op.emit(
            CreatePhase::Cloning,
            None,
            format!("vmid {vmid} was taken meanwhile ({message}); retrying with {next}"),
        );
        record::progress(&run.ctx, &run.op, "vmid", &run.record, &run.progress).await;
    }
}

/// Follows a clone submitted before the agent restarted, to its end.
pub async fn resume(
    run: &mut CreateRun,
    template: &TemplateInfo,
    vmid: u32,
    upid: &str,
) -> Result<(), AgentError> {
    run.op.set_vmid(vmid);
    run.op.set_upid(upid);
    match wait_clone(run, template, vmid, upid).await? {
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
async fn submit(
    run: &mut CreateRun,
    template: &TemplateInfo,
    vmid: u32,
) -> Result<Submitted, AgentError> {
    let request = CloneRequest {
        newid: vmid,
        name: Some(run.record.name.clone()),
        full: Some(!run.record.linked),
        storage: run.record.storage.clone(),
        ..CloneRequest::default()
    };
    let how = if run.record.linked { "linked" } else { "full" };
    run.op.emit(
        CreatePhase::Cloning,
        Some(0),
        format!("{how} clone of template {} to {vmid}", template.vmid),
    );
    let ctx = &run.ctx;
    match ctx
        .pve
        .clone_guest(&ctx.node, GuestKind::Qemu, template.vmid, &request)
        .await
    {
        Ok(upid) => {
            run.op.set_upid(&upid);
            if run.op.is_cancelled() {
                // stopped while the POST was under way: the stop found no task yet
                if let Err(err) = ctx.pve.stop_task(&ctx.node, &upid).await {
                    tracing::warn!(%upid, %err, "cannot stop the clone of a stopped create");
                }
            }
            run.progress.upid = Some(upid.clone());
            record::progress(&run.ctx, &run.op, "clone", &run.record, &run.progress).await;
            Ok(Submitted::Task(upid))
        }
        Err(err) => match err.pve_message().filter(|m| is_collision(m)) {
            Some(message) => Ok(Submitted::Collision(message.trim_end().to_string())),
            None => Err(AgentError::pve(
                &format!("cloning template {} to {vmid}", template.vmid),
                &err,
            )),
        },
    }
}

/// Follows the clone task to its end and verifies the new config.
async fn wait_clone(
    run: &mut CreateRun,
    template: &TemplateInfo,
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
    let sizes = copied_disks(template)
        .into_iter()
        .map(|d| (d.key, d.drive.size.unwrap_or_default()));
    let mut progress = CloneProgress::new(sizes);
    let mut seen_clone_lock = false;
    let mut last_digest = String::new();
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
            WaitEvent::Ended(TaskExit::Failed(message)) if is_collision(&message) => {
                return Ok(Attempt::Collision(message));
            }
            WaitEvent::Ended(TaskExit::Failed(message)) if is_storage_busy(&message) => {
                return Ok(Attempt::StorageBusy(message));
            }
            WaitEvent::Ended(TaskExit::Failed(message)) => {
                return Err(failure::task_failed(
                    &ctx,
                    template.vmid,
                    vmid,
                    TaskReport::of(&waiter),
                    &message,
                )
                .await);
            }
            WaitEvent::Ended(_) => break,
            WaitEvent::TimedOut => {
                return Err(failure::timed_out(
                    &ctx,
                    run.timeout,
                    template.vmid,
                    vmid,
                    TaskReport::of(&waiter),
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
    failure::verify_clone(&ctx, template, vmid).await?;
    Ok(Attempt::Done)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_race_shapes_count_as_collisions_and_other_errors_do_not() {
        assert!(is_collision(
            "unable to create VM 104: config file already exists"
        ));
        assert!(is_collision(
            "unable to create VM 104 - VM 104 already exists on node 'pve2'"
        ));
        assert!(is_collision(
            "close (rename) atomic file '/etc/pve/nodes/pve1/qemu-server/104.conf' failed: File exists"
        ));
        assert!(!is_collision("clone failed: disk I/O error"));
        assert!(is_storage_busy(
            "clone failed: can't lock file '/var/lock/pve-manager/pve-storage-local-lvm' - got timeout"
        ));
        assert!(!is_storage_busy(
            "can't lock file '/var/lock/qemu-server/lock-9100.conf' - got timeout"
        ));
        assert!(!is_collision("VM is locked (backup)"));
    }
}
