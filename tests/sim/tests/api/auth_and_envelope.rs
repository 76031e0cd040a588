//! Logging in, tickets with CSRF tokens, API tokens, and PVE's envelope
//! around answers: content type, status-line reasons and `message`.
use http::Method;
use pve_sim::Fault;
use pve_sim::api::check_returns;
use pve_sim::client::Credentials;
use serde_json::Value;

use crate::support::{assert_error, call, client, cluster, ok, raw_http};

const JSON: &str = "application/json;charset=UTF-8";

#[tokio::test(flavor = "multi_thread")]
async fn ticket_login_answers_a_ticket_a_csrf_token_and_the_cluster_name() {
    let cluster = cluster().await;
    let sandbox = cluster.sandbox();
    let mut client = client(&cluster, "pve1");
    let resp = client
        .login(&sandbox.user, &sandbox.password)
        .await
        .unwrap();
    assert_eq!(resp.status, 200, "{}", resp.body);
    let data = resp.data();
    check_returns(&Method::POST, "/access/ticket", &data).unwrap();
    assert_eq!(data["username"], "root@pam");
    assert_eq!(data["clustername"], "sim");
    let ticket = data["ticket"].as_str().unwrap();
    assert!(ticket.starts_with("PVE:root@pam:"), "{ticket}");
    let csrf = data["CSRFPreventionToken"].as_str().unwrap();
    let (stamp, _) = csrf.split_once(':').unwrap();
    assert_eq!(
        stamp.len(),
        8,
        "CSRF token starts with an 8-hex epoch: {csrf}"
    );
    assert!(matches!(client.credentials, Credentials::Ticket { .. }));

    // the ticket works for reads and, with its CSRF token, for writes
    let version = ok(&client, "GET", "/version", &[], &[]).await;
    assert!(version["version"].is_string());
    let answer = ok(
        &client,
        "PUT",
        "/nodes/{node}/qemu/{vmid}/config",
        &["pve1", "101"],
        &[("tags", "ticketed")],
    )
    .await;
    assert_eq!(answer, Value::Null);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_write_with_a_ticket_needs_the_csrf_token() {
    let cluster = cluster().await;
    let sandbox = cluster.sandbox();
    let mut client = client(&cluster, "pve1");
    client
        .login(&sandbox.user, &sandbox.password)
        .await
        .unwrap();
    let Credentials::Ticket { ticket, .. } = client.credentials.clone() else {
        panic!("logged in");
    };
    let url = format!(
        "{}/api2/json/nodes/pve1/qemu/101/config",
        cluster.url("pve1").unwrap()
    );

    // no CSRFPreventionToken header at all
    let resp = raw_http(&cluster)
        .put(&url)
        .header("Cookie", format!("PVEAuthCookie={ticket}"))
        .form(&[("tags", "nocsrf")])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 401);
    let reason = resp
        .extensions()
        .get::<hyper::ext::ReasonPhrase>()
        .map(|r| String::from_utf8_lossy(r.as_bytes()).into_owned());
    assert_eq!(
        reason.as_deref(),
        Some("Permission denied - invalid csrf token")
    );
    assert_eq!(resp.text().await.unwrap(), "", "401 answers have no body");

    // a wrong one
    client.credentials = Credentials::Ticket {
        ticket: ticket.clone(),
        csrf: "66A0B1C2:bm90IGEgdG9rZW4".into(),
    };
    let resp = call(
        &client,
        "PUT",
        "/nodes/{node}/qemu/{vmid}/config",
        &["pve1", "101"],
        &[("tags", "badcsrf")],
    )
    .await;
    assert_eq!(resp.status, 401);
    assert_eq!(resp.reason, "Permission denied - invalid csrf token");
    assert_eq!(resp.body, "");

    // reads need none
    ok(
        &client,
        "GET",
        "/nodes/{node}/qemu/{vmid}/config",
        &["pve1", "101"],
        &[],
    )
    .await;
    let config = crate::support::config(&client, "pve1", "qemu", 101).await;
    assert_eq!(config["tags"], "db", "refused writes changed nothing");
}

#[tokio::test(flavor = "multi_thread")]
async fn an_api_token_writes_without_a_csrf_token() {
    let cluster = cluster().await;
    let client = client(&cluster, "pve1");
    assert!(matches!(client.credentials, Credentials::Token { .. }));
    let answer = ok(
        &client,
        "PUT",
        "/nodes/{node}/qemu/{vmid}/config",
        &["pve1", "101"],
        &[("tags", "tokened")],
    )
    .await;
    assert_eq!(answer, Value::Null);
    let config = crate::support::config(&client, "pve1", "qemu", 101).await;
    assert_eq!(config["tags"], "tokened");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_wrong_password_is_401_authentication_failure() {
    let cluster = cluster().await;
    let mut client = client(&cluster, "pve1");
    let resp = client.login("root@pam", "not-the-password").await.unwrap();
    assert_eq!(resp.status, 401, "{}", resp.body);
    assert_eq!(resp.reason, "authentication failure");
    assert!(resp.data().get("ticket").is_none());
    assert!(
        matches!(client.credentials, Credentials::Token { .. }),
        "a failed login keeps the old credentials"
    );

    let mut stranger = client.clone();
    stranger.credentials = Credentials::Token {
        id: "root@pam!pvectl".into(),
        secret: "00000000-0000-4000-a000-000000000000".into(),
    };
    let resp = call(&stranger, "GET", "/nodes", &[], &[]).await;
    assert_eq!(resp.status, 401);
    assert_eq!(resp.body, "");
}

#[tokio::test(flavor = "multi_thread")]
async fn answers_and_errors_carry_pves_json_content_type() {
    let cluster = cluster().await;
    let client = client(&cluster, "pve1");
    let resp = call(&client, "GET", "/version", &[], &[]).await;
    assert_eq!(resp.status, 200);
    assert_eq!(resp.content_type.as_deref(), Some(JSON));
    let resp = call(
        &client,
        "GET",
        "/nodes/{node}/qemu/{vmid}/config",
        &["pve1", "999"],
        &[],
    )
    .await;
    assert_error(
        &resp,
        500,
        "Configuration file 'nodes/pve1/qemu-server/999.conf' does not exist",
    );
    assert_eq!(resp.content_type.as_deref(), Some(JSON));
    let resp = call(&client, "GET", "/cluster/nextid", &[], &[("vmid", "x")]).await;
    assert_eq!(resp.status, 400);
    assert_eq!(resp.content_type.as_deref(), Some(JSON));
}

#[tokio::test(flavor = "multi_thread")]
async fn an_error_puts_the_first_line_of_its_message_on_the_status_line() {
    let cluster = cluster().await;
    cluster
        .add_fault(Fault::SetLock {
            vmid: 101,
            lock: "clone".into(),
        })
        .unwrap();
    let client = client(&cluster, "pve1");
    let resp = call(
        &client,
        "POST",
        "/nodes/{node}/qemu/{vmid}/status/start",
        &["pve1", "101"],
        &[],
    )
    .await;
    assert_error(&resp, 500, "VM is locked (clone)");
    assert_eq!(
        resp.body,
        r#"{"data":null,"message":"VM is locked (clone)\n"}"#
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn unknown_paths_are_501_not_implemented() {
    let cluster = cluster().await;
    let client = client(&cluster, "pve1");
    let resp = call(&client, "GET", "/nodes/pve1/nothing", &[], &[]).await;
    assert_eq!(resp.status, 501);
    assert_eq!(
        resp.reason,
        "Method 'GET /nodes/pve1/nothing' not implemented"
    );
}
