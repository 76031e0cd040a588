use http::{Method, StatusCode};
use pve_sim::api::{Caller, check_returns};
use regex::Regex;
use serde_json::json;

use crate::support::{Node, PASSWORD, TOKEN_ID, json, parts};

const CLONE: &str = "/nodes/pve1/qemu/9100/clone";

#[tokio::test]
async fn login_hands_out_a_ticket_a_csrf_token_and_capabilities() {
    let node = Node::start().await;
    let client = node.client();
    let ticket_shape = Regex::new(r"^PVE:root@pam:[0-9A-F]{8}::[A-Za-z0-9+/=]+$").expect("re");
    let csrf_shape = Regex::new(r"^[0-9A-F]{8}:[A-Za-z0-9+/]{43}$").expect("re");
    for form in [
        vec![("username", "root@pam"), ("password", PASSWORD)],
        vec![
            ("username", "root"),
            ("realm", "pam"),
            ("password", PASSWORD),
        ],
    ] {
        let response = client
            .post(node.url("/access/ticket"))
            .form(&form)
            .send()
            .await
            .expect("request");
        let (status, _, body) = parts(response).await;
        assert_eq!(status, StatusCode::OK);
        let data = &json(&body)["data"];
        assert_eq!(data["username"], json!("root@pam"));
        assert_eq!(data["clustername"], json!("testcluster"));
        assert_eq!(data["cap"]["vms"]["VM.Clone"], json!(1));
        let ticket = data["ticket"].as_str().expect("ticket");
        assert!(ticket_shape.is_match(ticket), "{ticket}");
        let csrf = data["CSRFPreventionToken"].as_str().expect("csrf");
        assert!(csrf_shape.is_match(csrf), "{csrf}");
        assert_eq!(check_returns(&Method::POST, "/access/ticket", data), Ok(()));
    }
}

#[tokio::test]
async fn a_wrong_password_is_a_401_authentication_failure() {
    let node = Node::start().await;
    let response = node
        .client()
        .post(node.url("/access/ticket"))
        .form(&[("username", "root@pam"), ("password", "wrong")])
        .send()
        .await
        .expect("request");
    let (status, reason, body) = parts(response).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(reason.as_deref(), Some("authentication failure"));
    assert_eq!(
        json(&body),
        json!({"data": null, "message": "authentication failure\n"})
    );
}

#[tokio::test]
async fn requests_without_credentials_get_401_no_ticket_and_an_empty_body() {
    let node = Node::start().await;
    let response = node
        .client()
        .get(node.url("/version"))
        .send()
        .await
        .expect("request");
    let (status, reason, body) = parts(response).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(reason.as_deref(), Some("No ticket"));
    assert_eq!(body, "");
    assert_eq!(node.seen.count(), 0);
}

#[tokio::test]
async fn the_login_page_needs_no_credentials() {
    let node = Node::start().await;
    let response = node
        .client()
        .get(node.url("/access/ticket"))
        .send()
        .await
        .expect("request");
    let (status, _, body) = parts(response).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(json(&body), json!({"data": null}));
}

#[tokio::test]
async fn a_ticket_reads_without_csrf_token_but_writes_need_one() {
    let node = Node::start().await;
    let (ticket, csrf) = node.login().await;
    let client = node.client();
    let cookie = format!("PVEAuthCookie={ticket}");

    let response = client
        .get(node.url("/version"))
        .header("Cookie", &cookie)
        .send()
        .await
        .expect("request");
    assert_eq!(response.status(), StatusCode::OK);

    let response = client
        .post(node.url(CLONE))
        .header("Cookie", &cookie)
        .form(&[("newid", "101")])
        .send()
        .await
        .expect("request");
    let (status, reason, body) = parts(response).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        reason.as_deref(),
        Some("Permission denied - invalid csrf token")
    );
    assert_eq!(body, "");
    assert_eq!(node.seen.count(), 1);

    let response = client
        .post(node.url(CLONE))
        .header("Authorization", format!("PVEAuthCookie={ticket}"))
        .header("CSRFPreventionToken", &csrf)
        .form(&[("newid", "101")])
        .send()
        .await
        .expect("request");
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        node.seen.last().caller,
        Caller {
            userid: "root@pam".into(),
            tokenid: None
        }
    );
}

