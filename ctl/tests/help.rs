//! `--help` output compared with the files in `tests/snapshots/`; run with
//! `UPDATE_SNAPSHOTS=1` to rewrite them after a deliberate change.

use std::path::PathBuf;
use std::process::{Command, Stdio};

fn check_help(args: &[&str], snapshot: &str) {
    let output = Command::new(env!("CARGO_BIN_EXE_pvectl"))
        .args(args)
        .env("COLUMNS", "100")
        .env_remove("PVECTL_CONFIG")
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(output.status.success(), "{args:?} exited {}", output.status);
    let actual = String::from_utf8(output.stdout).unwrap();
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/snapshots")
        .join(snapshot);
    if std::env::var_os("UPDATE_SNAPSHOTS").is_some_and(|value| value == "1") {
        std::fs::write(&path, &actual).unwrap();
        return;
    }
    let expected = std::fs::read_to_string(&path).unwrap_or_else(|error| {
        panic!(
            "cannot read {}: {error}; run with UPDATE_SNAPSHOTS=1 to create it",
            path.display()
        )
    });
    assert!(
        actual == expected,
        "`pvectl {}` differs from {}; run with UPDATE_SNAPSHOTS=1 if the change is wanted\n--- expected\n{expected}\n--- actual\n{actual}",
        args.join(" "),
        path.display()
    );
}

#[test]
fn top_level_help_matches_its_snapshot() {
    check_help(&["--help"], "pvectl-help.txt");
}

#[test]
fn pki_help_matches_its_snapshot() {
    check_help(&["pki", "--help"], "pki-help.txt");
}

#[test]
fn pki_issue_client_help_matches_its_snapshot() {
    check_help(
        &["pki", "issue-client", "--help"],
        "pki-issue-client-help.txt",
    );
}

#[test]
fn config_help_matches_its_snapshot() {
    check_help(&["config", "--help"], "config-help.txt");
}

#[test]
fn node_help_matches_its_snapshot() {
    check_help(&["node", "--help"], "node-help.txt");
}

#[test]
fn template_help_matches_its_snapshot() {
    check_help(&["template", "--help"], "template-help.txt");
}

#[test]
fn template_validate_help_matches_its_snapshot() {
    check_help(
        &["template", "validate", "--help"],
        "template-validate-help.txt",
    );
}

#[test]
fn template_promote_help_matches_its_snapshot() {
    check_help(
        &["template", "promote", "--help"],
        "template-promote-help.txt",
    );
}

#[test]
fn vm_help_matches_its_snapshot() {
    check_help(&["vm", "--help"], "vm-help.txt");
}

#[test]
fn vm_create_help_matches_its_snapshot() {
    check_help(&["vm", "create", "--help"], "vm-create-help.txt");
}

#[test]
fn ct_create_help_matches_its_snapshot() {
    check_help(&["ct", "create", "--help"], "ct-create-help.txt");
}

#[test]
fn task_help_matches_its_snapshot() {
    check_help(&["task", "--help"], "task-help.txt");
}

#[test]
fn audit_help_matches_its_snapshot() {
    check_help(&["audit", "--help"], "audit-help.txt");
}

#[test]
fn task_list_help_matches_its_snapshot() {
    check_help(&["task", "list", "--help"], "task-list-help.txt");
}

#[test]
fn task_logs_help_matches_its_snapshot() {
    check_help(&["task", "logs", "--help"], "task-logs-help.txt");
}

#[test]
fn vm_update_help_matches_its_snapshot() {
    check_help(&["vm", "update", "--help"], "vm-update-help.txt");
}

#[test]
fn vm_start_help_matches_its_snapshot() {
    check_help(&["vm", "start", "--help"], "vm-start-help.txt");
}

#[test]
fn vm_shutdown_help_matches_its_snapshot() {
    check_help(&["vm", "shutdown", "--help"], "vm-shutdown-help.txt");
}

#[test]
fn vm_delete_help_matches_its_snapshot() {
    check_help(&["vm", "delete", "--help"], "vm-delete-help.txt");
}

#[test]
fn ct_help_matches_its_snapshot() {
    check_help(&["ct", "--help"], "ct-help.txt");
}

#[test]
fn completion_help_matches_its_snapshot() {
    check_help(&["completion", "--help"], "completion-help.txt");
}
