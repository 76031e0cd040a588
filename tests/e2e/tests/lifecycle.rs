//! `pvectl vm|ct start|stop|shutdown|reboot|suspend|resume` through the real
//! binaries against pve-sim: every verb on a VM and a container, guests
//! already in the wanted state, PVE's refusals with their exit codes, bulk
//! by selector and `--all` across three nodes, a node down (exit 3, the
//! others done, the node named), HA-managed guests queued to the HA
//! manager, and the journal entry of each action.
use std::time::Duration;

use pve_sim::Fault;
use pve_sim::agents::FleetOptions;
use pve_sim::model::RunState;
use pvectl_e2e::{Run, Sandbox, wait_for};
use serde_json::Value;

/// The one result line of a single-guest command.
async fn line(sandbox: &Sandbox, args: &[&str], code: i32) -> (Value, Run) {
    let (rows, run) = sandbox.pvectl_rows(args, code).await;
    assert_eq!(rows.len(), 1, "{run}");
    (rows[0].clone(), run)
}

fn run_state(sandbox: &Sandbox, vmid: u32) -> RunState {
    sandbox.cluster.sim().state().guests[&vmid].run
}

/// The task type in a result's UPID (`qmstart`).
fn task_type(row: &Value) -> String {
    let upid = row["upid"].as_str().unwrap_or_default();
    upid.split(':').nth(5).unwrap_or_default().to_owned()
}

#[tokio::test(flavor = "multi_thread")]
async fn every_verb_on_a_vm_runs_its_task_and_ends_in_the_state_it_names() {
    let sandbox = Sandbox::three_nodes().await.unwrap();
    let steps = [
        ("start", "qmstart", "running", RunState::Running),
        ("suspend", "qmsuspend", "paused", RunState::Paused),
        ("resume", "qmresume", "running", RunState::Running),
        ("reboot", "qmreboot", "running", RunState::Running),
        ("shutdown", "qmshutdown", "stopped", RunState::Stopped),
        ("start", "qmstart", "running", RunState::Running),
        ("stop", "qmstop", "stopped", RunState::Stopped),
    ];
    for (verb, task, status, state) in steps {
        let (row, run) = line(&sandbox, &["vm", verb, "101"], 0).await;
        assert_eq!(row["result"], "done", "{verb}: {run}");
        assert_eq!(row["status"], status, "{verb}: {run}");
        assert_eq!(row["name"], "db1", "{verb}: {run}");
        assert_eq!(row["node"], "pve1", "{verb}: {run}");
        assert_eq!(task_type(&row), task, "{verb}: {run}");
        assert_eq!(run_state(&sandbox, 101), state, "{verb}");
    }
    let get = sandbox.pvectl(&["vm", "get", "101", "-o", "json"]).await;
    assert_eq!(get.json()["status"], "stopped", "{get}");
}

