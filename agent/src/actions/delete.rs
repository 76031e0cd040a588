//! One guest's delete. Refused before anything changes: a protected guest,
//! a locked one, an HA resource without `purge`, a running one without
//! `force`. With `force` a running guest is stopped first (an HA-managed
//! one through the HA manager, waited for until it is down). Then PVE's
//! `DELETE` (`purge` also takes it out of backup jobs, replication and HA,
//! and destroys unreferenced disks) and the wait for the destroy task.
use pvectl_proto::bulk::DELETE_WAIT;
use pvectl_proto::v1::{ActionOutcome, ErrorKind, GuestResult, GuestStatus};
use tokio::time::Instant;

use super::decide::queued_to_ha;
use super::record::Entry;
use super::refusal::{Subject, from_pve, resource};
use super::{fresh, settle, subject, wait};
use crate::context::Ctx;
use crate::error::AgentError;
use crate::guests::{ConfigFacts, Located, guest_status, read_config};
use crate::pve_api::{DeleteOptions, GuestAction, Params};

/// How to delete.
#[derive(Debug, Clone, Copy)]
pub struct Plan {
    pub purge: bool,
    pub force: bool,
}

/// Deletes `located` and journals it.
pub async fn delete(ctx: &Ctx, plan: Plan, located: Located, entry: Entry) -> GuestResult {
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
    let doing = format!("deleting {}", subject.name());
    let parsed = read_config(ctx, &ctx.node, located.kind, located.vmid)
        .await?
        .ok_or_else(|| AgentError::not_found(format!("{} does not exist", subject.name())))?;
    let facts = ConfigFacts::of(&parsed.config);
    let current = ctx
        .pve
        .status_current(&ctx.node, located.kind, located.vmid)
        .await
        .map_err(|e| from_pve(subject, &doing, &e))?;
    let status = guest_status(&current, &facts.lock);
    result.name.clone_from(&facts.name);
    result.set_status(status);
    let ha_managed = current.ha.as_ref().is_some_and(|ha| ha.managed);
    let running = !matches!(status, GuestStatus::Stopped | GuestStatus::Suspended);
    refuse(subject, plan, &facts, ha_managed, running)?;
    let deadline = Instant::now() + DELETE_WAIT;
    if running {
        stop_first(ctx, subject, entry, deadline).await?;
        result.set_status(GuestStatus::Stopped);
    }
    let options = DeleteOptions {
        purge: plan.purge.then_some(true),
        destroy_unreferenced_disks: plan.purge.then_some(true),
        ..DeleteOptions::default()
    };
    let upid = ctx
        .pve
        .delete_guest(&ctx.node, located.kind, located.vmid, &options)
        .await
        .map_err(|e| from_pve(subject, &doing, &e))?;
    result.upid.clone_from(&upid);
    entry.submitted(ctx, "destroy", &upid).await;
    wait::task_end(ctx, subject, &doing, &upid, deadline).await?;
    result.set_outcome(ActionOutcome::Done);
    result.set_status(GuestStatus::Unspecified);
    Ok(())
}

/// The checks that keep a guest: protection, a lock (a hibernated VM's
/// `suspended` is PVE's to judge), HA without purge, running without force.
pub fn refuse(
    subject: Subject,
    plan: Plan,
    facts: &ConfigFacts,
    ha_managed: bool,
    running: bool,
) -> Result<(), AgentError> {
    let name = subject.name();
    let command = resource(subject.kind);
    let vmid = subject.vmid;
    if facts.protected {
        return Err(AgentError::refused(format!(
            "{name} is protected (protection: 1): PVE refuses to remove it"
        ))
        .with_hint(format!(
            "clear the flag first: `pvectl {command} update {vmid} --set protection=0`"
        )));
    }
    if !facts.lock.is_empty() && facts.lock != "suspended" {
        let mut err = AgentError::new(
            ErrorKind::Locked,
            format!("{name} is locked ({}): not deleted", facts.lock),
        )
        .with_hint(subject.unlock_hint(&facts.lock));
        err.detail.pve_message = format!("{} is locked ({})", subject.word(), facts.lock);
        return Err(err);
    }
    if ha_managed && !plan.purge {
        return Err(AgentError::refused(format!(
            "{name} is an HA resource: PVE removes it only with purge"
        ))
        .with_hint("delete with --purge to take it out of HA (and backup jobs, replication) too"));
    }
    if running && !plan.force {
        return Err(
            AgentError::refused(format!("{name} is running: not deleted"))
                .with_hint("stop it first, or delete with --force to stop it and delete"),
        );
    }
    Ok(())
}

/// Stops the guest and waits until it is down; an HA-managed guest's stop
/// is a request the HA manager carries out later.
async fn stop_first(
    ctx: &Ctx,
    subject: Subject,
    entry: &Entry,
    deadline: Instant,
) -> Result<(), AgentError> {
    let doing = format!("stopping {} before deleting it", subject.name());
    let upid = ctx
        .pve
        .status_action(
            &ctx.node,
            subject.kind,
            subject.vmid,
            GuestAction::Stop,
            &Params::new(),
        )
        .await
        .map_err(|e| from_pve(subject, &doing, &e))?;
    entry.submitted(ctx, "stop", &upid).await;
    wait::task_end(ctx, subject, &doing, &upid, deadline).await?;
    if queued_to_ha(&upid) {
        wait::state(ctx, subject, GuestStatus::Stopped, deadline).await?;
    }
    Ok(())
}
