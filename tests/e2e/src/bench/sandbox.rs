//! A sandbox sized for benchmarks: a simulated cluster whose storage holds
//! hundreds of full clones, real agents started with the chosen
//! [`FleetOptions`], one mTLS gRPC channel per agent (the admin client's
//! certificate from the sandbox's pki dir), and the simulator's own record
//! of each task's start and final line.
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use anyhow::{Context, Result};
use pve_sim::agents::{AgentFleet, FleetOptions, find_binary};
use pve_sim::{Fault, SimCluster};
use pvectl_proto::v1::agent_client::AgentClient;
use tonic::transport::{Certificate, Channel, ClientTlsConfig, Identity};

/// `local-lvm` per node: room for thousands of 4 GiB clones.
const STORAGE_BYTES: u64 = 64 << 40;

/// What to start.
#[derive(Debug, Clone)]
pub struct Setup {
    pub nodes: u32,
    pub time_scale: f64,
    pub fleet: FleetOptions,
    pub faults: Vec<Fault>,
    /// Small stopped VMs added to every node (listing benchmarks).
    pub extra_vms_per_node: u32,
}

/// When the simulator started a task and wrote its final line.
#[derive(Debug, Clone, Copy)]
pub struct TaskTimes {
    pub started: SystemTime,
    pub final_line: SystemTime,
}

/// A running benchmark cluster.
pub struct BenchSandbox {
    pub cluster: SimCluster,
    pub fleet: AgentFleet,
    agents: BTreeMap<String, AgentClient<Channel>>,
    pvectl: PathBuf,
}

impl BenchSandbox {
    pub async fn start(setup: &Setup) -> Result<BenchSandbox> {
        let mut builder = SimCluster::builder()
            .nodes(setup.nodes)
            .time_scale(setup.time_scale)
            .storage_capacity("local-lvm", STORAGE_BYTES)
            .extra_vms_per_node(setup.extra_vms_per_node);
        for fault in &setup.faults {
            builder = builder.fault(fault.clone());
        }
        let mut cluster = builder
            .start()
            .await
            .context("start the simulated cluster")?;
        let fleet = AgentFleet::start_with(&mut cluster, setup.fleet.clone())
            .await
            .context("start the agents")?;
        let mut agents = BTreeMap::new();
        for (node, agent) in &fleet.agents {
            let client = connect(&fleet.pki_dir, agent.addr)
                .await
                .with_context(|| format!("connect to the agent of {node}"))?;
            agents.insert(node.clone(), client);
        }
        Ok(BenchSandbox {
            cluster,
            fleet,
            agents,
            pvectl: find_binary("pvectl").context("find pvectl")?,
        })
    }

    /// Node names, in order.
    pub fn nodes(&self) -> Vec<String> {
        self.agents.keys().cloned().collect()
    }

    /// A client of `node`'s agent (clones share the channel).
    pub fn agent(&self, node: &str) -> Result<AgentClient<Channel>> {
        self.agents
            .get(node)
            .cloned()
            .with_context(|| format!("no agent on node {node}"))
    }

    /// The simulator's timestamps of a finished task.
    pub fn task_times(&self, upid: &str) -> Option<TaskTimes> {
        let state = self.cluster.sim().state();
        let record = state.tasks.get(upid)?;
        Some(TaskTimes {
            started: record.started_at,
            final_line: record.final_line_at?,
        })
    }

    /// Runs the real `pvectl` as the admin (`--context sim`).
    pub async fn pvectl(&self, args: &[&str]) -> Result<std::process::Output> {
        tokio::process::Command::new(&self.pvectl)
            .arg("--config")
            .arg(&self.fleet.pvectl_config)
            .args(["--context", "sim"])
            .args(args)
            .env_remove("PVECTL_CONFIG")
            .env("XDG_STATE_HOME", self.cluster.dir().join("pvectl-state"))
            .stdin(std::process::Stdio::null())
            .output()
            .await
            .context("run pvectl")
    }

    /// Stops the agents, then the cluster.
    pub async fn shutdown(mut self) {
        self.agents.clear();
        self.fleet.shutdown().await;
        self.cluster.shutdown().await;
    }
}

/// An mTLS channel to the agent at `addr`, set up as `pvectl` does it.
async fn connect(pki: &Path, addr: std::net::SocketAddr) -> Result<AgentClient<Channel>> {
    let read = |name: &str| {
        let path = pki.join(name);
        std::fs::read(&path).with_context(|| format!("read {}", path.display()))
    };
    let tls = ClientTlsConfig::new()
        .ca_certificate(Certificate::from_pem(read("ca.pem")?))
        .identity(Identity::from_pem(
            read("client-admin.pem")?,
            read("client-admin.key")?,
        ))
        .domain_name(addr.ip().to_string());
    let channel = Channel::from_shared(format!("https://{addr}"))?
        .tls_config(tls)?
        .connect()
        .await?;
    Ok(AgentClient::new(channel))
}
