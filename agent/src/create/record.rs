//! The journal records of every create-type operation: a start mark with
//! the caller and the checked request, cumulative progress marks (VMID
//! allocated, the PVE tasks with their UPIDs), and a finish with the
//! outcome. A restarted agent reads the last mark to resume or fail the
//! operation. Each kind of request says how it is journaled through
//! [`Request`].
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use pvectl_proto::v1::{CreateResult, ErrorDetail, ErrorKind, OperationKind};

use crate::context::Ctx;
use crate::error::AgentError;
use crate::journal::{NewEntry, OperationMark, OperationPhase, Outcome};
use crate::operations::Operation;
use crate::pmxcfs::GuestKind;

/// A checked create-type request in the form the journal keeps (and a
/// restarted agent reads back).
pub trait Request: Serialize + DeserializeOwned + Send + Sync + 'static {
    /// The journal action of the whole operation (`vm.create`); progress
    /// marks are `<ACTION>.<step>`.
    const ACTION: &'static str;
    /// What `ListOperations` calls it.
    const KIND: OperationKind;
    /// The journal target's prefix (`vm` in `vm/104`).
    const TARGET: &'static str;
    /// The kind of guest the operation makes.
    const GUEST: GuestKind;
    /// The PVE task that makes the guest, in messages (`clone`, `create`).
    const MAIN_TASK: &'static str;

    /// The new guest's name.
    fn name(&self) -> &str;
    /// The VMID the caller asked for.
    fn vmid(&self) -> Option<u32>;
    /// The operation's time limit in seconds; 0: the agent's default.
    fn timeout_seconds(&self) -> u32;
}

/// What the operation has done so far; every progress mark holds all of it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CreateProgress {
    /// The template a name resolved to (create from a template).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub template: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vmid: Option<u32>,
    /// The clone or create task.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub upid: Option<String>,
    /// The start task.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start_upid: Option<String>,
    /// The conversion to a template (promote).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub template_upid: Option<String>,
}

/// `vm/<vmid>` once known, `vm/<name>` before.
pub fn target<R: Request>(record: &R, progress: &CreateProgress) -> String {
    match progress.vmid.or(record.vmid()) {
        Some(vmid) => format!("{}/{vmid}", R::TARGET),
        None => format!("{}/{}", R::TARGET, record.name()),
    }
}

/// Appends one entry (fsynced, off the async threads).
pub async fn append(ctx: &Ctx, entry: NewEntry) -> Result<(), AgentError> {
    let ctx = ctx.clone();
    tokio::task::spawn_blocking(move || ctx.journal.append(entry))
        .await
        .map_err(|e| AgentError::internal(format!("journal writer failed: {e}")))?
        .map(drop)
        .map_err(|e| AgentError::internal(format!("cannot write the journal: {e}")))
}

/// The start mark; the operation does not run without it.
pub async fn started<R: Request>(ctx: &Ctx, op: &Operation, record: &R) -> Result<(), AgentError> {
    let detail = serde_json::to_string(record)
        .map_err(|e| AgentError::internal(format!("encoding the request: {e}")))?;
    append(
        ctx,
        NewEntry {
            actor: op.info().actor.clone(),
            action: R::ACTION.into(),
            target: target(record, &CreateProgress::default()),
            outcome: Outcome::Started,
            detail,
            operation: Some(OperationMark {
                id: op.id().to_string(),
                phase: OperationPhase::Start,
            }),
        },
    )
    .await
}

/// A progress mark (`<action>.<step>`); a failure to write it is logged,
/// not fatal: the finish mark still closes the operation.
pub async fn progress<R: Request>(
    ctx: &Ctx,
    op: &Operation,
    step: &str,
    record: &R,
    progress: &CreateProgress,
) {
    let detail = serde_json::to_string(progress).unwrap_or_default();
    let entry = NewEntry {
        actor: op.info().actor.clone(),
        action: format!("{}.{step}", R::ACTION),
        target: target(record, progress),
        outcome: Outcome::Started,
        detail,
        operation: Some(OperationMark {
            id: op.id().to_string(),
            phase: OperationPhase::Progress,
        }),
    };
    if let Err(err) = append(ctx, entry).await {
        tracing::error!(operation = op.id(), %err, "cannot journal an operation's progress");
    }
}

/// The journal outcome of a failure: `refused` when nothing was changed
/// (not found, bad input, safety check, lock, stale digest, wrong node,
/// role), `failed` otherwise.
pub fn outcome_of(kind: ErrorKind) -> Outcome {
    let refused = matches!(
        kind,
        ErrorKind::RefusedBySafety
            | ErrorKind::Conflict
            | ErrorKind::Locked
            | ErrorKind::NotFound
            | ErrorKind::InvalidArgument
            | ErrorKind::WrongNode
            | ErrorKind::PermissionDenied
    );
    if refused {
        Outcome::Refused
    } else {
        Outcome::Failed
    }
}

/// The finish mark of an `action` operation: `ok` with the result, else
/// the outcome [`outcome_of`] the failure's kind.
pub async fn finished(
    ctx: &Ctx,
    op: &Operation,
    action: &str,
    target: String,
    outcome: &Result<CreateResult, ErrorDetail>,
) {
    let (result, detail) = match outcome {
        Ok(result) => (
            Outcome::Ok,
            serde_json::json!({
                "vmid": result.vmid, "node": result.node, "upid": result.upid,
                "digest": result.config_digest, "started": result.started,
            }),
        ),
        Err(error) => {
            let kind = error.kind();
            (
                outcome_of(kind),
                serde_json::json!({
                    "kind": kind.as_str_name(), "message": error.message, "upid": error.upid,
                }),
            )
        }
    };
    let entry = NewEntry {
        actor: op.info().actor.clone(),
        action: action.into(),
        target,
        outcome: result,
        detail: detail.to_string(),
        operation: Some(OperationMark {
            id: op.id().to_string(),
            phase: OperationPhase::Finish,
        }),
    };
    if let Err(err) = append(ctx, entry).await {
        tracing::error!(operation = op.id(), %err, "cannot journal an operation's end");
    }
}

/// A request refused before it became an operation (bad input).
pub async fn refused<R: Request>(ctx: &Ctx, actor: &str, name: &str, error: &AgentError) {
    let entry = NewEntry {
        actor: actor.to_string(),
        action: R::ACTION.into(),
        target: format!("{}/{name}", R::TARGET),
        outcome: Outcome::Refused,
        detail: serde_json::json!({"message": error.message}).to_string(),
        operation: None,
    };
    if let Err(err) = append(ctx, entry).await {
        tracing::error!(%err, "cannot journal a refused request");
    }
}
