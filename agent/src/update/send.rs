//! Sending a checked update to PVE: qemu through the asynchronous config
//! POST, waiting for its qmconfig task by watching its log; containers
//! through the synchronous PUT. Always with the digest of the config the
//! diff was computed on, so PVE itself refuses a change that came in
//! between. PVE's refusals come back typed: a stale digest is CONFLICT, a
//! lock is LOCKED, a value PVE's schema refuses is INVALID_ARGUMENT.

use std::time::Duration;

use pvectl_proto::v1::{ConfigDiffEntry, ErrorKind};
use tokio::time::Instant;

use crate::context::AgentCtx;
use crate::error::AgentError;
use crate::guests::Located;
use crate::pmxcfs::GuestKind;
use crate::pve_api::{Params, PveError, TaskExit};
use crate::task_wait::{TaskWaiter, WaitEvent};

/// How long the agent waits for a qmconfig task: it answers before
/// `pvectl`'s 30 s call timeout.
const TASK_WAIT: Duration = Duration::from_secs(25);

/// `VM 101`, `CT 112`: the guest as PVE's messages name it.
pub fn guest_name(located: &Located) -> String {
    let noun = match located.kind {
        GuestKind::Qemu => "VM",
        GuestKind::Lxc => "CT",
    };
    format!("{noun} {}", located.vmid)
}

/// The config call's parameters: the new values, `delete=` for removed
/// keys, and the digest the diff was computed on.
pub fn params(diff: &[ConfigDiffEntry], digest: &str) -> Params {
    let mut params = Params::new();
    let mut deletes = Vec::new();
    for entry in diff {
        match &entry.new_value {
            Some(value) => params = params.text(&entry.key, value.clone()),
            None => deletes.push(entry.key.as_str()),
        }
    }
    if !deletes.is_empty() {
        params = params.text("delete", deletes.join(","));
    }
    params.text("digest", digest)
}

/// Sends the change; returns the qmconfig task's UPID when PVE started one.
pub async fn send(
    ctx: &AgentCtx,
    located: &Located,
    params: &Params,
) -> Result<Option<String>, AgentError> {
    let (node, vmid) = (located.node.as_str(), located.vmid);
    match located.kind {
        GuestKind::Qemu => {
            let upid = ctx
                .pve
                .post_qemu_config(node, vmid, params)
                .await
                .map_err(|e| refusal(located, &e))?;
            if let Some(upid) = &upid {
                wait(ctx, located, upid).await?;
            }
            Ok(upid)
        }
        GuestKind::Lxc => {
            ctx.pve
                .put_guest_config(node, GuestKind::Lxc, vmid, params)
                .await
                .map_err(|e| refusal(located, &e))?;
            Ok(None)
        }
    }
}

/// Follows the qmconfig task to its end.
async fn wait(ctx: &AgentCtx, located: &Located, upid: &str) -> Result<(), AgentError> {
    let mut waiter = TaskWaiter::start(ctx, &located.node, upid, None, Instant::now() + TASK_WAIT);
    let mut err = loop {
        match waiter.next().await {
            WaitEvent::Line(_) | WaitEvent::GuestChanged => {}
            WaitEvent::Ended(TaskExit::Failed(message)) => {
                break typed(located, &message).unwrap_or_else(|| {
                    let mut err = AgentError::new(
                        ErrorKind::PveApiError,
                        format!(
                            "changing the config of {} failed: {message}",
                            guest_name(located)
                        ),
                    );
                    err.detail.pve_message = message;
                    err
                });
            }
            WaitEvent::Ended(_) => return Ok(()),
            WaitEvent::TimedOut => {
                break AgentError::timeout(format!(
                    "the config change of {} did not finish within {}s; it may still apply",
                    guest_name(located),
                    TASK_WAIT.as_secs()
                ))
                .with_hint("read the config again to see what was applied");
            }
        }
    };
    err.detail.task_log_tail = waiter.tail();
    err.detail.upid = upid.to_string();
    Err(err)
}

