use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use pve_sim::tasks::{TaskEnd as SimEnd, TaskLogDir};
use pvectl_proto::Upid;
use pvectl_proto::v1::{ListTasksRequest, TaskSource, TaskState};

use super::TaskDir;
use super::records::{Ended, Filter, TaskRecord, merge, parse_active, parse_index, to_proto};

const CLONE: &str = "UPID:pve1:0003A1B2:01C2D3E4:66A0B1C2:qmclone:9000:root@pam:";
const START: &str = "UPID:pve1:0003A1C0:01C2D3F0:66A0B1D0:qmstart:104:root@pam!ci:";
const FAILED: &str = "UPID:pve1:0003A1C4:01C2D3F8:66A0B1E0:qmclone:9001:root@pam:";

fn upid(text: &str) -> Upid {
    text.parse().unwrap()
}

fn ended(text: &str, end_secs: i64, status: &str) -> TaskRecord {
    TaskRecord {
        upid: upid(text),
        end: Some(Ended {
            unix_ms: end_secs * 1000,
            status: status.to_string(),
        }),
    }
}

fn running(text: &str) -> TaskRecord {
    TaskRecord {
        upid: upid(text),
        end: None,
    }
}

#[test]
fn the_active_file_lists_running_tasks_and_recent_ends_with_their_status() {
    let text = format!(
        "{START} 0\n{CLONE} 1 66A0B2FF OK\n{FAILED} 1 66A0B300 clone failed: interrupted by signal\n"
    );
    assert_eq!(
        parse_active(&text),
        [
            running(START),
            ended(CLONE, 0x66A0B2FF, "OK"),
            ended(FAILED, 0x66A0B300, "clone failed: interrupted by signal"),
        ]
    );
}

#[test]
fn lines_pve_would_only_warn_about_are_skipped() {
    let text = format!(
        "garbage\n{CLONE} 2\nUPID:pve1:1:2:3:qmclone:9000:root@pam: 0\n{START} 1 XYZ OK\n{CLONE} 0\n"
    );
    assert_eq!(parse_active(&text), [running(CLONE)]);
}

#[test]
fn the_index_archives_finished_tasks_with_end_time_and_status() {
    let text = format!("{CLONE} 66A0B2FF OK\n{START} 66A0B2F0 WARNINGS: 2\nnot a task\n");
    assert_eq!(
        parse_index(&text),
        [
            ended(CLONE, 0x66A0B2FF, "OK"),
            ended(START, 0x66A0B2F0, "WARNINGS: 2"),
        ]
    );
}

#[test]
fn a_task_the_archive_lists_as_finished_is_finished_even_if_active_says_running() {
    let merged = merge([
        running(CLONE),
        running(START),
        ended(CLONE, 0x66A0B2FF, "OK"),
    ]);
    assert_eq!(merged.len(), 2);
    let clone = merged.iter().find(|r| r.upid.as_str() == CLONE).unwrap();
    assert_eq!(clone.end, ended(CLONE, 0x66A0B2FF, "OK").end);
}

#[test]
fn exit_statuses_map_to_states_the_way_pve_classifies_them() {
    let task = to_proto(&ended(START, 0x66A0B2F0, "WARNINGS: 2"), "");
    assert_eq!(task.state(), TaskState::Warnings);
    assert_eq!(task.user, "root@pam!ci");
    assert_eq!(task.id, "104");
    assert_eq!(task.start_unix_ms, 0x66A0B1D0 * 1000);
    assert_eq!(task.end_unix_ms, 0x66A0B2F0 * 1000);
    let failed = to_proto(&ended(FAILED, 1, "unexpected status"), "pve1-1-1");
    assert_eq!(failed.state(), TaskState::Error);
    assert_eq!(failed.operation_id, "pve1-1-1");
    let live = to_proto(&running(CLONE), "");
    assert_eq!(
        (live.state(), live.end_unix_ms, live.exit_status.as_str()),
        (TaskState::Running, 0, "")
    );
}

#[test]
fn filters_select_by_source_vmid_type_errors_and_start_newest_first() {
    let tasks = [
        to_proto(&ended(CLONE, 0x66A0B2FF, "OK"), ""),
        to_proto(&running(START), ""),
        to_proto(&ended(FAILED, 0x66A0B300, "clone failed: boom"), ""),
    ];
    let select = |request: ListTasksRequest| -> Vec<String> {
        Filter::new(&request)
            .select(tasks.clone())
            .into_iter()
            .map(|t| t.upid)
            .collect()
    };
    assert_eq!(select(ListTasksRequest::default()), [FAILED, START, CLONE]);
    let active = ListTasksRequest {
        source: TaskSource::Active as i32,
        ..ListTasksRequest::default()
    };
    assert_eq!(select(active), [START]);
    let archive = ListTasksRequest {
        source: TaskSource::Archive as i32,
        ..ListTasksRequest::default()
    };
    assert_eq!(select(archive), [FAILED, CLONE]);
    let vmid = ListTasksRequest {
        vmid: Some(104),
        ..ListTasksRequest::default()
    };
    assert_eq!(select(vmid), [START]);
    let clones = ListTasksRequest {
        task_type: "qmclone".into(),
        ..ListTasksRequest::default()
    };
    assert_eq!(select(clones), [FAILED, CLONE]);
    let errors = ListTasksRequest {
        errors_only: true,
        ..ListTasksRequest::default()
    };
    assert_eq!(select(errors), [FAILED]);
    let since = ListTasksRequest {
        since_unix_ms: 0x66A0B1D0 * 1000,
        ..ListTasksRequest::default()
    };
    assert_eq!(select(since), [FAILED, START]);
    let limit = ListTasksRequest {
        limit: 1,
        ..ListTasksRequest::default()
    };
    assert_eq!(select(limit), [FAILED]);
}

