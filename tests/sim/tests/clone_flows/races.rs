//! Losing a VMID (pve-facts §4, §6): only pmxcfs guards VMIDs cluster-wide, so a clone whose
//! new id is taken fails in one of PVE's two shapes — synchronously when the config is in the
//! local node's directory, or inside the task at its first write — and never harms the guest
//! that holds the id.

use pve_sim::{Fault, RaceShape};
use serde_json::Value;

use crate::support::{Env, TEMPLATE1, TEMPLATE2, cluster};

fn race(node: &str, shape: RaceShape, every: u32) -> Fault {
    Fault::RaceCreates {
        node: node.into(),
        shape,
        every,
    }
}

fn rename_failed(node: &str, vmid: u32) -> String {
    format!(
        "close (rename) atomic file '/etc/pve/nodes/{node}/qemu-server/{vmid}.conf' failed: \
         File exists"
    )
}

fn config_exists(vmid: u32) -> String {
    format!("unable to create VM {vmid}: config file already exists")
}

async fn clone_template1(env: &Env, newid: u32) -> pve_sim::client::RawResponse {
    let newid = newid.to_string();
    env.call(
        "pve1",
        "POST",
        &format!("/nodes/pve1/qemu/{TEMPLATE1}/clone"),
        &[("newid", &newid)],
    )
    .await
}

/// The foreign VM holding `vmid` on `node` is intact: its config, `.vmlist` and the API agree.
async fn assert_foreign_vm(env: &Env, node: &str, vmid: u32) {
    let config = env.config(node, vmid);
    assert_eq!(config.props["name"], format!("foreign-{vmid}"));
    assert_eq!(config.props.get("lock"), None);
    assert_eq!(env.vmlist_entry(vmid).unwrap()["node"], node);
    let resp = env
        .call(
            node,
            "GET",
            &format!("/nodes/{node}/qemu/{vmid}/config"),
            &[],
        )
        .await;
    assert_eq!(resp.status, 200, "{}", resp.body);
    assert_eq!(resp.data()["name"], format!("foreign-{vmid}"));
}

