//! pve-sim: a simulated Proxmox VE cluster.
