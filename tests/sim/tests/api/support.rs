//! What every API test needs: a cluster, clients for its nodes, calls that
//! assert success and PVE's answer shape, task waits and condition polls.
use std::time::Duration;

use http::Method;
use pve_sim::SimCluster;
use pve_sim::api::check_returns;
use pve_sim::client::{Client, Credentials, RawResponse, encode};
use serde_json::Value;

/// How long any single task or condition may take before a test fails.
pub const DEADLINE: Duration = Duration::from_secs(30);

/// The cluster most tests use: three nodes, time 100 times faster.
pub async fn cluster() -> SimCluster {
    SimCluster::builder()
        .nodes(3)
        .time_scale(0.01)
        .start()
        .await
        .expect("start the simulated cluster")
}

/// A token-authenticated client for `node`.
pub fn client(cluster: &SimCluster, node: &str) -> Client {
    Client::for_node(cluster.sandbox(), node).expect("client for node")
}

/// A client for `node` with no credentials.
pub fn anonymous(cluster: &SimCluster, node: &str) -> Client {
    let mut client = client(cluster, node);
    client.credentials = Credentials::None;
    client
}

/// A plain reqwest client that trusts the sandbox CA (for requests the
/// sandbox client cannot make, like a DELETE with a body).
pub fn raw_http(cluster: &SimCluster) -> reqwest::Client {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let ca = std::fs::read(&cluster.sandbox().ca).expect("read the CA");
    reqwest::Client::builder()
        .tls_certs_only([reqwest::Certificate::from_pem(&ca).expect("parse the CA")])
        .timeout(DEADLINE)
        .build()
        .expect("build a reqwest client")
}

/// The `Authorization` header value of the sandbox token.
pub fn token_header(cluster: &SimCluster) -> String {
    let token = &cluster.sandbox().token;
    format!("PVEAPIToken={}={}", token.id, token.secret)
}

/// Fills the `{…}` placeholders of `template` with `args`, in order
/// (UPIDs and other text percent-encoded as one path segment).
pub fn fill(template: &str, args: &[&str]) -> String {
    let mut out = String::new();
    let mut rest = template;
    let mut args = args.iter();
    while let Some(open) = rest.find('{') {
        let close = rest[open..].find('}').expect("closed placeholder") + open;
        out.push_str(&rest[..open]);
        let arg = args
            .next()
            .unwrap_or_else(|| panic!("too few args for {template}"));
        out.push_str(&encode(arg));
        rest = &rest[close + 1..];
    }
    assert!(args.next().is_none(), "too many args for {template}");
    out.push_str(rest);
    out
}

/// Sends `method template` (placeholders filled with `args`), asserts a 200
/// whose `data` matches PVE's `returns` schema, and returns `data`.
pub async fn ok(
    client: &Client,
    method: &str,
    template: &str,
    args: &[&str],
    params: &[(&str, &str)],
) -> Value {
    let resp = call(client, method, template, args, params).await;
    assert_eq!(
        resp.status, 200,
        "{method} {template} {args:?} {params:?}: {} {}",
        resp.reason, resp.body
    );
    let data = resp.data();
    let parsed: Method = method.parse().expect("http method");
    if let Err(problems) = check_returns(&parsed, template, &data) {
        panic!("{method} {template}: answer is not PVE's shape: {problems:#?}\n{data:#}");
    }
    data
}

/// Sends `method template` (placeholders filled with `args`) and returns the raw answer.
pub async fn call(
    client: &Client,
    method: &str,
    template: &str,
    args: &[&str],
    params: &[(&str, &str)],
) -> RawResponse {
    client
        .request(method, &fill(template, args), params)
        .await
        .unwrap_or_else(|e| panic!("{method} {template}: {e:#}"))
}

/// The UPID of an asynchronous call's answer.
pub fn upid(data: &Value) -> String {
    data.as_str()
        .unwrap_or_else(|| panic!("expected a UPID, got {data}"))
        .to_string()
}

/// Waits for a task on `node` and returns its final status.
pub async fn wait(client: &Client, node: &str, upid: &str) -> Value {
    client
        .wait_task(node, upid, DEADLINE)
        .await
        .expect("task ends")
}

/// Waits for a task and asserts it ended `OK`.
pub async fn wait_ok(client: &Client, node: &str, upid: &str) -> Value {
    let status = wait(client, node, upid).await;
    assert_eq!(status["exitstatus"], "OK", "task {upid}: {status}");
    status
}

/// The task's whole log as text lines.
pub async fn task_log(client: &Client, node: &str, upid: &str) -> Vec<String> {
    let lines = ok(
        client,
        "GET",
        "/nodes/{node}/tasks/{upid}/log",
        &[node, upid],
        &[("limit", "0")],
    )
    .await;
    lines
        .as_array()
        .expect("log lines")
        .iter()
        .map(|l| l["t"].as_str().expect("line text").to_string())
        .collect()
}

/// A guest's config (pending changes applied).
pub async fn config(client: &Client, node: &str, kind: &str, vmid: u32) -> Value {
    ok(
        client,
        "GET",
        &format!("/nodes/{{node}}/{kind}/{{vmid}}/config"),
        &[node, &vmid.to_string()],
        &[],
    )
    .await
}

/// Polls `check` until it returns `Some` or [`DEADLINE`] passes.
pub async fn eventually<T, F, Fut>(what: &str, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = tokio::time::Instant::now() + DEADLINE;
    loop {
        if let Some(value) = check().await {
            return value;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{what}: not within {DEADLINE:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Asserts a PVE error answer: status, status-line reason and `message`.
pub fn assert_error(resp: &RawResponse, status: u16, message: &str) {
    assert_eq!(resp.status, status, "{} {}", resp.reason, resp.body);
    assert_eq!(resp.reason, message, "reason phrase: {}", resp.body);
    assert_eq!(
        resp.json()["message"].as_str(),
        Some(format!("{message}\n").as_str()),
        "message of {}",
        resp.body
    );
    assert_eq!(resp.json()["data"], Value::Null);
}

/// Asserts a 400 parameter error naming `field` with `text`.
pub fn assert_param_error(resp: &RawResponse, field: &str, text: &str) {
    assert_eq!(resp.status, 400, "{} {}", resp.reason, resp.body);
    assert_eq!(resp.reason, "Parameter verification failed.");
    assert_eq!(
        resp.json()["errors"][field].as_str(),
        Some(text),
        "errors of {}",
        resp.body
    );
}
