//! Edits, deletions, truncation and torn writes: what the chain detects,
//! what only a remembered head detects, and what opening repairs.

use std::fs;

use super::super::*;
use super::{broken_at, lines, step, temp_journal, write_journal, write_lines};
use serde_json::Value;

#[test]
fn editing_any_field_of_any_line_is_detected_at_that_seq() {
    let (_dir, path) = temp_journal();
    write_journal(&path, 6);
    let original = lines(&path);
    let fields = [
        "seq",
        "time",
        "actor",
        "action",
        "target",
        "outcome",
        "detail",
        "operation",
        "prev",
        "hash",
    ];
    for index in 0..original.len() {
        for field in fields {
            let mut value: Value = serde_json::from_str(&original[index]).unwrap();
            let edited = match (field, &value[field]) {
                ("seq", Value::Number(n)) => Value::from(n.as_u64().unwrap() + 10),
                ("time", _) => Value::from("2001-01-01T00:00:00.000Z"),
                ("outcome", Value::String(s)) if s == "failed" => Value::from("ok"),
                ("outcome", _) => Value::from("failed"),
                ("operation", Value::Null) => serde_json::json!({"id": "forged", "phase": "start"}),
                ("operation", _) => Value::Null,
                ("prev" | "hash", Value::String(s)) => {
                    let flipped = if s.starts_with('0') { "1" } else { "0" };
                    Value::from(format!("{flipped}{}", &s[1..]))
                }
                (_, Value::String(s)) => Value::from(format!("{s}x")),
                other => panic!("unexpected field {other:?}"),
            };
            value[field] = edited;
            let mut edited_lines = original.clone();
            edited_lines[index] = serde_json::to_string(&value).unwrap();
            write_lines(&path, &edited_lines);
            let (seq, problem) = broken_at(verify(&path));
            assert_eq!(
                seq,
                index as u64 + 1,
                "editing {field} of line {}: {problem}",
                index + 1
            );
        }
    }
}

#[test]
fn rehashing_an_edited_entry_breaks_the_link_to_the_next() {
    let (_dir, path) = temp_journal();
    write_journal(&path, 4);
    let mut all = lines(&path);
    let mut entry: Entry = serde_json::from_str(&all[1]).unwrap();
    entry.actor = "mallory".to_owned();
    entry.hash = entry.compute_hash();
    all[1] = entry.to_line();
    write_lines(&path, &all);
    let (seq, problem) = broken_at(verify(&path));
    assert_eq!(seq, 3);
    assert!(matches!(problem, Problem::PrevMismatch { .. }), "{problem}");
}

#[test]
fn rewriting_the_last_entry_is_caught_only_by_the_remembered_head() {
    let (_dir, path) = temp_journal();
    let remembered = write_journal(&path, 3);
    let mut all = lines(&path);
    let mut entry: Entry = serde_json::from_str(&all[2]).unwrap();
    entry.detail = "nothing happened".to_owned();
    entry.hash = entry.compute_hash();
    all[2] = entry.to_line();
    write_lines(&path, &all);
    assert_eq!(
        verify(&path).unwrap().seq,
        3,
        "the chain alone cannot see it"
    );
    let (seq, problem) = broken_at(verify_against(&path, &remembered));
    assert_eq!(seq, 3);
    assert!(matches!(problem, Problem::Diverged { .. }), "{problem}");
}

