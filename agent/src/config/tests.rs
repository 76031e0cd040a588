use std::path::Path;
use std::time::Duration;

use super::*;

const PACKAGED_EXAMPLE: &str = include_str!("../../../packaging/agent.toml");

fn parse(text: &str) -> Result<AgentConfig, ConfigError> {
    AgentConfig::parse(text, Path::new("/etc/pvectl/agent.toml"))
}

fn invalid(text: &str) -> (String, usize, Option<String>) {
    match parse(text) {
        Err(error @ ConfigError::Invalid { .. }) => {
            let message = error.to_string();
            let ConfigError::Invalid { line, key, .. } = error else {
                unreachable!()
            };
            (message, line, key)
        }
        other => panic!("expected an invalid-config error, got {other:?}"),
    }
}

#[test]
fn empty_file_gives_the_documented_defaults() {
    let config = parse("").unwrap();
    assert_eq!(config.node_name, None);
    assert_eq!(config.listen, "0.0.0.0:8446".parse().unwrap());
    assert_eq!(config.pmxcfs_root, Path::new("/etc/pve"));
    assert_eq!(config.task_log_root, Path::new("/var/log/pve/tasks"));
    assert_eq!(
        config.journal_path,
        Path::new("/var/lib/pvectl/journal.jsonl")
    );
    assert_eq!(config.watcher, WatcherMode::Auto);
    assert_eq!(config.clones_per_storage.get(), 2);
    assert_eq!(config.pve_api.url, "https://127.0.0.1:8006");
    assert_eq!(
        config.pve_api.token_file,
        Path::new("/etc/pvectl/pve-api-token")
    );
    assert_eq!(config.pve_ca_path(), Path::new("/etc/pve/pve-root-ca.pem"));
    assert_eq!(config.tls.cert, Path::new("/etc/pvectl/tls/agent.pem"));
    assert_eq!(config.tls.key, Path::new("/etc/pvectl/tls/agent-key.pem"));
    assert_eq!(config.tls.client_ca, Path::new("/etc/pvectl/tls/ca.pem"));
    assert_eq!(config.timeouts.create, Duration::from_secs(900));
    assert_eq!(config.timeouts.api_request, Duration::from_secs(30));
    assert_eq!(config.timeouts.shutdown_grace, Duration::from_secs(30));
    assert_eq!(config.roles.role_for("anyone"), None);
}

#[test]
fn packaged_example_parses_and_states_the_defaults() {
    let config = AgentConfig::parse(PACKAGED_EXAMPLE, Path::new("packaging/agent.toml")).unwrap();
    assert_eq!(config, AgentConfig::default());
}

#[test]
fn packaged_example_commented_out_keys_are_valid_when_enabled() {
    let mut enabled_examples = 0;
    let text: String = PACKAGED_EXAMPLE
        .lines()
        .map(|line| match line.strip_prefix("# ") {
            Some(rest) if toml::from_str::<toml::Table>(rest).is_ok_and(|t| !t.is_empty()) => {
                enabled_examples += 1;
                format!("{rest}\n")
            }
            _ => format!("{line}\n"),
        })
        .collect();
    assert!(
        enabled_examples >= 5,
        "only {enabled_examples} examples found"
    );
    let config = AgentConfig::parse(&text, Path::new("packaging/agent.toml")).unwrap();
    assert_eq!(config.node_name.as_deref(), Some("pve1"));
    assert_eq!(
        config.pve_api.ca.as_deref(),
        Some(Path::new("/etc/pve/pve-root-ca.pem"))
    );
    assert_eq!(config.roles.role_for("alice"), Some(Role::Admin));
    assert_eq!(config.roles.role_for("ci-pipeline"), Some(Role::Operator));
    assert_eq!(config.roles.role_for("grafana"), Some(Role::Viewer));
}

