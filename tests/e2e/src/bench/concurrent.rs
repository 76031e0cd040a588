//! Benchmark 3 (DESIGN: "200 concurrent creates over 8 nodes: 0 failures, 0
//! duplicate VMIDs"): every create sent at once, spread evenly over the
//! nodes' agents, on a fresh cluster per variant — no faults, then the
//! simulator's foreign creates racing every n-th new VMID in each of PVE's
//! two shapes. The results are checked against the simulator's own guests.
use std::collections::BTreeMap;
use std::time::SystemTime;

use anyhow::Result;
use pve_sim::agents::FleetOptions;
use pve_sim::seed::template_base;
use pve_sim::{Fault, RaceShape};
use serde::Serialize;
use tokio::task::JoinSet;

use super::client::{self, TimedCreate};
use super::latency::TEMPLATE;
use super::sandbox::{BenchSandbox, Setup};
use super::stats::{Summary, millis_between};

/// How much to run.
#[derive(Debug, Clone, Serialize)]
pub struct Settings {
    pub creates: usize,
    pub nodes: u32,
    pub time_scale: f64,
    /// Race every n-th new VMID in the race variants; 0 skips them.
    pub race_every: u32,
}

/// One variant's figures.
#[derive(Debug, Clone, Serialize)]
pub struct Figures {
    pub variant: String,
    pub fault: Option<Fault>,
    pub nodes: u32,
    pub creates: usize,
    /// First request sent → last final event received.
    pub wall_s: f64,
    /// Successful creates per second of wall time.
    pub creates_per_s: f64,
    pub failures: usize,
    pub failure_examples: Vec<String>,
    /// Successful creates whose VMID another successful create also reported.
    pub duplicate_vmids: usize,
    /// Successful creates the simulator does not hold as reported: that VMID,
    /// that name, on that node, unlocked.
    pub not_as_reported: usize,
    /// Successful creates given a VMID inside a node's template range.
    pub in_template_range: usize,
    /// Guests the simulator created to win races (`foreign-<vmid>`).
    pub races_injected: usize,
    /// Creates that lost at least one VMID race and retried.
    pub creates_that_retried: usize,
    pub end_to_end: Option<Summary>,
}

/// The variants `settings` asks for: no faults, then both race shapes.
pub fn variants(settings: &Settings) -> Vec<Option<Fault>> {
    let mut variants = vec![None];
    if settings.race_every > 0 {
        let node = format!("pve{}", settings.nodes);
        for shape in [RaceShape::BeforeRequest, RaceShape::InsideTask] {
            variants.push(Some(Fault::RaceCreates {
                node: node.clone(),
                shape,
                every: settings.race_every,
            }));
        }
    }
    variants
}

/// Runs one variant on a fresh cluster.
pub async fn run(settings: &Settings, fault: Option<Fault>) -> Result<Figures> {
    let sandbox = BenchSandbox::start(&Setup {
        nodes: settings.nodes,
        time_scale: settings.time_scale,
        fleet: FleetOptions::default(),
        faults: fault.iter().cloned().collect(),
        extra_vms_per_node: 0,
    })
    .await?;
    let nodes = sandbox.nodes();
    let mut running = JoinSet::new();
    let start = SystemTime::now();
    for (i, node) in nodes.iter().cycle().take(settings.creates).enumerate() {
        let request = client::request(&format!("par-{i}"), TEMPLATE, node);
        running.spawn(client::create(sandbox.agent(node)?, request));
    }
    let mut creates = Vec::with_capacity(settings.creates);
    while let Some(joined) = running.join_next().await {
        creates.push(joined?);
    }
    let figures = check(&sandbox, settings, fault, start, &creates);
    sandbox.shutdown().await;
    Ok(figures)
}

fn check(
    sandbox: &BenchSandbox,
    settings: &Settings,
    fault: Option<Fault>,
    start: SystemTime,
    creates: &[TimedCreate],
) -> Figures {
    let end = creates.iter().map(|c| c.finished).max().unwrap_or(start);
    let wall_s = millis_between(start, end) / 1000.0;
    let mut failure_examples = Vec::new();
    let mut by_vmid: BTreeMap<u32, usize> = BTreeMap::new();
    let mut succeeded = Vec::new();
    for create in creates {
        match &create.outcome {
            Ok(result) => {
                *by_vmid.entry(result.vmid).or_default() += 1;
                succeeded.push((create, result));
            }
            Err(message) if failure_examples.len() < 5 => {
                failure_examples.push(format!("{} on {}: {message}", create.name, create.node));
            }
            Err(_) => {}
        }
    }
    let state = sandbox.cluster.sim().state();
    let template_ranges: Vec<u32> = state.nodes.iter().map(|n| template_base(n.id)).collect();
    let held_as_reported = |vmid: u32, create: &TimedCreate| {
        state.guests.get(&vmid).is_some_and(|guest| {
            guest.node == create.node
                && guest.prop("name") == Some(create.name.as_str())
                && guest.prop("lock").is_none()
        })
    };
    let succeeded_count = succeeded.len();
    Figures {
        variant: match &fault {
            None => "no faults".into(),
            Some(Fault::RaceCreates { shape, every, .. }) => {
                format!("race_creates {shape:?} every {every}")
            }
            Some(other) => format!("{other:?}"),
        },
        nodes: settings.nodes,
        creates: creates.len(),
        wall_s,
        creates_per_s: if wall_s > 0.0 {
            succeeded_count as f64 / wall_s
        } else {
            0.0
        },
        failures: creates.len() - succeeded_count,
        failure_examples,
        duplicate_vmids: succeeded
            .iter()
            .filter(|(_, r)| by_vmid[&r.vmid] > 1)
            .count(),
        not_as_reported: succeeded
            .iter()
            .filter(|(c, r)| !held_as_reported(r.vmid, c))
            .count(),
        in_template_range: succeeded
            .iter()
            .filter(|(_, r)| {
                template_ranges
                    .iter()
                    .any(|b| (*b..b + 100).contains(&r.vmid))
            })
            .count(),
        races_injected: state
            .guests
            .values()
            .filter(|g| g.prop("name").is_some_and(|n| n.starts_with("foreign-")))
            .count(),
        creates_that_retried: creates.iter().filter(|c| c.vmids_tried.len() > 1).count(),
        end_to_end: Summary::of(
            &succeeded
                .iter()
                .map(|(c, _)| millis_between(c.sent, c.finished))
                .collect::<Vec<_>>(),
        ),
        fault,
    }
}
