use std::io::Read;
use std::sync::Arc;
use std::time::Duration;

use axum::response::IntoResponse;
use http::{Method, StatusCode};
use pve_sim::api::{ApiError, check_returns};
use serde_json::json;

use crate::support::{Node, UPID, json, parts};

#[tokio::test]
async fn success_answers_wrap_data_in_pves_envelope() {
    let node = Node::start().await;
    let response = node
        .client()
        .get(node.url("/version"))
        .header("Authorization", node.token_header())
        .send()
        .await
        .expect("request");
    let headers = response.headers().clone();
    let (status, _, body) = parts(response).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(headers["content-type"], "application/json;charset=UTF-8");
    assert_eq!(headers["server"], "pve-api-daemon/3.0");
    assert_eq!(headers["cache-control"], "max-age=0");
    let body = json(&body);
    assert_eq!(
        body,
        json!({"data": {"version": "9.0.3", "release": "9.0", "repoid": "0123abcd"}})
    );
    assert_eq!(
        check_returns(&Method::GET, "/version", &body["data"]),
        Ok(())
    );
}

#[tokio::test]
async fn totals_are_sent_only_when_not_zero() {
    let node = Node::start().await;
    let client = node.client();
    for (limit, total) in [(2, Some(2)), (0, None)] {
        let response = client
            .get(node.url(&format!("/nodes/pve1/tasks?limit={limit}")))
            .header("Authorization", node.token_header())
            .send()
            .await
            .expect("request");
        let body = json(&response.text().await.expect("body"));
        assert_eq!(body["data"].as_array().map(Vec::len), Some(limit));
        assert_eq!(body["total"].as_u64(), total, "{body}");
        assert_eq!(
            check_returns(&Method::GET, "/nodes/{node}/tasks", &body["data"]),
            Ok(())
        );
    }
}

#[tokio::test]
async fn handler_errors_put_their_first_line_on_the_status_line() {
    let node = Node::start().await;
    let response = node
        .client()
        .post(node.url("/nodes/pve1/qemu/9100/status/start"))
        .header("Authorization", node.token_header())
        .send()
        .await
        .expect("request");
    assert_eq!(response.headers()["connection"], "close");
    let (status, reason, body) = parts(response).await;
    assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(reason.as_deref(), Some("VM is locked (clone)"));
    assert_eq!(
        json(&body),
        json!({"data": null, "message": "VM is locked (clone)\n"})
    );
}

#[tokio::test]
async fn the_wire_carries_the_reason_phrase_on_the_status_line() {
    let node = Node::start().await;
    let request = format!(
        "POST /api2/json/nodes/pve1/qemu/9100/status/start HTTP/1.1\r\nHost: pve1\r\n\
         Authorization: {}\r\nContent-Length: 0\r\n\r\n",
        node.token_header()
    );
    let answer = node.raw(&request).await;
    assert!(
        answer.starts_with("HTTP/1.1 500 VM is locked (clone)\r\n"),
        "{answer}"
    );
}

#[tokio::test]
async fn unknown_paths_and_methods_answer_501_not_implemented() {
    let node = Node::start().await;
    let client = node.client();
    let cases = [
        (Method::GET, "/nodes/pve1/no-such-thing"),
        (Method::POST, "/version"),
        // In the schema, but the simulator serves no handler for it.
        (Method::GET, "/cluster/ha/status/current"),
        (Method::GET, "/"),
    ];
    for (method, path) in cases {
        let response = client
            .request(method.clone(), node.url(path))
            .header("Authorization", node.token_header())
            .send()
            .await
            .expect("request");
        let (status, reason, body) = parts(response).await;
        let message = format!("Method '{method} {path}' not implemented");
        assert_eq!(status, StatusCode::NOT_IMPLEMENTED, "{path}");
        assert_eq!(reason.as_deref(), Some(message.as_str()));
        assert_eq!(json(&body), json!({"data": null, "message": message}));
    }
}

#[tokio::test]
async fn requests_outside_the_json_api_answer_501_with_an_empty_body() {
    let node = Node::start().await;
    let client = node.client();
    let base = format!("https://{}", node.addr);
    let cases = [
        (format!("{base}/index.html"), "no such file '/index.html'"),
        (format!("{base}/api2"), "no such uri"),
        (
            format!("{base}/api2/extjs/version"),
            "no formatter for uri /version, extjs",
        ),
    ];
    for (url, message) in cases {
        let response = client
            .get(&url)
            .header("Authorization", node.token_header())
            .send()
            .await
            .expect("request");
        let (status, reason, body) = parts(response).await;
        assert_eq!(status, StatusCode::NOT_IMPLEMENTED, "{url}");
        assert_eq!(reason.as_deref(), Some(message));
        assert_eq!(body, "");
    }
}

