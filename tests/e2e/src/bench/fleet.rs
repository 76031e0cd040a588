//! `pvectl-bench fleet`: what listing costs as the fleet grows. `vm list`
//! through the real `pvectl` over many nodes against one node, every node's
//! API slowed alike (the fan-out must be parallel, not N times one node);
//! and a thousand guests on one node, timed at the agent (`ListGuests`) and
//! through `pvectl`, with the PVE API calls one listing costs.
use std::time::Instant;

use anyhow::{Context, Result, ensure};
use pve_sim::Fault;
use pve_sim::agents::FleetOptions;
use pvectl_proto::v1::ListGuestsRequest;
use serde::Serialize;

use super::sandbox::{BenchSandbox, Setup};
use super::stats::Summary;

/// What to measure.
#[derive(Debug, Clone, Serialize)]
pub struct Settings {
    /// Nodes of the large cluster.
    pub nodes: u32,
    /// API latency every node adds to each request, in ms.
    pub latency_ms: u64,
    /// Timed runs per figure.
    pub runs: usize,
    /// Guests on the single node of the big-listing figure.
    pub guests_on_one_node: u32,
    /// Stopped VMs the bulk start starts (0 skips it) ...
    pub bulk_guests: u32,
    /// ... spread over this many nodes.
    pub bulk_nodes: u32,
    pub time_scale: f64,
}

/// `vm list` over one cluster.
#[derive(Debug, Clone, Serialize)]
pub struct ListFigures {
    pub nodes: u32,
    /// VMs each listing returned.
    pub vms: usize,
    /// Wall time of the `pvectl vm list` process.
    pub cli: Option<Summary>,
    pub failures: usize,
}

/// Listing one node with many guests.
#[derive(Debug, Clone, Serialize)]
pub struct BigNodeFigures {
    pub guests: usize,
    /// `ListGuests` at the agent, from the request to the full answer.
    pub rpc: Option<Summary>,
    /// `pvectl vm list --node` (process start, discovery, the listing).
    pub cli: Option<Summary>,
    /// PVE API requests one `ListGuests` cost (averaged over the runs).
    pub api_calls_per_list: f64,
}

/// The figures of one `pvectl-bench fleet` run.
#[derive(Debug, Clone, Serialize)]
pub struct FleetFigures {
    pub settings: Settings,
    pub one_node: ListFigures,
    pub fleet: ListFigures,
    /// The fleet's p50 over the single node's p50.
    pub fleet_ratio: Option<f64>,
    pub big_node: BigNodeFigures,
    pub bulk_start: Option<BulkFigures>,
}

/// `pvectl vm start -l tag=bulk` over many nodes.
#[derive(Debug, Clone, Serialize)]
pub struct BulkFigures {
    pub nodes: u32,
    pub guests: usize,
    /// Wall time of the one `pvectl` run.
    pub wall_ms: f64,
    pub exit_code: i32,
    /// Result lines that said the guest was started.
    pub started: usize,
    /// Guests the simulator shows running afterwards.
    pub running_after: usize,
}

/// Runs every figure, one cluster after another.
pub async fn run(settings: &Settings) -> Result<FleetFigures> {
    eprintln!(
        "vm list over 1 node, {} ms API latency",
        settings.latency_ms
    );
    let one_node = list_figures(settings, 1).await.context("one node")?;
    eprintln!(
        "vm list over {} nodes, {} ms API latency each",
        settings.nodes, settings.latency_ms
    );
    let fleet = list_figures(settings, settings.nodes)
        .await
        .context("the fleet")?;
    eprintln!("listing {} guests on one node", settings.guests_on_one_node);
    let big_node = big_node(settings).await.context("the big node")?;
    let bulk_start = if settings.bulk_guests > 0 {
        eprintln!(
            "starting {} VMs over {} nodes",
            settings.bulk_guests, settings.bulk_nodes
        );
        Some(bulk_start(settings).await.context("the bulk start")?)
    } else {
        None
    };
    let fleet_ratio = match (&one_node.cli, &fleet.cli) {
        (Some(one), Some(all)) => Some(all.p50_ms / one.p50_ms),
        _ => None,
    };
    Ok(FleetFigures {
        settings: settings.clone(),
        one_node,
        fleet,
        fleet_ratio,
        big_node,
        bulk_start,
    })
}

