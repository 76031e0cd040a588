//! One line per guest of a bulk command (`start`, `delete`, …): how it
//! ended, the state it is in, and why when it was not done; and the exit
//! code all the lines together give (DESIGN: 0 all done, 3 partial, 1 all
//! failed, 5 all refused by safety checks, 4 none found).

use pvectl_proto::v1::{ActionOutcome, ErrorDetail, Guest, GuestResult, GuestStatus};
use serde::Serialize;

use super::Resource;
use crate::Error;
use crate::commands::view;
use crate::error::{CommandError, ExitStatus};
use crate::output::{Column, Tabular};
use crate::remote::kind_exit_status;

/// A result line.
#[derive(Debug, Clone, Serialize)]
pub(in crate::commands) struct ResultRow {
    #[serde(skip)]
    resource: &'static str,
    pub vmid: u32,
    pub name: String,
    pub node: String,
    /// `done`, `already`, `started`, `queued-ha`, `failed`, `not-done`,
    /// `dry-run`.
    pub result: &'static str,
    /// The state after the action, as far as known (`deleted` once deleted).
    pub status: &'static str,
    /// What happened, in a phrase; the error's message when not done.
    pub message: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub upid: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<ErrorView>,
    /// The exit code this line alone calls for; `None` when done.
    #[serde(skip)]
    pub failure: Option<ExitStatus>,
}

/// Why a guest was not done, for `-o json|yaml`.
#[derive(Debug, Clone, Serialize)]
pub(in crate::commands) struct ErrorView {
    /// `refused_by_safety`, `locked`, `not_found`, `pve_api_error`, ….
    pub kind: String,
    pub message: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub hint: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub pve_message: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub task_log_tail: Vec<String>,
}

impl ErrorView {
    fn of(detail: &ErrorDetail) -> ErrorView {
        let kind = detail.kind().as_str_name();
        ErrorView {
            kind: kind
                .strip_prefix("ERROR_KIND_")
                .unwrap_or(kind)
                .to_lowercase(),
            message: detail.message.clone(),
            hint: detail.hint.clone(),
            pve_message: detail.pve_message.clone(),
            task_log_tail: detail.task_log_tail.clone(),
        }
    }
}

impl ResultRow {
    /// The line of an agent's result; `name` stands in when the agent did
    /// not know the guest's; `deleting` makes a done guest `deleted`.
    pub fn of(
        resource: Resource,
        node: &str,
        result: &GuestResult,
        name: &str,
        deleting: bool,
    ) -> ResultRow {
        let status = match (result.outcome(), deleting) {
            (ActionOutcome::Done, true) => "deleted",
            _ => view::status(result.status()),
        };
        let (word, message) = match result.outcome() {
            ActionOutcome::Done => ("done", String::new()),
            ActionOutcome::Already => ("already", format!("already {status}")),
            ActionOutcome::Started => ("started", "task started, not waited for".to_owned()),
            ActionOutcome::QueuedHa => (
                "queued-ha",
                "queued to the HA manager: the state changes when it acts".to_owned(),
            ),
            ActionOutcome::Failed | ActionOutcome::Unspecified => {
                let message = result.error.as_ref().map_or_else(
                    || "the agent gave no reason".to_owned(),
                    |error| error.message.clone(),
                );
                ("failed", message)
            }
        };
        let failure = matches!(word, "failed").then(|| {
            result
                .error
                .as_ref()
                .map_or(ExitStatus::Failed, |error| kind_exit_status(error.kind()))
        });
        ResultRow {
            resource: resource.command,
            vmid: result.vmid,
            name: if result.name.is_empty() {
                name.to_owned()
            } else {
                result.name.clone()
            },
            node: node.to_owned(),
            result: word,
            status,
            message,
            upid: result.upid.clone(),
            error: result.error.as_ref().map(ErrorView::of),
            failure,
        }
    }

    /// A guest its node could not be asked about: not done.
    pub fn not_done(
        resource: Resource,
        vmid: u32,
        name: &str,
        node: &str,
        reason: String,
    ) -> ResultRow {
        ResultRow {
            result: "not-done",
            message: reason,
            failure: Some(ExitStatus::Failed),
            ..Self::bare(resource, vmid, name, node)
        }
    }

    /// A guest a dry run would act on, as it is now.
    pub fn dry_run(resource: Resource, guest: &Guest, verb: &str) -> ResultRow {
        ResultRow {
            result: "dry-run",
            status: view::status(guest.status()),
            message: format!("would {verb}"),
            ..Self::bare(resource, guest.vmid, &guest.name, &guest.node)
        }
    }

    /// A line naming the guest and nothing else yet.
    fn bare(resource: Resource, vmid: u32, name: &str, node: &str) -> ResultRow {
        ResultRow {
            resource: resource.command,
            vmid,
            name: name.to_owned(),
            node: node.to_owned(),
            result: "",
            status: view::status(GuestStatus::Unknown),
            message: String::new(),
            upid: String::new(),
            error: None,
            failure: None,
        }
    }
}

