//! `pvectl-agent` as a library, so the binary and the tests share the agent's building blocks.

pub mod authz;
pub mod check;
pub mod cluster;
pub mod config;
pub mod context;
pub mod error;
pub mod journal;
pub mod pmxcfs;
pub mod pve_api;
pub mod server;
pub mod service;
pub mod tls_pair;
pub mod watch;
