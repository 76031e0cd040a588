//! The real `pvectl` binary: what `pki` and `config` write, what they print,
//! and the exit codes they end with.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Command, Output, Stdio};

use serde_json::Value;

/// `pvectl` with `home` as its home and no configuration from the caller's
/// environment.
fn pvectl(home: &Path) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_pvectl"));
    command
        .env("HOME", home)
        .env_remove("XDG_CONFIG_HOME")
        .env_remove("PVECTL_CONFIG")
        .current_dir(home)
        .stdin(Stdio::null());
    command
}

fn run(home: &Path, args: &[&str]) -> Output {
    pvectl(home).args(args).output().unwrap()
}

fn code(output: &Output) -> i32 {
    output.status.code().unwrap()
}

fn stdout(output: &Output) -> String {
    String::from_utf8(output.stdout.clone()).unwrap()
}

fn stderr(output: &Output) -> String {
    String::from_utf8(output.stderr.clone()).unwrap()
}

fn ok(home: &Path, args: &[&str]) -> String {
    let output = run(home, args);
    assert_eq!(code(&output), 0, "{args:?}: {}", stderr(&output));
    stdout(&output)
}

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

#[test]
fn pki_init_writes_the_ca_into_the_users_config_dir_with_a_private_key() {
    let home = tempfile::tempdir().unwrap();
    let json: Value =
        serde_json::from_str(&ok(home.path(), &["pki", "init", "-o", "json"])).unwrap();
    let dir = home.path().join(".config/pvectl/pki");
    assert_eq!(mode(&dir), 0o700);
    assert_eq!(mode(&dir.join("ca.key")), 0o600);
    assert_eq!(mode(&dir.join("ca.pem")), 0o644);
    let files = json.as_array().unwrap();
    assert_eq!(files.len(), 2);
    assert_eq!(files[0]["path"], dir.join("ca.pem").to_str().unwrap());
    assert_eq!(files[0]["contents"], "CA certificate");
    assert_eq!(files[1]["path"], dir.join("ca.key").to_str().unwrap());
    assert_eq!(files[1]["mode"], "0600");
    assert_eq!(files[1]["status"], "written");
    let year = time::OffsetDateTime::now_utc().year();
    let expires = files[0]["expires"].as_str().unwrap();
    assert!(
        expires.starts_with(&format!("{}-", year + 10))
            || expires.starts_with(&format!("{}-", year + 9)),
        "{expires}"
    );
}

#[test]
fn pki_init_over_an_existing_ca_is_refused_with_exit_5_naming_the_file() {
    let home = tempfile::tempdir().unwrap();
    let dir = home.path().join("pki");
    let dir_arg = dir.to_str().unwrap();
    ok(home.path(), &["pki", "init", "--dir", dir_arg]);
    let before = std::fs::read(dir.join("ca.key")).unwrap();
    let output = run(home.path(), &["pki", "init", "--dir", dir_arg]);
    assert_eq!(code(&output), 5);
    assert!(
        stderr(&output).contains(&format!(
            "refusing to overwrite {}",
            dir.join("ca.pem").display()
        )),
        "{}",
        stderr(&output)
    );
    assert!(stderr(&output).contains("--force"));
    assert_eq!(std::fs::read(dir.join("ca.key")).unwrap(), before);
}

#[test]
fn replacing_the_ca_needs_yes_when_no_terminal_can_confirm() {
    let home = tempfile::tempdir().unwrap();
    let dir = home.path().join("pki");
    let dir_arg = dir.to_str().unwrap();
    ok(home.path(), &["pki", "init", "--dir", dir_arg]);
    let before = std::fs::read(dir.join("ca.key")).unwrap();
    let output = run(home.path(), &["pki", "init", "--dir", dir_arg, "--force"]);
    assert_eq!(code(&output), 5);
    assert!(
        stderr(&output).contains("without --yes"),
        "{}",
        stderr(&output)
    );
    assert_eq!(std::fs::read(dir.join("ca.key")).unwrap(), before);
    ok(
        home.path(),
        &["pki", "init", "--dir", dir_arg, "--force", "--yes"],
    );
    assert_ne!(std::fs::read(dir.join("ca.key")).unwrap(), before);
    assert_eq!(mode(&dir.join("ca.key")), 0o600);
}

#[test]
fn issuing_without_a_ca_exits_4_and_says_to_run_init() {
    let home = tempfile::tempdir().unwrap();
    let output = run(
        home.path(),
        &["pki", "issue-client", "--name", "alice", "--role", "viewer"],
    );
    assert_eq!(code(&output), 4);
    assert!(
        stderr(&output).contains("pvectl pki init"),
        "{}",
        stderr(&output)
    );
}

