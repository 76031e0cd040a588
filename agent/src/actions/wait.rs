//! Waiting for the task of an action or a delete to end, through the task
//! waiter (the node-local log watched, the API's status as a safety net),
//! and for an HA-managed guest to reach a state the HA manager brings
//! about later (no local event says so: the state is polled with backoff).
use std::time::Duration;

use pvectl_proto::v1::{self, ErrorKind};
use tokio::time::Instant;

use super::refusal::{Subject, from_pve, from_pve_message};
use crate::context::AgentCtx;
use crate::error::AgentError;
use crate::guests::guest_status;
use crate::pve_api::TaskExit;
use crate::task_wait::{TaskWaiter, WaitEvent};

const POLL_FIRST: Duration = Duration::from_millis(100);
const POLL_MAX: Duration = Duration::from_secs(2);

/// Waits for task `upid` of `subject` on this node until `deadline`; a
/// failed task is PVE's refusal made precise, with the UPID and the log's
/// last lines.
pub async fn task_end(
    ctx: &AgentCtx,
    subject: Subject,
    doing: &str,
    upid: &str,
    deadline: Instant,
) -> Result<(), AgentError> {
    let mut waiter = TaskWaiter::start(ctx, &ctx.node, upid, None, deadline);
    let mut err = loop {
        match waiter.next().await {
            WaitEvent::Line(_) | WaitEvent::GuestChanged => {}
            WaitEvent::Ended(TaskExit::Ok | TaskExit::Warnings(_)) => return Ok(()),
            WaitEvent::Ended(TaskExit::Failed(message)) => {
                break from_pve_message(subject, doing, &message);
            }
            WaitEvent::TimedOut => {
                break AgentError::timeout(format!(
                    "{doing}: its task did not end in time; it may still finish"
                ))
                .with_hint(format!("follow it with `pvectl task logs {upid}`"));
            }
        }
    };
    err.detail.upid = upid.to_owned();
    err.detail.task_log_tail = waiter.tail();
    Err(err)
}

/// Waits until `subject` is `wanted` (HA-managed guests: the HA manager
/// acts after its request task ended), polling its state with backoff.
pub async fn state(
    ctx: &AgentCtx,
    subject: Subject,
    wanted: v1::GuestStatus,
    deadline: Instant,
) -> Result<(), AgentError> {
    let mut every = POLL_FIRST;
    loop {
        let status = ctx
            .pve
            .status_current(&ctx.node, subject.kind, subject.vmid)
            .await
            .map_err(|e| from_pve(subject, "reading its state", &e))?;
        let lock = status.lock.clone().unwrap_or_default();
        if guest_status(&status, &lock) == wanted {
            return Ok(());
        }
        if Instant::now() + every > deadline {
            return Err(AgentError::new(
                ErrorKind::Timeout,
                format!(
                    "{} is not {} yet: the HA manager has not acted in time",
                    subject.name(),
                    crate::actions::status_word(wanted)
                ),
            )
            .with_hint("see `ha-manager status` on the node"));
        }
        tokio::time::sleep(every).await;
        every = (every * 2).min(POLL_MAX);
    }
}
