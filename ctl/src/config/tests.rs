use std::ffi::OsString;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use super::{Config, ConfigError, ContextUpdate, SetContextOutcome, user_config_dir};
use crate::output::OutputFormat;

const TWO_CONTEXTS: &str = r#"
current-context = "lab"

[contexts.lab]
seed = "10.0.0.1:7443"
ca = "pki/ca.pem"
cert = "pki/client-alice.pem"
key = "/secure/alice.key"
output = "wide"
timeout = "5s"

[contexts.prod]
seed = "pve1.example:7443"
ca = "ca.pem"
cert = "alice.pem"
key = "alice.key"
server-name = "pve1"
"#;

fn parse(text: &str) -> Result<Config, ConfigError> {
    Config::parse(Path::new("/home/alice/.config/pvectl/config.toml"), text)
}

fn error_text(text: &str) -> String {
    parse(text).unwrap_err().to_string()
}

#[test]
fn the_current_context_resolves_relative_paths_against_the_config_directory() {
    let context = parse(TWO_CONTEXTS).unwrap().context(None).unwrap();
    assert_eq!(context.name, "lab");
    assert_eq!(context.seed.to_string(), "10.0.0.1:7443");
    assert_eq!(
        context.ca,
        PathBuf::from("/home/alice/.config/pvectl/pki/ca.pem")
    );
    assert_eq!(
        context.cert,
        PathBuf::from("/home/alice/.config/pvectl/pki/client-alice.pem")
    );
    assert_eq!(context.key, PathBuf::from("/secure/alice.key"));
    assert_eq!(context.output, Some(OutputFormat::Wide));
    assert_eq!(context.timeout, Some(Duration::from_secs(5)));
    assert_eq!(context.server_name, None);
}

#[test]
fn a_named_context_wins_over_the_current_one() {
    let context = parse(TWO_CONTEXTS).unwrap().context(Some("prod")).unwrap();
    assert_eq!(context.name, "prod");
    assert_eq!(context.server_name.as_deref(), Some("pve1"));
    assert_eq!(context.timeout, None);
}

#[test]
fn an_unknown_context_is_refused_listing_the_known_ones() {
    let error = parse(TWO_CONTEXTS)
        .unwrap()
        .context(Some("staging"))
        .unwrap_err();
    assert!(matches!(error, ConfigError::UnknownContext { .. }));
    assert!(
        error.to_string().contains("known contexts: lab, prod"),
        "{error}"
    );
}

#[test]
fn no_current_context_and_no_choice_says_how_to_choose() {
    let config = parse(&TWO_CONTEXTS.replace("current-context = \"lab\"", "")).unwrap();
    let error = config.context(None).unwrap_err().to_string();
    assert!(error.contains("--context"), "{error}");
}

#[test]
fn unknown_keys_are_refused_naming_the_key() {
    let error = error_text("current-context = \"lab\"\ncolour = \"red\"\n");
    assert!(error.contains("colour"), "{error}");
    let error = error_text(&TWO_CONTEXTS.replace("timeout = \"5s\"", "tiemout = \"5s\""));
    assert!(error.contains("tiemout"), "{error}");
}

#[test]
fn bad_values_are_refused_naming_their_key() {
    let error = error_text(&TWO_CONTEXTS.replace("10.0.0.1:7443", "10.0.0.1"));
    assert!(error.contains("contexts.lab.seed"), "{error}");
    assert!(error.contains("the port is missing"), "{error}");
    let error = error_text(&TWO_CONTEXTS.replace("\"5s\"", "\"5\""));
    assert!(error.contains("contexts.lab.timeout"), "{error}");
    let error = error_text(&TWO_CONTEXTS.replace("\"wide\"", "\"fancy\""));
    assert!(error.contains("fancy"), "{error}");
    let error = error_text(&TWO_CONTEXTS.replace("server-name = \"pve1\"", "server-name = \"\""));
    assert!(error.contains("contexts.prod.server-name"), "{error}");
}

#[test]
fn a_current_context_that_does_not_exist_is_refused() {
    let error = error_text(
        &TWO_CONTEXTS.replace("current-context = \"lab\"", "current-context = \"gone\""),
    );
    assert!(error.contains("current-context"), "{error}");
    assert!(error.contains("gone"), "{error}");
}

