use std::collections::BTreeMap;
use std::os::unix::fs::PermissionsExt;
use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde::Deserialize;
use serde_json::json;

use super::lenient::{flag, loose, loose_opt};
use super::*;

fn request(method: Method) -> RequestName {
    RequestName {
        method,
        path: "/nodes/pve1/qemu/100/clone".to_owned(),
    }
}

fn decode(status: u16, reason: Option<&str>, body: &str) -> PveError {
    PveError::from_answer(
        request(Method::POST),
        StatusCode::from_u16(status).unwrap(),
        reason,
        body.as_bytes(),
    )
}

#[test]
fn token_parses_user_realm_id_and_secret() {
    let token = ApiToken::parse("root@pam!pvectl=1f2e3d4c-aaaa-bbbb-cccc-000000000001\n").unwrap();
    assert_eq!(token.id(), "root@pam!pvectl");
    assert_eq!(
        token.authorization(),
        "PVEAPIToken=root@pam!pvectl=1f2e3d4c-aaaa-bbbb-cccc-000000000001"
    );
}

#[test]
fn token_debug_output_hides_the_secret() {
    let token = ApiToken::parse("svc@pve!agent=s3cr3t-value").unwrap();
    let shown = format!("{token:?}");
    assert!(shown.contains("svc@pve!agent"), "{shown}");
    assert!(!shown.contains("s3cr3t"), "{shown}");
}

#[test]
fn malformed_tokens_are_refused_with_a_reason() {
    for (text, expected) in [
        ("", "empty"),
        ("root@pam!pvectl", "no '='"),
        ("root@pam=secret", "no '!'"),
        ("root!pvectl=secret", "'@REALM'"),
        ("@pam!x=secret", "must not be empty"),
        ("root@pam!pvectl=", "secret after '=' is empty"),
        ("PVEAPIToken=root@pam!pvectl=secret", "PVEAPIToken= prefix"),
        ("root@pam!pve ctl=secret", "spaces"),
        ("root@pam!a=b\nroot@pam!c=d", "more than one line"),
    ] {
        let problem = ApiToken::parse(text).unwrap_err();
        assert!(problem.contains(expected), "{text:?}: {problem}");
    }
}

#[test]
fn token_file_must_be_private_and_errors_name_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("pve-api-token");
    std::fs::write(&path, "root@pam!pvectl=the-secret\n").unwrap();

    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
    let error = ApiToken::from_file(&path).unwrap_err();
    assert!(
        matches!(error, TokenError::TooOpen { mode: 0o644, .. }),
        "{error:?}"
    );
    let message = error.to_string();
    assert!(
        message.contains(&path.display().to_string()) && message.contains("chmod 600"),
        "{message}"
    );

    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
    assert_eq!(ApiToken::from_file(&path).unwrap().id(), "root@pam!pvectl");

    std::fs::write(&path, "garbage").unwrap();
    let message = ApiToken::from_file(&path).unwrap_err().to_string();
    assert!(message.contains(&path.display().to_string()), "{message}");
    assert!(
        !message.contains("garbage"),
        "the content may be a secret: {message}"
    );

    let missing = dir.path().join("missing");
    let message = ApiToken::from_file(&missing).unwrap_err().to_string();
    assert!(
        message.contains(&missing.display().to_string()),
        "{message}"
    );
}

#[test]
fn params_write_booleans_as_one_and_zero_in_order() {
    let params = Params::new()
        .int("newid", 104u32)
        .flag("full", true)
        .flag("start", false)
        .opt_text("name", Some("web1"))
        .opt_text("pool", None::<String>)
        .opt_flag("purge", None)
        .opt_int("bwlimit", Some(1024u64));
    let pairs = params.as_strs();
    assert_eq!(
        pairs,
        [
            ("newid", "104"),
            ("full", "1"),
            ("start", "0"),
            ("name", "web1"),
            ("bwlimit", "1024")
        ]
    );
    assert!(Params::new().is_empty());
}

#[derive(Debug, Deserialize, PartialEq)]
struct LooseSample {
    #[serde(deserialize_with = "loose")]
    count: u64,
    #[serde(deserialize_with = "loose")]
    signed: i64,
    #[serde(deserialize_with = "loose")]
    ratio: f64,
    #[serde(deserialize_with = "loose")]
    on: bool,
    #[serde(default, deserialize_with = "loose_opt")]
    maybe: Option<u32>,
    #[serde(default, deserialize_with = "flag")]
    template: bool,
    #[serde(deserialize_with = "loose")]
    text: String,
}

