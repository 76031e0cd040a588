//! `pve-sim`: run a simulated Proxmox VE cluster (`up`), or change the faults
//! of a running one (`fault`).
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use clap::{Parser, Subcommand};
use pve_sim::SimCluster;
use pve_sim::agents::AgentFleet;
use pve_sim::pmxcfs::ViewMode;
use pve_sim::sandbox::Sandbox;

#[derive(Parser)]
#[command(
    name = "pve-sim",
    version,
    about = "A simulated Proxmox VE cluster for tests, benchmarks and trying pvectl"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Start a cluster and keep it running until interrupted (SIGINT/SIGTERM).
    Up(UpArgs),
    /// Show, add or clear faults of a running sandbox.
    Fault(FaultArgs),
    /// Start a 3-node cluster with agents and run the headline flows through
    /// the real pvectl; exits 0 only if every step did what it should.
    Demo(DemoArgs),
}

#[derive(clap::Args)]
struct DemoArgs {
    /// Keep the sandbox here (default: a temporary directory, removed after).
    #[arg(long)]
    dir: Option<PathBuf>,
    /// Real seconds per simulated second.
    #[arg(long, default_value_t = 0.05)]
    time_scale: f64,
}

#[derive(clap::Args)]
struct UpArgs {
    /// Number of nodes (pve1..pveN, corosync ids 1..N).
    #[arg(long, default_value_t = 3)]
    nodes: u32,
    /// Explicit corosync node ids, comma separated (overrides --nodes).
    #[arg(long, value_delimiter = ',')]
    node_ids: Vec<u32>,
    /// Sandbox directory (pmxcfs tree, task logs, sandbox.json).
    #[arg(long)]
    dir: PathBuf,
    /// root@pam password (default: derived from --seed).
    #[arg(long)]
    password: Option<String>,
    /// API port on every node's address.
    #[arg(long, default_value_t = 8006)]
    port: u16,
    /// Real seconds per simulated second.
    #[arg(long, default_value_t = 1.0)]
    time_scale: f64,
    /// Seed for every generated value.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Seconds a fresh guest stays `unknown` in /cluster/resources.
    #[arg(long, default_value_t = 10.0)]
    resources_lag: f64,
    /// Per-node pmxcfs views: auto (FUSE when available), fuse, shared.
    #[arg(long, default_value = "auto", value_parser = parse_view_mode)]
    views: ViewMode,
    /// Do not start a pvectl-agent per node (the API alone).
    #[arg(long)]
    no_agents: bool,
    /// Port every node's agent listens on (0 = one free on every address).
    #[arg(long, default_value_t = 8446)]
    agent_port: u16,
}

#[derive(clap::Args)]
struct FaultArgs {
    /// Sandbox directory of the running cluster.
    #[arg(long)]
    dir: PathBuf,
    #[command(subcommand)]
    action: FaultAction,
}

#[derive(Subcommand)]
enum FaultAction {
    /// List active faults.
    List,
    /// Add a fault: KIND then key=value pairs, e.g. `slow_clone vmid=9100 seconds=30`.
    Add { kind: String, fields: Vec<String> },
    /// Remove every fault.
    Clear,
}

fn parse_view_mode(text: &str) -> Result<ViewMode, String> {
    match text {
        "auto" => Ok(ViewMode::Auto),
        "fuse" => Ok(ViewMode::Fuse),
        "shared" => Ok(ViewMode::Shared),
        other => Err(format!("unknown view mode '{other}' (auto, fuse, shared)")),
    }
}

fn main() -> Result<()> {
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "warn".into()),
        )
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
    let runtime = tokio::runtime::Runtime::new().context("start the tokio runtime")?;
    match cli.command {
        Command::Up(args) => runtime.block_on(up(args)),
        Command::Fault(args) => runtime.block_on(fault(args)),
        Command::Demo(args) => runtime.block_on(demo(args)),
    }
}