#[test]
fn issuing_a_client_twice_is_refused_until_forced() {
    let home = tempfile::tempdir().unwrap();
    ok(home.path(), &["pki", "init"]);
    let args = [
        "pki",
        "issue-client",
        "--name",
        "ci",
        "--role",
        "operator",
        "--days",
        "30",
    ];
    let table = ok(home.path(), &args);
    let dir = home.path().join(".config/pvectl/pki");
    let lines: Vec<&str> = table.lines().collect();
    assert_eq!(lines.len(), 3, "{table}");
    assert!(lines[0].starts_with("FILE"), "{table}");
    assert!(lines[0].ends_with("STATUS"), "{table}");
    assert!(lines[1].starts_with(dir.join("client-ci.pem").to_str().unwrap()));
    assert!(
        lines[1].contains("client ci (operator) certificate"),
        "{table}"
    );
    assert!(
        lines[2].contains("client ci (operator) private key"),
        "{table}"
    );
    assert_eq!(mode(&dir.join("client-ci.key")), 0o600);
    let before = std::fs::read(dir.join("client-ci.pem")).unwrap();
    let output = run(home.path(), &args);
    assert_eq!(code(&output), 5);
    assert!(
        stderr(&output).contains("client-ci.pem"),
        "{}",
        stderr(&output)
    );
    let forced: Vec<&str> = args
        .iter()
        .copied()
        .chain(["--force", "-o", "name"])
        .collect();
    assert_eq!(
        ok(home.path(), &forced),
        format!(
            "file/{}\nfile/{}\n",
            dir.join("client-ci.pem").display(),
            dir.join("client-ci.key").display()
        )
    );
    assert_ne!(std::fs::read(dir.join("client-ci.pem")).unwrap(), before);
}

#[test]
fn issuing_an_agent_writes_its_pair_and_a_dry_run_writes_nothing() {
    let home = tempfile::tempdir().unwrap();
    ok(home.path(), &["pki", "init"]);
    let dir = home.path().join(".config/pvectl/pki");
    let args = [
        "pki",
        "issue-agent",
        "--node",
        "pve1",
        "--ip",
        "10.0.0.1",
        "--ip",
        "fd00::1",
    ];
    let dry: Vec<&str> = args
        .iter()
        .copied()
        .chain(["--dry-run", "-o", "json"])
        .collect();
    let json: Value = serde_json::from_str(&ok(home.path(), &dry)).unwrap();
    assert_eq!(json[0]["status"], "would write");
    assert!(!dir.join("agent-pve1.pem").exists());
    assert!(!dir.join("agent-pve1.key").exists());
    ok(home.path(), &args);
    assert_eq!(mode(&dir.join("agent-pve1.key")), 0o600);
    assert_eq!(mode(&dir.join("agent-pve1.pem")), 0o644);
}

#[test]
fn bad_pki_arguments_are_usage_errors() {
    let home = tempfile::tempdir().unwrap();
    ok(home.path(), &["pki", "init", "--days", "30"]);
    for args in [
        &["pki", "issue-agent", "--node", "pve_1", "--ip", "10.0.0.1"][..],
        &["pki", "issue-agent", "--node", "pve1"],
        &["pki", "issue-agent", "--node", "pve1", "--ip", "10.0.0.300"],
        &["pki", "issue-client", "--name", "../x", "--role", "admin"],
        &["pki", "issue-client", "--name", "x", "--role", "root"],
        &["pki", "init", "--days", "0"],
    ] {
        let output = run(home.path(), args);
        assert_eq!(code(&output), 2, "{args:?}: {}", stderr(&output));
    }
    let output = run(
        home.path(),
        &[
            "pki",
            "issue-client",
            "--name",
            "x",
            "--role",
            "admin",
            "--days",
            "365",
        ],
    );
    assert_eq!(code(&output), 2, "{}", stderr(&output));
    assert!(
        stderr(&output).contains("would outlive the CA"),
        "{}",
        stderr(&output)
    );
}

#[test]
fn set_context_stores_absolute_paths_and_view_shows_the_current_context() {
    let home = tempfile::tempdir().unwrap();
    let out = ok(
        home.path(),
        &[
            "config",
            "set-context",
            "lab",
            "--seed",
            "10.0.0.1:7443",
            "--ca",
            "pki/ca.pem",
            "--cert",
            "pki/client-alice.pem",
            "--key",
            "pki/client-alice.key",
        ],
    );
    let config_path = home.path().join(".config/pvectl/config.toml");
    assert_eq!(
        out,
        format!(
            "context \"lab\" created as the current context in {}\n",
            config_path.display()
        )
    );
    assert_eq!(mode(&config_path), 0o600);
    ok(
        home.path(),
        &[
            "config",
            "set-context",
            "prod",
            "--seed",
            "[fd00::1]:7443",
            "--ca",
            "/etc/ca.pem",
            "--cert",
            "/etc/c.pem",
            "--key",
            "/etc/c.key",
            "--timeout",
            "3s",
        ],
    );
    assert_eq!(
        ok(home.path(), &["config", "view"]),
        "CURRENT   NAME   SEED\n*         lab    10.0.0.1:7443\n          prod   [fd00::1]:7443\n"
    );
    let json: Value =
        serde_json::from_str(&ok(home.path(), &["config", "view", "-o", "json"])).unwrap();
    assert_eq!(
        json[0]["ca"],
        home.path().join("pki/ca.pem").to_str().unwrap()
    );
    assert_eq!(json[1]["timeout"], "3s");
    assert_eq!(
        ok(home.path(), &["config", "use-context", "prod"]),
        "switched to context \"prod\"\n"
    );
    assert_eq!(
        ok(
            home.path(),
            &["config", "view", "--context", "prod", "-o", "name"]
        ),
        "context/prod\n"
    );
    let json: Value =
        serde_json::from_str(&ok(home.path(), &["config", "view", "-o", "json"])).unwrap();
    assert_eq!(json[1]["current"], true);
}

