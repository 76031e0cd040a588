//! The create's journal records: a `vm.create` start with the caller and
//! the checked request, cumulative progress marks (VMID allocated, clone
//! and start tasks with their UPIDs), and a finish with the outcome. A
//! restarted agent reads the last mark to resume or fail the operation.
use serde::{Deserialize, Serialize};

use pvectl_proto::v1::{CreateResult, ErrorDetail, ErrorKind};

use super::request::CreateRecord;
use crate::context::Ctx;
use crate::error::AgentError;
use crate::journal::{NewEntry, OperationMark, OperationPhase, Outcome};
use crate::operations::Operation;

/// The journal action of a create from a template.
pub const ACTION: &str = "vm.create";

/// What the operation has done so far; every progress mark holds all of it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CreateProgress {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub template: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vmid: Option<u32>,
    /// The clone task.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub upid: Option<String>,
    /// The start task.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start_upid: Option<String>,
}

/// `vm/<vmid>` once known, `vm/<name>` before.
pub fn target(record: &CreateRecord, progress: &CreateProgress) -> String {
    match progress.vmid.or(record.vmid) {
        Some(vmid) => format!("vm/{vmid}"),
        None => format!("vm/{}", record.name),
    }
}

/// Appends one entry (fsynced, off the async threads).
pub(crate) async fn append(ctx: &Ctx, entry: NewEntry) -> Result<(), AgentError> {
    let ctx = ctx.clone();
    tokio::task::spawn_blocking(move || ctx.journal.append(entry))
        .await
        .map_err(|e| AgentError::internal(format!("journal writer failed: {e}")))?
        .map(drop)
        .map_err(|e| AgentError::internal(format!("cannot write the journal: {e}")))
}

/// The start mark; the operation does not run without it.
pub async fn started(ctx: &Ctx, op: &Operation, record: &CreateRecord) -> Result<(), AgentError> {
    let detail = serde_json::to_string(record)
        .map_err(|e| AgentError::internal(format!("encoding the request: {e}")))?;
    append(
        ctx,
        NewEntry {
            actor: op.info().actor.clone(),
            action: ACTION.into(),
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

/// A progress mark (`vm.create.<step>`); a failure to write it is logged,
/// not fatal: the finish mark still closes the operation.
pub async fn progress(
    ctx: &Ctx,
    op: &Operation,
    step: &str,
    record: &CreateRecord,
    progress: &CreateProgress,
) {
    let detail = serde_json::to_string(progress).unwrap_or_default();
    let entry = NewEntry {
        actor: op.info().actor.clone(),
        action: format!("{ACTION}.{step}"),
        target: target(record, progress),
        outcome: Outcome::Started,
        detail,
        operation: Some(OperationMark {
            id: op.id().to_string(),
            phase: OperationPhase::Progress,
        }),
    };
    if let Err(err) = append(ctx, entry).await {
        tracing::error!(operation = op.id(), %err, "cannot journal a create's progress");
    }
}

/// The finish mark: `ok` with the result, `refused` when nothing was
/// changed (not found, bad input, safety check, VMID taken), `failed`
/// otherwise.
pub async fn finished(
    ctx: &Ctx,
    op: &Operation,
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
            let refused = matches!(
                kind,
                ErrorKind::RefusedBySafety
                    | ErrorKind::Conflict
                    | ErrorKind::NotFound
                    | ErrorKind::InvalidArgument
                    | ErrorKind::WrongNode
                    | ErrorKind::PermissionDenied
            );
            let outcome = if refused {
                Outcome::Refused
            } else {
                Outcome::Failed
            };
            (
                outcome,
                serde_json::json!({
                    "kind": kind.as_str_name(), "message": error.message, "upid": error.upid,
                }),
            )
        }
    };
    let entry = NewEntry {
        actor: op.info().actor.clone(),
        action: ACTION.into(),
        target,
        outcome: result,
        detail: detail.to_string(),
        operation: Some(OperationMark {
            id: op.id().to_string(),
            phase: OperationPhase::Finish,
        }),
    };
    if let Err(err) = append(ctx, entry).await {
        tracing::error!(operation = op.id(), %err, "cannot journal a create's end");
    }
}

/// A request refused before it became an operation (bad input).
pub async fn refused(ctx: &Ctx, actor: &str, name: &str, error: &AgentError) {
    let entry = NewEntry {
        actor: actor.to_string(),
        action: ACTION.into(),
        target: format!("vm/{name}"),
        outcome: Outcome::Refused,
        detail: serde_json::json!({"message": error.message}).to_string(),
        operation: None,
    };
    if let Err(err) = append(ctx, entry).await {
        tracing::error!(%err, "cannot journal a refused create");
    }
}
