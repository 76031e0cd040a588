//! Every failure a command can end in, and the one mapping from failures to
//! DESIGN's exit codes.

use crate::channel::ChannelError;
use crate::cluster::routing::RouteError;
use crate::config::ConfigError;
use crate::confirm::ConfirmError;
use crate::files::FileError;
use crate::heads::HeadsError;
use crate::output::OutputError;
use crate::pki::PkiError;
use crate::remote::{RemoteError, list};

/// `pvectl`'s exit codes (DESIGN "The rest of the command line").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExitStatus {
    Success = 0,
    /// The operation failed.
    Failed = 1,
    /// The command line was wrong.
    Usage = 2,
    /// Some nodes or guests failed, the rest succeeded.
    Partial = 3,
    /// What the command names does not exist.
    NotFound = 4,
    /// A safety check refused the operation.
    Refused = 5,
}

impl ExitStatus {
    pub fn code(self) -> u8 {
        self as u8
    }
}

/// Why a command failed.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error(transparent)]
    Pki(#[from] PkiError),
    #[error(transparent)]
    File(#[from] FileError),
    #[error(transparent)]
    Confirm(#[from] ConfirmError),
    #[error(transparent)]
    Output(#[from] OutputError),
    /// The context's certificates could not be loaded.
    #[error(transparent)]
    Channel(#[from] ChannelError),
    /// Talking to an agent failed, or the agent refused.
    #[error(transparent)]
    Remote(#[from] RemoteError),
    #[error(transparent)]
    Route(#[from] RouteError),
    #[error(transparent)]
    Heads(#[from] HeadsError),
    #[error(transparent)]
    Command(#[from] CommandError),
    #[error("cannot start the async runtime: {0}")]
    Runtime(std::io::Error),
}

/// Outcomes of commands over several agents that are failures as a whole.
#[derive(Debug, thiserror::Error)]
pub enum CommandError {
    #[error(
        "no template {template:?}{}; templates that exist: {}{}",
        node.as_ref().map(|node| format!(" in the range of node {node}")).unwrap_or_default(),
        list(existing),
        not_asked(unreachable)
    )]
    TemplateNotFound {
        template: String,
        node: Option<String>,
        /// `name (vmid on node)` of every template found.
        existing: Vec<String>,
        /// Nodes that could not be asked.
        unreachable: Vec<String>,
    },
    #[error(
        "template {template} on node {node} fails validation with {errors} error(s): nothing was cloned"
    )]
    ValidationFailed {
        template: String,
        node: String,
        errors: usize,
    },
    #[error("incomplete: no answer from node(s) {} (see the warnings above)", nodes.join(", "))]
    Partial { nodes: Vec<String> },
    #[error("journal verification failed:\n  {}", breaks.join("\n  "))]
    JournalBroken {
        /// One line per broken node, naming it and the seq.
        breaks: Vec<String>,
    },
    #[error(
        "node {node}: the events of operation {operation_id} stopped before it finished ({reason}); \
         re-attach with `pvectl task watch {operation_id}`"
    )]
    StreamEnded {
        node: String,
        operation_id: String,
        reason: String,
    },
    #[error("node {node}: the agent ended the create without any event")]
    NoEvents { node: String },
    #[error("guest {vmid} is {actual}, not {wanted}: use `pvectl {resource} {verb} {vmid}`")]
    WrongKind {
        vmid: u32,
        /// What it is (`a container`).
        actual: &'static str,
        /// What the command acts on (`a VM`).
        wanted: &'static str,
        /// The resource that acts on it (`ct`).
        resource: &'static str,
        verb: &'static str,
    },
    #[error(
        "no {noun} {} on any node{}",
        vmids.iter().map(u32::to_string).collect::<Vec<_>>().join(", "),
        not_asked(unreachable)
    )]
    GuestsNotFound {
        /// `VM` or `container`.
        noun: &'static str,
        vmids: Vec<u32>,
        unreachable: Vec<String>,
    },
    #[error("{}", not_all_done(noun, *failed, *total, unreachable))]
    NotAllDone {
        /// `VM` or `container`.
        noun: &'static str,
        failed: usize,
        total: usize,
        /// Nodes that did not answer the selection: their guests were not acted on.
        unreachable: Vec<String>,
        /// What the failures together call for.
        exit: ExitStatus,
    },
    #[error("no operation {operation_id:?} on any node{}", not_asked(unreachable))]
    OperationNotFound {
        operation_id: String,
        unreachable: Vec<String>,
    },
    #[error("node {node}: task {upid} failed: {status}")]
    TaskFailed {
        node: String,
        upid: String,
        status: String,
    },
    #[error(
        "node {node}: the log of {task} stopped before the task ended ({reason}); \
         follow it again with `pvectl task logs -f {task}`"
    )]
    LogEnded {
        node: String,
        task: String,
        reason: String,
    },
    #[error(
        "nothing to update: give --cores, --memory, --name, --tag, --description, --set KEY=VALUE \
         or --delete KEY (see `pvectl {command} update --help`)"
    )]
    NothingToUpdate { command: &'static str },
    #[error(
        "the config of {guest} changed after it was read ({}); nothing was changed: \
         re-run the command to update the config as it is now",
        if changes.is_empty() { "another change was written first".to_owned() } else { changes.join(", ") }
    )]
    ConfigChanged {
        /// `VM 101`, `container 112`.
        guest: String,
        /// `cores: 2 → 6`, one per key that changed meanwhile; empty when
        /// they could not be read.
        changes: Vec<String>,
    },
    /// Input beside the arguments (a file, a prompt) that cannot be used.
    #[error("{message}")]
    Usage { message: String },
}

