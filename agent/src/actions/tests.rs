//! The pure parts of actions and deletes: what is already done, PVE's
//! parameters, HA requests, the delete refusals and the journal outcome.
use pvectl_proto::v1::{self, ActionOutcome, ErrorDetail, ErrorKind, GuestResult, GuestStatus};

use super::decide::{Verb, queued_to_ha, task_type};
use super::delete::{Plan, refuse};
use super::record::journal_outcome;
use super::refusal::Subject;
use crate::guests::ConfigFacts;
use crate::journal::Outcome;
use crate::pmxcfs::GuestKind;

fn verb(action: v1::GuestAction) -> Verb {
    Verb::of(action).unwrap()
}

#[test]
fn only_an_unspecified_action_has_no_verb() {
    assert!(Verb::of(v1::GuestAction::Unspecified).is_none());
    assert_eq!(verb(v1::GuestAction::Shutdown).name(), "shutdown");
}

#[test]
fn a_guest_already_in_the_wanted_state_needs_no_task() {
    use GuestStatus::{Paused, Running, Stopped};
    let qemu = GuestKind::Qemu;
    assert!(verb(v1::GuestAction::Start).already(qemu, Running));
    assert!(!verb(v1::GuestAction::Start).already(qemu, Paused));
    assert!(verb(v1::GuestAction::Stop).already(qemu, Stopped));
    assert!(verb(v1::GuestAction::Shutdown).already(qemu, Stopped));
    assert!(!verb(v1::GuestAction::Shutdown).already(qemu, Running));
    assert!(verb(v1::GuestAction::Suspend).already(qemu, Paused));
    assert!(verb(v1::GuestAction::Resume).already(qemu, Running));
    assert!(!verb(v1::GuestAction::Resume).already(qemu, Paused));
    assert!(!verb(v1::GuestAction::Reboot).already(qemu, Running));
}

#[test]
fn a_containers_freeze_does_not_show_so_its_resume_always_goes_to_pve() {
    let resume = verb(v1::GuestAction::Resume);
    assert!(!resume.already(GuestKind::Lxc, GuestStatus::Running));
}

#[test]
fn force_and_timeout_become_the_parameters_pve_takes_for_each_action() {
    let pairs = |action, force, timeout| {
        verb(action)
            .params(force, timeout)
            .pairs()
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
    };
    assert_eq!(
        pairs(v1::GuestAction::Shutdown, true, 120),
        ["timeout=120", "forceStop=1"]
    );
    assert_eq!(
        pairs(v1::GuestAction::Stop, true, 0),
        ["overrule-shutdown=1"]
    );
    assert_eq!(pairs(v1::GuestAction::Start, false, 30), ["timeout=30"]);
    assert!(pairs(v1::GuestAction::Suspend, true, 30).is_empty());
    assert!(pairs(v1::GuestAction::Shutdown, false, 0).is_empty());
}

#[test]
fn a_done_action_leaves_the_guest_in_its_target_state() {
    assert_eq!(
        verb(v1::GuestAction::Shutdown).status_after(),
        GuestStatus::Stopped
    );
    assert_eq!(
        verb(v1::GuestAction::Suspend).status_after(),
        GuestStatus::Paused
    );
    assert_eq!(
        verb(v1::GuestAction::Reboot).status_after(),
        GuestStatus::Running
    );
}

#[test]
fn ha_requests_are_told_by_their_task_type() {
    let ha = "UPID:pve1:0001A2B3:00C0FFEE:66A0B1C2:hastart:101:root@pam!pvectl:";
    let plain = "UPID:pve1:0001A2B3:00C0FFEE:66A0B1C2:qmstart:101:root@pam!pvectl:";
    assert_eq!(task_type(ha), Some("hastart"));
    assert!(queued_to_ha(ha));
    assert!(queued_to_ha(&ha.replace("hastart", "hastop")));
    assert!(!queued_to_ha(plain));
    assert!(!queued_to_ha("not a upid"));
}

const VM: Subject = Subject {
    kind: GuestKind::Qemu,
    vmid: 100,
};

fn refusal(plan: Plan, facts: ConfigFacts, ha: bool, running: bool) -> Option<ErrorDetail> {
    refuse(VM, plan, &facts, ha, running)
        .err()
        .map(|err| *err.detail)
}

const PLAIN: Plan = Plan {
    purge: false,
    force: false,
};

#[test]
fn a_protected_guest_is_refused_whatever_the_flags() {
    let facts = ConfigFacts {
        protected: true,
        ..ConfigFacts::default()
    };
    let all = Plan {
        purge: true,
        force: true,
    };
    let detail = refusal(all, facts, false, false).unwrap();
    assert_eq!(detail.kind(), ErrorKind::RefusedBySafety);
    assert!(detail.message.contains("VM 100 is protected"), "{detail:?}");
    assert!(detail.hint.contains("--set protection=0"), "{detail:?}");
}

#[test]
fn a_running_guest_needs_force_and_an_ha_resource_needs_purge() {
    let running = refusal(PLAIN, ConfigFacts::default(), false, true).unwrap();
    assert_eq!(running.kind(), ErrorKind::RefusedBySafety);
    assert!(running.hint.contains("--force"), "{running:?}");
    let forced = Plan {
        force: true,
        ..PLAIN
    };
    assert!(refusal(forced, ConfigFacts::default(), false, true).is_none());
    let ha = refusal(forced, ConfigFacts::default(), true, false).unwrap();
    assert!(ha.hint.contains("--purge"), "{ha:?}");
    let purged = Plan {
        purge: true,
        ..PLAIN
    };
    assert!(refusal(purged, ConfigFacts::default(), true, false).is_none());
}

#[test]
fn a_locked_guest_is_locked_but_a_hibernated_one_is_left_to_pve() {
    let locked = ConfigFacts {
        lock: "backup".into(),
        ..ConfigFacts::default()
    };
    let detail = refusal(PLAIN, locked, false, false).unwrap();
    assert_eq!(detail.kind(), ErrorKind::Locked);
    assert_eq!(detail.pve_message, "VM is locked (backup)");
    assert!(detail.hint.contains("qm unlock 100"), "{detail:?}");
    let hibernated = ConfigFacts {
        lock: "suspended".into(),
        ..ConfigFacts::default()
    };
    assert!(refusal(PLAIN, hibernated, false, false).is_none());
}

#[test]
fn failures_that_changed_nothing_are_journaled_as_refused() {
    let result = |outcome: ActionOutcome, kind: Option<ErrorKind>| {
        let mut result = GuestResult::default();
        result.set_outcome(outcome);
        result.error = kind.map(|kind| ErrorDetail {
            kind: kind as i32,
            ..ErrorDetail::default()
        });
        journal_outcome(&result)
    };
    assert_eq!(result(ActionOutcome::Done, None), Outcome::Ok);
    assert_eq!(result(ActionOutcome::QueuedHa, None), Outcome::Ok);
    assert_eq!(result(ActionOutcome::Already, None), Outcome::Ok);
    let locked = result(ActionOutcome::Failed, Some(ErrorKind::Locked));
    assert_eq!(locked, Outcome::Refused);
    let timeout = result(ActionOutcome::Failed, Some(ErrorKind::Timeout));
    assert_eq!(timeout, Outcome::Failed);
}