/// The clone's task ended with `expected` and left no config or volume on pve1.
async fn assert_task_lost(env: &Env, upid: &str, expected: &str, vmid: u32) {
    assert_eq!(env.exitstatus(upid).await, expected);
    let log = env.task_log(upid);
    assert_eq!(log.last().unwrap(), &format!("TASK ERROR: {expected}"));
    assert_eq!(env.config_text("pve1", vmid), None);
    assert_eq!(
        env.volumes_of("pve1", "local-lvm", vmid).await,
        Vec::<String>::new()
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn an_id_taken_on_another_node_before_the_request_fails_the_task_at_its_first_write() {
    let env = Env::start(cluster().fault(race("pve2", RaceShape::BeforeRequest, 1))).await;
    let resp = clone_template1(&env, 9500).await;
    assert_eq!(
        resp.status, 200,
        "only pve1's directory is checked: {}",
        resp.body
    );
    let upid = resp.data().as_str().unwrap().to_string();
    assert_task_lost(&env, &upid, &rename_failed("pve1", 9500), 9500).await;
    assert_eq!(
        env.task_log(&upid).first().unwrap(),
        "creating a clone of VM 9100 with ID 9500"
    );
    assert_foreign_vm(&env, "pve2", 9500).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn an_id_taken_on_the_same_node_before_the_request_is_refused_without_a_task() {
    let env = Env::start(cluster().fault(race("pve1", RaceShape::BeforeRequest, 1))).await;
    let resp = clone_template1(&env, 9500).await;
    assert_eq!(resp.status, 500, "{}", resp.body);
    assert_eq!(resp.reason, config_exists(9500));
    assert_eq!(resp.json()["message"], format!("{}\n", config_exists(9500)));
    assert_eq!(resp.json()["data"], Value::Null);
    let tasks = env
        .call(
            "pve1",
            "GET",
            "/nodes/pve1/tasks",
            &[("source", "all"), ("typefilter", "qmclone")],
        )
        .await;
    assert_eq!(tasks.data(), Value::Array(Vec::new()), "{}", tasks.body);
    assert_foreign_vm(&env, "pve1", 9500).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn an_id_taken_on_another_node_inside_the_task_fails_it_at_its_first_write() {
    let env = Env::start(cluster().fault(race("pve2", RaceShape::InsideTask, 1))).await;
    let resp = clone_template1(&env, 9500).await;
    assert_eq!(resp.status, 200, "{}", resp.body);
    let upid = resp.data().as_str().unwrap().to_string();
    assert_task_lost(&env, &upid, &rename_failed("pve1", 9500), 9500).await;
    assert_foreign_vm(&env, "pve2", 9500).await;
}

/// PVE's worker repeats the synchronous checks before its first log line, so the local
/// config check fails the task without `creating a clone …`.
#[tokio::test(flavor = "multi_thread")]
async fn an_id_taken_on_the_same_node_inside_the_task_fails_its_repeated_checks() {
    let env = Env::start(cluster().fault(race("pve1", RaceShape::InsideTask, 1))).await;
    let resp = clone_template1(&env, 9500).await;
    assert_eq!(resp.status, 200, "{}", resp.body);
    let upid = resp.data().as_str().unwrap().to_string();
    assert_eq!(env.exitstatus(&upid).await, config_exists(9500));
    assert_eq!(
        env.task_log(&upid),
        [format!("TASK ERROR: {}", config_exists(9500))]
    );
    assert_foreign_vm(&env, "pve1", 9500).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn race_creates_takes_every_nth_new_id_only() {
    let env = Env::start(cluster().fault(race("pve2", RaceShape::BeforeRequest, 2))).await;
    for (newid, loses) in [(9501, false), (9502, true), (9503, false), (9504, true)] {
        let resp = clone_template1(&env, newid).await;
        assert_eq!(resp.status, 200, "{}", resp.body);
        let upid = resp.data().as_str().unwrap().to_string();
        if loses {
            assert_task_lost(&env, &upid, &rename_failed("pve1", newid), newid).await;
            assert_foreign_vm(&env, "pve2", newid).await;
        } else {
            assert_eq!(env.exitstatus(&upid).await, "OK", "clone to {newid}");
            assert_eq!(env.vmlist_entry(newid).unwrap()["node"], "pve1");
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn concurrent_clones_to_one_id_from_two_nodes_leave_exactly_one_intact_winner() {
    let env = Env::start(cluster()).await;
    let request = |node: &'static str, template: u32| {
        let env = &env;
        async move {
            let path = format!("/nodes/{node}/qemu/{template}/clone");
            let resp = env
                .call(node, "POST", &path, &[("newid", "9600"), ("full", "1")])
                .await;
            (node, resp)
        }
    };
    let (first, second) = tokio::join!(request("pve1", TEMPLATE1), request("pve2", TEMPLATE2));
    let mut winners = Vec::new();
    let mut losers = Vec::new();
    for (node, resp) in [first, second] {
        if resp.status != 200 {
            assert_eq!(resp.status, 500, "{}", resp.body);
            losers.push((node, resp.reason.clone()));
            continue;
        }
        let upid = resp.data().as_str().unwrap().to_string();
        match env.exitstatus(&upid).await.as_str() {
            "OK" => winners.push(node),
            other => losers.push((node, other.to_string())),
        }
    }
    assert_eq!(
        (winners.len(), losers.len()),
        (1, 1),
        "{winners:?} {losers:?}"
    );
    let (winner, (loser, error)) = (winners[0], losers[0].clone());
    assert!(
        error == rename_failed(loser, 9600) || error == config_exists(9600),
        "{loser} failed with: {error}"
    );
    let config = env.config(winner, 9600);
    assert_eq!(config.props.get("lock"), None);
    assert_eq!(
        config.props["scsi0"].split(',').next(),
        Some("local-lvm:vm-9600-disk-0")
    );
    assert_eq!(env.vmlist_entry(9600).unwrap()["node"], winner);
    assert_eq!(env.config_text(loser, 9600), None);
    assert_eq!(
        env.volumes_of(loser, "local-lvm", 9600).await,
        Vec::<String>::new()
    );
    assert_eq!(env.volumes_of(winner, "local-lvm", 9600).await.len(), 2);
}

#[tokio::test(flavor = "multi_thread")]
async fn creating_a_vm_with_a_taken_id_names_the_node_that_holds_it() {
    let env = Env::start(cluster()).await;
    for (vmid, owner) in [("110", "pve2"), ("100", "pve1")] {
        let resp = env
            .call(
                "pve1",
                "POST",
                "/nodes/pve1/qemu",
                &[("vmid", vmid), ("memory", "512")],
            )
            .await;
        assert_eq!(resp.status, 500, "{}", resp.body);
        let message =
            format!("unable to create VM {vmid} - VM {vmid} already exists on node '{owner}'");
        assert_eq!(resp.reason, message);
        assert_eq!(resp.json()["message"], format!("{message}\n"));
    }
    // the holders are untouched
    assert_eq!(env.config("pve2", 110).props["name"], "web2");
    assert_eq!(env.config("pve1", 100).props["name"], "web1");
}
