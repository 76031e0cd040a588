//! An agent killed (SIGKILL) in the middle of a long clone and started
//! again: it takes the operation over from its journal, `pvectl task watch`
//! re-attaches under the old operation id and sees the create end, and
//! every journal still verifies.
use std::time::Duration;

use pve_sim::Fault;
use pvectl_e2e::{Sandbox, config_value, wait_for};
use serde_json::Value;

/// The VMID of the clone mark of operation `opid` in `node`'s journal.
fn journaled_clone(sandbox: &Sandbox, node: &str, opid: &str) -> Option<u32> {
    sandbox.journal_entries(node).iter().find_map(|entry| {
        let mark = entry["action"] == "vm.create.clone" && entry["operation"]["id"] == opid;
        let detail: Value = serde_json::from_str(entry["detail"].as_str()?).ok()?;
        mark.then(|| u32::try_from(detail["vmid"].as_u64()?).ok())
            .flatten()
    })
}

#[tokio::test(flavor = "multi_thread")]
async fn an_agent_killed_mid_clone_resumes_and_task_watch_sees_the_create_end() {
    // 200 simulated seconds: 2 s of real time at 1/100
    let mut sandbox = Sandbox::start(Sandbox::fast().fault(Fault::SlowClone {
        vmid: Some(9100),
        seconds: 200.0,
    }))
    .await
    .unwrap();
    let started = sandbox
        .pvectl(&[
            "vm",
            "create",
            "app1",
            "--template",
            "ubuntu-24.04",
            "--node",
            "pve1",
            "--cores",
            "3",
            "--no-wait",
            "-o",
            "json",
        ])
        .await;
    assert_eq!(started.code, 0, "{started}");
    let opid = started.json()["operation_id"]
        .as_str()
        .expect("an operation id")
        .to_owned();
    assert_eq!(started.json()["node"], "pve1", "{started}");

    // the clone is submitted and its UPID journaled: kill the agent now
    wait_for(
        "the clone mark in pve1's journal",
        Duration::from_secs(30),
        || journaled_clone(&sandbox, "pve1", &opid).is_some(),
    )
    .await;
    let vmid = journaled_clone(&sandbox, "pve1", &opid).unwrap();
    let binary = sandbox.fleet.binary().to_path_buf();
    let agent = sandbox.fleet.agent("pve1").unwrap();
    agent.kill().await;
    assert!(!agent.running());
    agent.start(&binary).await.unwrap();

    let watched = sandbox
        .pvectl(&["task", "watch", &opid, "-o", "json"])
        .await;
    assert_eq!(watched.code, 0, "{watched}");
    let result = watched.json();
    assert_eq!(result["operation_id"], opid.as_str(), "{watched}");
    assert_eq!(result["vmid"], vmid, "{watched}");
    assert_eq!(result["node"], "pve1", "{watched}");
    assert!(
        watched.stderr.contains("the agent restarted"),
        "the watch does not show the take-over: {watched}"
    );
    let text = sandbox.config_text("pve1", vmid).expect("the new config");
    assert_eq!(config_value(&text, "lock"), None, "{text}");
    assert_eq!(
        config_value(&text, "cores").as_deref(),
        Some("3"),
        "the steps after the clone did not run: {text}"
    );

    let resumed = sandbox.journal_entries("pve1").iter().any(|entry| {
        entry["action"] == "vm.create.resume" && entry["operation"]["id"] == opid.as_str()
    });
    assert!(resumed, "no resume mark in pve1's journal");
    let verify = sandbox.pvectl(&["audit", "verify"]).await;
    assert_eq!(verify.code, 0, "{verify}");
}
