//! Faults as a client meets them (a node that does not answer, latency,
//! injected 5xx) and the ways to set them: the token-protected control
//! endpoint and `pve-sim fault` run as a real process.
use std::time::Duration;

use pve_sim::client::Credentials;
use pve_sim::{Fault, SimCluster};
use serde_json::{Value, json};

use crate::support::{anonymous, call, client, cluster, ok};

#[tokio::test(flavor = "multi_thread")]
async fn a_down_node_does_not_answer_and_the_others_report_it_offline() {
    let cluster = cluster().await;
    cluster
        .add_fault(Fault::NodeDown {
            node: "pve2".into(),
        })
        .unwrap();
    let down = client(&cluster, "pve2");
    let attempt = tokio::time::timeout(
        Duration::from_millis(500),
        down.request("GET", "/version", &[]),
    )
    .await;
    assert!(attempt.is_err(), "pve2 answered: {attempt:?}");

    let up = client(&cluster, "pve1");
    let status = ok(&up, "GET", "/cluster/status", &[], &[]).await;
    let online = |status: &Value, name: &str| {
        status
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["name"] == name && e["type"] == "node")
            .map(|e| e["online"].clone())
            .unwrap()
    };
    assert_eq!(online(&status, "pve2"), 0);
    assert_eq!(online(&status, "pve1"), 1);
    let nodes = ok(&up, "GET", "/nodes", &[], &[]).await;
    let pve2 = nodes
        .as_array()
        .unwrap()
        .iter()
        .find(|n| n["node"] == "pve2")
        .unwrap();
    assert_eq!(pve2["status"], "offline");
    // a call for pve2 made through pve1 cannot be proxied
    let resp = call(&up, "GET", "/nodes/{node}/qemu", &["pve2"], &[]).await;
    assert_eq!(resp.status, 595, "{} {}", resp.reason, resp.body);
    assert_eq!(resp.reason, "No route to host");

    let members_path = cluster.sandbox().nodes[0].pmxcfs.join(".members");
    let members = || -> Value {
        serde_json::from_str(&std::fs::read_to_string(&members_path).unwrap()).unwrap()
    };
    assert_eq!(members()["nodelist"]["pve2"]["online"], 0);
    assert_eq!(members()["nodelist"]["pve1"]["online"], 1);

    cluster.clear_faults().unwrap();
    let back = down.request("GET", "/version", &[]).await.unwrap();
    assert_eq!(back.status, 200);
    assert_eq!(members()["nodelist"]["pve2"]["online"], 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn api_latency_delays_but_still_answers() {
    let cluster = SimCluster::builder()
        .nodes(1)
        .time_scale(0.01)
        .fault(Fault::ApiLatency {
            node: None,
            millis: 50,
        })
        .start()
        .await
        .unwrap();
    let client = client(&cluster, "pve1");
    let version = ok(&client, "GET", "/version", &[], &[]).await;
    assert!(version["version"].is_string());
}

#[tokio::test(flavor = "multi_thread")]
async fn server_errors_with_probability_one_answer_503_on_that_node_only() {
    let cluster = cluster().await;
    cluster
        .add_fault(Fault::ServerErrors {
            node: Some("pve1".into()),
            probability: 1.0,
        })
        .unwrap();
    for _ in 0..3 {
        let resp = call(&client(&cluster, "pve1"), "GET", "/version", &[], &[]).await;
        assert_eq!(resp.status, 503);
        assert_eq!(resp.reason, "injected server error (pve-sim)");
        assert_eq!(resp.json()["message"], "injected server error (pve-sim)\n");
    }
    let other = call(&client(&cluster, "pve2"), "GET", "/version", &[], &[]).await;
    assert_eq!(other.status, 200);
    let refused = cluster.add_fault(Fault::ServerErrors {
        node: None,
        probability: 1.5,
    });
    assert!(refused.unwrap_err().contains("probability"));
}

#[tokio::test(flavor = "multi_thread")]
async fn the_control_endpoint_needs_the_sandbox_token() {
    let cluster = cluster().await;
    let nobody = anonymous(&cluster, "pve1");
    let err = nobody.control("GET", None).await.unwrap_err();
    assert!(err.to_string().contains("401"), "{err:#}");

    let sandbox = cluster.sandbox();
    let mut ticketed = client(&cluster, "pve1");
    ticketed
        .login(&sandbox.user, &sandbox.password)
        .await
        .unwrap();
    assert!(matches!(ticketed.credentials, Credentials::Ticket { .. }));
    let err = ticketed
        .control("POST", Some(json!({"kind": "node_down", "node": "pve3"})))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("401"), "{err:#}");
    assert!(cluster.sim().state().faults.active.is_empty());

    let admin = client(&cluster, "pve1");
    admin
        .control(
            "POST",
            Some(json!({"kind": "api_latency", "node": "pve2", "millis": 5})),
        )
        .await
        .unwrap();
    let listed: Value = serde_json::from_str(&admin.control("GET", None).await.unwrap()).unwrap();
    assert_eq!(
        listed,
        json!({"faults": [{"kind": "api_latency", "node": "pve2", "millis": 5}]})
    );
    let err = admin
        .control("POST", Some(json!({"kind": "no_such_fault"})))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("400"), "{err:#}");
    admin.control("DELETE", None).await.unwrap();
    assert!(cluster.sim().state().faults.active.is_empty());
}

