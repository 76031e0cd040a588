//! `pvectl-agent`: the node agent. `run` serves; `check` tests every
//! dependency and says what to fix. Only this file exits the process.
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Result;
use clap::{Parser, Subcommand};
use pvectl_agent::check;
use pvectl_agent::config::{AgentConfig, DEFAULT_CONFIG_PATH};
use pvectl_agent::context::AgentCtx;
use pvectl_agent::create::resume;
use pvectl_agent::guests::LiveView;
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
    /// Write the man page (pvectl-agent.1 and one per subcommand) into DIR.
    #[command(hide = true)]
    Man {
        /// Directory to write the pages into (created if missing).
        #[arg(long, value_name = "DIR")]
        dir: PathBuf,
    },
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
        Command::Man { ref dir } => write_man_pages(dir),
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

/// The man pages, generated from the clap definitions above.
fn write_man_pages(dir: &std::path::Path) -> Result<()> {
    use anyhow::Context as _;
    use clap::CommandFactory as _;
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    clap_mangen::generate_to(Cli::command(), dir)
        .with_context(|| format!("cannot write the man pages into {}", dir.display()))
}

async fn run(config_path: &std::path::Path) -> Result<()> {
    let config = AgentConfig::load(config_path)?;
    let tls = server::tls_config(&config.tls)?;
    let grace = config.timeouts.shutdown_grace;
    let roles = config.roles.clone();
    let listen = config.listen;
    let ctx = Arc::new(AgentCtx::from_config(config)?);
    for report in resume::resume_in_flight(&ctx).await {
        tracing::info!(operation = %report.id, resumed = report.resumed, reason = %report.reason, "operation in flight at the last stop");
    }
    LiveView::keep_current(Arc::clone(&ctx));
    let listener = server::bind(listen).await?;
    let service = AgentService::new(Arc::clone(&ctx));
    tracing::info!(node = %ctx.node, addr = %listener.local_addr()?, api_only = ctx.source.is_api_only(), "pvectl-agent ready");
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
