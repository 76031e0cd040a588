//! `UpdateGuestConfig` (DESIGN "The rest of the command line": `vm|ct
//! update`): check every key and value, compute the diff against the config
//! as stored, and on a dry run return it; otherwise send only what changes,
//! with the digest, so a change made in between is refused (CONFLICT) and
//! never lost. Read the config back to report what PVE stored and which
//! keys wait in the pending section until the guest restarts. Locked guests
//! are refused as PVE refuses them. Every applied or refused update is
//! journaled with the caller, the keys and their old and new values
//! (secrets hidden).

pub mod diff;
pub mod keys;
mod record;
mod send;
pub mod value;

use pvectl_proto::v1::{ConfigDiffEntry, UpdateGuestConfigRequest, UpdateGuestConfigResponse};

use crate::authz::Caller;
use crate::context::Ctx;
use crate::error::AgentError;
use crate::guests::{self, Located, read::read_config_with_pending};
use crate::pmxcfs::ParsedGuestConfig;
use record::Ended;

/// What a successful update (or dry run) came to.
struct Done {
    diff: Vec<ConfigDiffEntry>,
    digest: String,
    applied: bool,
    upid: Option<String>,
}

/// Handles one `UpdateGuestConfig` call from `caller`.
pub async fn update_guest_config(
    ctx: &Ctx,
    caller: &Caller,
    request: &UpdateGuestConfigRequest,
) -> Result<UpdateGuestConfigResponse, AgentError> {
    let located = guests::locate_here(ctx, request.vmid).await?;
    let mut planned = Vec::new();
    let outcome = run(ctx, &located, request, &mut planned).await;
    if !request.dry_run {
        let ended = match &outcome {
            Ok(done) if done.applied => Some(Ended::Applied {
                diff: &done.diff,
                digest: &done.digest,
                upid: done.upid.as_deref(),
            }),
            // nothing to change: nothing happened worth an entry
            Ok(_) => None,
            Err(error) => Some(Ended::NotApplied {
                planned: &planned,
                error,
            }),
        };
        if let Some(ended) = ended {
            record::journal(ctx, &caller.cn, &located, ended).await;
        }
    }
    let done = outcome?;
    Ok(UpdateGuestConfigResponse {
        diff: diff::masked(&done.diff),
        digest: done.digest,
        applied: done.applied,
    })
}

/// Checks, plans and (unless a dry run or a no-op) applies the update;
/// `planned` holds the diff once there is one, for the journal.
async fn run(
    ctx: &Ctx,
    located: &Located,
    request: &UpdateGuestConfigRequest,
    planned: &mut Vec<ConfigDiffEntry>,
) -> Result<Done, AgentError> {
    let changes = diff::check(located.kind, &request.changes, &request.deletes)?;
    let before = read(ctx, located).await?;
    if !request.expected_digest.is_empty() && request.expected_digest != before.digest {
        return Err(send::conflict(
            located,
            "its digest is no longer the one the update was prepared with",
        ));
    }
    if let Some(lock) = before.config.lock() {
        return Err(send::locked(located, lock));
    }
    *planned = diff::plan(&before.config, &changes);
    if request.dry_run || planned.is_empty() {
        return Ok(Done {
            diff: planned.clone(),
            digest: before.digest,
            applied: false,
            upid: None,
        });
    }
    let upid = send::send(ctx, located, &send::params(planned, &before.digest)).await?;
    let after = read(ctx, located).await?;
    Ok(Done {
        diff: diff::read_back(planned, &after.config),
        digest: after.digest,
        applied: true,
        upid,
    })
}

/// The guest's config with its pending section.
async fn read(ctx: &Ctx, located: &Located) -> Result<ParsedGuestConfig, AgentError> {
    read_config_with_pending(ctx, &located.node, located.kind, located.vmid)
        .await?
        .ok_or_else(|| {
            AgentError::not_found(format!("{} does not exist", send::guest_name(located)))
        })
}
