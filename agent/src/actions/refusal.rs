//! PVE's refusals of lifecycle actions and deletes, in PVE's own words but
//! with a precise kind for the client's exit code, and what to do about
//! them: a lock (LOCKED), a state that does not allow the action or a
//! template started (REFUSED_BY_SAFETY), a guest gone (NOT_FOUND). Anything
//! else stays PVE_API_ERROR.
use pvectl_proto::v1::ErrorKind;

use crate::error::AgentError;
use crate::pmxcfs::GuestKind;
use crate::pve_api::PveError;

/// The guest a message is about, for hints.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Subject {
    pub kind: GuestKind,
    pub vmid: u32,
}

impl Subject {
    /// `VM` or `CT`, as PVE calls guests.
    pub fn word(self) -> &'static str {
        match self.kind {
            GuestKind::Qemu => "VM",
            GuestKind::Lxc => "CT",
        }
    }

    /// `VM 100`, `CT 102`.
    pub fn name(self) -> String {
        format!("{} {}", self.word(), self.vmid)
    }

    /// `qm` or `pct`.
    fn tool(self) -> &'static str {
        match self.kind {
            GuestKind::Qemu => "qm",
            GuestKind::Lxc => "pct",
        }
    }

    /// The hint for a `lock:` left on the guest.
    pub fn unlock_hint(self, lock: &str) -> String {
        format!(
            "wait for the {lock} to finish; if no task holds it any more, remove it with `{} unlock {}`",
            self.tool(),
            self.vmid
        )
    }
}

/// The kind, hint and retry advice PVE's `message` calls for; `None` when
/// it is no refusal this module knows.
pub fn classify(subject: Subject, message: &str) -> Option<(ErrorKind, String, bool)> {
    let refused = |hint: &str| Some((ErrorKind::RefusedBySafety, hint.to_owned(), false));
    if let Some(lock) = locked_by(message) {
        return Some((ErrorKind::Locked, subject.unlock_hint(lock), false));
    }
    if message.contains("can't lock file") && message.contains("got timeout") {
        let hint = "another task holds the guest's config lock; retry when it ended";
        return Some((ErrorKind::Locked, hint.to_owned(), true));
    }
    if message.contains("if it's a template") {
        return refused("a template never runs: create a guest from it instead");
    }
    if message.contains("already running") {
        return refused("it runs already; a paused guest needs resume instead");
    }
    if message.contains("is paused - cannot") {
        return refused("resume it first");
    }
    if message.contains("not running") {
        return refused("start it first");
    }
    if message.contains("protection mode enabled") {
        return refused(&format!(
            "clear the protection flag first (`pvectl {} update {} --set protection=0`)",
            resource(subject.kind),
            subject.vmid
        ));
    }
    if message.contains("used in HA resources and purge parameter not set") {
        return refused("delete with --purge to take it out of HA too");
    }
    if message.contains("is running - destroy failed") || message.contains("container is running") {
        return refused("stop it first, or delete with --force to stop it and delete");
    }
    if message.contains("does not exist") {
        return Some((ErrorKind::NotFound, String::new(), false));
    }
    None
}

/// The `vm`/`ct` command of a kind.
pub fn resource(kind: GuestKind) -> &'static str {
    match kind {
        GuestKind::Qemu => "vm",
        GuestKind::Lxc => "ct",
    }
}

/// `backup` from `VM is locked (backup)` / `CT is locked (disk)`.
pub fn locked_by(message: &str) -> Option<&str> {
    let rest = &message[message.find("is locked (")? + "is locked (".len()..];
    rest.split_once(')').map(|(lock, _)| lock)
}

/// An error carrying PVE's `pve_message`, `doing` what (`starting VM 100`),
/// made precise by [`classify`].
pub fn from_pve_message(subject: Subject, doing: &str, pve_message: &str) -> AgentError {
    let message = pve_message.trim_end();
    let mut err = match classify(subject, message) {
        Some((kind, hint, retryable)) => {
            let mut err = AgentError::new(kind, format!("{doing}: {message}"));
            if !hint.is_empty() {
                err = err.with_hint(hint);
            }
            err.detail.retryable = retryable;
            err
        }
        None => AgentError::new(ErrorKind::PveApiError, format!("{doing}: {message}")),
    };
    err.detail.pve_message = message.to_owned();
    err
}

