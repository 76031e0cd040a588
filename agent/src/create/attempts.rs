//! Making a guest under a VMID that someone else may take first: both
//! shapes of a lost race — `config file already exists` / `already exists
//! on node` at once, `close (rename) atomic file … File exists` inside the
//! task — mean "take the next free id and try again", never a failure; a
//! storage lock that timed out (PVE cleaned up) means "try again". Shared
//! by clones and creates from scratch.
use std::collections::BTreeSet;
use std::time::Duration;

use pvectl_proto::v1::CreatePhase;
use tokio::time::Instant;

use super::Run;
use super::allocate::{IdPool, Reservation, allocate};
use super::clone::{self, ClonePlan};
use super::create_task::{self, CreatePlan};
use super::failure;
use super::record::Request;
use crate::error::AgentError;

/// Whether PVE's text says the VMID was taken by someone else meanwhile.
pub fn is_collision(message: &str) -> bool {
    message.contains("config file already exists")
        || message.contains("already exists on node")
        || (message.contains("atomic file") && message.contains("File exists"))
}

/// PVE's storage lock timed out (other allocations on that storage held it
/// for 10 s): the task failed and PVE removed what it had made, so the same
/// attempt can simply be made again.
pub fn is_storage_busy(message: &str) -> bool {
    message.contains("can't lock file '/var/lock/pve-manager/pve-storage-")
        && message.contains("got timeout")
}

/// A task that failed because of a lost race or a busy storage: the
/// attempt's outcome to retry; any other failure is handed back.
pub fn retryable(message: String) -> Result<Attempt, String> {
    if is_collision(&message) {
        Ok(Attempt::Collision(message))
    } else if is_storage_busy(&message) {
        Ok(Attempt::StorageBusy(message))
    } else {
        Err(message)
    }
}

/// How one attempt ended.
pub enum Attempt {
    Done,
    /// Lost the VMID to another create; PVE's text.
    Collision(String),
    /// The storage lock timed out; PVE's text.
    StorageBusy(String),
}

/// What an attempt makes.
pub enum Maker<'a> {
    /// A clone of a guest.
    Clone(&'a ClonePlan<'a>),
    /// A guest from scratch.
    Create(&'a CreatePlan),
}

impl Maker<'_> {
    /// The phase the attempt's task runs in.
    fn phase(&self) -> CreatePhase {
        match self {
            Maker::Clone(_) => CreatePhase::Cloning,
            Maker::Create(_) => CreatePhase::Waiting,
        }
    }

    async fn attempt<R: Request>(
        &self,
        run: &mut Run<R>,
        vmid: u32,
    ) -> Result<Attempt, AgentError> {
        match self {
            Maker::Clone(plan) => clone::attempt(run, plan, vmid).await,
            Maker::Create(plan) => create_task::attempt(run, plan, vmid).await,
        }
    }
}

/// Makes the guest under the reserved id, retrying on collisions with
/// fresh ids from `pool` until the operation's deadline; returns the
/// reservation of the id that won. No fixed number of attempts: agents on
/// different nodes all pick the lowest free id, so under load a create can
/// lose many in a row, yet every lost id went to some other create and
/// every retry takes a new one, so concurrent creates never fail for that
/// reason (DESIGN).
pub async fn with_fresh_ids<R: Request>(
    run: &mut Run<R>,
    maker: Maker<'_>,
    pool: &IdPool,
    mut reservation: Reservation,
) -> Result<Reservation, AgentError> {
    let mut lost = BTreeSet::new();
    let mut busy_retries: u32 = 0;
    loop {
        if run.op.is_cancelled() {
            return Err(super::stopped(&format!("about to {}", R::MAIN_TASK)));
        }
        let vmid = reservation.vmid();
        let message = match maker.attempt(run, vmid).await? {
            Attempt::Done => return Ok(reservation),
            Attempt::Collision(message) => message,
            Attempt::StorageBusy(message) => {
                busy_retries += 1;
                // back off a little more each time, never past the deadline
                let pause = Duration::from_millis(100 * u64::from(busy_retries.min(20)));
                if Instant::now() + pause >= run.deadline {
                    return Err(failure::step_timed_out(
                        run.timeout,
                        &format!(
                            "the {} while the storage stays locked ({message})",
                            R::MAIN_TASK
                        ),
                    ));
                }
                run.op.emit(
                    maker.phase(),
                    None,
                    format!(
                        "the storage was busy ({message}); retrying the {} under VMID {vmid}",
                        R::MAIN_TASK
                    ),
                );
                tokio::time::sleep(pause).await;
                continue;
            }
        };
        if run.record.vmid().is_some() {
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
        reservation = allocate(&run.ctx, pool, None, &lost).await?;
        let next = reservation.vmid();
        run.progress.vmid = Some(next);
        run.progress.upid = None;
        run.op.set_vmid(next);
        run.op.set_upid("");
        run.op.emit(
            maker.phase(),
            None,
            format!("vmid {vmid} was taken meanwhile ({message}); retrying with {next}"),
        );
        run.mark("vmid").await;
    }
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
