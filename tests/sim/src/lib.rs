//! pve-sim: a simulated Proxmox VE cluster that real PVE API clients cannot
//! tell apart on the paths pvectl uses — REST API over HTTPS on each node's
//! loopback address, a pmxcfs-like tree with per-node views, task logs, and
//! faults on demand. See `ARCHITECTURE.md` at the repository root.

pub mod agents;
pub mod api;
pub mod client;
pub mod clock;
pub mod cluster;
pub mod control;
pub mod demo;
pub mod drives;
pub mod faults;
pub mod guest_config;
pub mod ha;
pub mod https;
pub mod model;
pub mod ops;
pub mod params;
pub mod pki;
pub mod pmxcfs;
pub mod routes;
pub mod sandbox;
pub mod seed;
pub mod storage;
pub mod tasks;

pub use cluster::{SimBuilder, SimCluster, StartError};
pub use faults::{Fault, RaceShape};
