use pvectl_proto::v1::{ErrorDetail, ErrorKind, FindingSeverity, ValidationFinding};

use super::{RemoteError, kind_exit_status};
use crate::error::ExitStatus;

fn detail(kind: ErrorKind, message: &str) -> ErrorDetail {
    ErrorDetail {
        kind: kind as i32,
        message: message.to_owned(),
        ..ErrorDetail::default()
    }
}

#[test]
fn error_kinds_map_to_designs_exit_codes() {
    assert_eq!(kind_exit_status(ErrorKind::NotFound), ExitStatus::NotFound);
    for refused in [
        ErrorKind::RefusedBySafety,
        ErrorKind::Locked,
        ErrorKind::Conflict,
    ] {
        assert_eq!(
            kind_exit_status(refused),
            ExitStatus::Refused,
            "{refused:?}"
        );
    }
    assert_eq!(
        kind_exit_status(ErrorKind::InvalidArgument),
        ExitStatus::Usage
    );
    for other in [
        ErrorKind::Timeout,
        ErrorKind::PveApiError,
        ErrorKind::PermissionDenied,
        ErrorKind::Unavailable,
        ErrorKind::Internal,
        ErrorKind::WrongNode,
    ] {
        assert_eq!(kind_exit_status(other), ExitStatus::Failed, "{other:?}");
    }
}

#[test]
fn a_status_with_a_detail_maps_by_the_kind_not_the_code() {
    let status = detail(ErrorKind::RefusedBySafety, "template 9205 has no boot disk").into_status();
    let error = RemoteError::from_status("pve2", "CreateVmFromTemplate", &status);
    assert_eq!(error.exit_status(), ExitStatus::Refused);
    assert_eq!(
        error.to_string(),
        "node pve2: template 9205 has no boot disk"
    );
}

#[test]
fn a_bare_status_maps_by_its_code_and_names_the_call() {
    let error = RemoteError::from_status(
        "pve1",
        "GetGuest",
        &tonic::Status::not_found("no guest 104"),
    );
    assert_eq!(error.exit_status(), ExitStatus::NotFound);
    assert_eq!(
        error.to_string(),
        "node pve1: GetGuest failed: no guest 104"
    );
    let error =
        RemoteError::from_status("pve1", "ListTemplates", &tonic::Status::unimplemented(""));
    assert_eq!(error.exit_status(), ExitStatus::Failed);
    assert!(error.to_string().contains("does not serve ListTemplates"));
}

#[test]
fn a_failed_operation_shows_hint_pve_message_log_tail_and_findings() {
    let mut detail = detail(ErrorKind::PveApiError, "clone of 9100 to 104 failed");
    detail.hint = "free space on local-lvm".to_owned();
    detail.pve_message = "storage full\n".to_owned();
    detail.upid = "UPID:pve1:1:2:3:qmclone:9100:root@pam:".to_owned();
    detail.task_log_tail = vec![
        "create full clone".to_owned(),
        "TASK ERROR: storage full".to_owned(),
    ];
    detail.findings = vec![ValidationFinding {
        severity: FindingSeverity::Warning as i32,
        cause: "disk is large".to_owned(),
        fix: "shrink it".to_owned(),
        ..ValidationFinding::default()
    }];
    let error = RemoteError::OperationFailed {
        node: "pve1".to_owned(),
        operation_id: "pve1-7".to_owned(),
        detail: Box::new(detail),
    };
    assert_eq!(
        error.to_string(),
        "node pve1: operation pve1-7 failed: clone of 9100 to 104 failed\n  \
         warning: disk is large (fix: shrink it)\n  \
         hint: free space on local-lvm\n  \
         pve said: storage full\n  \
         task: UPID:pve1:1:2:3:qmclone:9100:root@pam:\n  \
         task log (last lines):\n    \
         create full clone\n    \
         TASK ERROR: storage full"
    );
    assert_eq!(error.exit_status(), ExitStatus::Failed);
}

#[test]
fn an_unknown_node_is_not_found_and_lists_the_members() {
    let error = RemoteError::UnknownNode {
        name: "pve9".to_owned(),
        known: vec!["pve1".to_owned(), "pve2".to_owned()],
    };
    assert_eq!(error.exit_status(), ExitStatus::NotFound);
    assert_eq!(
        error.to_string(),
        "no node \"pve9\" in the cluster; nodes: pve1, pve2"
    );
}
