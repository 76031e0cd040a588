use pvectl_proto::journal::{Entry, Head, NewEntry, Outcome, Problem, ZERO_HASH};
use pvectl_proto::v1::JournalEntry;
use time::macros::datetime;

use super::check_journal;

/// Entries as an agent's `ReadJournal` sends them, lines sealed by the same
/// code the agent's journal uses.
fn journal(count: u64) -> Vec<JournalEntry> {
    let mut prev = ZERO_HASH.to_owned();
    (1..=count)
        .map(|seq| {
            let new = NewEntry {
                actor: "alice".to_owned(),
                action: "guest.create".to_owned(),
                target: format!("qemu/{}", 100 + seq),
                outcome: Outcome::Ok,
                detail: "cloned".to_owned(),
                operation: None,
            };
            let entry = Entry::seal(new, seq, datetime!(2025-03-04 05:06:07.089 UTC), &prev);
            prev = entry.hash.clone();
            JournalEntry {
                seq,
                hash: entry.hash.clone(),
                raw: entry.to_line(),
                ..JournalEntry::default()
            }
        })
        .collect()
}

#[test]
fn a_first_check_remembers_the_journals_last_entry() {
    let entries = journal(3);
    let head = check_journal(&entries, None).unwrap();
    assert_eq!(
        head,
        Head {
            seq: 3,
            hash: entries[2].hash.clone()
        }
    );
}

#[test]
fn a_journal_that_grew_since_the_remembered_head_verifies_to_its_new_head() {
    let remembered = check_journal(&journal(2), None).unwrap();
    let head = check_journal(&journal(5), Some(&remembered)).unwrap();
    assert_eq!(head.seq, 5);
}

#[test]
fn an_edited_raw_line_is_detected_at_its_seq() {
    let mut entries = journal(4);
    entries[2].raw = entries[2].raw.replace("cloned", "deleted");
    let error = check_journal(&entries, None).unwrap_err();
    assert_eq!(error.seq, 3);
    assert!(matches!(error.problem, Problem::HashMismatch { .. }));
}

#[test]
fn the_chain_is_checked_from_raw_lines_not_the_fields_beside_them() {
    let mut entries = journal(2);
    entries[1].hash = "0".repeat(64);
    entries[1].detail = "forged".to_owned();
    assert_eq!(check_journal(&entries, None).unwrap().seq, 2);
}

#[test]
fn a_truncated_tail_is_detected_only_against_the_remembered_head() {
    let remembered = check_journal(&journal(5), None).unwrap();
    let cut = journal(3);
    assert!(check_journal(&cut, None).is_ok());
    let error = check_journal(&cut, Some(&remembered)).unwrap_err();
    assert_eq!(error.seq, 4);
    assert_eq!(error.problem, Problem::Truncated { last: 3 });
}

#[test]
fn a_journal_that_disappeared_is_a_truncation_to_nothing() {
    let remembered = check_journal(&journal(2), None).unwrap();
    let error = check_journal(&[], Some(&remembered)).unwrap_err();
    assert_eq!(error.problem, Problem::Truncated { last: 0 });
}

#[test]
fn a_rewritten_journal_of_the_same_length_diverges_from_the_remembered_head() {
    let remembered = Head {
        seq: 3,
        hash: "ab".repeat(32),
    };
    let error = check_journal(&journal(3), Some(&remembered)).unwrap_err();
    assert_eq!(error.seq, 3);
    assert!(matches!(error.problem, Problem::Diverged { .. }));
}
