//! `pvectl-agent` as a library, so the binary and the tests share the agent's building blocks.

pub mod actions;
pub mod authz;
pub mod check;
pub mod cluster;
pub mod config;
pub mod context;
pub mod create;
pub mod error;
pub mod guests;
pub mod journal;
pub mod operations;
pub mod pmxcfs;
pub mod pve_api;
pub mod server;
pub mod service;
pub mod task_wait;
pub mod tasks;
pub mod templates;
pub mod tls_pair;
pub mod update;
pub mod watch;
