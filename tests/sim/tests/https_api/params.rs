use http::{Method, StatusCode};
use pve_sim::api::{Caller, check_returns};
use serde_json::json;

use crate::support::{Node, TOKEN_ID, UPID, json, parts};

const CLONE: &str = "/nodes/pve1/qemu/9100/clone";

#[tokio::test]
async fn bad_clone_parameters_are_all_reported_in_one_400() {
    let node = Node::start().await;
    let response = node
        .client()
        .post(node.url(CLONE))
        .header("Authorization", node.token_header())
        .form(&[
            ("newid", "x"),
            ("full", "true"),
            ("name", "web 1"),
            ("color", "blue"),
            ("format", "vdi"),
        ])
        .send()
        .await
        .expect("request");
    let (status, reason, body) = parts(response).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(reason.as_deref(), Some("Parameter verification failed."));
    assert_eq!(
        json(&body),
        json!({
            "data": null,
            "message": "Parameter verification failed.\n",
            "errors": {
                "newid": "type check ('integer') failed - got 'x'",
                "full": "type check ('boolean') failed - got 'true'",
                "name": "invalid format - value does not look like a valid DNS name\n",
                "color": "property is not defined in schema and the schema does not allow additional properties",
                "format": "value 'vdi' does not have a value in the enumeration 'raw, qcow2, vmdk'",
            }
        })
    );
    assert_eq!(node.seen.count(), 0);
}

#[tokio::test]
async fn a_missing_newid_is_reported_missing() {
    let node = Node::start().await;
    let response = node
        .client()
        .post(node.url(CLONE))
        .header("Authorization", node.token_header())
        .form(&[("full", "1")])
        .send()
        .await
        .expect("request");
    let (status, _, body) = parts(response).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(
        json(&body)["errors"],
        json!({"newid": "property is missing and it is not optional"})
    );
}

#[tokio::test]
async fn a_vmid_below_100_fails_the_vmid_format() {
    let node = Node::start().await;
    let response = node
        .client()
        .post(node.url("/nodes/pve1/qemu/99/clone"))
        .header("Authorization", node.token_header())
        .form(&[("newid", "100")])
        .send()
        .await
        .expect("request");
    let (status, _, body) = parts(response).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(
        json(&body)["errors"],
        json!({"vmid": "invalid format - value does not look like a valid VM ID\n"})
    );
}

#[tokio::test]
async fn handlers_receive_typed_parameters_and_the_caller() {
    let node = Node::start().await;
    let response = node
        .client()
        .post(node.url(CLONE))
        .header("Authorization", node.token_header())
        .form(&[
            ("newid", "101"),
            ("full", "1"),
            ("name", "web-1"),
            ("_dc", "1"),
        ])
        .send()
        .await
        .expect("request");
    assert_eq!(response.status(), StatusCode::OK);
    let seen = node.seen.last();
    assert_eq!(seen.template, "/nodes/{node}/qemu/{vmid}/clone");
    assert_eq!(seen.path["node"], "pve1");
    assert_eq!(seen.path["vmid"], "9100");
    assert_eq!(
        serde_json::Value::Object(seen.params),
        json!({"node": "pve1", "vmid": 9100, "newid": 101, "full": 1, "name": "web-1"})
    );
    assert_eq!(
        seen.caller,
        Caller {
            userid: "root@pam".into(),
            tokenid: Some(TOKEN_ID.into()),
        }
    );
}

#[tokio::test]
async fn query_values_win_over_body_values() {
    let node = Node::start().await;
    let response = node
        .client()
        .post(node.url(&format!("{CLONE}?newid=102")))
        .header("Authorization", node.token_header())
        .form(&[("newid", "101")])
        .send()
        .await
        .expect("request");
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(node.seen.last().params["newid"], json!(102));
}

#[tokio::test]
async fn json_bodies_may_use_json_booleans_and_numbers() {
    let node = Node::start().await;
    let response = node
        .client()
        .post(node.url(CLONE))
        .header("Authorization", node.token_header())
        .json(&json!({"newid": 101, "full": true, "target": "pve2"}))
        .send()
        .await
        .expect("request");
    assert_eq!(response.status(), StatusCode::OK);
    let seen = node.seen.last();
    assert_eq!(seen.params["full"], json!(1));
    assert_eq!(seen.params["newid"], json!(101));
    assert_eq!(seen.params["target"], json!("pve2"));
}

#[tokio::test]
async fn body_parameters_may_not_contradict_the_path() {
    let node = Node::start().await;
    let client = node.client();
    let response = client
        .post(node.url(CLONE))
        .header("Authorization", node.token_header())
        .form(&[("newid", "101"), ("vmid", "9101")])
        .send()
        .await
        .expect("request");
    let (status, _, body) = parts(response).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(
        json(&body)["errors"],
        json!({"vmid": "duplicate parameter (already defined in URI) with conflicting values!"})
    );
    let response = client
        .post(node.url(CLONE))
        .header("Authorization", node.token_header())
        .form(&[("newid", "101"), ("vmid", "9100")])
        .send()
        .await
        .expect("request");
    assert_eq!(response.status(), StatusCode::OK);
}

#[tokio::test]
async fn percent_encoded_upids_match_one_path_component() {
    let node = Node::start().await;
    let encoded = UPID.replace(':', "%3A").replace('@', "%40");
    let response = node
        .client()
        .get(node.url(&format!("/nodes/pve1/tasks/{encoded}/status")))
        .header("Authorization", node.token_header())
        .send()
        .await
        .expect("request");
    let (status, _, body) = parts(response).await;
    assert_eq!(status, StatusCode::OK);
    let data = &json(&body)["data"];
    assert_eq!(data["upid"], json!(UPID));
    assert_eq!(
        check_returns(&Method::GET, "/nodes/{node}/tasks/{upid}/status", data),
        Ok(())
    );
    let seen = node.seen.last();
    assert_eq!(seen.template, "/nodes/{node}/tasks/{upid}/status");
    assert_eq!(seen.path["upid"], UPID);
}
