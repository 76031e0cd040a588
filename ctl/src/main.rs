//! `pvectl`: the command line.
use clap::Parser;

#[derive(Parser)]
#[command(
    name = "pvectl",
    version,
    about = "Manage Proxmox VE clusters through their pvectl agents"
)]
struct Cli {}

fn main() -> anyhow::Result<()> {
    let _cli = Cli::parse();
    Ok(())
}