#[test]
fn every_key_can_be_set() {
    let config = parse(
        r#"
node_name = "pve7"
listen = "127.0.0.1:9000"
pmxcfs_root = "/srv/pve"
task_log_root = "/srv/tasks"
journal_path = "/srv/journal.jsonl"
watcher = "poll"
clones_per_storage = 5

[pve_api]
url = "https://10.0.0.1:8006/"
token_file = "/srv/token"
ca = "/srv/ca.pem"

[tls]
cert = "/srv/a.pem"
key = "/srv/a.key"
client_ca = "/srv/ca2.pem"

[timeouts]
create = "1h30m"
api_request = "500ms"
shutdown_grace = "2m"

[roles]
"ops@example.org" = "operator"
viewer1 = "viewer"
"#,
    )
    .unwrap();
    assert_eq!(config.node_name.as_deref(), Some("pve7"));
    assert_eq!(config.listen, "127.0.0.1:9000".parse().unwrap());
    assert_eq!(config.pmxcfs_root, Path::new("/srv/pve"));
    assert_eq!(config.task_log_root, Path::new("/srv/tasks"));
    assert_eq!(config.journal_path, Path::new("/srv/journal.jsonl"));
    assert_eq!(config.watcher, WatcherMode::Poll);
    assert_eq!(config.clones_per_storage.get(), 5);
    assert_eq!(
        config.pve_api.url, "https://10.0.0.1:8006",
        "trailing slash trimmed"
    );
    assert_eq!(config.pve_api.token_file, Path::new("/srv/token"));
    assert_eq!(config.pve_ca_path(), Path::new("/srv/ca.pem"));
    assert_eq!(config.tls.cert, Path::new("/srv/a.pem"));
    assert_eq!(config.tls.key, Path::new("/srv/a.key"));
    assert_eq!(config.tls.client_ca, Path::new("/srv/ca2.pem"));
    assert_eq!(config.timeouts.create, Duration::from_secs(5400));
    assert_eq!(config.timeouts.api_request, Duration::from_millis(500));
    assert_eq!(config.timeouts.shutdown_grace, Duration::from_secs(120));
    assert_eq!(
        config.roles.role_for("ops@example.org"),
        Some(Role::Operator)
    );
    assert_eq!(config.roles.role_for("viewer1"), Some(Role::Viewer));
    assert_eq!(config.roles.iter().count(), 2);
}

#[test]
fn pve_ca_defaults_under_the_configured_pmxcfs_root() {
    let config = parse("pmxcfs_root = \"/tmp/sim/pve\"\n").unwrap();
    assert_eq!(
        config.pve_ca_path(),
        Path::new("/tmp/sim/pve/pve-root-ca.pem")
    );
}

#[test]
fn unknown_top_level_key_is_an_error_naming_the_key_and_line() {
    let (message, line, key) = invalid("listen = \"0.0.0.0:1\"\nlisten_adress = \"x\"\n");
    assert_eq!(line, 2);
    assert_eq!(key.as_deref(), Some("listen_adress"));
    assert!(message.contains("listen_adress"), "{message}");
    assert!(message.contains("line 2"), "{message}");
    assert!(message.contains("/etc/pvectl/agent.toml"), "{message}");
}

#[test]
fn unknown_key_in_a_table_is_an_error_naming_the_dotted_key() {
    let (message, line, key) = invalid("[pve_api]\nurl = \"https://h:8006\"\ntoken = \"x\"\n");
    assert_eq!(line, 3);
    assert_eq!(key.as_deref(), Some("pve_api.token"));
    assert!(message.contains("`pve_api.token`"), "{message}");
    assert!(message.contains("unknown field `token`"), "{message}");
}

#[test]
fn unknown_table_is_an_error_naming_it() {
    let (message, line, key) = invalid("watcher = \"auto\"\n\n[tlss]\ncert = \"/a\"\n");
    assert_eq!(line, 3);
    assert_eq!(key.as_deref(), Some("tlss"));
    assert!(message.contains("tlss"), "{message}");
}

#[test]
fn bad_duration_names_the_key_and_line() {
    let (message, line, key) =
        invalid("[timeouts]\napi_request = \"30s\"\ncreate = \"15 minutes\"\n");
    assert_eq!(line, 3);
    assert_eq!(key.as_deref(), Some("timeouts.create"));
    assert!(message.contains("`timeouts.create`"), "{message}");
    assert!(message.contains("15 minutes"), "{message}");
}

#[test]
fn bad_values_name_their_keys() {
    let cases = [
        ("listen = \"nope\"\n", "listen"),
        ("watcher = \"fanotify\"\n", "watcher"),
        ("clones_per_storage = 0\n", "clones_per_storage"),
        ("clones_per_storage = \"two\"\n", "clones_per_storage"),
        ("journal_path = \"journal.jsonl\"\n", "journal_path"),
        ("node_name = \"pve_1\"\n", "node_name"),
        (
            "[pve_api]\nurl = \"http://127.0.0.1:8006\"\n",
            "pve_api.url",
        ),
        ("[pve_api]\nurl = \"not a url\"\n", "pve_api.url"),
        ("[pve_api]\nca = \"relative.pem\"\n", "pve_api.ca"),
        ("[tls]\nkey = 5\n", "tls.key"),
        (
            "[timeouts]\nshutdown_grace = \"0s\"\n",
            "timeouts.shutdown_grace",
        ),
        (
            "[roles]\n\"alice@corp\" = \"root\"\n",
            "roles.\"alice@corp\"",
        ),
        ("[timeouts]\ncreate = 900\n", "timeouts.create"),
    ];
    for (text, expected_key) in cases {
        let (message, _, key) = invalid(text);
        assert_eq!(
            key.as_deref(),
            Some(expected_key),
            "for {text:?}: {message}"
        );
        assert!(message.contains(expected_key), "for {text:?}: {message}");
    }
}

