//! The pure decisions of a lifecycle action: which PVE action it is, the
//! parameters PVE takes for it, whether the guest already is where the
//! action would take it (then no task runs), the state it ends in, and
//! whether PVE handed it to the HA manager (a `hastart`/`hastop` task).
use pvectl_proto::v1;

use crate::pmxcfs::GuestKind;
use crate::pve_api::{GuestAction, Params};

/// A requested action, checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Verb {
    pub action: GuestAction,
}

impl Verb {
    /// The proto action; `None` for UNSPECIFIED.
    pub fn of(action: v1::GuestAction) -> Option<Verb> {
        let action = match action {
            v1::GuestAction::Start => GuestAction::Start,
            v1::GuestAction::Stop => GuestAction::Stop,
            v1::GuestAction::Shutdown => GuestAction::Shutdown,
            v1::GuestAction::Reboot => GuestAction::Reboot,
            v1::GuestAction::Suspend => GuestAction::Suspend,
            v1::GuestAction::Resume => GuestAction::Resume,
            v1::GuestAction::Unspecified => return None,
        };
        Some(Verb { action })
    }

    /// The verb's name (`start`), as in PVE's path and the journal.
    pub fn name(self) -> &'static str {
        self.action.as_str()
    }

    /// `starting`, for messages.
    pub fn doing(self) -> &'static str {
        match self.action {
            GuestAction::Start => "starting",
            GuestAction::Stop => "stopping",
            GuestAction::Shutdown => "shutting down",
            GuestAction::Reboot => "rebooting",
            GuestAction::Suspend => "suspending",
            GuestAction::Resume => "resuming",
            GuestAction::Reset => "resetting",
        }
    }

    /// PVE's parameters: `timeout` where the endpoint takes one; `force`
    /// is `forceStop` for a shutdown and `overrule-shutdown` for a stop.
    pub fn params(self, force: bool, timeout_seconds: u32) -> Params {
        let timeout = (timeout_seconds > 0).then_some(timeout_seconds);
        match self.action {
            GuestAction::Start | GuestAction::Reboot => Params::new().opt_int("timeout", timeout),
            GuestAction::Stop => Params::new()
                .opt_int("timeout", timeout)
                .opt_flag("overrule-shutdown", force.then_some(true)),
            GuestAction::Shutdown => Params::new()
                .opt_int("timeout", timeout)
                .opt_flag("forceStop", force.then_some(true)),
            GuestAction::Suspend | GuestAction::Resume | GuestAction::Reset => Params::new(),
        }
    }

    /// Whether a guest in `status` already is where the action takes it.
    /// A container's freeze does not show in its status, so suspend and
    /// resume of a running container always go to PVE; a reboot always
    /// acts.
    pub fn already(self, kind: GuestKind, status: v1::GuestStatus) -> bool {
        use v1::GuestStatus::{Paused, Running, Stopped};
        match self.action {
            GuestAction::Start => status == Running,
            GuestAction::Stop | GuestAction::Shutdown => status == Stopped,
            GuestAction::Suspend => status == Paused,
            GuestAction::Resume => kind == GuestKind::Qemu && status == Running,
            GuestAction::Reboot | GuestAction::Reset => false,
        }
    }

    /// The state a guest is in once the action's task ended OK.
    pub fn status_after(self) -> v1::GuestStatus {
        match self.action {
            GuestAction::Stop | GuestAction::Shutdown => v1::GuestStatus::Stopped,
            GuestAction::Suspend => v1::GuestStatus::Paused,
            GuestAction::Start | GuestAction::Reboot | GuestAction::Resume | GuestAction::Reset => {
                v1::GuestStatus::Running
            }
        }
    }
}

/// The task type a UPID names (`UPID:node:pid:pstart:starttime:TYPE:id:user:`).
pub fn task_type(upid: &str) -> Option<&str> {
    upid.strip_prefix("UPID:")?.split(':').nth(4)
}

/// Whether PVE handed the action to the HA manager instead of running it:
/// the task only queued a request, and the state changes when the manager
/// acts.
pub fn queued_to_ha(upid: &str) -> bool {
    matches!(task_type(upid), Some("hastart" | "hastop"))
}
