use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use super::*;

fn upid(starttime: i64, task_type: &str, id: &str) -> Upid {
    Upid {
        node: "pve1".to_string(),
        pid: 0x3A1B2,
        pstart: 0x1C2D3E4,
        starttime,
        task_type: task_type.to_string(),
        id: id.to_string(),
        user: "root@pam".to_string(),
    }
}

/// A task directory whose clock returns `now` (shared so tests can move it).
fn dir_with_clock(root: &Path, now: &Arc<AtomicI64>) -> TaskLogDir {
    let now = Arc::clone(now);
    TaskLogDir::create_with_clock(root, Arc::new(move || now.load(Ordering::SeqCst))).unwrap()
}

#[test]
fn upid_is_written_and_read_in_pve_format() {
    let text = "UPID:pve1:0003A1B2:01C2D3E4:66A0B1C2:qmclone:9000:root@pam:";
    let parsed: Upid = text.parse().unwrap();
    assert_eq!(parsed, upid(0x66A0B1C2, "qmclone", "9000"));
    assert_eq!(parsed.to_string(), text);
    assert_eq!(
        serde_json::to_string(&parsed).unwrap(),
        format!("\"{text}\"")
    );
    let back: Upid = serde_json::from_str(&format!("\"{text}\"")).unwrap();
    assert_eq!(back, parsed);
}

#[test]
fn upid_accepts_nine_digit_pstart_empty_id_and_token_user() {
    let text = "UPID:node-2:00000001:1ABCDEF01:66A0B1C2:vzstart::root@pam!ci:";
    let parsed: Upid = text.parse().unwrap();
    assert_eq!(parsed.pstart, 0x1ABCDEF01);
    assert_eq!(parsed.id, "");
    assert_eq!(parsed.user, "root@pam!ci");
    assert_eq!(parsed.to_string(), text);
}

#[test]
fn upid_parse_errors_name_the_bad_part() {
    let cases = [
        (
            "pve1:00000001:00000001:00000001:a::u:",
            UpidProblem::MissingPrefix,
        ),
        (
            "UPID:pve1:00000001:00000001:00000001:a::u",
            UpidProblem::MissingTrailingColon,
        ),
        ("UPID:pve1:00000001:a::u:", UpidProblem::FieldCount(5)),
        (
            "UPID:-pve1:00000001:00000001:00000001:a::u:",
            UpidProblem::Node("-pve1".to_string()),
        ),
        (
            "UPID:pve1:0001:00000001:00000001:a::u:",
            UpidProblem::Hex {
                field: "pid",
                value: "0001".to_string(),
                digits: "8",
            },
        ),
        (
            "UPID:pve1:00000001:0000000G:00000001:a::u:",
            UpidProblem::Hex {
                field: "pstart",
                value: "0000000G".to_string(),
                digits: "8 or 9",
            },
        ),
        (
            "UPID:pve1:00000001:00000001:00000001:::u:",
            UpidProblem::Text {
                field: "type",
                value: String::new(),
            },
        ),
    ];
    for (text, problem) in cases {
        let err = text.parse::<Upid>().unwrap_err();
        assert_eq!(err.problem, problem, "{text}");
        assert!(
            err.to_string()
                .starts_with(&format!("unable to parse worker upid '{text}': "))
        );
    }
}

#[test]
fn log_path_uses_the_last_hex_digit_of_the_start_time() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = TaskLogDir::create(tmp.path()).unwrap();
    let task = upid(0x66A0B1CF, "qmstart", "100");
    assert_eq!(
        dir.log_path(&task),
        tmp.path()
            .join("F")
            .join("UPID:pve1:0003A1B2:01C2D3E4:66A0B1CF:qmstart:100:root@pam:")
    );
}

#[test]
fn task_end_gives_pve_final_line_and_exitstatus() {
    let cases = [
        (TaskEnd::Ok, "TASK OK", "OK"),
        (TaskEnd::Warnings(2), "TASK WARNINGS: 2", "WARNINGS: 2"),
        (
            TaskEnd::Error("clone failed: boom\nsecond line\n".to_string()),
            "TASK ERROR: clone failed: boom second line",
            "clone failed: boom second line",
        ),
    ];
    for (end, line, exitstatus) in cases {
        assert_eq!(end.final_line(), line);
        assert_eq!(end.exitstatus(), exitstatus);
    }
}

