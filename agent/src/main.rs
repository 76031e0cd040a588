//! `pvectl-agent`: the node agent. `run` serves; `check` tests every
//! dependency and says what to fix. Only this file exits the process.
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{Context, Result};
use clap::{Parser, Subcommand};
use pvectl_agent::check;
use pvectl_agent::cluster::Source;
use pvectl_agent::config::{AgentConfig, DEFAULT_CONFIG_PATH};
use pvectl_agent::context::AgentCtx;
use pvectl_agent::journal::Journal;
use pvectl_agent::pmxcfs::Members;
use pvectl_agent::pve_api::PveClient;
use pvectl_agent::server;
use pvectl_agent::service::AgentService;

#[derive(Parser)]
#[command(
    name = "pvectl-agent",
    version,
    about = "The pvectl node agent: serves pvectl over mTLS gRPC on a Proxmox VE node"
)]
struct Cli {
    /// The agent config.
    #[arg(long, global = true, env = "PVECTL_AGENT_CONFIG", default_value = DEFAULT_CONFIG_PATH)]
    config: PathBuf,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serve until SIGTERM or SIGINT.
    Run,
    /// Check the config and every dependency; say what to fix.
    Check,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(err) => {
            eprintln!("error: cannot start the runtime: {err}");
            return ExitCode::FAILURE;
        }
    };
    let result = match cli.command {
        Command::Run => runtime.block_on(run(&cli.config)),
        Command::Check => runtime.block_on(async {
            let report = check::run(&cli.config).await;
            print!("{report}");
            if report.all_passed() {
                Ok(())
            } else {
                anyhow::bail!("{} check(s) failed", report.failures())
            }
        }),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {err:#}");
            // 64 (EX_USAGE-like) for a config that cannot be used, as daemons do
            if err
                .downcast_ref::<pvectl_agent::config::ConfigError>()
                .is_some()
            {
                ExitCode::from(64)
            } else {
                ExitCode::FAILURE
            }
        }
    }
}

async fn run(config_path: &std::path::Path) -> Result<()> {
    let config = AgentConfig::load(config_path)?;
    let source = Source::detect(&config.pmxcfs_root);
    let members_nodename = match &source {
        Source::Pmxcfs(root) => {
            let bytes = std::fs::read(root.join(".members")).context("read .members")?;
            Some(Members::parse(&bytes).context("parse .members")?.nodename)
        }
        Source::ApiOnly => None,
    };
    let hostname = nix::unistd::gethostname()
        .ok()
        .and_then(|h| h.into_string().ok());
    let node = config.resolve_node_name(members_nodename.as_deref(), hostname.as_deref())?;
    let pve = PveClient::from_config(&config).context("set up the PVE API client")?;
    let journal = Journal::open(&config.journal_path)
        .with_context(|| format!("open the journal {}", config.journal_path.display()))?;
    if let Some(torn) = journal.torn_tail() {
        tracing::warn!(
            ?torn,
            "the journal's last line was torn by a crash and has been cut off"
        );
    }
    let tls = server::tls_config(&config.tls)?;
    let listener = server::bind(config.listen).await?;
    let grace = config.timeouts.shutdown_grace;
    let roles = config.roles.clone();
    let ctx = Arc::new(AgentCtx {
        config,
        node: node.clone(),
        source,
        pve,
        journal,
    });
    let service = AgentService::new(Arc::clone(&ctx));
    tracing::info!(%node, addr = %listener.local_addr()?, api_only = ctx.source.is_api_only(), "pvectl-agent ready");
    server::notify_systemd("READY=1");
    server::serve(listener, tls, roles, service, shutdown_signal(), grace).await?;
    server::notify_systemd("STOPPING=1");
    tracing::info!("pvectl-agent stopped");
    Ok(())
}

async fn shutdown_signal() {
    use tokio::signal::unix::{SignalKind, signal};
    match signal(SignalKind::terminate()) {
        Ok(mut term) => {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = term.recv() => {}
            }
        }
        Err(err) => {
            tracing::warn!(%err, "cannot listen for SIGTERM; only SIGINT stops the agent");
            let _ = tokio::signal::ctrl_c().await;
        }
    }
    tracing::info!("shutting down: no new calls, draining running ones");
}
