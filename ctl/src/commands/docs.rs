//! `pvectl completion SHELL` and `pvectl man --dir DIR`: both are
//! generated from the clap definitions, so they never drift from the parser.

use std::path::Path;

use clap::CommandFactory;
use clap_complete::Shell;

use super::Io;
use crate::Error;
use crate::cli::Cli;
use crate::files::{FileError, create_dir};
use crate::output::OutputError;

/// Writes the completion script for `shell` to stdout.
pub(super) fn completion(shell: Shell, io: &mut Io<'_>) -> Result<(), Error> {
    let mut command = Cli::command();
    let mut script = Vec::new();
    clap_complete::generate(shell, &mut command, "pvectl", &mut script);
    io.stdout.write_all(&script).map_err(OutputError::Write)?;
    Ok(())
}

/// Writes `pvectl.1` and a page per subcommand (`pvectl-vm-create.1`, …)
/// into `dir`, then names the directory on stdout.
pub(super) fn man_pages(dir: &Path, io: &mut Io<'_>) -> Result<(), Error> {
    create_dir(dir)?;
    clap_mangen::generate_to(Cli::command(), dir).map_err(|source| FileError::Io {
        action: "write the man pages into",
        path: dir.to_path_buf(),
        source,
    })?;
    writeln!(io.stdout, "{}", dir.display()).map_err(OutputError::Write)?;
    Ok(())
}