/// A failed API call while `doing` something to `subject`: PVE's own
/// refusals by [`classify`], transport failures as
/// [`AgentError::pve`] says.
pub fn from_pve(subject: Subject, doing: &str, err: &PveError) -> AgentError {
    match err.pve_message() {
        Some(message) if !matches!(err, PveError::Auth { .. } | PveError::Permission { .. }) => {
            let mut agent = from_pve_message(subject, doing, message);
            if agent.kind() == ErrorKind::PveApiError {
                agent.detail.retryable = err.is_retryable();
            }
            agent
        }
        _ => AgentError::pve(doing, err),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const VM: Subject = Subject {
        kind: GuestKind::Qemu,
        vmid: 100,
    };
    const CT: Subject = Subject {
        kind: GuestKind::Lxc,
        vmid: 102,
    };

    fn kind_of(subject: Subject, message: &str) -> Option<ErrorKind> {
        classify(subject, message).map(|(kind, _, _)| kind)
    }

    #[test]
    fn a_lock_is_locked_with_the_unlock_command_of_the_guests_kind() {
        let (kind, hint, retryable) = classify(VM, "VM is locked (backup)").unwrap();
        assert_eq!(kind, ErrorKind::Locked);
        assert!(hint.contains("wait for the backup"), "{hint}");
        assert!(hint.contains("`qm unlock 100`"), "{hint}");
        assert!(!retryable);
        let (_, hint, _) = classify(CT, "CT is locked (disk)").unwrap();
        assert!(hint.contains("`pct unlock 102`"), "{hint}");
    }

    #[test]
    fn a_config_flock_timeout_is_locked_and_worth_a_retry() {
        let message = "can't lock file '/var/lock/qemu-server/lock-100.conf' - got timeout";
        let (kind, _, retryable) = classify(VM, message).unwrap();
        assert_eq!(kind, ErrorKind::Locked);
        assert!(retryable);
    }

    #[test]
    fn states_that_forbid_the_action_are_refusals_by_safety() {
        for message in [
            "you can't start a vm if it's a template",
            "VM 100 already running",
            "VM 100 not running",
            "VM is paused - cannot shutdown",
            "can't remove VM 100 - protection mode enabled",
            "VM 100 is running - destroy failed",
            "unable to destroy CT 102 - container is running",
            "unable to remove VM 100 - used in HA resources and purge parameter not set.",
        ] {
            assert_eq!(
                kind_of(VM, message),
                Some(ErrorKind::RefusedBySafety),
                "{message}"
            );
        }
    }

    #[test]
    fn a_missing_config_is_not_found_and_other_failures_are_left_alone() {
        let message = "Configuration file 'nodes/pve1/qemu-server/100.conf' does not exist";
        assert_eq!(kind_of(VM, message), Some(ErrorKind::NotFound));
        assert_eq!(kind_of(VM, "start failed: QEMU exited with code 1"), None);
    }

    #[test]
    fn pves_words_are_kept_beside_what_the_agent_was_doing() {
        let err = from_pve_message(VM, "starting VM 100", "VM is locked (clone)\n");
        assert_eq!(err.kind(), ErrorKind::Locked);
        assert_eq!(err.message, "starting VM 100: VM is locked (clone)");
        assert_eq!(err.detail.pve_message, "VM is locked (clone)");
        let other = from_pve_message(VM, "starting VM 100", "QEMU exited with code 1");
        assert_eq!(other.kind(), ErrorKind::PveApiError);
    }

    #[test]
    fn the_lock_name_is_read_from_pves_text() {
        assert_eq!(
            locked_by("VM is locked (snapshot-delete)"),
            Some("snapshot-delete")
        );
        assert_eq!(locked_by("VM 100 not running"), None);
    }
}
