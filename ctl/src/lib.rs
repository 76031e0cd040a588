//! `pvectl`, the command line, as a library: `main` only parses, runs and
//! exits; everything else lives here, where tests can drive it.

pub mod channel;
pub mod cli;
pub mod cluster;
pub mod config;
pub mod confirm;
pub mod duration;
pub mod files;
pub mod guest_names;
pub mod guest_specs;
pub mod heads;
pub mod output;
pub mod pki;
pub mod progress;
pub mod remote;
pub mod selector;

mod commands;
mod error;

pub use commands::{Io, run};
pub use error::{CommandError, Error, ExitStatus};