#[tokio::test(flavor = "multi_thread")]
async fn every_verb_on_a_container_runs_its_vz_task() {
    let sandbox = Sandbox::three_nodes().await.unwrap();
    let steps = [
        ("shutdown", "vzshutdown", RunState::Stopped),
        ("start", "vzstart", RunState::Running),
        ("suspend", "vzsuspend", RunState::Paused),
        ("resume", "vzresume", RunState::Running),
        ("reboot", "vzreboot", RunState::Running),
        ("stop", "vzstop", RunState::Stopped),
    ];
    for (verb, task, state) in steps {
        let (row, run) = line(&sandbox, &["ct", verb, "112"], 0).await;
        assert_eq!(row["result"], "done", "{verb}: {run}");
        assert_eq!(row["node"], "pve2", "{verb}: {run}");
        assert_eq!(task_type(&row), task, "{verb}: {run}");
        assert_eq!(run_state(&sandbox, 112), state, "{verb}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_guest_already_in_the_wanted_state_is_reported_so_without_a_task() {
    let sandbox = Sandbox::three_nodes().await.unwrap();
    let (row, run) = line(&sandbox, &["vm", "start", "100"], 0).await;
    assert_eq!(row["result"], "already", "{run}");
    assert_eq!(row["message"], "already running", "{run}");
    assert!(row.get("upid").is_none(), "{run}");
    let table = sandbox.pvectl(&["ct", "stop", "102", "122"]).await;
    assert_eq!(table.code, 0, "{table}");
    let header = table.stdout.lines().next().unwrap_or_default();
    assert_eq!(
        header.split_whitespace().collect::<Vec<_>>(),
        ["VMID", "NAME", "NODE", "RESULT", "STATUS", "MESSAGE"],
        "{table}"
    );
    let again = sandbox.pvectl(&["ct", "stop", "102"]).await;
    assert!(again.stdout.contains("already stopped"), "{again}");
}

#[tokio::test(flavor = "multi_thread")]
async fn starting_a_template_is_refused_with_exit_5_in_pves_words() {
    let sandbox = Sandbox::three_nodes().await.unwrap();
    let (row, run) = line(&sandbox, &["vm", "start", "9100"], 5).await;
    assert_eq!(row["result"], "failed", "{run}");
    assert_eq!(row["error"]["kind"], "refused_by_safety", "{run}");
    assert!(
        row["message"]
            .as_str()
            .unwrap()
            .contains("you can't start a vm if it's a template"),
        "{run}"
    );
    assert!(run.stderr.contains("create a guest from it"), "{run}");
    assert_eq!(run_state(&sandbox, 9100), RunState::Stopped);
}

#[tokio::test(flavor = "multi_thread")]
async fn suspending_a_stopped_guest_is_refused_with_exit_5() {
    let sandbox = Sandbox::three_nodes().await.unwrap();
    let (row, run) = line(&sandbox, &["vm", "suspend", "101"], 5).await;
    assert_eq!(row["error"]["pve_message"], "VM 101 not running", "{run}");
    assert!(run.stderr.contains("start it first"), "{run}");
    let (row, run) = line(&sandbox, &["vm", "reboot", "111"], 5).await;
    assert_eq!(row["error"]["kind"], "refused_by_safety", "{run}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_locked_guest_is_refused_with_exit_5_naming_the_lock_and_qm_unlock() {
    let sandbox = Sandbox::start(Sandbox::fast().fault(Fault::SetLock {
        vmid: 101,
        lock: "backup".into(),
    }))
    .await
    .unwrap();
    let (row, run) = line(&sandbox, &["vm", "start", "101"], 5).await;
    assert_eq!(row["error"]["kind"], "locked", "{run}");
    assert_eq!(
        row["error"]["pve_message"], "VM is locked (backup)",
        "{run}"
    );
    assert!(run.stderr.contains("qm unlock 101"), "{run}");
    assert_eq!(run_state(&sandbox, 101), RunState::Stopped);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_selector_acts_on_matching_guests_of_every_node_at_once() {
    let sandbox = Sandbox::three_nodes().await.unwrap();
    let (rows, run) = sandbox
        .pvectl_rows(&["vm", "stop", "-l", "tag=web"], 0)
        .await;
    let found: Vec<(u64, &str, &str)> = rows
        .iter()
        .map(|row| {
            (
                row["vmid"].as_u64().unwrap(),
                row["node"].as_str().unwrap(),
                row["result"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        found,
        [
            (100, "pve1", "done"),
            (110, "pve2", "done"),
            (120, "pve3", "done")
        ],
        "{run}"
    );
    for vmid in [100, 110, 120] {
        assert_eq!(run_state(&sandbox, vmid), RunState::Stopped, "{vmid}");
    }
    // the databases were not touched
    assert_eq!(run_state(&sandbox, 101), RunState::Stopped);
    assert_eq!(run_state(&sandbox, 102), RunState::Running);
}

#[tokio::test(flavor = "multi_thread")]
async fn all_acts_on_every_guest_of_the_kind_and_leaves_templates_out() {
    let sandbox = Sandbox::three_nodes().await.unwrap();
    let (rows, run) = sandbox.pvectl_rows(&["ct", "stop", "--all"], 0).await;
    let vmids: Vec<u64> = rows.iter().map(|r| r["vmid"].as_u64().unwrap()).collect();
    assert_eq!(vmids, [102, 112, 122], "{run}");
    let (rows, run) = sandbox.pvectl_rows(&["vm", "start", "--all"], 0).await;
    let results: Vec<(u64, &str)> = rows
        .iter()
        .map(|r| (r["vmid"].as_u64().unwrap(), r["result"].as_str().unwrap()))
        .collect();
    assert_eq!(
        results,
        [
            (100, "already"),
            (101, "done"),
            (110, "already"),
            (111, "done"),
            (120, "already"),
            (121, "done")
        ],
        "{run}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_node_down_is_named_and_exits_3_while_the_other_nodes_complete() {
    let sandbox = Sandbox::three_nodes().await.unwrap();
    sandbox
        .cluster
        .add_fault(Fault::NodeDown {
            node: "pve2".into(),
        })
        .unwrap();
    let (rows, run) = sandbox
        .pvectl_rows(&["vm", "stop", "-l", "tag=web"], 3)
        .await;
    assert!(
        run.stderr.contains("node pve2 is offline (corosync)"),
        "{run}"
    );
    let done: Vec<u64> = rows
        .iter()
        .filter(|r| r["result"] == "done")
        .map(|r| r["vmid"].as_u64().unwrap())
        .collect();
    assert_eq!(done, [100, 120], "{run}");
    assert!(run.stderr.contains("node pve2"), "{run}");
    assert!(
        run.stderr.contains("their guests were not acted on"),
        "{run}"
    );
    assert_eq!(run_state(&sandbox, 100), RunState::Stopped);
    assert_eq!(run_state(&sandbox, 110), RunState::Running);

    // named VMIDs: the silent node's one is reported as not done
    let (rows, run) = sandbox.pvectl_rows(&["vm", "start", "101", "111"], 3).await;
    let results: Vec<(u64, &str)> = rows
        .iter()
        .map(|r| (r["vmid"].as_u64().unwrap(), r["result"].as_str().unwrap()))
        .collect();
    assert_eq!(results, [(101, "done"), (111, "not-done")], "{run}");
    assert!(
        rows[1]["message"].as_str().unwrap().contains("pve2"),
        "{run}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn an_agent_that_does_not_answer_is_named_and_its_guests_are_not_done() {
    let mut sandbox = Sandbox::three_nodes().await.unwrap();
    if let Some(agent) = sandbox.fleet.agent("pve3") {
        agent.kill().await;
    }
    let (rows, run) = sandbox.pvectl_rows(&["ct", "stop", "--all"], 3).await;
    let done: Vec<u64> = rows.iter().map(|r| r["vmid"].as_u64().unwrap()).collect();
    assert_eq!(done, [102, 112], "{run}");
    assert!(run.stderr.contains("warning: node pve3"), "{run}");
    assert!(
        run.stderr
            .contains("no answer from node(s) pve3: their guests were not acted on"),
        "{run}"
    );
    assert_eq!(run_state(&sandbox, 122), RunState::Running);
}

#[tokio::test(flavor = "multi_thread")]
async fn an_ha_managed_start_is_queued_to_the_ha_manager_and_happens_later() {
    let sandbox = Sandbox::start(Sandbox::fast().fault(Fault::HaManaged { vmid: 101 }))
        .await
        .unwrap();
    let list = sandbox.pvectl(&["vm", "get", "101", "-o", "json"]).await;
    assert_eq!(list.json()["ha_state"], "stopped", "{list}");
    let (row, run) = line(&sandbox, &["vm", "start", "101"], 0).await;
    assert_eq!(row["result"], "queued-ha", "{run}");
    assert_eq!(task_type(&row), "hastart", "{run}");
    assert!(
        row["message"].as_str().unwrap().contains("HA manager"),
        "{run}"
    );
    wait_for(
        "the HA manager starts VM 101",
        Duration::from_secs(10),
        || run_state(&sandbox, 101) == RunState::Running,
    )
    .await;
    let resources = std::fs::read_to_string(
        sandbox.cluster.sandbox().nodes[0]
            .pmxcfs
            .join("ha/resources.cfg"),
    )
    .unwrap();
    assert!(
        resources.contains("vm: 101\n\tstate started"),
        "{resources}"
    );
    let list = sandbox
        .pvectl(&["vm", "list", "--node", "pve1", "-o", "json"])
        .await;
    let db1 = list
        .json()
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["vmid"] == 101)
        .cloned()
        .unwrap();
    assert_eq!(db1["ha_state"], "started", "{list}");
    let table = sandbox.pvectl(&["vm", "shutdown", "101"]).await;
    assert_eq!(table.code, 0, "{table}");
    assert!(table.stdout.contains("queued-ha"), "{table}");
}

#[tokio::test(flavor = "multi_thread")]
async fn no_wait_returns_once_pve_accepted_with_the_task() {
    let sandbox = Sandbox::three_nodes().await.unwrap();
    let (row, run) = line(&sandbox, &["vm", "start", "121", "--no-wait"], 0).await;
    assert_eq!(row["result"], "started", "{run}");
    assert_eq!(task_type(&row), "qmstart", "{run}");
    wait_for("VM 121 runs", Duration::from_secs(10), || {
        run_state(&sandbox, 121) == RunState::Running
    })
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn an_operator_may_act_and_each_action_is_journaled_with_the_caller() {
    let sandbox = Sandbox::three_nodes().await.unwrap();
    let run = sandbox
        .pvectl_as("sim-operator", &["vm", "start", "111", "-o", "json"])
        .await;
    assert_eq!(run.code, 0, "{run}");
    let entries = sandbox.journal_entries("pve2");
    let start: Vec<&Value> = entries
        .iter()
        .filter(|e| e["action"] == "vm.start" && e["target"] == "vm/111")
        .collect();
    let outcomes: Vec<&str> = start
        .iter()
        .map(|e| e["outcome"].as_str().unwrap())
        .collect();
    assert_eq!(outcomes, ["started", "ok"], "{entries:#?}");
    assert!(
        start[0]["actor"].as_str().unwrap().contains("operator"),
        "{:?}",
        start[0]
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_viewer_may_not_act_and_nothing_runs() {
    let sandbox = Sandbox::three_nodes().await.unwrap();
    let run = sandbox
        .pvectl_as("sim-viewer", &["vm", "start", "101", "-o", "json"])
        .await;
    assert_eq!(run.code, 1, "{run}");
    assert_eq!(run.json()[0]["result"], "not-done", "{run}");
    assert!(run.stderr.contains("RunGuestAction"), "{run}");
    assert_eq!(run_state(&sandbox, 101), RunState::Stopped);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_vmid_of_the_other_kind_is_refused_before_anything_runs() {
    let sandbox = Sandbox::three_nodes().await.unwrap();
    let run = sandbox.pvectl(&["vm", "stop", "102"]).await;
    assert_eq!(run.code, 4, "{run}");
    assert!(run.stderr.contains("pvectl ct stop 102"), "{run}");
    assert_eq!(run_state(&sandbox, 102), RunState::Running);
}

#[tokio::test(flavor = "multi_thread")]
async fn in_api_only_mode_actions_wait_by_polling_and_ha_states_come_from_the_api() {
    let options = FleetOptions {
        api_only: true,
        ..FleetOptions::default()
    };
    let builder = Sandbox::fast().fault(Fault::HaManaged { vmid: 121 });
    let sandbox = Sandbox::start_with(builder, options).await.unwrap();
    let (rows, run) = sandbox.pvectl_rows(&["vm", "start", "101", "111"], 0).await;
    let results: Vec<&str> = rows.iter().map(|r| r["result"].as_str().unwrap()).collect();
    assert_eq!(results, ["done", "done"], "{run}");
    assert_eq!(run_state(&sandbox, 111), RunState::Running);
    let (row, run) = line(&sandbox, &["ct", "shutdown", "122"], 0).await;
    assert_eq!(row["result"], "done", "{run}");
    let (row, run) = line(&sandbox, &["vm", "start", "121"], 0).await;
    assert_eq!(row["result"], "queued-ha", "{run}");
    let get = sandbox.pvectl(&["vm", "get", "121", "-o", "json"]).await;
    assert!(
        ["stopped", "started"].contains(&get.json()["ha_state"].as_str().unwrap_or_default()),
        "{get}"
    );
}
