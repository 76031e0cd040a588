//! Guests created "by someone else" — another admin, another tool — used to
//! make the simulator's VMID races happen on demand.
use crate::guest_config::GuestConfig;
use crate::model::{Guest, SimRef};
use crate::pmxcfs::GuestType;

/// Creates a small stopped VM `vmid` on `node` unless the id is taken.
pub fn take_vmid(sim: &SimRef, node: &str, vmid: u32) {
    let mut config = GuestConfig::default();
    config
        .props
        .insert("name".into(), format!("foreign-{vmid}"));
    config.props.insert("memory".into(), "512".into());
    let text = config.render(GuestType::Qemu);
    if sim
        .fs
        .create_guest_config_exclusive(node, node, GuestType::Qemu, vmid, &text)
        .is_ok()
    {
        sim.state()
            .guests
            .insert(vmid, Guest::new(vmid, node, GuestType::Qemu, config));
    }
}