impl Tabular for ResultRow {
    const KIND: &'static str = "vm";
    const COLUMNS: &'static [Column] = &[
        Column::always("VMID"),
        Column::always("NAME"),
        Column::always("NODE"),
        Column::always("RESULT"),
        Column::always("STATUS"),
        Column::always("MESSAGE"),
        Column::wide("UPID"),
    ];

    fn cells(&self) -> Vec<String> {
        vec![
            self.vmid.to_string(),
            view::or_dash(&self.name),
            view::or_dash(&self.node),
            self.result.to_owned(),
            self.status.to_owned(),
            view::or_dash(&self.message),
            view::or_dash(&self.upid),
        ]
    }

    fn name(&self) -> String {
        self.vmid.to_string()
    }

    fn kind_name(&self) -> &'static str {
        self.resource
    }
}

/// The exit the lines call for, with `unreachable` nodes whose guests
/// could not even be selected: success when every line is done and every
/// node answered; partial (3) when some were done and some not, or when
/// only a node's silence is missing; otherwise what every failure agrees
/// on (5 all refused, 4 all not found), else 1.
pub(in crate::commands) fn outcome(
    resource: Resource,
    rows: &[ResultRow],
    unreachable: Vec<String>,
) -> Result<(), Error> {
    let failures: Vec<ExitStatus> = rows.iter().filter_map(|row| row.failure).collect();
    if failures.is_empty() && unreachable.is_empty() {
        return Ok(());
    }
    let done = rows.len() - failures.len();
    let exit = if done > 0 || !unreachable.is_empty() {
        ExitStatus::Partial
    } else if let Some(first) = failures
        .first()
        .filter(|f| failures.iter().all(|g| g == *f))
    {
        *first
    } else {
        ExitStatus::Failed
    };
    Err(CommandError::NotAllDone {
        noun: resource.noun,
        failed: failures.len(),
        total: rows.len(),
        unreachable,
        exit,
    }
    .into())
}

#[cfg(test)]
mod tests {
    use pvectl_proto::v1::ErrorKind;

    use super::*;
    use crate::commands::guest::VM;

    fn row(outcome: ActionOutcome, kind: Option<ErrorKind>) -> ResultRow {
        let mut result = GuestResult {
            vmid: 100,
            ..GuestResult::default()
        };
        result.set_outcome(outcome);
        result.set_status(GuestStatus::Running);
        result.error = kind.map(|kind| ErrorDetail {
            kind: kind as i32,
            message: "starting VM 100: VM is locked (backup)".into(),
            ..ErrorDetail::default()
        });
        ResultRow::of(VM, "pve1", &result, "web1", false)
    }

    fn exit(rows: &[ResultRow], unreachable: &[&str]) -> Option<ExitStatus> {
        let unreachable = unreachable.iter().map(|n| (*n).to_owned()).collect();
        outcome(VM, rows, unreachable)
            .err()
            .map(|error| error.exit_status())
    }

    #[test]
    fn every_guest_done_or_already_so_is_success() {
        let rows = [
            row(ActionOutcome::Done, None),
            row(ActionOutcome::Already, None),
            row(ActionOutcome::QueuedHa, None),
        ];
        assert_eq!(exit(&rows, &[]), None);
        assert_eq!(rows[1].message, "already running");
        assert!(rows[2].message.contains("HA manager"), "{:?}", rows[2]);
    }

    #[test]
    fn some_done_and_some_not_is_partial() {
        let rows = [
            row(ActionOutcome::Done, None),
            row(ActionOutcome::Failed, Some(ErrorKind::PveApiError)),
        ];
        assert_eq!(exit(&rows, &[]), Some(ExitStatus::Partial));
    }

    #[test]
    fn a_silent_node_makes_it_partial_even_when_the_rest_is_done() {
        let rows = [row(ActionOutcome::Done, None)];
        assert_eq!(exit(&rows, &["pve2"]), Some(ExitStatus::Partial));
        assert_eq!(exit(&[], &["pve2"]), Some(ExitStatus::Partial));
    }

    #[test]
    fn all_refused_is_5_and_mixed_failures_are_1() {
        let refused = [
            row(ActionOutcome::Failed, Some(ErrorKind::RefusedBySafety)),
            row(ActionOutcome::Failed, Some(ErrorKind::Locked)),
        ];
        assert_eq!(exit(&refused, &[]), Some(ExitStatus::Refused));
        let mixed = [
            row(ActionOutcome::Failed, Some(ErrorKind::RefusedBySafety)),
            row(ActionOutcome::Failed, Some(ErrorKind::Timeout)),
        ];
        assert_eq!(exit(&mixed, &[]), Some(ExitStatus::Failed));
    }

    #[test]
    fn a_failed_line_carries_the_agents_message_and_kind() {
        let failed = row(ActionOutcome::Failed, Some(ErrorKind::Locked));
        assert_eq!(failed.result, "failed");
        assert_eq!(failed.message, "starting VM 100: VM is locked (backup)");
        assert_eq!(failed.error.as_ref().unwrap().kind, "locked");
    }
}
