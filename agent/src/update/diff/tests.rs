use pvectl_proto::v1::ErrorKind;

use super::*;

const RUNNING: &[u8] = b"#web server\ncores: 2\nmemory: 4096\nname: web1\nonboot: 1\ntags: prod;web\n\n[PENDING]\ncores: 4\ndelete: onboot\n";

fn config(text: &[u8]) -> GuestConfig {
    GuestConfig::parse(GuestKind::Qemu, text).unwrap().config
}

fn set(key: &str, value: &str) -> ConfigChange {
    ConfigChange {
        key: key.into(),
        value: value.into(),
    }
}

fn planned(changes: &[ConfigChange], deletes: &[&str]) -> Vec<ConfigDiffEntry> {
    let deletes: Vec<String> = deletes.iter().map(|d| d.to_string()).collect();
    let checked = check(GuestKind::Qemu, changes, &deletes).unwrap();
    plan(&config(RUNNING), &checked)
}

fn row(entry: &ConfigDiffEntry) -> (&str, Option<&str>, Option<&str>, bool) {
    (
        entry.key.as_str(),
        entry.old_value.as_deref(),
        entry.new_value.as_deref(),
        entry.pending,
    )
}

#[test]
fn the_plan_compares_with_pending_values_and_leaves_out_what_does_not_change() {
    let diff = planned(
        &[
            set("memory", "8192"),
            set("cores", "4"),
            set("name", "web1"),
            set("tags", "WEB;prod"),
            set("description", "web server\n"),
            set("sockets", "2"),
        ],
        &["onboot", "boot"],
    );
    let rows: Vec<_> = diff.iter().map(row).collect();
    // cores 4 and onboot's delete are pending already; name, tags and the
    // description are unchanged; boot is not set at all
    assert_eq!(
        rows,
        [
            ("memory", Some("4096"), Some("8192"), false),
            ("sockets", None, Some("2"), false),
        ]
    );
}

#[test]
fn deletes_and_description_changes_appear_in_key_order() {
    let diff = planned(
        &[set("description", "db server"), set("cores", "1")],
        &["tags"],
    );
    let rows: Vec<_> = diff.iter().map(row).collect();
    assert_eq!(
        rows,
        [
            ("cores", Some("4"), Some("1"), false),
            ("description", Some("web server"), Some("db server"), false),
            ("tags", Some("prod;web"), None, false),
        ]
    );
}

#[test]
fn reading_back_reports_the_stored_values_and_which_keys_are_pending() {
    let diff = planned(&[set("memory", "8192"), set("name", "web2")], &["tags"]);
    let after = config(
        b"#web server\ncores: 2\nmemory: 4096\nname: web2\nonboot: 1\n\n[PENDING]\ncores: 4\ndelete: onboot\nmemory: 8192\n",
    );
    let stored = read_back(&diff, &after);
    let rows: Vec<_> = stored.iter().map(row).collect();
    assert_eq!(
        rows,
        [
            ("memory", Some("4096"), Some("8192"), true),
            ("name", Some("web1"), Some("web2"), false),
            ("tags", Some("prod;web"), None, false),
        ]
    );
}

#[test]
fn secrets_are_hidden_but_their_change_still_shows() {
    let diff = planned(&[set("cipassword", "hunter2")], &[]);
    let masked = masked(&diff);
    assert_eq!(row(&masked[0]), ("cipassword", None, Some(HIDDEN), false));
    assert!(!format!("{masked:?}").contains("hunter2"));
}

#[test]
fn bad_requests_are_refused_before_any_diff_with_the_reason() {
    let refuse = |changes: &[ConfigChange], deletes: &[&str]| {
        let deletes: Vec<String> = deletes.iter().map(|d| d.to_string()).collect();
        let err = check(GuestKind::Qemu, changes, &deletes).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidArgument);
        err.message
    };
    assert_eq!(
        refuse(&[], &[]),
        "nothing to change: name keys to set or delete"
    );
    assert_eq!(
        refuse(&[set("cores", "2"), set("cores", "3")], &[]),
        "cores is set twice"
    );
    assert_eq!(
        refuse(&[set("cores", "2")], &["cores"]),
        "cores is both set and deleted"
    );
    assert_eq!(
        refuse(&[set("foo", "bar")], &[]),
        "unknown config key foo for a VM"
    );
    assert!(refuse(&[], &["lock"]).starts_with("lock cannot be changed"));
    assert!(refuse(&[set("cores", "x")], &[]).contains("expected an integer"));
}
