use super::*;

fn entry(key: &str, old: Option<&str>, new: Option<&str>) -> ConfigDiffEntry {
    ConfigDiffEntry {
        key: key.into(),
        old_value: old.map(str::to_string),
        new_value: new.map(str::to_string),
        pending: false,
    }
}

#[test]
fn diff_lines_are_colored_only_when_asked_and_show_unset_and_removed() {
    let cores = entry("cores", Some("2"), Some("4"));
    assert_eq!(diff_line(&cores, false), "  cores: 2 → 4");
    assert_eq!(
        diff_line(&cores, true),
        "  cores: \x1b[31m2\x1b[0m → \x1b[32m4\x1b[0m"
    );
    assert_eq!(
        diff_line(&entry("net1", None, Some("virtio,bridge=vmbr1")), false),
        "  net1: (unset) → virtio,bridge=vmbr1"
    );
    assert_eq!(
        diff_line(&entry("tags", Some("db"), None), false),
        "  tags: db → (removed)"
    );
}

#[test]
fn multi_line_values_stay_on_one_line_and_secrets_stay_hidden() {
    assert_eq!(
        change_line("description", Some("a\nb"), None),
        "description: a\\nb → (removed)"
    );
    assert_eq!(
        change_line("cipassword", Some("$5$x"), Some("plain")),
        "cipassword: (hidden) → (hidden)"
    );
}
