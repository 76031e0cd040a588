//! The harness of the end-to-end scenarios and the benchmark: a simulated
//! cluster with a real `pvectl-agent` per node, and the real `pvectl` run
//! against it as a user would (its exit code, stdout and stderr).
pub mod bench;

use std::path::PathBuf;
use std::process::Output;

use anyhow::{Context, Result};
use pve_sim::agents::{AgentFleet, find_binary};
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
    fn from_output(output: Output) -> Run {
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
        let mut cluster = builder
            .start()
            .await
            .context("start the simulated cluster")?;
        let fleet = AgentFleet::start(&mut cluster, None)
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
        Sandbox::start(SimCluster::builder().nodes(3).time_scale(0.01)).await
    }

    /// Runs `pvectl` with the sandbox's config (context `sim`, admin).
    pub async fn pvectl(&self, args: &[&str]) -> Run {
        self.pvectl_as("sim", args).await
    }

    /// Runs `pvectl --context CONTEXT ARGS…` (`sim`, `sim-operator`, `sim-viewer`).
    pub async fn pvectl_as(&self, context: &str, args: &[&str]) -> Run {
        let config = self.fleet.pvectl_config.clone();
        let output = tokio::process::Command::new(&self.pvectl)
            .arg("--config")
            .arg(&config)
            .arg("--context")
            .arg(context)
            .args(args)
            .env_remove("PVECTL_CONFIG")
            // remembered journal heads belong to this sandbox, not the user
            .env("XDG_STATE_HOME", self.cluster.dir().join("pvectl-state"))
            .stdin(std::process::Stdio::null())
            .output()
            .await
            .expect("run pvectl");
        Run::from_output(output)
    }
}
