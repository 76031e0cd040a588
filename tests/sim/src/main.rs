//! `pve-sim`: run a simulated Proxmox VE cluster.
fn main() -> anyhow::Result<()> {
    Ok(())
}