async fn list_figures(settings: &Settings, nodes: u32) -> Result<ListFigures> {
    let sandbox = BenchSandbox::start(&Setup {
        nodes,
        time_scale: settings.time_scale,
        fleet: FleetOptions::default(),
        faults: vec![Fault::ApiLatency {
            node: None,
            millis: settings.latency_ms,
        }],
        extra_vms_per_node: 0,
    })
    .await?;
    let expected = sandbox
        .cluster
        .sim()
        .state()
        .guests
        .values()
        .filter(|g| g.kind.as_str() == "qemu")
        .count();
    let mut samples = Vec::new();
    let mut failures = 0;
    // the first run is a warm-up: page cache, the agents' first TLS sessions
    for run in 0..=settings.runs {
        let started = Instant::now();
        let listed = list_count(&sandbox, &["vm", "list", "-o", "json"]).await;
        let elapsed = started.elapsed().as_secs_f64() * 1000.0;
        match listed {
            Ok(count) if count == expected => {
                if run > 0 {
                    samples.push(elapsed);
                }
            }
            Ok(count) => {
                eprintln!("vm list gave {count} VMs, expected {expected}");
                failures += 1;
            }
            Err(error) => {
                eprintln!("vm list failed: {error:#}");
                failures += 1;
            }
        }
    }
    sandbox.shutdown().await;
    Ok(ListFigures {
        nodes,
        vms: expected,
        cli: Summary::of(&samples),
        failures,
    })
}

/// Runs `pvectl args` (which must print a JSON list) and counts the items.
async fn list_count(sandbox: &BenchSandbox, args: &[&str]) -> Result<usize> {
    let output = sandbox.pvectl(args).await?;
    ensure!(
        output.status.success(),
        "pvectl {}: {}",
        args.join(" "),
        String::from_utf8_lossy(&output.stderr)
    );
    let items: Vec<serde_json::Value> =
        serde_json::from_slice(&output.stdout).context("parse the JSON list")?;
    Ok(items.len())
}

async fn big_node(settings: &Settings) -> Result<BigNodeFigures> {
    let sandbox = BenchSandbox::start(&Setup {
        nodes: 1,
        time_scale: settings.time_scale,
        fleet: FleetOptions::default(),
        faults: Vec::new(),
        extra_vms_per_node: settings.guests_on_one_node,
    })
    .await?;
    let node = sandbox.nodes().first().cloned().context("no node")?;
    let mut agent = sandbox.agent(&node)?;
    let request = ListGuestsRequest::default();
    let guests = agent
        .list_guests(request.clone())
        .await?
        .into_inner()
        .guests
        .len();
    let calls_before = sandbox.cluster.sim().api_calls.count(&node);
    let mut rpc = Vec::new();
    for _ in 0..settings.runs {
        let started = Instant::now();
        let answer = agent.list_guests(request.clone()).await?.into_inner();
        rpc.push(started.elapsed().as_secs_f64() * 1000.0);
        ensure!(answer.guests.len() == guests, "the listing changed size");
    }
    let calls = sandbox.cluster.sim().api_calls.count(&node) - calls_before;
    let mut cli = Vec::new();
    for _ in 0..settings.runs {
        let started = Instant::now();
        let count = list_count(&sandbox, &["vm", "list", "--node", &node, "-o", "json"]).await?;
        cli.push(started.elapsed().as_secs_f64() * 1000.0);
        ensure!(
            count <= guests,
            "pvectl listed more VMs than there are guests"
        );
    }
    sandbox.shutdown().await;
    Ok(BigNodeFigures {
        guests,
        rpc: Summary::of(&rpc),
        cli: Summary::of(&cli),
        api_calls_per_list: calls as f64 / settings.runs.max(1) as f64,
    })
}

async fn bulk_start(settings: &Settings) -> Result<BulkFigures> {
    let nodes = settings.bulk_nodes.max(1);
    let sandbox = BenchSandbox::start(&Setup {
        nodes,
        time_scale: settings.time_scale,
        fleet: FleetOptions::default(),
        faults: Vec::new(),
        extra_vms_per_node: settings.bulk_guests.div_ceil(nodes),
    })
    .await?;
    let running = |sandbox: &BenchSandbox| {
        sandbox
            .cluster
            .sim()
            .state()
            .guests
            .values()
            .filter(|g| g.tags() == Some("bulk") && g.run.as_str() == "running")
            .count()
    };
    let guests = sandbox
        .cluster
        .sim()
        .state()
        .guests
        .values()
        .filter(|g| g.tags() == Some("bulk"))
        .count();
    ensure!(running(&sandbox) == 0, "the bulk VMs start stopped");
    let started = Instant::now();
    let output = sandbox
        .pvectl(&["vm", "start", "-l", "tag=bulk", "-o", "json"])
        .await?;
    let wall_ms = started.elapsed().as_secs_f64() * 1000.0;
    let results: Vec<serde_json::Value> =
        serde_json::from_slice(&output.stdout).unwrap_or_default();
    let figures = BulkFigures {
        nodes,
        guests,
        wall_ms,
        exit_code: output.status.code().unwrap_or(-1),
        started: results
            .iter()
            .filter(|r| r["result"].as_str() == Some("done"))
            .count(),
        running_after: running(&sandbox),
    };
    if !output.status.success() {
        eprintln!(
            "vm start failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
    sandbox.shutdown().await;
    Ok(figures)
}
