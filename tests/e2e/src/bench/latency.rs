//! Benchmarks 1 and 2 (DESIGN "Numbers to reach"): creates one at a time, so
//! nothing queues, on a fresh cluster per waiting path (inotify, polling,
//! API-only). Per create:
//! - notification latency: the simulator writes the clone task's final line
//!   → the client receives the agent's "clone task ended" event;
//! - overhead: the create's time at the client minus the clone task's own
//!   duration in the simulator (task started → final line).
//!
//! For the inotify path the overhead is also measured through the real
//! `pvectl vm create -o json` (process start, discovery and TLS included).
use anyhow::Result;
use pve_sim::agents::FleetOptions;
use serde::Serialize;

use super::client::{self, TimedCreate};
use super::sandbox::{BenchSandbox, Setup};
use super::stats::{Summary, millis_between};

/// The template every node holds (pve-sim's seed).
pub const TEMPLATE: &str = "ubuntu-24.04";

/// How the agents wait for the clone task.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum WaitPath {
    /// `watcher = "auto"`: inotify on the node's view and task logs.
    Inotify,
    /// `watcher = "poll"`: the polling fallback.
    Poll,
    /// No pmxcfs tree: everything through the API, polled with backoff.
    ApiOnly,
}

impl WaitPath {
    fn fleet(self) -> FleetOptions {
        let watcher = match self {
            WaitPath::Inotify | WaitPath::ApiOnly => "auto",
            WaitPath::Poll => "poll",
        };
        FleetOptions {
            watcher: Some(watcher.into()),
            api_only: self == WaitPath::ApiOnly,
            ..FleetOptions::default()
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            WaitPath::Inotify => "inotify",
            WaitPath::Poll => "polling",
            WaitPath::ApiOnly => "api-only",
        }
    }
}

/// How much to measure.
#[derive(Debug, Clone, Serialize)]
pub struct Settings {
    pub clones: usize,
    /// Creates per node before measuring (connections, caches), not counted.
    pub warmup_per_node: usize,
    pub nodes: u32,
    pub time_scale: f64,
    /// `pvectl vm create` runs for the CLI's overhead (inotify path only).
    pub cli_runs: usize,
}

/// One waiting path's figures.
#[derive(Debug, Clone, Serialize)]
pub struct PathFigures {
    pub path: WaitPath,
    /// Whether each node had its own FUSE view (pmxcfs's event semantics).
    pub fuse_views: bool,
    pub clones: usize,
    pub failures: usize,
    pub failure_examples: Vec<String>,
    /// Successful creates lacking the task-ended event or the simulator's times.
    pub unmeasured: usize,
    pub notify_latency: Option<Summary>,
    pub clone_task: Option<Summary>,
    pub end_to_end: Option<Summary>,
    pub overhead: Option<Summary>,
    pub cli_overhead: Option<Summary>,
    pub cli_failures: usize,
}

/// Runs the sequential creates for `path` on a fresh cluster.
pub async fn run(path: WaitPath, settings: &Settings) -> Result<PathFigures> {
    let sandbox = BenchSandbox::start(&Setup {
        nodes: settings.nodes,
        time_scale: settings.time_scale,
        fleet: path.fleet(),
        faults: Vec::new(),
        extra_vms_per_node: 0,
    })
    .await?;
    let figures = measure(&sandbox, path, settings).await;
    sandbox.shutdown().await;
    figures
}

async fn measure(
    sandbox: &BenchSandbox,
    path: WaitPath,
    settings: &Settings,
) -> Result<PathFigures> {
    let nodes = sandbox.nodes();
    let label = path.label();
    for (i, node) in nodes
        .iter()
        .cycle()
        .take(nodes.len() * settings.warmup_per_node)
        .enumerate()
    {
        let request = client::request(&format!("warm-{label}-{i}"), TEMPLATE, node);
        let timed = client::create(sandbox.agent(node)?, request).await;
        if let Err(message) = timed.outcome {
            anyhow::bail!("a warm-up create on {node} failed: {message}");
        }
    }
    let mut creates = Vec::with_capacity(settings.clones);
    for (i, node) in nodes.iter().cycle().take(settings.clones).enumerate() {
        let request = client::request(&format!("bench-{label}-{i}"), TEMPLATE, node);
        creates.push(client::create(sandbox.agent(node)?, request).await);
        if (i + 1) % 50 == 0 {
            eprintln!("  {label}: {}/{} creates", i + 1, settings.clones);
        }
    }
    let mut figures = summarize(sandbox, path, &creates);
    if path == WaitPath::Inotify && settings.cli_runs > 0 {
        let (overhead, failures) = cli_overhead(sandbox, settings.cli_runs).await?;
        figures.cli_overhead = overhead;
        figures.cli_failures = failures;
    }
    Ok(figures)
}

fn summarize(sandbox: &BenchSandbox, path: WaitPath, creates: &[TimedCreate]) -> PathFigures {
    let (mut latency, mut task, mut total, mut overhead) = (vec![], vec![], vec![], vec![]);
    let mut failure_examples = Vec::new();
    let (mut failures, mut unmeasured) = (0, 0);
    for create in creates {
        let result = match &create.outcome {
            Ok(result) => result,
            Err(message) => {
                failures += 1;
                if failure_examples.len() < 5 {
                    failure_examples.push(format!("{}: {message}", create.name));
                }
                continue;
            }
        };
        let (Some(seen), Some(times)) = (create.task_ended_seen, sandbox.task_times(&result.upid))
        else {
            unmeasured += 1;
            continue;
        };
        let clone_ms = millis_between(times.started, times.final_line);
        let total_ms = millis_between(create.sent, create.finished);
        latency.push(millis_between(times.final_line, seen));
        task.push(clone_ms);
        total.push(total_ms);
        overhead.push(total_ms - clone_ms);
    }
    PathFigures {
        path,
        fuse_views: sandbox.cluster.sim().fs.views_are_separate(),
        clones: creates.len(),
        failures,
        failure_examples,
        unmeasured,
        notify_latency: Summary::of(&latency),
        clone_task: Summary::of(&task),
        end_to_end: Summary::of(&total),
        overhead: Summary::of(&overhead),
        cli_overhead: None,
        cli_failures: 0,
    }
}

/// `pvectl vm create … -o json` runs: the process's wall time minus the
/// clone task's duration; and how many runs failed.
async fn cli_overhead(sandbox: &BenchSandbox, runs: usize) -> Result<(Option<Summary>, usize)> {
    let nodes = sandbox.nodes();
    let mut overhead = Vec::with_capacity(runs);
    let mut failures = 0;
    for (i, node) in nodes.iter().cycle().take(runs).enumerate() {
        let name = format!("cli-{i}");
        let args = [
            "vm",
            "create",
            &name,
            "--template",
            TEMPLATE,
            "--node",
            node,
            "-o",
            "json",
        ];
        let started = std::time::SystemTime::now();
        let output = sandbox.pvectl(&args).await?;
        let total_ms = millis_between(started, std::time::SystemTime::now());
        let upid = serde_json::from_slice::<serde_json::Value>(&output.stdout)
            .ok()
            .and_then(|json| json["upid"].as_str().map(str::to_string));
        match upid.and_then(|upid| sandbox.task_times(&upid)) {
            Some(times) if output.status.success() => {
                overhead.push(total_ms - millis_between(times.started, times.final_line));
            }
            _ => {
                failures += 1;
                eprintln!(
                    "  pvectl {}: {}",
                    args.join(" "),
                    String::from_utf8_lossy(&output.stderr).trim()
                );
            }
        }
    }
    Ok((Summary::of(&overhead), failures))
}