/// `2 of 5 VM(s) not done (see the lines above); no answer from node(s) pve2: …`.
fn not_all_done(noun: &str, failed: usize, total: usize, silent: &[String]) -> String {
    let mut parts = Vec::new();
    if failed > 0 {
        parts.push(format!(
            "{failed} of {total} {noun}(s) not done (see the lines above)"
        ));
    }
    if !silent.is_empty() {
        parts.push(format!(
            "no answer from node(s) {}: their guests were not acted on",
            silent.join(", ")
        ));
    }
    parts.join("; ")
}

fn not_asked(nodes: &[String]) -> String {
    if nodes.is_empty() {
        String::new()
    } else {
        format!(" (not asked, no answer: {})", nodes.join(", "))
    }
}

impl CommandError {
    pub fn exit_status(&self) -> ExitStatus {
        match self {
            CommandError::TemplateNotFound { unreachable, .. }
            | CommandError::GuestsNotFound { unreachable, .. }
            | CommandError::OperationNotFound { unreachable, .. } => {
                if unreachable.is_empty() {
                    ExitStatus::NotFound
                } else {
                    ExitStatus::Partial
                }
            }
            CommandError::ValidationFailed { .. } | CommandError::ConfigChanged { .. } => {
                ExitStatus::Refused
            }
            CommandError::NothingToUpdate { .. } => ExitStatus::Usage,
            CommandError::WrongKind { .. } => ExitStatus::NotFound,
            CommandError::Usage { .. } => ExitStatus::Usage,
            CommandError::Partial { .. } => ExitStatus::Partial,
            CommandError::NotAllDone { exit, .. } => *exit,
            CommandError::JournalBroken { .. }
            | CommandError::StreamEnded { .. }
            | CommandError::NoEvents { .. }
            | CommandError::TaskFailed { .. }
            | CommandError::LogEnded { .. } => ExitStatus::Failed,
        }
    }
}

impl Error {
    /// The exit code this failure ends `pvectl` with.
    pub fn exit_status(&self) -> ExitStatus {
        match self {
            Error::Config(error) => match error {
                ConfigError::Missing { .. } | ConfigError::UnknownContext { .. } => {
                    ExitStatus::NotFound
                }
                ConfigError::Incomplete { .. } | ConfigError::NoCurrentContext { .. } => {
                    ExitStatus::Usage
                }
                ConfigError::Write(error) => file_status(error),
                _ => ExitStatus::Failed,
            },
            Error::Pki(error) => match error {
                PkiError::NoCa { .. } => ExitStatus::NotFound,
                PkiError::OutlivesCa { .. } | PkiError::TooLong { .. } | PkiError::Name(_) => {
                    ExitStatus::Usage
                }
                _ => ExitStatus::Failed,
            },
            Error::File(error) => file_status(error),
            Error::Confirm(error) => match error {
                ConfirmError::Declined { .. } | ConfirmError::NoTerminal { .. } => {
                    ExitStatus::Refused
                }
                ConfirmError::Io(_) => ExitStatus::Failed,
            },
            Error::Output(_) | Error::Channel(_) | Error::Heads(_) | Error::Runtime(_) => {
                ExitStatus::Failed
            }
            Error::Remote(error) => error.exit_status(),
            Error::Route(_) => ExitStatus::Usage,
            Error::Command(error) => error.exit_status(),
        }
    }
}

fn file_status(error: &FileError) -> ExitStatus {
    match error {
        FileError::Exists { .. } => ExitStatus::Refused,
        FileError::Io { .. } => ExitStatus::Failed,
    }
}