/// A task directory the simulator writes exactly as PVE lays it out, with
/// end times from `now`.
fn sim_dir(root: &std::path::Path, now: &Arc<AtomicI64>) -> TaskLogDir {
    let now = Arc::clone(now);
    TaskLogDir::create_with_clock(root, Arc::new(move || now.load(Ordering::SeqCst))).unwrap()
}

fn sim_upid(text: &str) -> pve_sim::tasks::Upid {
    text.parse().unwrap()
}

#[test]
fn a_task_directory_gives_running_and_finished_tasks_with_their_ends() {
    let tmp = tempfile::tempdir().unwrap();
    let now = Arc::new(AtomicI64::new(0x66A0B2FF));
    let sim = sim_dir(tmp.path(), &now);
    let clone = sim.start(&sim_upid(CLONE)).unwrap();
    clone
        .line("transferred 1.0 GiB of 4.0 GiB (25.00%)")
        .unwrap();
    clone.finish(&SimEnd::Ok).unwrap();
    now.store(0x66A0B300, Ordering::SeqCst);
    let failed = sim.start(&sim_upid(FAILED)).unwrap();
    failed
        .finish(&SimEnd::Error("clone failed: interrupted by signal".into()))
        .unwrap();
    let _start = sim.start(&sim_upid(START)).unwrap();

    let dir = TaskDir::new(tmp.path());
    let mut all = dir.records(true).unwrap();
    all.sort_by(|a, b| a.upid.as_str().cmp(b.upid.as_str()));
    assert_eq!(
        all,
        [
            ended(CLONE, 0x66A0B2FF, "OK"),
            running(START),
            ended(FAILED, 0x66A0B300, "clone failed: interrupted by signal"),
        ]
    );
    assert_eq!(
        dir.read_log(&upid(CLONE)).unwrap(),
        ["transferred 1.0 GiB of 4.0 GiB (25.00%)", "TASK OK"]
    );
    assert_eq!(dir.find(&upid(START)).unwrap(), Some(running(START)));
}

#[test]
fn a_finished_task_only_the_archive_holds_is_found_there() {
    let tmp = tempfile::tempdir().unwrap();
    let now = Arc::new(AtomicI64::new(0x66A0B2FF));
    let sim = sim_dir(tmp.path(), &now);
    // 30 finished tasks push the oldest out of `active` (it keeps 25)
    for i in 0..30 {
        let text = format!(
            "UPID:pve1:00000001:00000001:{:08X}:qmstart:100:root@pam:",
            0x66A0_0000 + i
        );
        sim.start(&sim_upid(&text))
            .unwrap()
            .finish(&SimEnd::Ok)
            .unwrap();
    }
    let oldest = upid("UPID:pve1:00000001:00000001:66A00000:qmstart:100:root@pam:");
    let dir = TaskDir::new(tmp.path());
    assert_eq!(dir.records(false).unwrap().len(), 25);
    assert_eq!(dir.records(true).unwrap().len(), 30);
    let found = dir.find(&oldest).unwrap().unwrap();
    assert_eq!(found.end.unwrap().status, "OK");
}

#[test]
fn a_log_ending_in_its_final_line_is_ended_before_active_says_so() {
    let tmp = tempfile::tempdir().unwrap();
    let log = tmp.path().join("2");
    std::fs::create_dir_all(&log).unwrap();
    std::fs::write(tmp.path().join("active"), format!("{CLONE} 0\n")).unwrap();
    std::fs::write(
        log.join(CLONE),
        "create full clone\nTASK ERROR: clone failed: boom\n",
    )
    .unwrap();
    let dir = TaskDir::new(tmp.path());
    let records = dir.records(false).unwrap();
    let end = records[0].end.clone().expect("ended by its final line");
    assert_eq!(end.status, "clone failed: boom");
    assert!(end.unix_ms > 0);
}

#[test]
fn a_task_without_a_log_on_this_node_is_not_found() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = TaskDir::new(tmp.path());
    assert_eq!(dir.find(&upid(CLONE)).unwrap(), None);
    assert!(dir.records(true).unwrap().is_empty());
}