#[test]
fn an_unknown_context_exits_4_listing_the_known_ones() {
    let home = tempfile::tempdir().unwrap();
    ok(
        home.path(),
        &[
            "config",
            "set-context",
            "lab",
            "--seed",
            "h:1",
            "--ca",
            "a",
            "--cert",
            "b",
            "--key",
            "c",
        ],
    );
    for args in [
        &["config", "use-context", "prod"][..],
        &["config", "view", "--context", "prod"],
    ] {
        let output = run(home.path(), args);
        assert_eq!(code(&output), 4, "{args:?}");
        assert!(
            stderr(&output).contains("known contexts: lab"),
            "{}",
            stderr(&output)
        );
    }
}

#[test]
fn a_config_with_an_unknown_key_fails_naming_the_key() {
    let home = tempfile::tempdir().unwrap();
    let path = home.path().join("custom.toml");
    std::fs::write(
        &path,
        "[contexts.lab]\nseed = \"h:1\"\nca = \"a\"\ncert = \"b\"\nkey = \"c\"\nproxy = \"x\"\n",
    )
    .unwrap();
    let output = pvectl(home.path())
        .env("PVECTL_CONFIG", &path)
        .args(["config", "view"])
        .output()
        .unwrap();
    assert_eq!(code(&output), 1);
    assert!(stderr(&output).contains("proxy"), "{}", stderr(&output));
    assert!(
        stderr(&output).contains("custom.toml"),
        "{}",
        stderr(&output)
    );
}

#[test]
fn the_config_flag_wins_over_the_environment_and_a_missing_file_exits_4() {
    let home = tempfile::tempdir().unwrap();
    let from_env = home.path().join("env.toml");
    let from_flag = home.path().join("flag.toml");
    let output = pvectl(home.path())
        .env("PVECTL_CONFIG", &from_env)
        .args(["config", "view", "--config"])
        .arg(&from_flag)
        .output()
        .unwrap();
    assert_eq!(code(&output), 4);
    assert!(stderr(&output).contains("flag.toml"), "{}", stderr(&output));
    assert!(
        stderr(&output).contains("pvectl config set-context"),
        "{}",
        stderr(&output)
    );
}

#[test]
fn a_new_context_without_its_certificates_is_a_usage_error_and_writes_nothing() {
    let home = tempfile::tempdir().unwrap();
    let output = run(
        home.path(),
        &["config", "set-context", "lab", "--seed", "h:1"],
    );
    assert_eq!(code(&output), 2);
    assert!(
        stderr(&output).contains("--ca, --cert, --key"),
        "{}",
        stderr(&output)
    );
    assert!(!home.path().join(".config/pvectl/config.toml").exists());
}

#[test]
fn a_dry_run_of_config_changes_says_what_would_happen_and_writes_nothing() {
    let home = tempfile::tempdir().unwrap();
    let config_path = home.path().join(".config/pvectl/config.toml");
    let set = [
        "config",
        "set-context",
        "lab",
        "--seed",
        "h:1",
        "--ca",
        "a",
        "--cert",
        "b",
        "--key",
        "c",
    ];
    let dry: Vec<&str> = set.iter().copied().chain(["--dry-run"]).collect();
    assert_eq!(
        ok(home.path(), &dry),
        format!(
            "context \"lab\" would be created as the current context in {}\n",
            config_path.display()
        )
    );
    assert!(!config_path.exists());
    ok(home.path(), &set);
    ok(
        home.path(),
        &[
            "config",
            "set-context",
            "other",
            "--seed",
            "h:2",
            "--ca",
            "a",
            "--cert",
            "b",
            "--key",
            "c",
        ],
    );
    let before = std::fs::read(&config_path).unwrap();
    assert_eq!(
        ok(
            home.path(),
            &["config", "use-context", "other", "--dry-run"]
        ),
        "would switch to context \"other\"\n"
    );
    assert_eq!(std::fs::read(&config_path).unwrap(), before);
}
