//! The pvectl node agent as a library: config, journal and PVE API client,
//! used by the `pvectl-agent` binary and by tests.

pub mod config;