#[tokio::test]
async fn api_tokens_need_no_csrf_token() {
    let node = Node::start().await;
    let response = node
        .client()
        .post(node.url(CLONE))
        .header("Authorization", node.token_header())
        .form(&[("newid", "101")])
        .send()
        .await
        .expect("request");
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(node.seen.last().caller.tokenid.as_deref(), Some(TOKEN_ID));
}

#[tokio::test]
async fn bad_tokens_and_tickets_get_401_with_an_empty_body() {
    let node = Node::start().await;
    let client = node.client();
    let (ticket, _) = node.login().await;
    let forged = ticket.replacen("root@pam", "admin@pve", 1);
    let cases = [
        (
            "Authorization",
            format!("PVEAPIToken={TOKEN_ID}=not-the-secret"),
            "Authentication failed!",
        ),
        (
            "Authorization",
            "PVEAPIToken=root@pam!other=x".to_string(),
            "Authentication failed!",
        ),
        (
            "Cookie",
            format!("PVEAuthCookie={forged}"),
            "permission denied - invalid PVE ticket",
        ),
    ];
    for (header, value, message) in cases {
        let response = client
            .get(node.url("/version"))
            .header(header, value)
            .send()
            .await
            .expect("request");
        let (status, reason, body) = parts(response).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        assert_eq!(reason.as_deref(), Some(message));
        assert_eq!(body, "");
    }
    assert_eq!(node.seen.count(), 0);
}

#[tokio::test]
async fn a_ticket_cookie_wins_over_an_api_token() {
    let node = Node::start().await;
    let client = node.client();
    let (ticket, _) = node.login().await;

    let response = client
        .get(node.url("/version"))
        .header("Cookie", format!("PVEAuthCookie={ticket}"))
        .header("Authorization", "PVEAPIToken=root@pam!ci=wrong")
        .send()
        .await
        .expect("request");
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(node.seen.last().caller.tokenid, None);

    let response = client
        .get(node.url("/version"))
        .header("Cookie", "PVEAuthCookie=PVE:root@pam:00000000::bogus")
        .header("Authorization", node.token_header())
        .send()
        .await
        .expect("request");
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn endpoints_without_token_support_refuse_tokens_with_403() {
    let node = Node::start().await;
    let client = node.client();
    let form = [("userid", "root@pam"), ("password", "new-password")];
    let response = client
        .put(node.url("/access/password"))
        .header("Authorization", node.token_header())
        .form(&form)
        .send()
        .await
        .expect("request");
    let (status, reason, body) = parts(response).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(
        reason.as_deref(),
        Some(
            "Permission check failed (URI '/access/password' not available with API token, need proper ticket."
        )
    );
    assert_eq!(
        json(&body),
        json!({
            "data": null,
            "message": "Permission check failed (URI '/access/password' not available with API token, need proper ticket.\n)\n"
        })
    );
    assert_eq!(node.seen.count(), 0);

    let (ticket, csrf) = node.login().await;
    let response = client
        .put(node.url("/access/password"))
        .header("Cookie", format!("PVEAuthCookie={ticket}"))
        .header("CSRFPreventionToken", csrf)
        .form(&form)
        .send()
        .await
        .expect("request");
    assert_eq!(response.status(), StatusCode::OK);
}

#[tokio::test]
async fn tokens_added_while_running_are_accepted() {
    let node = Node::start().await;
    let secret = node.auth.derive_secret("root@pam!late");
    node.auth.add_token("root@pam!late", &secret);
    let response = node
        .client()
        .get(node.url("/version"))
        .header(
            "Authorization",
            format!("PVEAPIToken=root@pam!late={secret}"),
        )
        .send()
        .await
        .expect("request");
    assert_eq!(response.status(), StatusCode::OK);
}
