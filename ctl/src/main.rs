//! `pvectl`'s entry point: parse the command line, run it, turn the outcome
//! into an exit code. The only place that exits.

use std::io::{IsTerminal, Write};
use std::process::ExitCode;

use clap::Parser;
use pvectl::cli::Cli;
use pvectl::config::user_config_dir;
use pvectl::confirm::TerminalPrompt;
use pvectl::heads::user_state_dir;
use pvectl::{ExitStatus, Io};

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(error) => {
            // Help and version go to stdout with 0, usage errors to stderr with 2.
            let _ = error.print();
            return ExitCode::from(u8::try_from(error.exit_code()).unwrap_or(2));
        }
    };
    let stdout = std::io::stdout();
    let terminal_width = if stdout.is_terminal() {
        terminal_size::terminal_size_of(&stdout).map(|(width, _)| usize::from(width.0))
    } else {
        None
    };
    let mut stdout = stdout.lock();
    let mut stderr = std::io::stderr().lock();
    let mut prompt = TerminalPrompt;
    let config_dir = user_config_dir(
        std::env::var_os("XDG_CONFIG_HOME"),
        std::env::var_os("HOME"),
    )
    .ok();
    let state_dir =
        user_state_dir(std::env::var_os("XDG_STATE_HOME"), std::env::var_os("HOME")).ok();
    let stderr_is_terminal = std::io::stderr().is_terminal();
    let mut io = Io {
        stdout: &mut stdout,
        stderr: &mut stderr,
        terminal_width,
        prompt: &mut prompt,
        config_dir,
        state_dir,
        stderr_is_terminal,
    };
    let result = pvectl::run(cli, &mut io);
    let flushed = stdout.flush();
    match (result, flushed) {
        (Ok(()), Ok(())) => ExitCode::from(ExitStatus::Success.code()),
        (Ok(()), Err(error)) => {
            let _ = writeln!(stderr, "error: cannot write the output: {error}");
            ExitCode::from(ExitStatus::Failed.code())
        }
        (Err(error), _) => {
            let _ = writeln!(stderr, "error: {error}");
            ExitCode::from(error.exit_status().code())
        }
    }
}