#[test]
fn inline_tables_locate_keys_too() {
    let (message, line, key) = invalid("timeouts = { create = \"5m\", api_request = \"x\" }\n");
    assert_eq!(line, 1);
    assert_eq!(key.as_deref(), Some("timeouts.api_request"));
    assert!(message.contains("invalid duration"), "{message}");
}

#[test]
fn syntax_errors_give_the_line_without_a_key() {
    let (message, line, key) = invalid("listen = \"0.0.0.0:1\"\nwatcher = \n");
    assert_eq!(line, 2);
    assert_eq!(key, None);
    assert!(message.contains("line 2"), "{message}");
}

#[test]
fn duplicate_keys_are_errors() {
    let (_, line, _) = invalid("watcher = \"poll\"\nwatcher = \"auto\"\n");
    assert_eq!(line, 2);
}

#[test]
fn missing_file_error_names_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("agent.toml");
    let error = AgentConfig::load(&path).unwrap_err();
    assert!(matches!(error, ConfigError::Read { .. }));
    assert!(
        error.to_string().contains(&path.display().to_string()),
        "{error}"
    );
}

#[test]
fn load_reads_a_file_from_disk() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("agent.toml");
    std::fs::write(&path, "watcher = \"inotify\"\n").unwrap();
    assert_eq!(
        AgentConfig::load(&path).unwrap().watcher,
        WatcherMode::Inotify
    );
    std::fs::write(&path, "bogus = 1\n").unwrap();
    let message = AgentConfig::load(&path).unwrap_err().to_string();
    assert!(
        message.contains(&path.display().to_string()) && message.contains("bogus"),
        "{message}"
    );
}

#[test]
fn node_name_prefers_config_then_members_then_short_hostname() {
    let configured = parse("node_name = \"pve9\"\n").unwrap();
    assert_eq!(
        configured
            .resolve_node_name(Some("pve1"), Some("host"))
            .unwrap(),
        "pve9"
    );

    let unset = parse("").unwrap();
    assert_eq!(
        unset.resolve_node_name(Some("pve1"), Some("host")).unwrap(),
        "pve1"
    );
    assert_eq!(
        unset
            .resolve_node_name(None, Some("pve2.example.org"))
            .unwrap(),
        "pve2"
    );
    assert_eq!(
        unset.resolve_node_name(Some(""), Some("pve3")).unwrap(),
        "pve3"
    );
}

#[test]
fn node_name_errors_say_what_is_missing_or_wrong() {
    let unset = parse("").unwrap();
    let none = unset.resolve_node_name(None, None).unwrap_err().to_string();
    assert!(none.contains("node_name"), "{none}");
    let bad_host = unset
        .resolve_node_name(None, Some("my_host"))
        .unwrap_err()
        .to_string();
    assert!(
        bad_host.contains("hostname") && bad_host.contains("my_host"),
        "{bad_host}"
    );
    let bad_members = unset
        .resolve_node_name(Some("a b"), Some("ok"))
        .unwrap_err()
        .to_string();
    assert!(bad_members.contains(".members"), "{bad_members}");
}

#[test]
fn role_lookup_is_exact_and_denies_unlisted_names() {
    let config = parse("[roles]\nalice = \"admin\"\n").unwrap();
    assert_eq!(config.roles.role_for("alice"), Some(Role::Admin));
    assert_eq!(config.roles.role_for("Alice"), None);
    assert_eq!(config.roles.role_for("alice "), None);
    assert_eq!(config.roles.role_for(""), None);
}

#[test]
fn durations_accept_units_and_sums() {
    assert_eq!(parse_duration("500ms").unwrap(), Duration::from_millis(500));
    assert_eq!(parse_duration("30s").unwrap(), Duration::from_secs(30));
    assert_eq!(parse_duration("15m").unwrap(), Duration::from_secs(900));
    assert_eq!(parse_duration("2h").unwrap(), Duration::from_secs(7200));
    assert_eq!(
        parse_duration("1h30m15s").unwrap(),
        Duration::from_secs(5415)
    );
    assert_eq!(parse_duration(" 1m ").unwrap(), Duration::from_secs(60));
}

#[test]
fn durations_refuse_zero_missing_units_and_garbage() {
    for text in [
        "",
        "0s",
        "30",
        "s",
        "1d",
        "1.5s",
        "-1s",
        "1m 30s",
        "99999999999999999999s",
    ] {
        assert!(parse_duration(text).is_err(), "{text:?} should be refused");
    }
    let message = parse_duration("1d").unwrap_err();
    assert!(message.contains("unknown unit \"d\""), "{message}");
}
