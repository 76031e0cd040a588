//! The PVE API client against a real simulated cluster (`pve-sim`): token
//! auth over verified TLS, PVE's error envelope, retry classification, and
//! every typed call the agent makes.

mod calls;
mod errors;

use std::time::{Duration, Instant};

use pve_sim::SimCluster;
use pvectl_agent::pmxcfs::GuestKind;
use pvectl_agent::pve_api::{ApiToken, CloneRequest, PveClient, TaskExit};

pub const NODE: &str = "pve1";
/// pve1's first template (`ubuntu-24.04`), seeded by the simulator.
pub const TEMPLATE: u32 = 9100;
/// pve1's stopped VM `db1`.
pub const STOPPED_VM: u32 = 101;
/// An upper bound for simulated tasks to end; they take milliseconds.
pub const TASK_DEADLINE: Duration = Duration::from_secs(30);

pub async fn cluster() -> SimCluster {
    SimCluster::builder()
        .nodes(3)
        .time_scale(0.01)
        .start()
        .await
        .expect("start the simulated cluster")
}

pub fn token(cluster: &SimCluster) -> ApiToken {
    let token = &cluster.sandbox().token;
    ApiToken::parse(&format!("{}={}", token.id, token.secret)).unwrap()
}

pub fn client_with(cluster: &SimCluster, token: &ApiToken, timeout: Duration) -> PveClient {
    let ca = std::fs::read(&cluster.sandbox().ca).unwrap();
    PveClient::new(&cluster.url(NODE).unwrap(), token, &ca, timeout).unwrap()
}

pub fn client(cluster: &SimCluster) -> PveClient {
    client_with(cluster, &token(cluster), Duration::from_secs(10))
}

/// Waits for a task to stop by asking its status, as the agent's slow
/// safety net does, and returns how it ended.
/// Starts a full clone of [`TEMPLATE`] to the next free VMID; its UPID.
pub async fn full_clone_of_template(client: &PveClient) -> String {
    let newid = client.next_id(None).await.unwrap();
    client
        .clone_guest(
            NODE,
            GuestKind::Qemu,
            TEMPLATE,
            &CloneRequest {
                newid,
                full: Some(true),
                ..CloneRequest::default()
            },
        )
        .await
        .unwrap()
}

pub async fn wait_task(client: &PveClient, upid: &str) -> TaskExit {
    let deadline = Instant::now() + TASK_DEADLINE;
    loop {
        let status = client.task_status(NODE, upid).await.unwrap();
        if let Some(exit) = status.exit() {
            return exit;
        }
        assert!(Instant::now() < deadline, "task {upid} still running");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}