#[test]
fn lenient_fields_accept_pves_loose_shapes() {
    let cases = [
        json!({"count": "100", "signed": "-5", "ratio": "0.25", "on": 1, "text": 42}),
        json!({"count": 100, "signed": -5, "ratio": 0.25, "on": "1", "text": "42", "maybe": null}),
        json!({"count": 100.0, "signed": "-5.0", "ratio": "0.25", "on": true, "text": "42"}),
    ];
    for case in cases {
        let sample: LooseSample = serde_json::from_value(case.clone()).unwrap();
        assert_eq!(
            sample,
            LooseSample {
                count: 100,
                signed: -5,
                ratio: 0.25,
                on: true,
                maybe: None,
                template: false,
                text: "42".to_owned(),
            },
            "{case}"
        );
    }
    let sample: LooseSample = serde_json::from_value(json!({
        "count": 1, "signed": 0, "ratio": 1, "on": "0", "maybe": "7", "template": 1, "text": true
    }))
    .unwrap();
    assert!(!sample.on);
    assert_eq!(sample.maybe, Some(7));
    assert!(sample.template);
    assert_eq!(sample.text, "1");
}

#[test]
fn lenient_fields_refuse_nonsense_with_the_value() {
    for case in [
        json!({"count": "ten", "signed": 0, "ratio": 0, "on": 0, "text": ""}),
        json!({"count": -1, "signed": 0, "ratio": 0, "on": 0, "text": ""}),
        json!({"count": 1.5, "signed": 0, "ratio": 0, "on": 0, "text": ""}),
        json!({"count": 1, "signed": 0, "ratio": 0, "on": 2, "text": ""}),
        json!({"count": 1, "signed": 0, "ratio": 0, "on": "maybe", "text": ""}),
        json!({"count": 1, "signed": 0, "ratio": "x", "on": 0, "text": ""}),
        json!({"count": 1, "signed": 0, "ratio": 0, "on": 0, "text": [1]}),
        json!({"count": 1, "signed": 0, "ratio": 0, "on": 0, "text": "", "maybe": 5000000000u64}),
    ] {
        let error = serde_json::from_value::<LooseSample>(case.clone())
            .unwrap_err()
            .to_string();
        assert!(
            error.starts_with("expected") || error.contains("out of range"),
            "{case}: {error}"
        );
    }
}

#[test]
fn error_message_comes_from_the_body_without_its_trailing_newline() {
    let error = decode(
        500,
        Some("VM is locked (clone)"),
        r#"{"data":null,"message":"VM is locked (clone)\n"}"#,
    );
    assert!(
        matches!(&error, PveError::Status { status: 500, message, .. } if message == "VM is locked (clone)")
    );
    assert_eq!(error.pve_message(), Some("VM is locked (clone)"));
    assert_eq!(error.status(), Some(500));
    assert!(
        !error.is_retryable(),
        "a 500 from a handler is a real refusal"
    );
    assert_eq!(
        error.to_string(),
        "POST /nodes/pve1/qemu/100/clone failed: 500 VM is locked (clone)"
    );
}