#[tokio::test]
async fn bodies_on_delete_and_get_are_refused_with_501() {
    let node = Node::start().await;
    let client = node.client();
    for method in [Method::DELETE, Method::GET] {
        let response = client
            .request(method.clone(), node.url("/nodes/pve1/qemu/100"))
            .header("Authorization", node.token_header())
            .form(&[("purge", "1")])
            .send()
            .await
            .expect("request");
        let (status, reason, body) = parts(response).await;
        assert_eq!(status, StatusCode::NOT_IMPLEMENTED);
        let message = format!("Unexpected content for method '{method}'");
        assert_eq!(reason.as_deref(), Some(message.as_str()));
        assert_eq!(body, "");
    }
    assert_eq!(node.seen.count(), 0);
}

#[tokio::test]
async fn delete_takes_its_parameters_from_the_query_string() {
    let node = Node::start().await;
    let response = node
        .client()
        .delete(node.url("/nodes/pve1/qemu/100?purge=1&destroy-unreferenced-disks=0"))
        .header("Authorization", node.token_header())
        .send()
        .await
        .expect("request");
    let (status, _, body) = parts(response).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(json(&body), json!({"data": UPID}));
    let seen = node.seen.last();
    assert_eq!(seen.params["purge"], json!(1));
    assert_eq!(seen.params["destroy-unreferenced-disks"], json!(0));
    assert_eq!(seen.params["vmid"], json!(100));
}

#[tokio::test]
async fn larger_answers_are_gzipped_for_clients_that_accept_gzip() {
    let node = Node::start().await;
    let response = node
        .client()
        .get(node.url("/nodes/pve1/tasks?limit=40"))
        .header("Authorization", node.token_header())
        .header("Accept-Encoding", "gzip")
        .send()
        .await
        .expect("request");
    assert_eq!(response.headers()["content-encoding"], "gzip");
    let compressed = response.bytes().await.expect("body");
    let mut text = String::new();
    flate2::read::GzDecoder::new(&compressed[..])
        .read_to_string(&mut text)
        .expect("gzip body");
    let body = json(&text);
    assert_eq!(body["total"], json!(40));
}

#[tokio::test]
async fn a_panicking_handler_answers_500_and_the_node_keeps_serving() {
    let node = Node::start().await;
    let client = node.client();
    let response = client
        .post(node.url("/nodes/pve1/qemu/100/status/stop"))
        .header("Authorization", node.token_header())
        .send()
        .await
        .expect("request");
    let (status, reason, _) = parts(response).await;
    assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(
        reason.as_deref(),
        Some("internal error: the handler of POST /nodes/{node}/qemu/{vmid}/status/stop panicked")
    );
    let response = client
        .get(node.url("/version"))
        .header("Authorization", node.token_header())
        .send()
        .await
        .expect("request");
    assert_eq!(response.status(), StatusCode::OK);
}

#[tokio::test]
async fn a_before_hook_can_answer_in_place_of_the_handlers() {
    let node = Node::start_with(|options| {
        options.before = Some(Arc::new(|method, path| {
            let down = *method == Method::POST && path.starts_with("/api2/json/nodes/pve1/qemu/");
            Box::pin(async move {
                down.then(|| {
                    ApiError::custom(StatusCode::SERVICE_UNAVAILABLE, "node pve1 is down")
                        .into_response()
                })
            })
        }));
    })
    .await;
    let client = node.client();
    let response = client
        .post(node.url("/nodes/pve1/qemu/9100/clone"))
        .header("Authorization", node.token_header())
        .form(&[("newid", "101")])
        .send()
        .await
        .expect("request");
    assert_eq!(response.headers()["server"], "pve-api-daemon/3.0");
    let (status, reason, body) = parts(response).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(reason.as_deref(), Some("node pve1 is down"));
    assert_eq!(json(&body)["message"], json!("node pve1 is down\n"));
    assert_eq!(node.seen.count(), 0);

    let response = client
        .get(node.url("/version"))
        .header("Authorization", node.token_header())
        .send()
        .await
        .expect("request");
    assert_eq!(response.status(), StatusCode::OK);
}

#[tokio::test]
async fn a_handler_runs_to_its_end_when_the_client_goes_away() {
    let node = Node::start().await;
    let client = node.client();
    let url = node.url("/nodes/pve1/qemu/9100/template");
    let token = node.token_header();
    let request =
        tokio::spawn(async move { client.post(url).header("Authorization", token).send().await });
    tokio::time::timeout(Duration::from_secs(30), node.seen.1.started.notified())
        .await
        .expect("the handler started");
    request.abort();
    assert!(request.await.is_err_and(|err| err.is_cancelled()));
    node.seen.1.release.notify_one();
    tokio::time::timeout(Duration::from_secs(30), node.seen.1.finished.notified())
        .await
        .expect("the handler finished");
    assert_eq!(node.seen.count(), 1);
}
