use std::fs;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use time::macros::datetime;

use super::*;

pub(super) fn temp_journal() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("journal.jsonl");
    (dir, path)
}

pub(super) fn step(actor: &str, action: &str, target: &str, outcome: Outcome) -> NewEntry {
    NewEntry {
        actor: actor.to_owned(),
        action: action.to_owned(),
        target: target.to_owned(),
        outcome,
        detail: String::new(),
        operation: None,
    }
}

pub(super) fn op_step(id: &str, phase: OperationPhase, outcome: Outcome, detail: &str) -> NewEntry {
    NewEntry {
        actor: "alice".to_owned(),
        action: "guest.create".to_owned(),
        target: "qemu/104".to_owned(),
        outcome,
        detail: detail.to_owned(),
        operation: Some(OperationMark {
            id: id.to_owned(),
            phase,
        }),
    }
}

/// A journal with `count` varied entries, closed again.
pub(super) fn write_journal(path: &Path, count: u64) -> Head {
    let journal = Journal::open(path).unwrap();
    for n in 1..=count {
        let mut new = step(
            "alice",
            "guest.start",
            &format!("qemu/{}", 100 + n),
            Outcome::Ok,
        );
        if n % 3 == 0 {
            new = op_step(
                &format!("op-{n}"),
                OperationPhase::Start,
                Outcome::Started,
                "",
            );
        }
        new.detail = format!("detail \"{n}\"\nwith newline");
        journal.append(new).unwrap();
    }
    journal.head()
}

pub(super) fn lines(path: &Path) -> Vec<String> {
    fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(str::to_owned)
        .collect()
}

pub(super) fn write_lines(path: &Path, lines: &[String]) {
    let mut text = lines.join("\n");
    text.push('\n');
    fs::write(path, text).unwrap();
}

pub(super) fn broken_at(result: Result<Head, VerifyError>) -> (u64, Problem) {
    match result {
        Err(VerifyError::Broken { seq, problem, .. }) => (seq, problem),
        other => panic!("expected a broken chain, got {other:?}"),
    }
}

mod tamper;

#[test]
fn empty_journal_head_is_seq_zero_with_empty_hash() {
    let (_dir, path) = temp_journal();
    let journal = Journal::open(&path).unwrap();
    assert_eq!(
        journal.head(),
        Head {
            seq: 0,
            hash: String::new()
        }
    );
    assert!(path.exists());
    assert_eq!(verify(&path).unwrap(), Head::default());
    assert!(journal.read(0, 0).unwrap().is_empty());
}

#[test]
fn new_journal_file_is_created_group_readable_only() {
    use std::os::unix::fs::PermissionsExt;
    let (_dir, path) = temp_journal();
    drop(Journal::open(&path).unwrap());
    let mode = fs::metadata(&path).unwrap().permissions().mode() & 0o777;
    assert_eq!(
        mode & 0o137,
        0,
        "mode {mode:o} is writable by group or readable by others"
    );
}

#[test]
fn opening_in_a_missing_directory_names_the_path() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("missing").join("journal.jsonl");
    let error = Journal::open(&path).unwrap_err();
    assert!(
        matches!(error, JournalError::Io { action: "open", .. }),
        "{error:?}"
    );
    assert!(
        error.to_string().contains(&path.display().to_string()),
        "{error}"
    );
}

#[test]
fn appended_entries_form_a_verifiable_chain() {
    let (_dir, path) = temp_journal();
    let journal = Journal::open(&path).unwrap();
    let mut records = Vec::new();
    for n in 0..5 {
        records.push(
            journal
                .append(step("bob", "guest.stop", &format!("qemu/{n}"), Outcome::Ok))
                .unwrap(),
        );
    }
    assert_eq!(records[0].entry.seq, 1);
    assert_eq!(records[0].entry.prev, ZERO_HASH);
    for pair in records.windows(2) {
        assert_eq!(pair[1].entry.seq, pair[0].entry.seq + 1);
        assert_eq!(pair[1].entry.prev, pair[0].entry.hash);
    }
    for record in &records {
        assert_eq!(record.entry.hash, record.entry.compute_hash());
        assert_eq!(record.entry.hash.len(), 64);
    }
    let head = journal.head();
    assert_eq!(
        head,
        Head {
            seq: 5,
            hash: records[4].entry.hash.clone()
        }
    );
    assert_eq!(verify(&path).unwrap(), head);
    assert_eq!(
        lines(&path),
        records.iter().map(|r| r.raw.clone()).collect::<Vec<_>>()
    );
    assert!(fs::read_to_string(&path).unwrap().ends_with('\n'));
}

