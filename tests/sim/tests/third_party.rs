//! An ordinary third-party PVE client (proxmoxer, unmodified) against the
//! simulator: if it cannot tell pve-sim from PVE on these paths, neither can
//! other clients. The Python venv comes from scripts/setup.sh; the test
//! command sets PVE_SIM_PYTHON, and then a missing client is a failure.
use std::path::PathBuf;
use std::process::Command;

use pve_sim::SimCluster;

fn python() -> Option<PathBuf> {
    if let Some(path) = std::env::var_os("PVE_SIM_PYTHON") {
        return Some(PathBuf::from(path));
    }
    let venv = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target/pyenv/bin/python");
    venv.exists().then_some(venv)
}

#[tokio::test(flavor = "multi_thread")]
async fn proxmoxer_logs_in_clones_a_template_waits_and_reads_the_config() {
    let Some(python) = python() else {
        // only reachable outside scripts/test.sh, which always sets PVE_SIM_PYTHON
        eprintln!("SKIPPED: no Python with proxmoxer (run scripts/setup.sh)");
        return;
    };
    let cluster = SimCluster::builder()
        .nodes(2)
        .time_scale(0.01)
        .start()
        .await
        .expect("start the simulated cluster");
    let sandbox = cluster.write_sandbox().expect("write sandbox.json");
    let script =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/third_party/proxmoxer_flow.py");
    let output = tokio::task::spawn_blocking(move || {
        Command::new(python)
            .arg(script)
            .arg(sandbox)
            .output()
            .expect("run the proxmoxer script")
    })
    .await
    .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "proxmoxer failed: {stderr}");
    let seen: serde_json::Value =
        serde_json::from_slice(&output.stdout).expect("the script prints one JSON line");
    assert_eq!(seen["template"], 9100, "{seen}");
    assert_eq!(seen["exitstatus"], "OK", "{seen}");
    assert_eq!(seen["name"], "proxmoxer-clone", "{seen}");
    assert_eq!(seen["lock"], serde_json::Value::Null, "{seen}");
    let newid = seen["newid"].as_u64().unwrap();
    assert!(
        seen["scsi0"]
            .as_str()
            .unwrap()
            .contains(&format!("vm-{newid}-disk-0")),
        "{seen}"
    );
    assert_eq!(seen["version"], "9.1.1", "{seen}");
    let vmlist = cluster.sim().fs.vmlist();
    assert_eq!(vmlist[&(newid as u32)].node, "pve1");
}
