//! `pvectl-agent`: the node agent.
use clap::Parser;

#[derive(Parser)]
#[command(name = "pvectl-agent", version, about = "The pvectl node agent")]
struct Cli {}

fn main() -> anyhow::Result<()> {
    let _cli = Cli::parse();
    Ok(())
}
