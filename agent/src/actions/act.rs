//! One guest's lifecycle action: its state first (already there: no task),
//! then `POST status/<action>` and the wait for its task. PVE answers an
//! HA-managed guest's start, stop or shutdown with a `hastart`/`hastop`
//! task that only queues a request: the result says QUEUED_HA and the
//! state is left as it was.
use pvectl_proto::bulk::action_wait;
use pvectl_proto::v1::{ActionOutcome, GuestResult};
use tokio::time::Instant;

use super::decide::{Verb, queued_to_ha};
use super::record::Entry;
use super::refusal::from_pve;
use super::{fresh, settle, subject, wait};
use crate::context::Ctx;
use crate::error::AgentError;
use crate::guests::{Located, guest_status};

/// What to do to each guest.
#[derive(Debug, Clone, Copy)]
pub struct Plan {
    pub verb: Verb,
    pub force: bool,
    pub timeout_seconds: u32,
    pub no_wait: bool,
}

/// Runs the action on `located` and journals it.
pub async fn act(ctx: &Ctx, plan: Plan, located: Located, entry: Entry) -> GuestResult {
    let mut result = fresh(&located);
    let outcome = run(ctx, plan, &located, &entry, &mut result).await;
    settle(ctx, &entry, &located, result, outcome).await
}

async fn run(
    ctx: &Ctx,
    plan: Plan,
    located: &Located,
    entry: &Entry,
    result: &mut GuestResult,
) -> Result<(), AgentError> {
    let subject = subject(located);
    let doing = format!("{} {}", plan.verb.doing(), subject.name());
    let current = ctx
        .pve
        .status_current(&ctx.node, located.kind, located.vmid)
        .await
        .map_err(|e| from_pve(subject, &doing, &e))?;
    let status = guest_status(&current, current.lock.as_deref().unwrap_or_default());
    result.name = current.name.clone().unwrap_or_default();
    result.set_status(status);
    if plan.verb.already(located.kind, status) {
        result.set_outcome(ActionOutcome::Already);
        return Ok(());
    }
    let params = plan.verb.params(plan.force, plan.timeout_seconds);
    let upid = ctx
        .pve
        .status_action(
            &ctx.node,
            located.kind,
            located.vmid,
            plan.verb.action,
            &params,
        )
        .await
        .map_err(|e| from_pve(subject, &doing, &e))?;
    result.upid.clone_from(&upid);
    entry.submitted(ctx, plan.verb.name(), &upid).await;
    let to_ha = queued_to_ha(&upid);
    if !plan.no_wait {
        let deadline = Instant::now() + action_wait(plan.timeout_seconds);
        wait::task_end(ctx, subject, &doing, &upid, deadline).await?;
        if !to_ha {
            result.set_status(plan.verb.status_after());
        }
    }
    result.set_outcome(match (to_ha, plan.no_wait) {
        (true, _) => ActionOutcome::QueuedHa,
        (false, true) => ActionOutcome::Started,
        (false, false) => ActionOutcome::Done,
    });
    Ok(())
}
