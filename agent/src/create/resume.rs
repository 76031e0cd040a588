//! After a restart: every create the journal shows in flight is taken over.
//! If its task (the start task, else the clone task) still runs or ended
//! OK, the operation resumes and completes its remaining steps; otherwise
//! it is marked failed with what happened. Either way it is registered
//! under its old id, so `WatchOperation` finds it.
use std::sync::Arc;

use pvectl_proto::v1::{ErrorKind, OperationKind};
use time::OffsetDateTime;

use super::record::{self, CreateProgress};
use super::request::CreateRecord;
use super::{CreateRun, spawn};
use crate::context::Ctx;
use crate::error::AgentError;
use crate::guests::read_config;
use crate::journal::InFlightOperation;
use crate::operations::{Operation, OperationInfo};
use crate::pmxcfs::GuestKind;
use crate::pve_api::TaskExit;

/// What became of one operation found in flight.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resumed {
    pub id: String,
    /// True when it runs again; false when it was marked failed.
    pub resumed: bool,
    /// Why, in a sentence.
    pub reason: String,
}

/// Whether to take an operation up again.
#[derive(Debug)]
pub enum Decision {
    Resume,
    Fail(AgentError),
}

/// The task that decides, as (UPID, what it is): the start task once
/// submitted, else the clone task; `None` before the clone was submitted.
pub fn deciding_task(progress: &CreateProgress) -> Option<(&str, &'static str)> {
    match (&progress.start_upid, &progress.upid) {
        (Some(upid), _) => Some((upid, "start")),
        (None, Some(upid)) => Some((upid, "clone")),
        (None, None) => None,
    }
}

/// Resume while the task runs (`None`) or after it ended OK; fail after
/// it failed.
pub fn judge(what: &str, upid: &str, exit: Option<TaskExit>) -> Decision {
    match exit {
        Some(TaskExit::Failed(message)) => {
            let mut err = AgentError::new(
                ErrorKind::PveApiError,
                format!("the {what} task failed while the agent was down: {message}"),
            );
            err.detail.pve_message = message;
            err.detail.upid = upid.to_string();
            Decision::Fail(err)
        }
        None | Some(TaskExit::Ok | TaskExit::Warnings(_)) => Decision::Resume,
    }
}

/// Takes over every create in flight; call before serving.
pub async fn resume_in_flight(ctx: &Ctx) -> Vec<Resumed> {
    let mut reports = Vec::new();
    for in_flight in ctx.journal.in_flight() {
        if in_flight.start.action != record::ACTION {
            continue;
        }
        reports.push(take_over(ctx, &in_flight).await);
    }
    reports
}

async fn take_over(ctx: &Ctx, in_flight: &InFlightOperation) -> Resumed {
    let request: Result<CreateRecord, _> = serde_json::from_str(&in_flight.start.detail);
    let progress: CreateProgress = if in_flight.last.seq == in_flight.start.seq {
        CreateProgress::default()
    } else {
        serde_json::from_str(&in_flight.last.detail).unwrap_or_default()
    };
    let name = request.as_ref().map(|r| r.name.clone()).unwrap_or_default();
    let op = ctx.operations.adopt(
        &in_flight.id,
        OperationInfo {
            kind: OperationKind::CreateFromTemplate,
            actor: in_flight.start.actor.clone(),
            name,
        },
        unix_ms(in_flight.start.time),
    );
    let request = match request {
        Ok(request) => request,
        Err(e) => {
            let err = AgentError::internal(format!("cannot read the journaled request: {e}"));
            return fail(ctx, &op, in_flight.start.target.clone(), err).await;
        }
    };
    let target = record::target(&request, &progress);
    let decision = match deciding_task(&progress) {
        None => Decision::Fail(not_submitted(ctx, &progress).await),
        Some((upid, what)) => match ctx.pve.task_status(&ctx.node, upid).await {
            Ok(status) => judge(what, upid, status.exit()),
            Err(e) => Decision::Fail(AgentError::pve(
                &format!("reading the {what} task {upid} after a restart"),
                &e,
            )),
        },
    };
    match decision {
        Decision::Fail(err) => fail(ctx, &op, target, err).await,
        Decision::Resume => {
            let reason = match deciding_task(&progress) {
                Some((upid, what)) => format!("resumed: the {what} task {upid} runs or ended OK"),
                None => "resumed".to_string(),
            };
            op.set_vmid(progress.vmid.unwrap_or_default());
            op.emit(
                pvectl_proto::v1::CreatePhase::Waiting,
                None,
                format!("{reason} (the agent restarted)"),
            );
            record::progress(ctx, &op, "resume", &request, &progress).await;
            spawn(CreateRun::new(ctx, Arc::clone(&op), request, progress));
            Resumed {
                id: in_flight.id.clone(),
                resumed: true,
                reason,
            }
        }
    }
}

/// The operation stopped before its clone was submitted (or before the
/// UPID was journaled): say whether its VMID exists now.
async fn not_submitted(ctx: &Ctx, progress: &CreateProgress) -> AgentError {
    let mut message =
        "the agent stopped before the clone was submitted; nothing was resumed".to_string();
    if let Some(vmid) = progress.vmid
        && let Ok(Some(_)) = read_config(ctx, &ctx.node, GuestKind::Qemu, vmid).await
    {
        message.push_str(&format!(
            "; VM {vmid} exists now: check whether this create made it (`qm config {vmid}`)"
        ));
    }
    AgentError::unavailable(message)
}

async fn fail(ctx: &Ctx, op: &Arc<Operation>, target: String, err: AgentError) -> Resumed {
    let reason = err.message.clone();
    let outcome = Err(*err.detail);
    record::finished(ctx, op, target, &outcome).await;
    if let Err(detail) = outcome {
        op.finish_err(detail);
    }
    Resumed {
        id: op.id().to_string(),
        resumed: false,
        reason,
    }
}

fn unix_ms(time: OffsetDateTime) -> i64 {
    i64::try_from(time.unix_timestamp_nanos() / 1_000_000).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_start_task_decides_once_submitted_else_the_clone_task() {
        let mut progress = CreateProgress::default();
        assert_eq!(deciding_task(&progress), None);
        progress.upid = Some("UPID:clone".into());
        assert_eq!(deciding_task(&progress), Some(("UPID:clone", "clone")));
        progress.start_upid = Some("UPID:start".into());
        assert_eq!(deciding_task(&progress), Some(("UPID:start", "start")));
    }

    #[test]
    fn running_or_successful_tasks_resume_and_failed_ones_fail_with_pve_text() {
        assert!(matches!(judge("clone", "U", None), Decision::Resume));
        assert!(matches!(
            judge("clone", "U", Some(TaskExit::Ok)),
            Decision::Resume
        ));
        assert!(matches!(
            judge("clone", "U", Some(TaskExit::Warnings(1))),
            Decision::Resume
        ));
        let Decision::Fail(err) = judge("clone", "U", Some(TaskExit::Failed("boom".into()))) else {
            panic!("a failed task resumed");
        };
        assert_eq!(err.kind(), ErrorKind::PveApiError);
        assert_eq!(err.detail.pve_message, "boom");
        assert_eq!(err.detail.upid, "U");
    }
}