/// Runs `pve-sim fault --dir DIR args…` and returns (success, stdout, stderr).
async fn pve_sim_fault(dir: &std::path::Path, args: &[&str]) -> (bool, String, String) {
    let output = tokio::process::Command::new(env!("CARGO_BIN_EXE_pve-sim"))
        .arg("fault")
        .arg("--dir")
        .arg(dir)
        .args(args)
        .output()
        .await
        .expect("run pve-sim fault");
    (
        output.status.success(),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn pve_sim_fault_adds_lists_and_clears_faults_of_a_running_sandbox() {
    let dir = tempfile::tempdir().unwrap();
    let cluster = SimCluster::builder()
        .nodes(3)
        .time_scale(0.01)
        .dir(dir.path())
        .start()
        .await
        .unwrap();
    cluster.write_sandbox().unwrap();

    let (added, _, stderr) = pve_sim_fault(
        dir.path(),
        &["add", "server_errors", "node=pve3", "probability=1"],
    )
    .await;
    assert!(added, "{stderr}");
    let resp = call(&client(&cluster, "pve3"), "GET", "/version", &[], &[]).await;
    assert_eq!(resp.status, 503);

    let (added, _, stderr) =
        pve_sim_fault(dir.path(), &["add", "set_lock", "vmid=101", "lock=backup"]).await;
    assert!(added, "{stderr}");
    let config = crate::support::config(&client(&cluster, "pve1"), "pve1", "qemu", 101).await;
    assert_eq!(config["lock"], "backup");

    let (listed, stdout, stderr) = pve_sim_fault(dir.path(), &["list"]).await;
    assert!(listed, "{stderr}");
    let faults: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(
        faults["faults"],
        json!([
            {"kind": "server_errors", "node": "pve3", "probability": 1.0},
            {"kind": "set_lock", "vmid": 101, "lock": "backup"},
        ])
    );

    let (refused, _, stderr) = pve_sim_fault(dir.path(), &["add", "node_down", "node=pve9"]).await;
    assert!(!refused);
    assert!(stderr.contains("node 'pve9' is not a member"), "{stderr}");

    let (cleared, _, stderr) = pve_sim_fault(dir.path(), &["clear"]).await;
    assert!(cleared, "{stderr}");
    assert!(cluster.sim().state().faults.active.is_empty());
    let resp = call(&client(&cluster, "pve3"), "GET", "/version", &[], &[]).await;
    assert_eq!(resp.status, 200);
}
