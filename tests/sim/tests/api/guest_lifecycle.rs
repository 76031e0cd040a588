//! Power actions on VMs: each is a task with PVE's type, changes what
//! `status/current` shows, and fails where PVE fails — in the task or at once.
use pve_sim::client::Client;
use pve_sim::{Fault, SimCluster};
use serde_json::Value;

use crate::support::{assert_error, call, client, cluster, eventually, ok, task_log, upid, wait};

async fn current(client: &Client, vmid: &str) -> Value {
    ok(
        client,
        "GET",
        "/nodes/{node}/qemu/{vmid}/status/current",
        &["pve1", vmid],
        &[],
    )
    .await
}

/// Runs an action on a VM of pve1 and returns the task's final status.
async fn act(client: &Client, vmid: &str, action: &str) -> Value {
    let task = upid(
        &ok(
            client,
            "POST",
            &format!("/nodes/{{node}}/qemu/{{vmid}}/status/{action}"),
            &["pve1", vmid],
            &[],
        )
        .await,
    );
    wait(client, "pve1", &task).await
}

#[tokio::test(flavor = "multi_thread")]
async fn lifecycle_actions_are_tasks_that_change_the_power_state() {
    let cluster = cluster().await;
    let client = client(&cluster, "pve1");
    let before = current(&client, "101").await;
    assert_eq!(before["status"], "stopped");
    assert!(before.get("pid").is_none());

    // (action, task type, status, qmpstatus)
    let steps = [
        ("start", "qmstart", "running", "running"),
        ("suspend", "qmsuspend", "running", "paused"),
        ("resume", "qmresume", "running", "running"),
        ("reboot", "qmreboot", "running", "running"),
        ("shutdown", "qmshutdown", "stopped", "stopped"),
        ("stop", "qmstop", "stopped", "stopped"),
    ];
    for (action, task_type, status, qmpstatus) in steps {
        let task = act(&client, "101", action).await;
        assert_eq!(task["exitstatus"], "OK", "{action}: {task}");
        assert_eq!(task["type"], task_type);
        assert_eq!(task["id"], "101");
        let now = current(&client, "101").await;
        assert_eq!(now["status"], status, "after {action}: {now}");
        assert_eq!(now["qmpstatus"], qmpstatus, "after {action}: {now}");
        assert_eq!(now.get("pid").is_some(), status == "running", "{now}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn starting_a_template_fails_inside_the_task() {
    let cluster = cluster().await;
    let client = client(&cluster, "pve1");
    let task = act(&client, "9100", "start").await;
    assert_eq!(
        task["exitstatus"],
        "you can't start a vm if it's a template"
    );
    let log = task_log(&client, "pve1", task["upid"].as_str().unwrap()).await;
    assert_eq!(
        log.last().unwrap(),
        "TASK ERROR: you can't start a vm if it's a template"
    );
    assert_eq!(current(&client, "9100").await["status"], "stopped");
}

#[tokio::test(flavor = "multi_thread")]
async fn starting_a_running_vm_fails_inside_the_task() {
    let cluster = cluster().await;
    let client = client(&cluster, "pve1");
    let task = act(&client, "100", "start").await;
    assert_eq!(task["exitstatus"], "VM 100 already running");
}

#[tokio::test(flavor = "multi_thread")]
async fn rebooting_a_stopped_vm_fails_at_once() {
    let cluster = cluster().await;
    let client = client(&cluster, "pve1");
    let resp = call(
        &client,
        "POST",
        "/nodes/{node}/qemu/{vmid}/status/reboot",
        &["pve1", "101"],
        &[],
    )
    .await;
    assert_error(&resp, 500, "VM 101 not running");
}

#[tokio::test(flavor = "multi_thread")]
async fn stopping_a_stopped_vm_succeeds() {
    let cluster = cluster().await;
    let client = client(&cluster, "pve1");
    for action in ["stop", "shutdown"] {
        let task = act(&client, "101", action).await;
        assert_eq!(task["exitstatus"], "OK", "{action}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn an_ha_managed_start_is_a_request_that_ends_before_the_vm_runs() {
    // the HA manager acts 10 simulated seconds later: 2 s here
    let cluster = SimCluster::builder()
        .nodes(1)
        .time_scale(0.2)
        .fault(Fault::HaManaged { vmid: 101 })
        .start()
        .await
        .unwrap();
    let client = client(&cluster, "pve1");
    let task = act(&client, "101", "start").await;
    assert_eq!(task["type"], "hastart");
    assert_eq!(task["exitstatus"], "OK");
    let log = task_log(&client, "pve1", task["upid"].as_str().unwrap()).await;
    assert_eq!(log, ["Requesting HA start for vm:101", "TASK OK"]);
    let right_after = current(&client, "101").await;
    assert_eq!(right_after["ha"]["managed"], 1);
    assert_eq!(right_after["ha"]["state"], "started");
    assert_eq!(
        right_after["status"], "stopped",
        "the request is queued, not done"
    );
    let resources = read_ha_file(&cluster, "ha/resources.cfg").unwrap();
    assert_eq!(resources, "vm: 101\n\tstate started\n");
    eventually("the HA manager starts VM 101", || async {
        (current(&client, "101").await["status"] == "running").then_some(())
    })
    .await;
    let status: Value =
        serde_json::from_str(&read_ha_file(&cluster, "ha/manager_status").unwrap()).unwrap();
    assert_eq!(status["service_status"]["vm:101"]["state"], "started");
    let resources = ok(&client, "GET", "/cluster/resources", &[], &[("type", "vm")]).await;
    let vm = resources
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["vmid"] == 101)
        .cloned()
        .unwrap();
    assert_eq!(vm["hastate"], "started");
    let stop = act(&client, "101", "stop").await;
    assert_eq!(stop["type"], "hastop");
    assert_eq!(current(&client, "101").await["ha"]["state"], "stopped");
}

/// A file of the HA stack as the pmxcfs tree holds it.
fn read_ha_file(cluster: &SimCluster, rel: &str) -> std::io::Result<String> {
    std::fs::read_to_string(cluster.sim().fs.backing_root().join(rel))
}
