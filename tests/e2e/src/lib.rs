//! The harness of the end-to-end scenarios and the benchmark: a simulated
//! cluster with a real `pvectl-agent` per node, and the real `pvectl` run
//! against it as a user would (its exit code, stdout and stderr).
pub mod bench;

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::process::Output;
use std::time::Duration;

use anyhow::{Context, Result};
use pve_sim::agents::{AgentFleet, FleetOptions, find_binary};
use pve_sim::{SimBuilder, SimCluster};

/// A running sandbox: the simulated cluster and its agents.
pub struct Sandbox {
    pub cluster: SimCluster,
    pub fleet: AgentFleet,
    pvectl: PathBuf,
}

/// What one `pvectl` run gave.
#[derive(Debug, Clone)]
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    /// What a finished process gave.
    pub fn from_output(output: Output) -> Run {
        Run {
            code: output.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        }
    }

    /// stdout parsed as JSON (for `-o json`).
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.stdout).unwrap_or(serde_json::Value::Null)
    }
}

impl std::fmt::Display for Run {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "exit {}\n--- stdout\n{}--- stderr\n{}",
            self.code, self.stdout, self.stderr
        )
    }
}

impl Sandbox {
    /// Starts `builder`'s cluster and an agent on every node.
    pub async fn start(builder: SimBuilder) -> Result<Sandbox> {
        Sandbox::start_with(builder, FleetOptions::default()).await
    }

    /// Starts `builder`'s cluster and agents set up as `options` says
    /// (watcher mode, API-only, create timeout).
    pub async fn start_with(builder: SimBuilder, options: FleetOptions) -> Result<Sandbox> {
        let mut cluster = builder
            .start()
            .await
            .context("start the simulated cluster")?;
        let fleet = AgentFleet::start_with(&mut cluster, options)
            .await
            .context("start the agents")?;
        cluster.write_sandbox().context("write sandbox.json")?;
        let pvectl = find_binary("pvectl").context("find pvectl")?;
        Ok(Sandbox {
            cluster,
            fleet,
            pvectl,
        })
    }

    /// A 3-node cluster at a fast time scale.
    pub async fn three_nodes() -> Result<Sandbox> {
        Sandbox::start(Sandbox::fast()).await
    }

    /// The cluster of [`Sandbox::three_nodes`] (3 nodes, 1/100 time), for
    /// a test to add its faults or capacities to.
    pub fn fast() -> SimBuilder {
        SimCluster::builder().nodes(3).time_scale(0.01)
    }

    /// The VMIDs in `.vmlist` now.
    pub fn vmids(&self) -> BTreeSet<u32> {
        self.cluster.sim().fs.vmlist().keys().copied().collect()
    }

    /// The text of `vmid`'s qemu config as `node`'s pmxcfs view shows it.
    pub fn config_text(&self, node: &str, vmid: u32) -> Option<String> {
        self.guest_file(node, "qemu-server", vmid)
    }

    /// The text of container `vmid`'s config as `node`'s pmxcfs view shows it.
    pub fn ct_config_text(&self, node: &str, vmid: u32) -> Option<String> {
        self.guest_file(node, "lxc", vmid)
    }

    fn guest_file(&self, node: &str, dir: &str, vmid: u32) -> Option<String> {
        let view = &self
            .cluster
            .sandbox()
            .nodes
            .iter()
            .find(|n| n.name == node)?
            .pmxcfs;
        std::fs::read_to_string(view.join(format!("nodes/{node}/{dir}/{vmid}.conf"))).ok()
    }

    /// The lines of the task log of `upid` (on the node it names).
    pub fn task_log(&self, upid: &str) -> Result<Vec<String>> {
        let parsed: pve_sim::tasks::Upid = upid.parse().context("parse the UPID")?;
        let logs = self
            .cluster
            .sim()
            .tasklogs
            .get(&parsed.node)
            .with_context(|| format!("no task logs of node {}", parsed.node))?;
        logs.read_log(&parsed).context("read the task log")
    }

    /// The agent journal of `node` in the sandbox.
    pub fn journal_path(&self, node: &str) -> PathBuf {
        self.cluster
            .dir()
            .join("agents")
            .join(node)
            .join("journal.jsonl")
    }

    /// The entries of `node`'s journal file as JSON; a torn last line (the
    /// agent writing it right now) is left out.
    pub fn journal_entries(&self, node: &str) -> Vec<serde_json::Value> {
        std::fs::read_to_string(self.journal_path(node))
            .unwrap_or_default()
            .lines()
            .filter_map(|line| serde_json::from_str(line).ok())
            .collect()
    }

    /// Runs `pvectl` with the sandbox's config (context `sim`, admin).
    pub async fn pvectl(&self, args: &[&str]) -> Run {
        self.pvectl_as("sim", args).await
    }

    /// Runs `pvectl ARGS… -o json`, which must exit `code`; the items of the
    /// JSON array it printed (one per line of a result table) and the run.
    pub async fn pvectl_rows(&self, args: &[&str], code: i32) -> (Vec<serde_json::Value>, Run) {
        let mut args = args.to_vec();
        args.extend(["-o", "json"]);
        let run = self.pvectl(&args).await;
        assert_eq!(run.code, code, "{run}");
        let rows = run.json().as_array().cloned().unwrap_or_default();
        (rows, run)
    }

    /// Runs `pvectl --context CONTEXT ARGS…` (`sim`, `sim-operator`, `sim-viewer`).
    pub async fn pvectl_as(&self, context: &str, args: &[&str]) -> Run {
        let output = self
            .command(context, args)
            .output()
            .await
            .expect("run pvectl");
        Run::from_output(output)
    }

    /// Starts `pvectl ARGS…` (context `sim`) with stdout and stderr piped,
    /// for a test that reads its output while it runs.
    pub fn spawn_pvectl(&self, args: &[&str]) -> tokio::process::Child {
        self.command("sim", args)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .expect("start pvectl")
    }

    fn command(&self, context: &str, args: &[&str]) -> tokio::process::Command {
        let mut command = tokio::process::Command::new(&self.pvectl);
        command
            .arg("--config")
            .arg(&self.fleet.pvectl_config)
            .arg("--context")
            .arg(context)
            .args(args)
            .env_remove("PVECTL_CONFIG")
            // remembered journal heads belong to this sandbox, not the user
            .env("XDG_STATE_HOME", self.cluster.dir().join("pvectl-state"))
            .stdin(std::process::Stdio::null());
        command
    }

    /// The UPIDs of `node`'s tasks of `task_type` that are running now.
    pub fn running_tasks(&self, node: &str, task_type: &str) -> Vec<String> {
        self.cluster
            .sim()
            .state()
            .tasks
            .values()
            .filter(|t| t.running() && t.upid.node == node && t.upid.task_type == task_type)
            .map(|t| t.upid.to_string())
            .collect()
    }
}

/// `key: value` of a guest config's main section.
pub fn config_value(text: &str, key: &str) -> Option<String> {
    text.lines()
        .take_while(|line| !line.starts_with('['))
        .find_map(|line| line.strip_prefix(&format!("{key}: ")).map(str::to_owned))
}

/// Waits until `condition` holds, checking every few milliseconds: tests
/// synchronise on a state, never on elapsed time. Panics naming `what`
/// when `limit` passes first (a failed test).
pub async fn wait_for(what: &str, limit: Duration, mut condition: impl FnMut() -> bool) {
    let deadline = tokio::time::Instant::now() + limit;
    while !condition() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "gave up waiting after {limit:?}: {what}"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}