#[test]
fn lines_are_canonical_json_with_fields_in_documented_order() {
    let (_dir, path) = temp_journal();
    let journal = Journal::open(&path).unwrap();
    let record = journal
        .append_at(
            op_step(
                "op-1",
                OperationPhase::Start,
                Outcome::Started,
                "template 9100",
            ),
            datetime!(2025-03-04 05:06:07.891234 UTC),
        )
        .unwrap();
    let expected_prefix = concat!(
        r#"{"seq":1,"time":"2025-03-04T05:06:07.891Z","actor":"alice","action":"guest.create","#,
        r#""target":"qemu/104","outcome":"started","detail":"template 9100","#,
        r#""operation":{"id":"op-1","phase":"start"},"prev":"0000"#
    );
    assert!(record.raw.starts_with(expected_prefix), "{}", record.raw);
    let without_hash = record.raw.split(r#","hash":"#).next().unwrap().to_owned() + "}";
    let digest = hex::encode(<sha2::Sha256 as sha2::Digest>::digest(
        without_hash.as_bytes(),
    ));
    assert_eq!(
        record.raw,
        format!(
            "{},\"hash\":\"{digest}\"}}",
            &without_hash[..without_hash.len() - 1]
        )
    );
    assert_eq!(record.entry.time_unix_ms(), 1_741_064_767_891);
}

#[test]
fn reopen_continues_seq_and_chain() {
    let (_dir, path) = temp_journal();
    let head = write_journal(&path, 4);
    let journal = Journal::open(&path).unwrap();
    assert_eq!(journal.head(), head);
    assert!(journal.torn_tail().is_none());
    let record = journal
        .append(step("carol", "guest.delete", "qemu/200", Outcome::Refused))
        .unwrap();
    assert_eq!(record.entry.seq, 5);
    assert_eq!(record.entry.prev, head.hash);
    drop(journal);
    assert_eq!(verify(&path).unwrap().seq, 5);
}

#[test]
fn second_open_of_the_same_journal_is_refused() {
    let (_dir, path) = temp_journal();
    let first = Journal::open(&path).unwrap();
    let error = Journal::open(&path).unwrap_err();
    assert!(matches!(error, JournalError::InUse { .. }), "{error:?}");
    assert!(error.to_string().contains("in use"), "{error}");
    drop(first);
    Journal::open(&path).unwrap();
}

#[test]
fn in_flight_lists_operations_started_but_not_finished() {
    let (_dir, path) = temp_journal();
    let journal = Journal::open(&path).unwrap();
    journal
        .append(op_step("op-a", OperationPhase::Start, Outcome::Started, ""))
        .unwrap();
    journal
        .append(op_step("op-b", OperationPhase::Start, Outcome::Started, ""))
        .unwrap();
    journal
        .append(step("alice", "guest.start", "qemu/1", Outcome::Ok))
        .unwrap();
    journal
        .append(op_step(
            "op-a",
            OperationPhase::Progress,
            Outcome::Ok,
            "UPID:pve1:1:2:3:qmclone:9100:root@pam:",
        ))
        .unwrap();
    journal
        .append(op_step("op-c", OperationPhase::Start, Outcome::Started, ""))
        .unwrap();
    journal
        .append(op_step(
            "op-b",
            OperationPhase::Finish,
            Outcome::Failed,
            "no room",
        ))
        .unwrap();

    let in_flight = journal.in_flight();
    let ids: Vec<_> = in_flight.iter().map(|op| op.id.as_str()).collect();
    assert_eq!(ids, ["op-a", "op-c"]);
    assert_eq!(in_flight[0].start.seq, 1);
    assert_eq!(in_flight[0].last.seq, 4);
    assert!(in_flight[0].last.detail.starts_with("UPID:"));
    assert_eq!(in_flight[1].start, in_flight[1].last);
    drop(journal);

    // After a restart the same operations are found from the file.
    let reopened = Journal::open(&path).unwrap();
    assert_eq!(reopened.in_flight(), in_flight);
    reopened
        .append(op_step("op-a", OperationPhase::Finish, Outcome::Ok, ""))
        .unwrap();
    reopened
        .append(op_step(
            "op-c",
            OperationPhase::Finish,
            Outcome::Failed,
            "agent restarted",
        ))
        .unwrap();
    assert!(reopened.in_flight().is_empty());
}

#[test]
fn operation_marks_that_would_misreport_in_flight_are_refused() {
    let (_dir, path) = temp_journal();
    let journal = Journal::open(&path).unwrap();
    let error = journal
        .append(op_step("x", OperationPhase::Progress, Outcome::Ok, ""))
        .unwrap_err();
    assert!(
        matches!(error, JournalError::OperationNotInFlight { .. }),
        "{error:?}"
    );
    let error = journal
        .append(op_step("x", OperationPhase::Finish, Outcome::Ok, ""))
        .unwrap_err();
    assert!(
        matches!(error, JournalError::OperationNotInFlight { .. }),
        "{error:?}"
    );
    let error = journal
        .append(op_step("x", OperationPhase::Start, Outcome::Ok, ""))
        .unwrap_err();
    assert!(
        matches!(error, JournalError::OutcomeDoesNotFitPhase { .. }),
        "{error:?}"
    );
    journal
        .append(op_step("x", OperationPhase::Start, Outcome::Started, ""))
        .unwrap();
    let error = journal
        .append(op_step("x", OperationPhase::Start, Outcome::Started, ""))
        .unwrap_err();
    assert!(
        matches!(error, JournalError::OperationInFlight { .. }),
        "{error:?}"
    );
    let error = journal
        .append(op_step("x", OperationPhase::Finish, Outcome::Started, ""))
        .unwrap_err();
    assert!(
        matches!(error, JournalError::OutcomeDoesNotFitPhase { .. }),
        "{error:?}"
    );
    assert_eq!(journal.head().seq, 1, "refused appends write nothing");
    assert_eq!(verify(&path).unwrap().seq, 1);
}

#[test]
fn read_returns_ranges_across_checkpoints() {
    let (_dir, path) = temp_journal();
    write_journal(&path, 600);
    let journal = Journal::open(&path).unwrap();
    let all = journal.read(0, 0).unwrap();
    assert_eq!(all.len(), 600);
    assert!(
        all.iter()
            .enumerate()
            .all(|(i, r)| r.entry.seq == i as u64 + 1)
    );
    assert!(all.iter().all(|r| r.raw == r.entry.to_line()));
    assert_eq!(journal.read(1, 0).unwrap(), all);

    let middle = journal.read(300, 10).unwrap();
    assert_eq!(
        middle.iter().map(|r| r.entry.seq).collect::<Vec<_>>(),
        (300..310).collect::<Vec<_>>()
    );
    assert_eq!(journal.read(257, 1).unwrap()[0], all[256]);
    assert_eq!(journal.read(256, 2).unwrap(), all[255..257]);
    assert_eq!(journal.read(599, 0).unwrap(), all[598..]);
    assert!(journal.read(601, 0).unwrap().is_empty());

    let appended = journal.append(step("a", "b", "c", Outcome::Ok)).unwrap();
    assert_eq!(journal.read(601, 5).unwrap(), vec![appended]);
}

#[test]
fn concurrent_appends_from_threads_keep_the_chain() {
    let (_dir, path) = temp_journal();
    let journal = Arc::new(Journal::open(&path).unwrap());
    let threads: Vec<_> = (0..8)
        .map(|thread| {
            let journal = Arc::clone(&journal);
            std::thread::spawn(move || {
                for n in 0..40 {
                    journal
                        .append(step(
                            &format!("t{thread}"),
                            "guest.start",
                            &format!("qemu/{n}"),
                            Outcome::Ok,
                        ))
                        .unwrap();
                }
            })
        })
        .collect();
    for thread in threads {
        thread.join().unwrap();
    }
    assert_eq!(journal.head().seq, 320);
    assert_eq!(verify(&path).unwrap(), journal.head());
}

#[test]
fn subscribers_see_the_head_after_each_append() {
    let (_dir, path) = temp_journal();
    let journal = Journal::open(&path).unwrap();
    let mut receiver = journal.subscribe();
    assert_eq!(receiver.borrow_and_update().seq, 0);
    let record = journal.append(step("a", "b", "c", Outcome::Ok)).unwrap();
    assert!(receiver.has_changed().unwrap());
    assert_eq!(
        *receiver.borrow_and_update(),
        Head {
            seq: 1,
            hash: record.entry.hash
        }
    );
}

#[test]
fn proto_form_carries_every_field_and_the_raw_line() {
    let (_dir, path) = temp_journal();
    let journal = Journal::open(&path).unwrap();
    journal.append(step("a", "b", "c", Outcome::Ok)).unwrap();
    let record = journal
        .append_at(
            op_step("op-9", OperationPhase::Start, Outcome::Started, "cloning"),
            datetime!(2024-12-31 23:59:59.5 UTC),
        )
        .unwrap();
    let proto = record.to_proto();
    assert_eq!(proto.seq, 2);
    assert_eq!(proto.time_unix_ms, 1_735_689_599_500);
    assert_eq!(proto.actor, "alice");
    assert_eq!(proto.action, "guest.create");
    assert_eq!(proto.target, "qemu/104");
    assert_eq!(proto.outcome(), pvectl_proto::v1::JournalOutcome::Started);
    assert_eq!(proto.detail, "cloning");
    assert_eq!(proto.operation_id, "op-9");
    assert_eq!(proto.prev_hash, record.entry.prev);
    assert_eq!(proto.hash, record.entry.hash);
    assert_eq!(proto.raw, record.raw);

    let mut verifier = ChainVerifier::new();
    for entry in journal.read(0, 0).unwrap() {
        verifier.push(&entry.to_proto().raw).unwrap();
    }
    assert_eq!(verifier.head().hash, proto.hash);
}
