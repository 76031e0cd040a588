//! The journal entry of an update: who changed which keys of which guest,
//! from what to what (secrets hidden), whether each applied or waits in the
//! pending section, and the new digest; or why nothing was changed.

use pvectl_proto::v1::ConfigDiffEntry;
use serde_json::{Value, json};

use super::diff;
use crate::context::Ctx;
use crate::create::record::{append, outcome_of};
use crate::error::AgentError;
use crate::guests::Located;
use crate::journal::{NewEntry, Outcome};
use crate::pmxcfs::GuestKind;

/// `vm.update`, `ct.update`.
fn action(kind: GuestKind) -> &'static str {
    match kind {
        GuestKind::Qemu => "vm.update",
        GuestKind::Lxc => "ct.update",
    }
}

/// `vm/101`, `ct/112`.
fn target(located: &Located) -> String {
    match located.kind {
        GuestKind::Qemu => format!("vm/{}", located.vmid),
        GuestKind::Lxc => format!("ct/{}", located.vmid),
    }
}

/// The diff as the journal keeps it, secrets hidden.
fn changes(diff: &[ConfigDiffEntry]) -> Value {
    diff::masked(diff)
        .into_iter()
        .map(|entry| {
            json!({
                "key": entry.key, "old": entry.old_value, "new": entry.new_value,
                "pending": entry.pending,
            })
        })
        .collect()
}

/// What the update came to.
pub enum Ended<'a> {
    /// Applied: the diff as stored, the new digest, the qmconfig task.
    Applied {
        diff: &'a [ConfigDiffEntry],
        digest: &'a str,
        upid: Option<&'a str>,
    },
    /// Not applied: the planned diff (empty when the request was refused
    /// before one existed) and why.
    NotApplied {
        planned: &'a [ConfigDiffEntry],
        error: &'a AgentError,
    },
}

/// Appends the entry; a failure to write it is logged, not returned: the
/// change itself is done (or refused) either way.
pub async fn journal(ctx: &Ctx, actor: &str, located: &Located, ended: Ended<'_>) {
    let (outcome, detail) = match ended {
        Ended::Applied { diff, digest, upid } => (
            Outcome::Ok,
            json!({"changes": changes(diff), "digest": digest, "upid": upid}),
        ),
        Ended::NotApplied { planned, error } => (
            outcome_of(error.kind()),
            json!({
                "changes": changes(planned), "kind": error.kind().as_str_name(),
                "message": error.message, "upid": error.detail.upid,
            }),
        ),
    };
    let entry = NewEntry {
        actor: actor.to_string(),
        action: action(located.kind).into(),
        target: target(located),
        outcome,
        detail: detail.to_string(),
        operation: None,
    };
    if let Err(err) = append(ctx, entry).await {
        tracing::error!(vmid = located.vmid, %err, "cannot journal an update");
    }
}
