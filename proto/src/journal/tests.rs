use time::macros::datetime;

use super::*;

fn lines(count: u64) -> Vec<String> {
    let mut prev = ZERO_HASH.to_owned();
    (1..=count)
        .map(|seq| {
            let new = NewEntry {
                actor: "alice".to_owned(),
                action: "guest.create".to_owned(),
                target: format!("qemu/{}", 100 + seq),
                outcome: Outcome::Ok,
                detail: String::new(),
                operation: None,
            };
            let entry = Entry::seal(new, seq, datetime!(2025-01-02 03:04:05.678 UTC), &prev);
            prev = entry.hash.clone();
            entry.to_line()
        })
        .collect()
}

fn refs(lines: &[String]) -> Vec<&str> {
    lines.iter().map(String::as_str).collect()
}

#[test]
fn sealed_lines_verify_and_give_the_last_entrys_head() {
    let lines = lines(3);
    let head = verify_lines(refs(&lines), None).unwrap();
    assert_eq!(head.seq, 3);
    assert_eq!(head.hash, parse_line(&lines[2]).unwrap().hash);
}

#[test]
fn an_edited_detail_breaks_the_chain_at_that_seq() {
    let mut lines = lines(3);
    lines[1] = lines[1].replace("\"detail\":\"\"", "\"detail\":\"x\"");
    let error = verify_lines(refs(&lines), None).unwrap_err();
    assert_eq!(error.seq, 2);
    assert!(matches!(error.problem, Problem::HashMismatch { .. }));
}

#[test]
fn a_cut_tail_verifies_alone_but_not_against_the_remembered_head() {
    let lines = lines(4);
    let remembered = verify_lines(refs(&lines), None).unwrap();
    let cut = &lines[..2];
    assert_eq!(verify_lines(refs(cut), None).unwrap().seq, 2);
    let error = verify_lines(refs(cut), Some(&remembered)).unwrap_err();
    assert_eq!(error.seq, 3);
    assert_eq!(error.problem, Problem::Truncated { last: 2 });
}

#[test]
fn a_rewritten_history_diverges_from_the_remembered_head() {
    let remembered = verify_lines(refs(&lines(2)), None).unwrap();
    let other = Head {
        seq: 2,
        hash: "f".repeat(64),
    };
    let error = verify_lines(refs(&lines(3)), Some(&other)).unwrap_err();
    assert_eq!(error.seq, 2);
    assert!(matches!(error.problem, Problem::Diverged { .. }));
    assert!(verify_lines(refs(&lines(3)), Some(&remembered)).is_ok());
}
