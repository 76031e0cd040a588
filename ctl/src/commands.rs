//! Runs a parsed command line: resolves the global flags into what each
//! command needs, then hands over to the resource's module.

mod audit;
mod config;
mod ct;
mod docs;
mod guest;
mod locate;
mod node;
mod operation;
mod pki;
mod placement;
mod remote;
mod submit;
mod task;
mod template;
mod update;
mod view;
mod vm;

use std::io::Write;
use std::path::{Path, PathBuf};

use crate::Error;
use crate::cli::{Cli, Command, GlobalArgs};
use crate::config::ConfigError;
use crate::confirm::Prompt;

/// Where a command reads from and writes to, so tests can run it in-process.
pub struct Io<'a> {
    /// Results: tables, JSON, YAML, names, confirmations of what changed.
    pub stdout: &'a mut dyn Write,
    /// Notes beside the results.
    pub stderr: &'a mut dyn Write,
    /// The terminal's width when stdout is a terminal; tables fit it.
    pub terminal_width: Option<usize>,
    /// Asks before destructive steps when `--yes` is not given.
    pub prompt: &'a mut dyn Prompt,
    /// `pvectl`'s user configuration directory (`~/.config/pvectl`), if known.
    pub config_dir: Option<PathBuf>,
    /// `pvectl`'s state directory (`~/.local/state/pvectl`), if known: where
    /// `audit verify` remembers the journal heads it saw.
    pub state_dir: Option<PathBuf>,
    /// Whether stderr is a terminal: progress is a bar there, lines otherwise.
    pub stderr_is_terminal: bool,
}

/// Runs `cli`; the error says what failed and maps to the exit code.
pub fn run(cli: Cli, io: &mut Io<'_>) -> Result<(), Error> {
    match cli.command {
        Command::Config(command) => config::run(command, &cli.global, io),
        Command::Pki(args) => pki::run(args, &cli.global, io),
        Command::Node(command) => node::run(command, &cli.global, io),
        Command::Template(command) => template::run(command, &cli.global, io),
        Command::Vm(command) => vm::run(command, &cli.global, io),
        Command::Ct(command) => ct::run(command, &cli.global, io),
        Command::Task(command) => task::run(command, &cli.global, io),
        Command::Audit(command) => audit::run(command, &cli.global, io),
        Command::Completion { shell } => docs::completion(shell, io),
        Command::Man { dir } => docs::man_pages(&dir, io),
    }
}

/// The config file: `--config` (or `PVECTL_CONFIG`), else the user's.
fn config_path(global: &GlobalArgs, io: &Io<'_>) -> Result<PathBuf, ConfigError> {
    match &global.config {
        Some(path) => Ok(absolute(path)),
        None => Ok(config_dir(io)?.join("config.toml")),
    }
}

/// `path` made absolute against the working directory, or as given when
/// that fails (an empty path is refused later, naming what it is).
fn absolute(path: &Path) -> PathBuf {
    std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf())
}

/// The user configuration directory, or why it is unknown.
fn config_dir(io: &Io<'_>) -> Result<PathBuf, ConfigError> {
    io.config_dir.clone().ok_or(ConfigError::NoHome)
}
