//! `pvectl vm|ct delete` through the real binaries against pve-sim: refused
//! off a terminal without `--yes` (nothing deleted), `--dry-run` listing
//! what would go, a stopped guest destroyed with its disks, a running one
//! refused without `--force` and stopped first with it, protected, locked
//! and HA-managed guests refused, and `--purge` taking a guest out of HA.
use pve_sim::Fault;
use pve_sim::model::RunState;
use pvectl_e2e::Sandbox;
use serde_json::Value;

/// Whether guest `vmid` still exists (its config in `.vmlist`).
fn exists(sandbox: &Sandbox, vmid: u32) -> bool {
    sandbox.vmids().contains(&vmid)
}

/// Sets `key: value` in guest `vmid`'s config as PVE would write it.
fn set_config(sandbox: &Sandbox, vmid: u32, key: &str, value: &str) {
    let sim = sandbox.cluster.sim();
    let guest = sim.state().guests[&vmid].clone();
    let mut config = guest.config.clone();
    config.props.insert(key.into(), value.into());
    let pid = sim.state().next_pid();
    sim.write_config(&guest.node, guest.kind, vmid, &config, pid)
        .unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn a_delete_without_yes_off_a_terminal_is_refused_and_deletes_nothing() {
    let sandbox = Sandbox::three_nodes().await.unwrap();
    let run = sandbox.pvectl(&["vm", "delete", "101"]).await;
    assert_eq!(run.code, 5, "{run}");
    assert!(
        run.stderr
            .contains("refusing to delete this VM without --yes (no terminal to ask on)"),
        "{run}"
    );
    assert!(
        run.stderr.contains("VM 101  db1  on pve1  stopped"),
        "{run}"
    );
    assert!(run.stdout.is_empty(), "{run}");
    assert!(exists(&sandbox, 101));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_dry_run_lists_what_would_be_deleted_and_deletes_nothing() {
    let sandbox = Sandbox::three_nodes().await.unwrap();
    let (rows, run) = sandbox
        .pvectl_rows(&["vm", "delete", "-l", "tag=db", "--dry-run"], 0)
        .await;
    let planned: Vec<(u64, &str, &str)> = rows
        .iter()
        .map(|r| {
            (
                r["vmid"].as_u64().unwrap(),
                r["result"].as_str().unwrap(),
                r["message"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        planned,
        [
            (101, "dry-run", "would delete"),
            (111, "dry-run", "would delete"),
            (121, "dry-run", "would delete")
        ],
        "{run}"
    );
    for vmid in [101, 111, 121] {
        assert!(exists(&sandbox, vmid), "{vmid}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn yes_deletes_a_stopped_vm_with_its_disks() {
    let sandbox = Sandbox::three_nodes().await.unwrap();
    let (rows, run) = sandbox
        .pvectl_rows(&["vm", "delete", "111", "--yes"], 0)
        .await;
    assert_eq!(rows[0]["result"], "done", "{run}");
    assert_eq!(rows[0]["status"], "deleted", "{run}");
    assert_eq!(rows[0]["node"], "pve2", "{run}");
    let upid = rows[0]["upid"].as_str().unwrap();
    assert!(upid.contains(":qmdestroy:111:"), "{run}");
    assert!(!exists(&sandbox, 111));
    let log = sandbox.task_log(upid).unwrap();
    assert!(
        log.iter().any(|l| l.contains("vm-111-disk-0")),
        "the disk was not removed: {log:#?}"
    );
    let entries = sandbox.journal_entries("pve2");
    let deleted = entries
        .iter()
        .find(|e| e["action"] == "vm.delete" && e["outcome"] == "ok")
        .expect("a vm.delete entry");
    assert_eq!(deleted["target"], "vm/111");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_running_guest_is_refused_without_force_and_stopped_first_with_it() {
    let sandbox = Sandbox::three_nodes().await.unwrap();
    let (rows, run) = sandbox
        .pvectl_rows(&["vm", "delete", "100", "--yes"], 5)
        .await;
    assert_eq!(rows[0]["error"]["kind"], "refused_by_safety", "{run}");
    assert!(
        rows[0]["message"].as_str().unwrap().contains("is running"),
        "{run}"
    );
    assert!(run.stderr.contains("--force"), "{run}");
    assert!(exists(&sandbox, 100));
    assert_eq!(
        sandbox.cluster.sim().state().guests[&100].run,
        RunState::Running
    );

    let (rows, run) = sandbox
        .pvectl_rows(&["vm", "delete", "100", "--yes", "--force"], 0)
        .await;
    assert_eq!(rows[0]["result"], "done", "{run}");
    assert!(!exists(&sandbox, 100));
    let steps: Vec<String> = sandbox
        .journal_entries("pve1")
        .iter()
        .filter(|e| e["action"] == "vm.delete" && e["outcome"] == "started")
        .map(|e| {
            let detail: Value = serde_json::from_str(e["detail"].as_str().unwrap()).unwrap();
            detail["step"].as_str().unwrap().to_owned()
        })
        .collect();
    assert_eq!(steps, ["stop", "destroy"], "{run}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_running_container_is_stopped_first_and_deleted_with_force() {
    let sandbox = Sandbox::three_nodes().await.unwrap();
    let (rows, run) = sandbox
        .pvectl_rows(&["ct", "delete", "122", "--yes", "--force"], 0)
        .await;
    assert_eq!(rows[0]["result"], "done", "{run}");
    assert!(
        rows[0]["upid"].as_str().unwrap().contains(":vzdestroy:"),
        "{run}"
    );
    assert!(!exists(&sandbox, 122));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_protected_guest_is_refused_whatever_the_flags() {
    let sandbox = Sandbox::three_nodes().await.unwrap();
    set_config(&sandbox, 121, "protection", "1");
    let (rows, run) = sandbox
        .pvectl_rows(&["vm", "delete", "121", "--yes", "--force", "--purge"], 5)
        .await;
    assert!(
        rows[0]["message"]
            .as_str()
            .unwrap()
            .contains("VM 121 is protected"),
        "{run}"
    );
    assert!(run.stderr.contains("--set protection=0"), "{run}");
    assert!(exists(&sandbox, 121));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_locked_guest_is_refused_with_exit_5() {
    let sandbox = Sandbox::start(Sandbox::fast().fault(Fault::SetLock {
        vmid: 101,
        lock: "snapshot".into(),
    }))
    .await
    .unwrap();
    let (rows, run) = sandbox
        .pvectl_rows(&["vm", "delete", "101", "--yes"], 5)
        .await;
    assert_eq!(rows[0]["error"]["kind"], "locked", "{run}");
    assert!(run.stderr.contains("qm unlock 101"), "{run}");
    assert!(exists(&sandbox, 101));
}

#[tokio::test(flavor = "multi_thread")]
async fn an_ha_resource_needs_purge_which_takes_it_out_of_ha_too() {
    let sandbox = Sandbox::start(Sandbox::fast().fault(Fault::HaManaged { vmid: 100 }))
        .await
        .unwrap();
    let (rows, run) = sandbox
        .pvectl_rows(&["vm", "delete", "100", "--yes", "--force"], 5)
        .await;
    assert!(
        rows[0]["message"]
            .as_str()
            .unwrap()
            .contains("is an HA resource"),
        "{run}"
    );
    assert!(run.stderr.contains("--purge"), "{run}");
    assert!(exists(&sandbox, 100));
    assert_eq!(
        sandbox.cluster.sim().state().guests[&100].run,
        RunState::Running,
        "refused, so not stopped either"
    );

    let (rows, run) = sandbox
        .pvectl_rows(&["vm", "delete", "100", "--yes", "--force", "--purge"], 0)
        .await;
    assert_eq!(rows[0]["result"], "done", "{run}");
    assert!(!exists(&sandbox, 100));
    let resources = std::fs::read_to_string(
        sandbox.cluster.sandbox().nodes[0]
            .pmxcfs
            .join("ha/resources.cfg"),
    )
    .unwrap();
    assert!(!resources.contains("vm: 100"), "{resources}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_bulk_delete_reports_each_guest_and_exits_3_when_some_are_refused() {
    let sandbox = Sandbox::three_nodes().await.unwrap();
    let (rows, run) = sandbox
        .pvectl_rows(&["vm", "delete", "100", "101", "--yes"], 3)
        .await;
    let results: Vec<(u64, &str)> = rows
        .iter()
        .map(|r| (r["vmid"].as_u64().unwrap(), r["result"].as_str().unwrap()))
        .collect();
    assert_eq!(results, [(100, "failed"), (101, "done")], "{run}");
    assert!(exists(&sandbox, 100));
    assert!(!exists(&sandbox, 101));
}
