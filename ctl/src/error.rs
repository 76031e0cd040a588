//! Every failure a command can end in, and the one mapping from failures to
//! DESIGN's exit codes.

use crate::config::ConfigError;
use crate::confirm::ConfirmError;
use crate::files::FileError;
use crate::output::OutputError;
use crate::pki::PkiError;

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
            Error::Output(_) => ExitStatus::Failed,
        }
    }
}

fn file_status(error: &FileError) -> ExitStatus {
    match error {
        FileError::Exists { .. } => ExitStatus::Refused,
        FileError::Io { .. } => ExitStatus::Failed,
    }
}