async fn up(args: UpArgs) -> Result<()> {
    let mut builder = SimCluster::builder()
        .dir(&args.dir)
        .port(args.port)
        .time_scale(args.time_scale)
        .seed(args.seed)
        .view_mode(args.views)
        .resources_lag(Duration::from_secs_f64(args.resources_lag.max(0.0)));
    builder = if args.node_ids.is_empty() {
        builder.nodes(args.nodes)
    } else {
        builder.node_ids(args.node_ids)
    };
    if let Some(password) = &args.password {
        builder = builder.password(password);
    }
    let mut cluster = builder
        .start()
        .await
        .context("start the simulated cluster")?;
    let mut fleet = if args.no_agents {
        None
    } else {
        let port = (args.agent_port != 0).then_some(args.agent_port);
        let fleet = AgentFleet::start(&mut cluster, port).await;
        Some(fleet.context("start the agents")?)
    };
    let path = cluster.write_sandbox().context("write sandbox.json")?;
    for node in &cluster.sandbox().nodes {
        let agent = node
            .agent
            .as_deref()
            .map(|a| format!(", agent {a}"))
            .unwrap_or_default();
        println!(
            "{} (id {}) https://{}:{}{agent}",
            node.name, node.id, node.address, node.port
        );
    }
    println!("sandbox: {}", path.display());
    if let Some(config) = &cluster.sandbox().pvectl_config {
        println!("export PVECTL_CONFIG={}", config.display());
    }
    wait_for_signal().await?;
    if let Some(fleet) = &mut fleet {
        fleet.shutdown().await;
    }
    cluster.shutdown().await;
    Ok(())
}

async fn demo(args: DemoArgs) -> Result<()> {
    let mut builder = SimCluster::builder().nodes(3).time_scale(args.time_scale);
    if let Some(dir) = &args.dir {
        builder = builder.dir(dir);
    }
    let mut cluster = builder
        .start()
        .await
        .context("start the simulated cluster")?;
    let mut fleet = AgentFleet::start(&mut cluster, None)
        .await
        .context("start the agents")?;
    cluster.write_sandbox().context("write sandbox.json")?;
    println!(
        "sandbox: {} (3 nodes, an agent on each)",
        cluster.dir().display()
    );
    let pvectl = pve_sim::demo::Pvectl::new(&fleet.pvectl_config)?;
    let steps = pve_sim::demo::run(&pvectl).await;
    let mut failed = false;
    for step in &steps {
        let mark = if step.ok { "ok  " } else { "FAIL" };
        println!("{mark} {}\n     $ {}", step.title, step.command);
        if !step.ok {
            failed = true;
            for line in step.detail.lines() {
                println!("     | {line}");
            }
        }
    }
    fleet.shutdown().await;
    cluster.shutdown().await;
    if failed {
        bail!("the demo failed");
    }
    println!("demo: all {} steps passed", steps.len());
    Ok(())
}

async fn wait_for_signal() -> Result<()> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut term = signal(SignalKind::terminate()).context("listen for SIGTERM")?;
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term.recv() => {}
    }
    Ok(())
}

/// `key=value` pairs to a JSON fault; numbers and null stay typed.
fn fault_json(kind: &str, fields: &[String]) -> Result<serde_json::Value> {
    let mut map = serde_json::Map::new();
    map.insert("kind".into(), kind.into());
    for field in fields {
        let Some((key, value)) = field.split_once('=') else {
            bail!("fault field '{field}' is not key=value");
        };
        let value = serde_json::from_str(value)
            .unwrap_or_else(|_| serde_json::Value::String(value.to_string()));
        map.insert(key.to_string(), value);
    }
    Ok(serde_json::Value::Object(map))
}

async fn fault(args: FaultArgs) -> Result<()> {
    let sandbox = Sandbox::read(&args.dir.join("sandbox.json"))
        .context("read sandbox.json (is `pve-sim up` running?)")?;
    let client = pve_sim::client::Client::for_sandbox(&sandbox)?;
    match args.action {
        FaultAction::List => println!("{}", client.control("GET", None).await?),
        FaultAction::Add { kind, fields } => {
            let body = fault_json(&kind, &fields)?;
            client.control("POST", Some(body)).await?;
        }
        FaultAction::Clear => {
            client.control("DELETE", None).await?;
        }
    }
    Ok(())
}
