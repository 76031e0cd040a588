//! The journal entries of lifecycle actions and deletes, per guest: a
//! `started` entry once PVE accepted the task (with its UPID), then one
//! saying how it ended: `ok` (done, already so, started, queued to the HA
//! manager), `refused` (nothing changed: a safety check, a lock, a state
//! PVE refuses the action in) or `failed`. A journal that cannot be written
//! is logged; the action's result stands.
use pvectl_proto::v1::{ActionOutcome, ErrorKind, GuestResult};

use crate::context::Ctx;
use crate::create::record::append;
use crate::journal::{NewEntry, Outcome};

/// Who asked, and what for which guest: `vm.start` on `vm/100`.
#[derive(Debug, Clone)]
pub struct Entry {
    pub actor: String,
    pub action: String,
    pub target: String,
}

impl Entry {
    async fn write(&self, ctx: &Ctx, outcome: Outcome, detail: serde_json::Value) {
        let entry = NewEntry {
            actor: self.actor.clone(),
            action: self.action.clone(),
            target: self.target.clone(),
            outcome,
            detail: detail.to_string(),
            operation: None,
        };
        if let Err(err) = append(ctx, entry).await {
            tracing::error!(action = %self.action, target = %self.target, %err, "cannot journal");
        }
    }

    /// PVE accepted the task `upid` (`step`: `stop` before a delete, or
    /// the action itself).
    pub async fn submitted(&self, ctx: &Ctx, step: &str, upid: &str) {
        let detail = serde_json::json!({"step": step, "upid": upid});
        self.write(ctx, Outcome::Started, detail).await;
    }

    /// How it ended.
    pub async fn ended(&self, ctx: &Ctx, result: &GuestResult) {
        let outcome = journal_outcome(result);
        let mut detail = serde_json::json!({
            "outcome": result.outcome().as_str_name(),
            "upid": result.upid,
        });
        if let Some(error) = &result.error {
            detail["kind"] = error.kind().as_str_name().into();
            detail["message"] = error.message.clone().into();
        }
        self.write(ctx, outcome, detail).await;
    }
}

/// `ok` for every outcome but FAILED; a failure that changed nothing is
/// `refused`.
pub fn journal_outcome(result: &GuestResult) -> Outcome {
    if result.outcome() != ActionOutcome::Failed {
        return Outcome::Ok;
    }
    let kind = result
        .error
        .as_ref()
        .map_or(ErrorKind::Unspecified, |error| error.kind());
    match kind {
        ErrorKind::RefusedBySafety
        | ErrorKind::Locked
        | ErrorKind::NotFound
        | ErrorKind::WrongNode
        | ErrorKind::InvalidArgument
        | ErrorKind::PermissionDenied => Outcome::Refused,
        _ => Outcome::Failed,
    }
}
