//! `pvectl`, the command line, as a library: `main` only parses, runs and
//! exits; everything else lives here, where tests can drive it.

pub mod channel;
pub mod cli;
pub mod config;
pub mod confirm;
pub mod duration;
pub mod files;
pub mod output;
pub mod pki;

mod commands;
mod error;

pub use commands::{Io, run};
pub use error::{Error, ExitStatus};