#[test]
fn a_missing_file_is_an_error_for_load_and_empty_for_load_or_empty() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("config.toml");
    assert!(matches!(
        Config::load(&path).unwrap_err(),
        ConfigError::Missing { .. }
    ));
    let config = Config::load_or_empty(&path).unwrap();
    assert!(config.contexts().unwrap().is_empty());
    assert_eq!(config.current_context_name(), None);
}

fn full_update() -> ContextUpdate {
    ContextUpdate {
        seed: Some("127.0.0.1:7443".parse().unwrap()),
        ca: Some(PathBuf::from("/pki/ca.pem")),
        cert: Some(PathBuf::from("/pki/client-bob.pem")),
        key: Some(PathBuf::from("/pki/client-bob.key")),
        ..ContextUpdate::default()
    }
}

#[test]
fn a_new_context_needs_seed_ca_cert_and_key_and_names_what_is_missing() {
    let mut config = parse("").unwrap();
    let update = ContextUpdate {
        seed: Some("127.0.0.1:7443".parse().unwrap()),
        ..ContextUpdate::default()
    };
    let error = config.set_context("sim", update).unwrap_err().to_string();
    assert!(error.contains("--ca, --cert, --key"), "{error}");
    assert!(config.contexts().unwrap().is_empty());
}

#[test]
fn the_first_context_set_becomes_current_and_later_ones_do_not() {
    let mut config = parse("").unwrap();
    assert_eq!(
        config.set_context("sim", full_update()).unwrap(),
        SetContextOutcome::Created
    );
    assert_eq!(config.current_context_name(), Some("sim"));
    config.set_context("other", full_update()).unwrap();
    assert_eq!(config.current_context_name(), Some("sim"));
}

#[test]
fn modifying_a_context_changes_only_the_given_values() {
    let mut config = parse(TWO_CONTEXTS).unwrap();
    let update = ContextUpdate {
        seed: Some("10.0.0.9:7443".parse().unwrap()),
        timeout: Some("1m".to_owned()),
        ..ContextUpdate::default()
    };
    assert_eq!(
        config.set_context("lab", update).unwrap(),
        SetContextOutcome::Modified
    );
    let context = config.context(Some("lab")).unwrap();
    assert_eq!(context.seed.to_string(), "10.0.0.9:7443");
    assert_eq!(context.timeout, Some(Duration::from_secs(60)));
    assert_eq!(context.key, PathBuf::from("/secure/alice.key"));
    assert_eq!(context.output, Some(OutputFormat::Wide));
}

#[test]
fn a_bad_timeout_in_set_context_is_refused_naming_the_key_and_changes_nothing() {
    let mut config = parse(TWO_CONTEXTS).unwrap();
    let update = ContextUpdate {
        timeout: Some("soon".to_owned()),
        ..ContextUpdate::default()
    };
    let error = config.set_context("lab", update).unwrap_err().to_string();
    assert!(error.contains("contexts.lab.timeout"), "{error}");
    let unchanged = config.context(Some("lab")).unwrap();
    assert_eq!(unchanged.timeout, Some(Duration::from_secs(5)));
}

#[test]
fn saved_config_loads_back_the_same_and_is_owner_only() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("nested/config.toml");
    let mut config = Config::load_or_empty(&path).unwrap();
    config.set_context("sim", full_update()).unwrap();
    config.use_context("sim").unwrap();
    config.save().unwrap();
    let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    let loaded = Config::load(&path).unwrap();
    assert_eq!(loaded.current_context_name(), Some("sim"));
    assert_eq!(loaded.contexts().unwrap(), config.contexts().unwrap());
}

#[test]
fn use_context_refuses_an_unknown_name_and_keeps_the_current_one() {
    let mut config = parse(TWO_CONTEXTS).unwrap();
    assert!(config.use_context("nope").is_err());
    assert_eq!(config.current_context_name(), Some("lab"));
    config.use_context("prod").unwrap();
    assert_eq!(config.current_context_name(), Some("prod"));
}

#[test]
fn the_user_config_dir_prefers_xdg_config_home_over_home() {
    let dir = |text: &str| Some(OsString::from(text));
    assert_eq!(
        user_config_dir(dir("/xdg"), dir("/home/a")).unwrap(),
        PathBuf::from("/xdg/pvectl")
    );
    assert_eq!(
        user_config_dir(dir(""), dir("/home/a")).unwrap(),
        PathBuf::from("/home/a/.config/pvectl")
    );
    assert!(matches!(
        user_config_dir(None, None).unwrap_err(),
        ConfigError::NoHome
    ));
}
