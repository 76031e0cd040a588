//! `pve-sim up` as a real process: it writes sandbox.json, serves the API
//! it describes, and on SIGTERM exits 0 with every FUSE view unmounted.
use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use pve_sim::client::Client;
use pve_sim::sandbox::Sandbox;

use crate::support::{DEADLINE, ok};

/// Mount points under `dir`, from /proc/mounts.
fn mounts_under(dir: &Path) -> Vec<String> {
    let dir = dir.to_string_lossy().into_owned();
    std::fs::read_to_string("/proc/mounts")
        .unwrap()
        .lines()
        .filter_map(|line| line.split(' ').nth(1))
        .filter(|point| point.starts_with(&dir))
        .map(str::to_string)
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn pve_sim_up_serves_its_sandbox_and_exits_cleanly_on_sigterm() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().canonicalize().unwrap();
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_pve-sim"))
        .args(["up", "--nodes", "2", "--port", "0", "--time-scale", "0.01"])
        .arg("--dir")
        .arg(&dir)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();

    let path = dir.join("sandbox.json");
    let deadline = tokio::time::Instant::now() + DEADLINE;
    while !path.exists() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "no sandbox.json within {DEADLINE:?}"
        );
        if let Some(status) = child.try_wait().unwrap() {
            panic!("pve-sim up exited early with {status}");
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let sandbox = Sandbox::read(&path).unwrap();
    assert_eq!(sandbox.dir, dir);
    assert!(sandbox.ca.is_file(), "{}", sandbox.ca.display());
    assert_eq!(sandbox.user, "root@pam");
    assert!(!sandbox.password.is_empty());
    assert_eq!(sandbox.token.id, "root@pam!pvectl");
    assert_eq!(sandbox.token.secret.len(), 36, "a UUID");
    let names: Vec<(&str, u32, &str)> = sandbox
        .nodes
        .iter()
        .map(|n| (n.name.as_str(), n.id, n.address.as_str()))
        .collect();
    assert_eq!(
        names,
        [("pve1", 1, "127.0.10.1"), ("pve2", 2, "127.0.10.2")]
    );
    for node in &sandbox.nodes {
        assert_ne!(node.port, 0, "the bound port is written, not 0");
        assert_eq!(node.pmxcfs, dir.join("views").join(&node.name));
        assert!(node.pmxcfs.join("nodes").join(&node.name).is_dir());
        assert_eq!(node.tasks, dir.join("tasks").join(&node.name));
        assert!(node.tasks.is_dir());
    }

    let mut client = Client::for_sandbox(&sandbox).unwrap();
    let status = ok(&client, "GET", "/cluster/status", &[], &[]).await;
    assert_eq!(
        status.as_array().unwrap().len(),
        3,
        "the cluster and two nodes"
    );
    let login = client
        .login(&sandbox.user, &sandbox.password)
        .await
        .unwrap();
    assert_eq!(login.status, 200, "{}", login.body);
    let other = Client::for_node(&sandbox, "pve2").unwrap();
    let guests = ok(&other, "GET", "/nodes/{node}/qemu", &["pve2"], &[]).await;
    assert!(!guests.as_array().unwrap().is_empty());

    let mounted = mounts_under(&dir);
    if std::env::var("PVE_SIM_REQUIRE_FUSE").as_deref() == Ok("1") {
        assert_eq!(mounted.len(), 2, "one FUSE view per node: {mounted:?}");
    }
    let pid = Pid::from_raw(child.id().unwrap() as i32);
    kill(pid, Signal::SIGTERM).unwrap();
    let output = tokio::time::timeout(DEADLINE, child.wait_with_output())
        .await
        .expect("pve-sim up exits after SIGTERM")
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(0), "{stdout}\n{stderr}");
    assert!(
        stdout.contains(&format!("sandbox: {}", path.display())),
        "{stdout}"
    );
    assert!(
        mounts_under(&dir).is_empty(),
        "views left mounted: {:?} (were {mounted:?})",
        mounts_under(&dir)
    );
}
