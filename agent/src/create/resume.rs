//! After a restart: every operation the journal shows in flight is taken
//! over. If its deciding task (the start task, else a promote's
//! conversion, else the clone or create task) still runs or ended OK, the
//! operation resumes and completes its remaining steps; otherwise it is
//! marked failed with what happened. Either way it is registered under its
//! old id, so `WatchOperation` finds it.
use std::sync::Arc;

use pvectl_proto::v1::ErrorKind;
use time::OffsetDateTime;

use super::promote::PromoteRecord;
use super::record::{self, CreateProgress, Request};
use super::request::CreateRecord;
use super::scratch::{ContainerRecord, VmRecord};
use super::{Flow, Run, spawn};
use crate::context::Ctx;
use crate::error::AgentError;
use crate::guests::read_config;
use crate::journal::InFlightOperation;
use crate::operations::{Operation, OperationInfo};
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
/// submitted, else the conversion to a template, else the `main` task
/// (`clone`, `create`); `None` before that was submitted.
pub fn deciding_task<'a>(
    progress: &'a CreateProgress,
    main: &'static str,
) -> Option<(&'a str, &'static str)> {
    match (
        &progress.start_upid,
        &progress.template_upid,
        &progress.upid,
    ) {
        (Some(upid), _, _) => Some((upid, "start")),
        (None, Some(upid), _) => Some((upid, "conversion")),
        (None, None, Some(upid)) => Some((upid, main)),
        (None, None, None) => None,
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

/// Takes over every operation in flight; call before serving.
pub async fn resume_in_flight(ctx: &Ctx) -> Vec<Resumed> {
    let mut reports = Vec::new();
    for in_flight in ctx.journal.in_flight() {
        let report = match in_flight.start.action.as_str() {
            CreateRecord::ACTION => take_over::<CreateRecord>(ctx, &in_flight).await,
            VmRecord::ACTION => take_over::<VmRecord>(ctx, &in_flight).await,
            ContainerRecord::ACTION => take_over::<ContainerRecord>(ctx, &in_flight).await,
            PromoteRecord::ACTION => take_over::<PromoteRecord>(ctx, &in_flight).await,
            _ => continue,
        };
        reports.push(report);
    }
    reports
}

async fn take_over<R: Flow>(ctx: &Ctx, in_flight: &InFlightOperation) -> Resumed {
    let request: Result<R, _> = serde_json::from_str(&in_flight.start.detail);
    let progress: CreateProgress = if in_flight.last.seq == in_flight.start.seq {
        CreateProgress::default()
    } else {
        serde_json::from_str(&in_flight.last.detail).unwrap_or_default()
    };
    let name = request
        .as_ref()
        .map(|r| r.name().to_string())
        .unwrap_or_default();
    let op = ctx.operations.adopt(
        &in_flight.id,
        OperationInfo {
            kind: R::KIND,
            actor: in_flight.start.actor.clone(),
            name,
        },
        unix_ms(in_flight.start.time),
    );
    let request = match request {
        Ok(request) => request,
        Err(e) => {
            let err = AgentError::internal(format!("cannot read the journaled request: {e}"));
            return fail::<R>(ctx, &op, in_flight.start.target.clone(), err).await;
        }
    };
    let target = record::target(&request, &progress);
    let decision = match deciding_task(&progress, R::MAIN_TASK) {
        None => Decision::Fail(not_submitted::<R>(ctx, &progress).await),
        Some((upid, what)) => match ctx.pve.task_status(&ctx.node, upid).await {
            Ok(status) => judge(what, upid, status.exit()),
            Err(e) => Decision::Fail(AgentError::pve(
                &format!("reading the {what} task {upid} after a restart"),
                &e,
            )),
        },
    };
    match decision {
        Decision::Fail(err) => fail::<R>(ctx, &op, target, err).await,
        Decision::Resume => {
            let reason = match deciding_task(&progress, R::MAIN_TASK) {
                Some((upid, what)) => format!("resumed: the {what} task {upid} runs or ended OK"),
                None => "resumed".to_string(),
            };
            op.set_vmid(progress.vmid.unwrap_or_default());
            op.emit(
                pvectl_proto::v1::CreatePhase::Waiting,
                None,
                format!("{reason} (the agent restarted)"),
            );
            let run = Run::new(ctx, Arc::clone(&op), request, progress);
            run.mark("resume").await;
            spawn(run);
            Resumed {
                id: in_flight.id.clone(),
                resumed: true,
                reason,
            }
        }
    }
}

/// The operation stopped before its clone or create was submitted (or
/// before the UPID was journaled): say whether its VMID exists now.
async fn not_submitted<R: Request>(ctx: &Ctx, progress: &CreateProgress) -> AgentError {
    let mut message = format!(
        "the agent stopped before the {} was submitted; nothing was resumed",
        R::MAIN_TASK
    );
    let (word, tool) = super::failure::words(R::GUEST);
    if let Some(vmid) = progress.vmid
        && let Ok(Some(_)) = read_config(ctx, &ctx.node, R::GUEST, vmid).await
    {
        message.push_str(&format!(
            "; {word} {vmid} exists now: check whether this operation made it (`{tool} config {vmid}`)"
        ));
    }
    AgentError::unavailable(message)
}

async fn fail<R: Request>(
    ctx: &Ctx,
    op: &Arc<Operation>,
    target: String,
    err: AgentError,
) -> Resumed {
    let reason = err.message.clone();
    let outcome = Err(*err.detail);
    record::finished(ctx, op, R::ACTION, target, &outcome).await;
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
    fn the_start_task_decides_once_submitted_else_the_conversion_else_the_main_task() {
        let mut progress = CreateProgress::default();
        assert_eq!(deciding_task(&progress, "clone"), None);
        progress.upid = Some("UPID:clone".into());
        assert_eq!(
            deciding_task(&progress, "clone"),
            Some(("UPID:clone", "clone"))
        );
        progress.template_upid = Some("UPID:template".into());
        assert_eq!(
            deciding_task(&progress, "clone"),
            Some(("UPID:template", "conversion"))
        );
        progress.start_upid = Some("UPID:start".into());
        assert_eq!(
            deciding_task(&progress, "create"),
            Some(("UPID:start", "start"))
        );
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
