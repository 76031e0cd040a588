//! The command line as clap parses it: `pvectl <resource> <verb>`, with the
//! global flags every command shares. Nothing here acts; `commands` does.

mod resources;
mod update;

use std::net::IpAddr;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use crate::channel::AgentAddress;
use crate::duration::{DurationError, parse_duration};
use crate::output::OutputFormat;
use crate::pki::{self, Role};

pub use resources::{
    AuditCommand, CtCommand, CtCreateArgs, GuestActionArgs, GuestDeleteArgs, GuestListArgs,
    GuestSelectArgs, GuestShutdownArgs, GuestStateArgs, GuestStopArgs, NodeCommand, PromoteArgs,
    ScratchVmArgs, TaskCommand, TaskListArgs, TemplateCommand, ValidateArgs, VmCommand,
    VmCreateArgs,
};
pub use update::GuestUpdateArgs;

/// Manage Proxmox VE clusters through their pvectl agents.
#[derive(Debug, Parser)]
#[command(
    name = "pvectl",
    version,
    max_term_width = 100,
    after_help = "Exit codes: 0 success, 1 operation failed, 2 usage error, 3 partial failure, \
                  4 not found, 5 refused by safety checks."
)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Command,
}

/// Flags accepted by every command.
#[derive(Debug, Clone, Args)]
#[command(next_help_heading = "Global options")]
pub struct GlobalArgs {
    /// Output format [default: the context's, else table]
    #[arg(short = 'o', long, global = true, value_enum, value_name = "FORMAT")]
    pub output: Option<OutputFormat>,
    /// Use this context instead of the current one
    #[arg(long, global = true, value_name = "NAME")]
    pub context: Option<String>,
    /// Config file [default: ~/.config/pvectl/config.toml]
    #[arg(long, global = true, env = "PVECTL_CONFIG", value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Answer yes to every confirmation
    #[arg(short = 'y', long, global = true)]
    pub yes: bool,
    /// Show what would change, change nothing
    #[arg(long, global = true)]
    pub dry_run: bool,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Contexts: which agent to ask, with which certificates
    #[command(subcommand)]
    Config(ConfigCommand),
    /// Certificates for mTLS between pvectl and the agents
    Pki(PkiArgs),
    /// Cluster members and their agents
    #[command(subcommand)]
    Node(NodeCommand),
    /// Templates in the node-specific ranges
    #[command(subcommand)]
    Template(TemplateCommand),
    /// Virtual machines
    #[command(subcommand)]
    Vm(VmCommand),
    /// Containers
    #[command(subcommand)]
    Ct(CtCommand),
    /// Operations the agents run
    #[command(subcommand)]
    Task(TaskCommand),
    /// The agents' hash-chained journals
    #[command(subcommand)]
    Audit(AuditCommand),
    /// Print a shell completion script
    #[command(after_help = "Install it, for example:\n  \
                  bash: pvectl completion bash > ~/.local/share/bash-completion/completions/pvectl\n  \
                  zsh:  pvectl completion zsh > \"${fpath[1]}/_pvectl\"\n  \
                  fish: pvectl completion fish > ~/.config/fish/completions/pvectl.fish")]
    Completion {
        /// The shell to complete in
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Write the man pages (pvectl.1 and one per subcommand) into DIR
    Man {
        /// Directory to write the pages into (created if missing)
        #[arg(long, value_name = "DIR")]
        dir: PathBuf,
    },
}

#[derive(Debug, Subcommand)]
pub enum ConfigCommand {
    /// Show the contexts (-o json|yaml for everything they hold)
    View,
    /// Make a context the current one
    UseContext {
        /// The context's name
        name: String,
    },
    /// Create a context or change some of its values
    SetContext(SetContextArgs),
}

#[derive(Debug, Args)]
pub struct SetContextArgs {
    /// The context's name
    pub name: String,
    /// Address of any agent of the cluster (host:port)
    #[arg(long, value_name = "HOST:PORT")]
    pub seed: Option<AgentAddress>,
    /// CA certificate that signed the agents' certificates
    #[arg(long, value_name = "FILE")]
    pub ca: Option<PathBuf>,
    /// This client's certificate
    #[arg(long, value_name = "FILE")]
    pub cert: Option<PathBuf>,
    /// This client's private key
    #[arg(long, value_name = "FILE")]
    pub key: Option<PathBuf>,
    /// Name the seed's certificate must hold, when not the seed's host
    #[arg(long, value_name = "NAME")]
    pub server_name: Option<String>,
    /// Output format when -o is not given
    #[arg(long, value_enum, value_name = "FORMAT")]
    pub default_output: Option<OutputFormat>,
    /// How long to wait for an agent to connect (e.g. 10s)
    #[arg(long, value_name = "DURATION", value_parser = duration_text)]
    pub timeout: Option<String>,
}

fn duration_text(text: &str) -> Result<String, DurationError> {
    parse_duration(text).map(|_| text.to_owned())
}

#[derive(Debug, Args)]
pub struct PkiArgs {
    /// Directory of the CA and certificates [default: ~/.config/pvectl/pki]
    #[arg(long, global = true, value_name = "DIR")]
    pub dir: Option<PathBuf>,
    #[command(subcommand)]
    pub command: PkiCommand,
}

#[derive(Debug, Subcommand)]
pub enum PkiCommand {
    /// Create the CA (ca.pem, ca.key)
    Init {
        /// Days the CA is valid
        #[arg(long, default_value_t = pki::DEFAULT_CA_DAYS, value_parser = clap::value_parser!(u32).range(1..))]
        days: u32,
        /// Replace an existing CA (every certificate it signed stops working)
        #[arg(long)]
        force: bool,
    },
    /// Issue an agent's server certificate (agent-NODE.pem, agent-NODE.key)
    IssueAgent {
        /// The node's name, as in .members
        #[arg(long, value_name = "NODE", value_parser = pki::node_name)]
        node: String,
        /// Address clients dial the agent at; repeat for more
        #[arg(long = "ip", value_name = "ADDRESS", required = true)]
        ips: Vec<IpAddr>,
        /// Further DNS name of the node; repeat for more
        #[arg(long = "dns", value_name = "NAME", value_parser = pki::dns_name)]
        dns_names: Vec<String>,
        /// Days the certificate is valid
        #[arg(long, default_value_t = pki::DEFAULT_LEAF_DAYS, value_parser = clap::value_parser!(u32).range(1..))]
        days: u32,
        /// Replace existing files
        #[arg(long)]
        force: bool,
    },
    /// Issue a client certificate (client-NAME.pem, client-NAME.key)
    IssueClient {
        /// The client's name: the certificate's CN, which agents map to a role
        #[arg(long, value_name = "NAME", value_parser = pki::client_name)]
        name: String,
        /// The role the certificate is issued for, written into its OU
        #[arg(long, value_enum)]
        role: Role,
        /// Days the certificate is valid
        #[arg(long, default_value_t = pki::DEFAULT_LEAF_DAYS, value_parser = clap::value_parser!(u32).range(1..))]
        days: u32,
        /// Replace existing files
        #[arg(long)]
        force: bool,
    },
}
