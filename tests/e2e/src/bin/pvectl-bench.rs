//! `pvectl-bench`: the benchmarks of DESIGN.md's "Numbers to reach", run
//! against pve-sim with the real binaries. Each subcommand writes its figures
//! to a JSON file and prints a table against the targets.
use std::path::PathBuf;

use anyhow::Context;
use clap::{Args, Parser, Subcommand};
use pvectl_e2e::bench::latency::{self, WaitPath};
use pvectl_e2e::bench::report::{self, CreateReport, FLEET_TARGETS, FleetReport, Machine, TARGETS};
use pvectl_e2e::bench::{concurrent, fleet};

#[derive(Parser)]
#[command(
    name = "pvectl-bench",
    version,
    about = "Benchmarks pvectl against the simulated cluster"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// The create path: task end → client notified, overhead beyond the
    /// clone, concurrent creates.
    Create(CreateArgs),
    /// Listing across the fleet: `vm list` over many slow nodes against
    /// one, and a thousand guests on one node.
    Fleet(FleetArgs),
}

#[derive(Args)]
struct FleetArgs {
    /// Where to write the figures.
    #[arg(long, default_value = "bench-fleet.json")]
    out: PathBuf,
    /// Nodes of the large cluster.
    #[arg(long, default_value_t = FLEET_TARGETS.fleet_nodes)]
    nodes: u32,
    /// API latency of every node, in ms.
    #[arg(long, default_value_t = FLEET_TARGETS.latency_ms)]
    latency_ms: u64,
    /// Timed runs per figure.
    #[arg(long, default_value_t = 20)]
    runs: usize,
    /// Guests on the single node of the big listing.
    #[arg(long, default_value_t = FLEET_TARGETS.guests_on_one_node)]
    guests: u32,
    /// Stopped VMs the bulk start starts (0 skips it).
    #[arg(long, default_value_t = FLEET_TARGETS.bulk_guests)]
    bulk_guests: u32,
    /// Nodes the bulk start's VMs are spread over.
    #[arg(long, default_value_t = FLEET_TARGETS.bulk_nodes)]
    bulk_nodes: u32,
    /// Real seconds per simulated second.
    #[arg(long, default_value_t = 0.01)]
    time_scale: f64,
}

#[derive(Args)]
struct CreateArgs {
    /// Where to write the figures.
    #[arg(long, default_value = "bench-create.json")]
    out: PathBuf,
    /// Measured creates per waiting path, one at a time (0 skips them).
    #[arg(long, default_value_t = 200)]
    clones: usize,
    /// The waiting paths to measure.
    #[arg(
        long,
        value_enum,
        value_delimiter = ',',
        default_value = "inotify,poll,api-only"
    )]
    paths: Vec<WaitPath>,
    /// Nodes of the latency clusters (creates go round-robin).
    #[arg(long, default_value_t = 3)]
    nodes: u32,
    /// Unmeasured creates per node before measuring.
    #[arg(long, default_value_t = 1)]
    warmup: usize,
    /// `pvectl vm create` runs for the CLI's overhead (inotify path; 0 skips).
    #[arg(long, default_value_t = 20)]
    cli_runs: usize,
    /// Creates sent at once (0 skips the concurrent benchmark).
    #[arg(long, default_value_t = TARGETS.concurrent_creates)]
    concurrent: usize,
    /// Nodes of the concurrent clusters.
    #[arg(long, default_value_t = TARGETS.concurrent_nodes)]
    concurrent_nodes: u32,
    /// With foreign creates racing every n-th new VMID, in both shapes (0 skips).
    #[arg(long, default_value_t = 5)]
    race_every: u32,
    /// Real seconds per simulated second (a 4 GiB full clone takes 2 s simulated).
    #[arg(long, default_value_t = 0.01)]
    time_scale: f64,
}

#[tokio::main(flavor = "multi_thread")]
async fn main() -> anyhow::Result<()> {
    match Cli::parse().command {
        Command::Create(args) => create(args).await,
        Command::Fleet(args) => fleet(args).await,
    }
}

async fn fleet(args: FleetArgs) -> anyhow::Result<()> {
    let load_before = Machine::load();
    let settings = fleet::Settings {
        nodes: args.nodes,
        latency_ms: args.latency_ms,
        runs: args.runs,
        guests_on_one_node: args.guests,
        bulk_guests: args.bulk_guests,
        bulk_nodes: args.bulk_nodes,
        time_scale: args.time_scale,
    };
    let figures = fleet::run(&settings).await?;
    let report = FleetReport {
        machine: Machine {
            cpus: Machine::cpus(),
            load_before,
            load_after: Machine::load(),
        },
        targets: FLEET_TARGETS,
        figures,
    };
    write_report(&args.out, &report)?;
    print!("{}", report::fleet_table(&report));
    println!("figures written to {}", args.out.display());
    Ok(())
}

fn write_report(out: &std::path::Path, report: &impl serde::Serialize) -> anyhow::Result<()> {
    let json = serde_json::to_string_pretty(report)? + "\n";
    std::fs::write(out, json).with_context(|| format!("write {}", out.display()))
}

async fn create(args: CreateArgs) -> anyhow::Result<()> {
    let load_before = Machine::load();
    let latency_settings = latency::Settings {
        clones: args.clones,
        warmup_per_node: args.warmup,
        nodes: args.nodes,
        time_scale: args.time_scale,
        cli_runs: args.cli_runs,
    };
    let mut paths = Vec::new();
    let measured_paths = if args.clones > 0 {
        &args.paths[..]
    } else {
        &[]
    };
    for path in measured_paths {
        eprintln!(
            "measuring the {} path: {} creates",
            path.label(),
            args.clones
        );
        let figures = latency::run(*path, &latency_settings)
            .await
            .with_context(|| format!("the {} path", path.label()))?;
        paths.push(figures);
    }
    let concurrent_settings = concurrent::Settings {
        creates: args.concurrent,
        nodes: args.concurrent_nodes,
        time_scale: args.time_scale,
        race_every: args.race_every,
    };
    let mut runs = Vec::new();
    if args.concurrent > 0 {
        for fault in concurrent::variants(&concurrent_settings) {
            eprintln!(
                "{} concurrent creates over {} nodes{}",
                args.concurrent,
                args.concurrent_nodes,
                fault.as_ref().map_or(String::new(), |f| format!(", {f:?}"))
            );
            runs.push(concurrent::run(&concurrent_settings, fault).await?);
        }
    }
    let report = CreateReport {
        machine: Machine {
            cpus: Machine::cpus(),
            load_before,
            load_after: Machine::load(),
        },
        targets: TARGETS,
        latency_settings,
        paths,
        concurrent_settings,
        concurrent: runs,
    };
    write_report(&args.out, &report)?;
    print!("{}", report::table(&report));
    println!("figures written to {}", args.out.display());
    Ok(())
}
