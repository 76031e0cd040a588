//! pve-sim: a simulated Proxmox VE cluster.

pub mod api;
pub mod https;
pub mod pki;
