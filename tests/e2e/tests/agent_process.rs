//! The agent as a process: `check` says what works and what to fix,
//! readiness reaches systemd only once the port is bound, SIGTERM stops it
//! cleanly with its journal intact.
use std::os::unix::net::UnixDatagram;
use std::time::Duration;

use pvectl_e2e::Sandbox;

async fn agent_check(sandbox: &Sandbox, config: &std::path::Path) -> (i32, String) {
    let output = tokio::process::Command::new(sandbox.fleet.binary())
        .arg("--config")
        .arg(config)
        .arg("check")
        .output()
        .await
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    (output.status.code().unwrap_or(-1), text)
}

#[tokio::test(flavor = "multi_thread")]
async fn check_passes_on_a_working_node_and_names_the_fix_for_a_bad_token() {
    let sandbox = Sandbox::three_nodes().await.unwrap();
    let config = sandbox.fleet.agents["pve1"].config.clone();
    let (code, text) = agent_check(&sandbox, &config).await;
    assert_eq!(code, 0, "{text}");
    assert!(text.contains("ok    PVE API"), "{text}");
    assert!(!text.contains("FAIL"), "{text}");

    let token = config.parent().unwrap().join("pve-api-token");
    let good = std::fs::read_to_string(&token).unwrap();
    let (id, _) = good.trim().rsplit_once('=').unwrap();
    std::fs::write(
        &token,
        format!("{id}=00000000-0000-0000-0000-000000000000\n"),
    )
    .unwrap();
    let (code, text) = agent_check(&sandbox, &config).await;
    assert_ne!(code, 0, "{text}");
    assert!(text.contains("FAIL  PVE API"), "{text}");
    assert!(text.contains("fix:"), "{text}");
}

#[tokio::test(flavor = "multi_thread")]
async fn sigterm_stops_the_agent_cleanly_and_its_journal_verifies() {
    let mut sandbox = Sandbox::three_nodes().await.unwrap();
    let create = sandbox
        .pvectl(&["vm", "create", "web1", "--template", "9100"])
        .await;
    assert_eq!(create.code, 0, "{create}");
    let agent = sandbox.fleet.agent("pve1").unwrap();
    assert_eq!(agent.terminate().await, Some(0));
    let journal = agent.config.parent().unwrap().join("journal.jsonl");
    let head = pvectl_agent_journal_head(&journal);
    assert!(head >= 1, "the create was journaled");
}

/// The journal's last seq, read the way `audit verify` reads it.
fn pvectl_agent_journal_head(path: &std::path::Path) -> u64 {
    let text = std::fs::read_to_string(path).unwrap();
    assert!(
        text.ends_with('\n'),
        "the journal ends with a complete line"
    );
    let lines: Vec<&str> = text.lines().collect();
    pvectl_proto::journal::verify_lines(lines.iter().copied(), None)
        .expect("the journal's chain verifies")
        .seq
}

#[tokio::test(flavor = "multi_thread")]
async fn readiness_is_reported_only_once_the_port_accepts_connections() {
    let mut sandbox = Sandbox::three_nodes().await.unwrap();
    let binary = sandbox.fleet.binary().to_path_buf();
    let agent = sandbox.fleet.agent("pve2").unwrap();
    agent.terminate().await;
    let (config, addr) = (agent.config.clone(), agent.addr);
    let socket_path = sandbox.cluster.dir().join("notify.sock");
    let socket = UnixDatagram::bind(&socket_path).unwrap();
    socket
        .set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    let mut child = tokio::process::Command::new(binary)
        .arg("--config")
        .arg(&config)
        .arg("run")
        .env("NOTIFY_SOCKET", &socket_path)
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let message = tokio::task::spawn_blocking(move || {
        let mut buf = [0u8; 256];
        let n = socket.recv(&mut buf).expect("the agent notifies systemd");
        String::from_utf8_lossy(&buf[..n]).into_owned()
    })
    .await
    .unwrap();
    assert_eq!(message, "READY=1");
    // ready means bound: the very next connection is accepted
    tokio::net::TcpStream::connect(addr)
        .await
        .expect("the port is bound when READY=1 arrives");
    child.kill().await.unwrap();
}
