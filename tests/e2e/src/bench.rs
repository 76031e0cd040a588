//! The benchmarks behind `pvectl-bench`: DESIGN.md's "Numbers to reach",
//! measured against pve-sim with the real `pvectl-agent` processes. One
//! module per benchmark; the rest is the sandbox, the timed client and the
//! report they share.
pub mod client;
pub mod concurrent;
pub mod fleet;
pub mod latency;
pub mod report;
pub mod sandbox;
pub mod stats;