#[test]
fn respacing_a_line_is_detected_as_not_canonical() {
    let (_dir, path) = temp_journal();
    write_journal(&path, 3);
    let mut all = lines(&path);
    all[1] = all[1].replacen(r#""seq":2"#, r#""seq": 2"#, 1);
    write_lines(&path, &all);
    let (seq, problem) = broken_at(verify(&path));
    assert_eq!((seq, problem), (2, Problem::NotCanonical));
}

#[test]
fn deleting_a_middle_line_is_detected() {
    let (_dir, path) = temp_journal();
    write_journal(&path, 5);
    let mut all = lines(&path);
    all.remove(2);
    write_lines(&path, &all);
    let (seq, problem) = broken_at(verify(&path));
    assert_eq!((seq, problem), (3, Problem::SeqMismatch { found: 4 }));
}

#[test]
fn truncated_tail_verifies_alone_but_not_against_the_remembered_head() {
    let (_dir, path) = temp_journal();
    let remembered = write_journal(&path, 5);
    let all = lines(&path);
    write_lines(&path, &all[..3]);

    // The chain alone cannot tell: what is left is a valid, shorter journal.
    let head = verify(&path).unwrap();
    assert_eq!(head.seq, 3);

    // Against the head a client remembered, the cut is visible.
    let (seq, problem) = broken_at(verify_against(&path, &remembered));
    assert_eq!((seq, problem), (4, Problem::Truncated { last: 3 }));

    // An older remembered head is still fine.
    let older = Head {
        seq: 2,
        hash: serde_json::from_str::<Entry>(&all[1]).unwrap().hash,
    };
    assert_eq!(verify_against(&path, &older).unwrap(), head);
}

#[test]
fn torn_line_without_newline_is_cut_off_on_open_and_reported() {
    let (_dir, path) = temp_journal();
    let head = write_journal(&path, 3);
    let intact = fs::read(&path).unwrap();
    let mut torn = intact.clone();
    torn.extend_from_slice(br#"{"seq":4,"time":"2025-01-01T00:0"#);
    fs::write(&path, &torn).unwrap();

    let journal = Journal::open(&path).unwrap();
    let report = journal.torn_tail().unwrap();
    assert_eq!(report.offset, intact.len() as u64);
    assert_eq!(report.len, (torn.len() - intact.len()) as u64);
    assert!(report.missing_newline);
    assert_eq!(journal.head(), head);
    assert_eq!(fs::read(&path).unwrap(), intact);

    let record = journal
        .append(step("alice", "guest.start", "qemu/1", Outcome::Ok))
        .unwrap();
    assert_eq!(record.entry.seq, 4);
    assert_eq!(verify(&path).unwrap().seq, 4);
}

#[test]
fn complete_entry_missing_only_its_newline_is_also_cut_off() {
    let (_dir, path) = temp_journal();
    write_journal(&path, 2);
    let mut bytes = fs::read(&path).unwrap();
    bytes.pop();
    fs::write(&path, &bytes).unwrap();
    let journal = Journal::open(&path).unwrap();
    assert!(journal.torn_tail().unwrap().missing_newline);
    assert_eq!(
        journal.head().seq,
        1,
        "an entry never fully written was never acknowledged"
    );
}

#[test]
fn torn_last_line_that_is_not_json_is_cut_off_on_open() {
    let (_dir, path) = temp_journal();
    let head = write_journal(&path, 2);
    let intact = fs::read(&path).unwrap();
    let mut torn = intact.clone();
    torn.extend_from_slice(b"\0\0\0\0\0\0\n");
    fs::write(&path, &torn).unwrap();
    let journal = Journal::open(&path).unwrap();
    let report = journal.torn_tail().unwrap().clone();
    assert!(!report.missing_newline);
    assert_eq!(report.len, 7);
    assert_eq!(journal.head(), head);
    assert_eq!(fs::read(&path).unwrap(), intact);
}

#[test]
fn verify_reports_a_torn_tail_without_repairing_it() {
    let (_dir, path) = temp_journal();
    write_journal(&path, 2);
    let mut bytes = fs::read(&path).unwrap();
    bytes.extend_from_slice(b"{\"seq\":3");
    fs::write(&path, &bytes).unwrap();
    let (seq, problem) = broken_at(verify(&path));
    assert_eq!((seq, problem), (3, Problem::TornTail));
    assert_eq!(fs::read(&path).unwrap(), bytes);
}

#[test]
fn invalid_line_before_the_last_refuses_to_open_and_changes_nothing() {
    let (_dir, path) = temp_journal();
    write_journal(&path, 4);
    let mut all = lines(&path);
    all[1] = "{\"seq\":2,".to_owned();
    write_lines(&path, &all);
    let before = fs::read(&path).unwrap();
    let error = Journal::open(&path).unwrap_err();
    let JournalError::Corrupt { source, .. } = &error else {
        panic!("expected corruption, got {error:?}");
    };
    assert_eq!(source.seq(), Some(2));
    assert!(matches!(source.problem(), Some(Problem::NotJson(_))));
    assert!(error.to_string().contains("entry 2"), "{error}");
    assert_eq!(fs::read(&path).unwrap(), before);
}

#[test]
fn bad_entry_on_the_last_line_is_corruption_not_a_torn_write() {
    let (_dir, path) = temp_journal();
    write_journal(&path, 3);
    let mut all = lines(&path);
    all[2] = all[2].replacen("alice", "mallory", 1);
    write_lines(&path, &all);
    let error = Journal::open(&path).unwrap_err();
    let JournalError::Corrupt { source, .. } = &error else {
        panic!("expected corruption, got {error:?}");
    };
    assert_eq!(source.seq(), Some(3));
    assert!(matches!(
        source.problem(),
        Some(Problem::HashMismatch { .. })
    ));
}
