//! Acting on existing guests of this node, many at once: `RunGuestAction`
//! (start, stop, shutdown, reboot, suspend, resume) and `DeleteGuests`.
//! Each requested VMID gets one result, in request order: a guest living on
//! another node is WRONG_NODE, the others run in parallel, at most
//! datacenter.cfg's `max_workers` at a time (PVE's own bound for bulk
//! actions), each waiting for its PVE task. Every guest's action is
//! journaled with the caller.

mod act;
mod decide;
mod delete;
mod record;
mod refusal;
#[cfg(test)]
mod tests;
mod wait;

use std::collections::BTreeSet;

use futures::StreamExt;
use pvectl_proto::v1::{
    self, ActionOutcome, DeleteGuestsRequest, DeleteGuestsResponse, GuestActionRequest,
    GuestActionResponse, GuestResult,
};

use crate::cluster::{ClusterView, Source};
use crate::context::Ctx;
use crate::error::AgentError;
use crate::guests::{GuestIndex, Located, proto_kind};
use crate::pmxcfs::DatacenterConfig;
use crate::pmxcfs::datacenter::DEFAULT_MAX_WORKERS;
use decide::Verb;
use refusal::Subject;

/// `RunGuestAction`: the action on every requested guest of this node.
pub async fn run_guest_action(
    ctx: &Ctx,
    actor: &str,
    request: GuestActionRequest,
) -> Result<GuestActionResponse, AgentError> {
    let verb = Verb::of(request.action()).ok_or_else(|| {
        AgentError::invalid("no action given: use start, stop, shutdown, reboot, suspend or resume")
    })?;
    let plan = act::Plan {
        verb,
        force: request.force,
        timeout_seconds: request.timeout_seconds,
        no_wait: request.no_wait,
    };
    let results = for_each_guest(ctx, &request.vmids, |located| {
        let entry = entry(actor, &located, verb.name());
        act::act(ctx, plan, located, entry)
    })
    .await?;
    Ok(GuestActionResponse { results })
}

/// `DeleteGuests`: every requested guest of this node destroyed, or refused.
pub async fn delete_guests(
    ctx: &Ctx,
    actor: &str,
    request: DeleteGuestsRequest,
) -> Result<DeleteGuestsResponse, AgentError> {
    let plan = delete::Plan {
        purge: request.purge,
        force: request.force,
    };
    let results = for_each_guest(ctx, &request.vmids, |located| {
        let entry = entry(actor, &located, "delete");
        delete::delete(ctx, plan, located, entry)
    })
    .await?;
    Ok(DeleteGuestsResponse { results })
}

/// The journal entry of `verb` on `located`: `vm.start` on `vm/100`.
fn entry(actor: &str, located: &Located, verb: &str) -> record::Entry {
    let resource = refusal::resource(located.kind);
    record::Entry {
        actor: actor.to_owned(),
        action: format!("{resource}.{verb}"),
        target: format!("{resource}/{}", located.vmid),
    }
}

/// Runs `work` for each of `vmids` living here, in parallel (bounded), and
/// answers the others (another node's, or no node's) at once; one result
/// per VMID, in order. A VMID given twice is refused.
async fn for_each_guest<'a, F, Fut>(
    ctx: &'a Ctx,
    vmids: &[u32],
    work: F,
) -> Result<Vec<GuestResult>, AgentError>
where
    F: Fn(Located) -> Fut + 'a,
    Fut: Future<Output = GuestResult> + 'a,
{
    let mut seen = BTreeSet::new();
    if let Some(twice) = vmids.iter().find(|vmid| !seen.insert(**vmid)) {
        return Err(AgentError::invalid(format!("guest {twice} is given twice")));
    }
    let index = GuestIndex::read(ctx).await?;
    let elsewhere = vmids
        .iter()
        .any(|vmid| index.get(*vmid).is_some_and(|l| l.node != ctx.node));
    let view = if elsewhere {
        Some(ctx.cluster().await?)
    } else {
        None
    };
    let at_once = actions_at_once(ctx).await;
    let work = &work;
    let jobs: Vec<_> = vmids
        .iter()
        .map(|&vmid| {
            let here = placed(ctx, &index, view.as_ref(), vmid);
            async move {
                match here {
                    Ok(located) => work(located).await,
                    Err(error) => failed(vmid, None, error),
                }
            }
        })
        .collect();
    Ok(futures::stream::iter(jobs)
        .buffered(at_once)
        .collect()
        .await)
}

/// The guest if it lives here; NOT_FOUND or WRONG_NODE otherwise.
fn placed(
    ctx: &Ctx,
    index: &GuestIndex,
    view: Option<&ClusterView>,
    vmid: u32,
) -> Result<Located, AgentError> {
    let located = index
        .get(vmid)
        .ok_or_else(|| AgentError::not_found(format!("guest {vmid} does not exist")))?;
    if located.node == ctx.node {
        return Ok(located.clone());
    }
    Err(match view {
        Some(view) => ctx.wrong_node(view, &located.node, &format!("guest {vmid}")),
        None => AgentError::wrong_node(
            &located.node,
            "",
            format!("guest {vmid} belongs to node '{}'", located.node),
        ),
    })
}

/// datacenter.cfg's `max_workers` (PVE's default in API-only mode, or when
/// the file cannot be read).
async fn actions_at_once(ctx: &Ctx) -> usize {
    let workers = match &ctx.source {
        Source::Pmxcfs(root) => match tokio::fs::read(root.join("datacenter.cfg")).await {
            Ok(bytes) => DatacenterConfig::parse(&bytes).max_workers(),
            Err(_) => DEFAULT_MAX_WORKERS,
        },
        Source::ApiOnly => DEFAULT_MAX_WORKERS,
    };
    usize::try_from(workers).unwrap_or(1).max(1)
}

/// The result of `located` before anything is known.
fn fresh(located: &Located) -> GuestResult {
    GuestResult {
        vmid: located.vmid,
        kind: proto_kind(located.kind) as i32,
        ..GuestResult::default()
    }
}

/// The result once the guest's work ended (a failure keeps the name and
/// state learnt before it), journaled.
async fn settle(
    ctx: &Ctx,
    entry: &record::Entry,
    located: &Located,
    result: GuestResult,
    outcome: Result<(), AgentError>,
) -> GuestResult {
    let result = match outcome {
        Ok(()) => result,
        Err(error) => GuestResult {
            name: result.name,
            status: result.status,
            ..failed(located.vmid, Some(located), error)
        },
    };
    entry.ended(ctx, &result).await;
    result
}

/// A FAILED result for `vmid` (of `kind` when known).
fn failed(vmid: u32, located: Option<&Located>, error: AgentError) -> GuestResult {
    GuestResult {
        vmid,
        kind: located.map_or(v1::GuestKind::Unspecified, |l| proto_kind(l.kind)) as i32,
        outcome: ActionOutcome::Failed as i32,
        upid: error.detail.upid.clone(),
        error: Some(*error.detail),
        ..GuestResult::default()
    }
}

/// The subject of messages about `located`.
fn subject(located: &Located) -> Subject {
    Subject {
        kind: located.kind,
        vmid: located.vmid,
    }
}

/// `running`, `stopped`, ... for messages.
pub fn status_word(status: v1::GuestStatus) -> &'static str {
    match status {
        v1::GuestStatus::Running => "running",
        v1::GuestStatus::Stopped => "stopped",
        v1::GuestStatus::Paused => "paused",
        v1::GuestStatus::Suspended => "suspended",
        v1::GuestStatus::Unknown | v1::GuestStatus::Unspecified => "in a known state",
    }
}