/// PVE's refusal of the config call, typed by what the caller can do.
pub fn refusal(located: &Located, err: &PveError) -> AgentError {
    if let Some(fields) = err.field_errors() {
        let fields: Vec<String> = fields
            .iter()
            .map(|(key, message)| format!("{key}: {}", message.trim_end()))
            .collect();
        let mut invalid = AgentError::invalid(format!(
            "PVE refused the new config of {}: {}",
            guest_name(located),
            fields.join("; ")
        ));
        invalid.detail.pve_message = err.pve_message().unwrap_or_default().to_string();
        return invalid;
    }
    if let Some(typed) = err.pve_message().and_then(|text| typed(located, text)) {
        return typed;
    }
    AgentError::pve(
        &format!("changing the config of {}", guest_name(located)),
        err,
    )
}

/// The refusals an update expects, recognised by PVE's own texts.
fn typed(located: &Located, text: &str) -> Option<AgentError> {
    let mut err = if text.contains("checksum mismatch") || text.contains("changed by other user") {
        conflict(located, "another change was written first")
    } else if let Some(lock) = lock_in(text) {
        locked(located, lock)
    } else if text.contains("can't lock file") {
        AgentError::new(
            ErrorKind::Locked,
            format!(
                "the config of {} is held by another PVE task (its config lock timed out)",
                guest_name(located)
            ),
        )
        .with_hint("repeat the update when that task has ended")
    } else {
        return None;
    };
    err.detail.pve_message = text.trim_end().to_string();
    Some(err)
}

/// `backup` from PVE's `VM is locked (backup)`.
fn lock_in(text: &str) -> Option<&str> {
    let rest = text.split_once("is locked (")?.1;
    rest.split_once(')').map(|(lock, _)| lock)
}

/// CONFLICT: the config is no longer the one the diff was computed on.
pub fn conflict(located: &Located, why: &str) -> AgentError {
    AgentError::conflict(format!(
        "the config of {} changed after it was read ({why}); nothing was changed",
        guest_name(located)
    ))
    .with_hint("read the config again and repeat the update")
}

/// LOCKED: PVE refuses config changes while the guest carries `lock`.
pub fn locked(located: &Located, lock: &str) -> AgentError {
    let tool = match located.kind {
        GuestKind::Qemu => "qm",
        GuestKind::Lxc => "pct",
    };
    AgentError::new(
        ErrorKind::Locked,
        format!(
            "{} is locked ({lock}): PVE refuses config changes while the lock is held",
            guest_name(located)
        ),
    )
    .with_hint(format!(
        "wait for the {lock} to end; a stale lock is removed with `{tool} unlock {}` on node {}",
        located.vmid, located.node
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn located(kind: GuestKind) -> Located {
        Located {
            vmid: 101,
            node: "pve1".into(),
            kind,
            version: 1,
        }
    }

    #[test]
    fn parameters_carry_values_deletes_and_the_digest() {
        let entry = |key: &str, new: Option<&str>| ConfigDiffEntry {
            key: key.into(),
            old_value: Some("x".into()),
            new_value: new.map(str::to_string),
            pending: false,
        };
        let params = params(
            &[
                entry("cores", Some("4")),
                entry("onboot", None),
                entry("tags", None),
            ],
            "abc",
        );
        let pairs: Vec<(&str, &str)> = params
            .pairs()
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        assert_eq!(
            pairs,
            [("cores", "4"), ("delete", "onboot,tags"), ("digest", "abc")]
        );
    }

    #[test]
    fn pves_refusals_become_conflict_and_locked() {
        let vm = located(GuestKind::Qemu);
        let stale = typed(&vm, "checksum mismatch (file change by other user?)\n").unwrap();
        assert_eq!(stale.kind(), ErrorKind::Conflict);
        assert_eq!(
            stale.message,
            "the config of VM 101 changed after it was read (another change was written first); nothing was changed"
        );
        let modified = typed(
            &vm,
            "detected modified configuration - file changed by other user? Try again.",
        )
        .unwrap();
        assert_eq!(modified.kind(), ErrorKind::Conflict);
        let ct = located(GuestKind::Lxc);
        let lock = typed(&ct, "CT is locked (backup)").unwrap();
        assert_eq!(lock.kind(), ErrorKind::Locked);
        assert!(lock.message.starts_with("CT 101 is locked (backup)"));
        assert!(lock.detail.hint.contains("pct unlock 101"), "{lock:?}");
        assert!(typed(&vm, "unable to parse value of 'net0'").is_none());
    }
}