#[test]
fn error_message_falls_back_to_the_reason_phrase_then_the_status() {
    let old_server = decode(
        500,
        Some("unable to create VM 101: config file already exists"),
        "",
    );
    assert_eq!(
        old_server.pve_message(),
        Some("unable to create VM 101: config file already exists")
    );
    let no_reason = decode(502, None, "<html>bad gateway</html>");
    assert_eq!(no_reason.pve_message(), Some("Bad Gateway"));
    let empty_message = decode(500, Some("boom"), r#"{"data":null,"message":""}"#);
    assert_eq!(empty_message.pve_message(), Some("boom"));
}

#[test]
fn parameter_errors_keep_the_per_field_map() {
    let error = decode(
        400,
        Some("Parameter verification failed."),
        r#"{"data":null,"errors":{"newid":"type check ('integer') failed - got 'x'\n","name":"value does not look like a valid DNS name"},"message":"Parameter verification failed.\n"}"#,
    );
    let errors = error.field_errors().unwrap();
    assert_eq!(errors["newid"], "type check ('integer') failed - got 'x'");
    assert_eq!(errors.len(), 2);
    assert_eq!(error.pve_message(), Some("Parameter verification failed."));
    assert!(!error.is_retryable());
    let shown = error.to_string();
    assert!(
        shown.contains("newid: type check") && shown.contains("name: value does not"),
        "{shown}"
    );
}

#[test]
fn status_codes_map_to_auth_permission_and_not_found() {
    let auth = decode(401, Some("No ticket"), "");
    assert!(matches!(auth, PveError::Auth { ref message, .. } if message == "No ticket"));
    assert_eq!(auth.status(), Some(401));
    let permission = decode(
        403,
        Some("Permission check failed (/vms/100, VM.Allocate)"),
        r#"{"data":null,"message":"Permission check failed (/vms/100, VM.Allocate)\n"}"#,
    );
    assert!(matches!(permission, PveError::Permission { .. }));
    let missing = decode(
        500,
        None,
        r#"{"data":null,"message":"Configuration file 'nodes/pve1/qemu-server/999.conf' does not exist\n"}"#,
    );
    assert!(matches!(missing, PveError::NotFound { .. }), "{missing:?}");
    let bad_request = decode(400, Some("bad"), r#"{"data":null,"message":"bad\n"}"#);
    assert!(matches!(bad_request, PveError::Status { status: 400, .. }));
    for error in [auth, permission, missing, bad_request] {
        assert!(!error.is_retryable(), "{error:?}");
    }
}

#[test]
fn proxy_statuses_are_retryable_by_method() {
    let status = |code: u16, method: Method| {
        PveError::from_answer(
            request(method),
            StatusCode::from_u16(code).unwrap(),
            None,
            b"",
        )
    };
    for code in [502, 503, 595] {
        assert!(status(code, Method::POST).is_retryable(), "{code} POST");
        assert!(status(code, Method::GET).is_retryable(), "{code} GET");
    }
    for code in [504, 596, 599] {
        assert!(status(code, Method::GET).is_retryable(), "{code} GET");
        assert!(
            !status(code, Method::POST).is_retryable(),
            "{code} POST may have run"
        );
    }
    for code in [500, 501, 400, 409] {
        assert!(!status(code, Method::GET).is_retryable(), "{code}");
    }
}

#[test]
fn timeouts_are_retryable_only_for_reads() {
    let read = PveError::Timeout {
        request: request(Method::GET),
        after: Duration::from_secs(1),
    };
    let write = PveError::Timeout {
        request: request(Method::POST),
        after: Duration::from_secs(1),
    };
    assert!(read.is_retryable());
    assert!(!write.is_retryable());
    assert!(read.to_string().contains("within 1s"), "{read}");
}

#[test]
fn task_exit_statuses_parse() {
    assert_eq!(TaskExit::parse("OK"), TaskExit::Ok);
    assert_eq!(TaskExit::parse("WARNINGS: 2"), TaskExit::Warnings(2));
    assert_eq!(
        TaskExit::parse("clone failed: interrupted by signal"),
        TaskExit::Failed("clone failed: interrupted by signal".to_owned())
    );
    assert_eq!(
        TaskExit::parse("ERROR: boom"),
        TaskExit::Failed("boom".to_owned())
    );
    assert!(TaskExit::Warnings(1).succeeded());
    assert!(!TaskExit::parse("unexpected status").succeeded());
}

#[test]
fn task_status_reads_running_and_stopped_shapes() {
    let running: TaskStatus = serde_json::from_value(json!({
        "upid": "UPID:pve1:0003A1B2:01C2D3E4:66A0B1C2:qmclone:9100:root@pam:",
        "node": "pve1", "pid": 237_998, "pstart": "29545444", "starttime": 1_721_807_298,
        "type": "qmclone", "id": "9100", "user": "root@pam", "tokenid": "pvectl", "status": "running"
    }))
    .unwrap();
    assert!(running.is_running());
    assert_eq!(running.exit(), None);
    assert_eq!(running.id.as_deref(), Some("9100"));

    let stopped: TaskStatus = serde_json::from_value(json!({
        "upid": "UPID:pve1:1:2:3:qmstart:100:root@pam:", "node": "pve1", "type": "qmstart",
        "id": 100, "user": "root@pam", "status": "stopped", "exitstatus": "VM 100 already running"
    }))
    .unwrap();
    assert_eq!(
        stopped.exit(),
        Some(TaskExit::Failed("VM 100 already running".to_owned()))
    );
    assert_eq!(stopped.id.as_deref(), Some("100"));
}

#[test]
fn guest_config_values_are_read_as_pve_text() {
    let config: ApiGuestConfig = serde_json::from_value(json!({
        "cores": 2, "memory": "2048", "template": 1, "name": "ubuntu-24.04",
        "digest": "0a1b2c", "balloon": 0, "numa": false, "description": null
    }))
    .unwrap();
    assert_eq!(config.get("cores"), Some("2"));
    assert_eq!(config.get("memory"), Some("2048"));
    assert_eq!(config.get("template"), Some("1"));
    assert_eq!(config.get("numa"), Some("0"));
    assert_eq!(config.get("description"), None);
    assert_eq!(config.digest(), Some("0a1b2c"));
}

#[test]
fn storage_status_reads_flags_and_content_lists() {
    let storage: StorageStatus = serde_json::from_value(json!({
        "storage": "local-lvm", "type": "lvmthin", "content": "rootdir,images",
        "active": 1, "enabled": "1", "shared": 0, "total": "429496729600", "used": 0, "avail": 429_496_729_600u64
    }))
    .unwrap();
    assert!(storage.active && storage.enabled && !storage.shared);
    assert!(storage.allows("images") && storage.allows("rootdir") && !storage.allows("iso"));
    assert_eq!(storage.total, Some(429_496_729_600));
}

#[test]
fn client_refuses_plain_http_urls_and_empty_cas() {
    let token = ApiToken::parse("root@pam!t=s").unwrap();
    let error =
        PveClient::new("http://127.0.0.1:8006", &token, b"", Duration::from_secs(1)).unwrap_err();
    assert!(matches!(error, ClientSetupError::Url { .. }), "{error:?}");
    assert!(error.to_string().contains("https"), "{error}");
    let error = PveClient::new(
        "https://127.0.0.1:8006",
        &token,
        b"not a pem",
        Duration::from_secs(1),
    )
    .unwrap_err();
    assert!(matches!(error, ClientSetupError::Ca { .. }), "{error:?}");
}

#[test]
fn client_from_config_names_the_missing_ca_file() {
    let dir = tempfile::tempdir().unwrap();
    let token_file = dir.path().join("token");
    std::fs::write(&token_file, "root@pam!t=s\n").unwrap();
    std::fs::set_permissions(&token_file, std::fs::Permissions::from_mode(0o600)).unwrap();
    let defaults = crate::config::AgentConfig::default();
    let config = crate::config::AgentConfig {
        pmxcfs_root: dir.path().join("pve"),
        pve_api: crate::config::PveApiConfig {
            token_file,
            ..defaults.pve_api.clone()
        },
        ..defaults
    };
    let error = PveClient::from_config(&config).unwrap_err();
    let expected = dir.path().join("pve").join("pve-root-ca.pem");
    assert!(
        matches!(&error, ClientSetupError::CaRead { path, .. } if *path == expected),
        "{error:?}"
    );
    assert!(
        error.to_string().contains(&expected.display().to_string()),
        "{error}"
    );

    std::fs::create_dir(dir.path().join("pve")).unwrap();
    std::fs::write(&expected, "-----BEGIN NOTHING-----\n").unwrap();
    let error = PveClient::from_config(&config).unwrap_err();
    assert!(
        matches!(&error, ClientSetupError::Ca { path: Some(path), .. } if *path == expected),
        "{error:?}"
    );
}

#[test]
fn field_errors_are_none_for_other_errors() {
    let error = decode(500, Some("x"), "");
    assert_eq!(error.field_errors(), None::<&BTreeMap<String, String>>);
    assert_eq!(error.request().method, Method::POST);
}

#[test]
fn node_guest_lists_read_loose_numbers_and_the_status_fields() {
    let list: Vec<NodeGuest> = serde_json::from_value(json!([
        {"vmid": "9100", "status": "stopped", "name": "ubuntu-24.04", "template": 1,
         "maxmem": 2147483648u64, "cpus": 2, "maxdisk": "34359738368", "tags": "tmpl;linux"},
        {"vmid": 101, "status": "running", "uptime": 42, "cpu": 0.25, "netin": 10, "lock": "backup"}
    ]))
    .unwrap();
    assert_eq!(list[0].vmid, 9100);
    assert!(list[0].status.template);
    assert_eq!(list[0].status.maxdisk, Some(34_359_738_368));
    assert_eq!(list[0].status.tags.as_deref(), Some("tmpl;linux"));
    assert_eq!(list[1].status.status, "running");
    assert_eq!(list[1].status.cpu, Some(0.25));
    assert_eq!(list[1].status.lock.as_deref(), Some("backup"));
    assert!(!list[1].status.template);
}
