//! `pvectl-agent` as a library, so the binary and the tests share the agent's building blocks.

pub mod pmxcfs;
pub mod watch;