#[test]
fn finished_task_moves_from_running_to_index() {
    let tmp = tempfile::tempdir().unwrap();
    let now = Arc::new(AtomicI64::new(0x66A0B200));
    let dir = dir_with_clock(tmp.path(), &now);
    let task = upid(0x66A0B1C2, "qmclone", "9000");

    let log = dir.start(&task).unwrap();
    let active = std::fs::read_to_string(tmp.path().join("active")).unwrap();
    assert_eq!(active, format!("{task} 0\n"));
    assert!(dir.active()[0].endtime.is_none());

    log.line("create full clone of drive scsi0 (local-lvm:base-9000-disk-0)")
        .unwrap();
    log.line("transferred 1.0 GiB of 32.0 GiB (3.13%)").unwrap();
    now.store(0x66A0B2FF, Ordering::SeqCst);
    log.finish(&TaskEnd::Ok).unwrap();

    assert_eq!(
        dir.read_log(&task).unwrap(),
        [
            "create full clone of drive scsi0 (local-lvm:base-9000-disk-0)",
            "transferred 1.0 GiB of 32.0 GiB (3.13%)",
            "TASK OK",
        ]
    );
    assert_eq!(dir.read_status(&task), "OK");
    let active = std::fs::read_to_string(tmp.path().join("active")).unwrap();
    assert_eq!(active, format!("{task} 1 66A0B2FF OK\n"));
    let index = std::fs::read_to_string(tmp.path().join("index")).unwrap();
    assert_eq!(index, format!("{task} 66A0B2FF OK\n"));
    assert_eq!(dir.read_index().unwrap(), dir.active());
}

#[test]
fn warnings_are_counted_and_reported() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = TaskLogDir::create(tmp.path()).unwrap();
    let task = upid(0x66A0B1C2, "qmstart", "100");
    let log = dir.start(&task).unwrap();
    log.warn("storage is almost full").unwrap();
    log.warn("guest agent not running").unwrap();
    let end = TaskEnd::Warnings(log.warnings());
    log.finish(&end).unwrap();
    assert_eq!(
        dir.read_log(&task).unwrap(),
        [
            "WARN: storage is almost full",
            "WARN: guest agent not running",
            "TASK WARNINGS: 2",
        ]
    );
    assert_eq!(dir.active()[0].status.as_deref(), Some("WARNINGS: 2"));
}

#[test]
fn task_dropped_before_its_final_line_ends_with_unexpected_status() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = TaskLogDir::create(tmp.path()).unwrap();
    let task = upid(0x66A0B1C2, "qmclone", "9000");
    let log = dir.start(&task).unwrap();
    log.line("create full clone of drive scsi0").unwrap();
    drop(log);
    assert_eq!(dir.read_status(&task), "unexpected status");
    let index = dir.read_index().unwrap();
    assert_eq!(index.len(), 1);
    assert_eq!(index[0].status.as_deref(), Some("unexpected status"));
}

#[test]
fn read_status_reports_unreadable_logs_like_pve() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = TaskLogDir::create(tmp.path()).unwrap();
    let missing = upid(0x66A0B1C2, "qmstart", "100");
    assert_eq!(
        dir.read_status(&missing),
        "unable to open file - No such file or directory"
    );
    let empty = upid(0x66A0B1C3, "qmstart", "100");
    let _log = dir.start(&empty).unwrap();
    assert_eq!(dir.read_status(&empty), "unable to read tail (got 0 bytes)");
}

#[test]
fn active_keeps_running_tasks_and_the_most_recent_finished_ones() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = TaskLogDir::create(tmp.path()).unwrap();
    let base = 0x66A0_0000;
    for i in 0..30 {
        let log = dir
            .start(&upid(base + i, "qmstart", &format!("{}", 100 + i)))
            .unwrap();
        log.finish(&TaskEnd::Ok).unwrap();
    }
    let running = upid(base + 100, "qmclone", "9000");
    let _log = dir.start(&running).unwrap();

    let active = dir.active();
    assert_eq!(active.len(), 25);
    assert_eq!(active[0].upid, running);
    assert!(active[0].endtime.is_none());
    let finished: Vec<i64> = active[1..].iter().map(|t| t.upid.starttime).collect();
    let newest_first: Vec<i64> = (6..30).rev().map(|i| base + i).collect();
    assert_eq!(finished, newest_first);
    assert_eq!(dir.read_index().unwrap().len(), 30);
}

#[test]
fn reopening_a_directory_ends_tasks_left_running() {
    let tmp = tempfile::tempdir().unwrap();
    let task = upid(0x66A0B1C2, "qmclone", "9000");
    {
        let dir = TaskLogDir::create(tmp.path()).unwrap();
        let log = dir.start(&task).unwrap();
        log.line("create full clone of drive scsi0").unwrap();
        // The simulator process dies: nothing records the end.
        std::mem::forget(log);
    }
    let dir = TaskLogDir::create(tmp.path()).unwrap();
    let active = dir.active();
    assert_eq!(active.len(), 1);
    assert_eq!(active[0].status.as_deref(), Some("unexpected status"));
    assert!(active[0].saved);
    assert_eq!(dir.read_index().unwrap().len(), 1);
}
