//! pve-sim: a simulated Proxmox VE cluster.

pub mod guest_config;
pub mod pmxcfs;
pub mod tasks;
