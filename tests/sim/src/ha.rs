//! The HA stack's files as pve-ha-manager keeps them: `ha/resources.cfg`
//! (the state `ha-manager set --state` last requested, written on the node
//! that asked) and `ha/manager_status` (the state the CRM put each service
//! in, written by the CRM master). `/cluster/resources` reads its `hastate`
//! from the second, else the first, as pve-manager does.
use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde_json::json;

use crate::model::{Guest, SimRef};
use crate::pmxcfs::{FsError, GuestType};

/// The HA service id: `vm:101`, `ct:102`.
pub fn sid(kind: GuestType, vmid: u32) -> String {
    let prefix = match kind {
        GuestType::Qemu => "vm",
        GuestType::Lxc => "ct",
    };
    format!("{prefix}:{vmid}")
}

/// `ha/resources.cfg` in PVE's section-config format, by service id.
pub fn resources_cfg<'a>(guests: impl Iterator<Item = &'a Guest>) -> String {
    let mut sections = BTreeMap::new();
    for guest in guests {
        if let Some(ha) = &guest.ha {
            sections.insert(sid(guest.kind, guest.vmid), ha.requested);
        }
    }
    let mut out = String::new();
    for (sid, state) in sections {
        let (kind, id) = sid.split_once(':').unwrap_or((&sid, ""));
        if !out.is_empty() {
            out.push('\n');
        }
        let _ = write!(out, "{kind}: {id}\n\tstate {state}\n");
    }
    out
}

/// `ha/manager_status` as the CRM writes it (JSON on one line).
pub fn manager_status<'a>(
    master: &str,
    nodes: &[(String, bool)],
    guests: impl Iterator<Item = &'a Guest>,
    timestamp: i64,
) -> String {
    let node_status: serde_json::Map<String, serde_json::Value> = nodes
        .iter()
        .map(|(name, online)| {
            let status = if *online { "online" } else { "unknown" };
            (name.clone(), json!(status))
        })
        .collect();
    let mut service_status = serde_json::Map::new();
    for guest in guests {
        if let Some(ha) = &guest.ha {
            service_status.insert(
                sid(guest.kind, guest.vmid),
                json!({
                    "node": guest.node,
                    "state": ha.crm,
                    "uid": format!("{:08x}{:06x}", timestamp, guest.vmid),
                }),
            );
        }
    }
    json!({
        "master_node": master,
        "node_status": node_status,
        "service_status": service_status,
        "timestamp": timestamp,
    })
    .to_string()
}

/// Writes `ha/resources.cfg` from the model through `via`'s view (the node
/// where `ha-manager` ran).
pub fn write_resources(sim: &SimRef, via: &str) -> Result<(), FsError> {
    let (text, pid) = {
        let mut st = sim.state();
        (resources_cfg(st.guests.values()), st.next_pid())
    };
    sim.fs
        .write_file(via, "ha/resources.cfg", text.as_bytes(), pid)
}

/// Writes `ha/manager_status` from the model through the CRM master's view
/// (the first node that is up).
pub fn write_manager_status(sim: &SimRef) -> Result<(), FsError> {
    let now = sim.clock.epoch_now();
    let (master, text, pid) = {
        let mut st = sim.state();
        let nodes: Vec<(String, bool)> = st
            .nodes
            .iter()
            .map(|n| (n.name.clone(), !st.faults.node_down(&n.name)))
            .collect();
        let master = nodes
            .iter()
            .find(|(_, online)| *online)
            .or(nodes.first())
            .map(|(name, _)| name.clone())
            .unwrap_or_default();
        let text = manager_status(&master, &nodes, st.guests.values(), now);
        (master, text, st.next_pid())
    };
    sim.fs
        .write_file(&master, "ha/manager_status", text.as_bytes(), pid)
}

/// Both files, after a guest joined or left the HA stack.
pub fn write_all(sim: &SimRef, via: &str) -> Result<(), FsError> {
    write_resources(sim, via)?;
    write_manager_status(sim)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::guest_config::GuestConfig;
    use crate::model::{HaResource, RunState};

    fn guest(vmid: u32, kind: GuestType, ha: Option<HaResource>) -> Guest {
        let mut guest = Guest::new(vmid, "pve1", kind, GuestConfig::default());
        guest.ha = ha;
        guest
    }

    #[test]
    fn resources_cfg_lists_each_service_in_section_config_format() {
        let guests = [
            guest(
                102,
                GuestType::Lxc,
                Some(HaResource::matching(RunState::Stopped)),
            ),
            guest(
                101,
                GuestType::Qemu,
                Some(HaResource::matching(RunState::Running)),
            ),
            guest(100, GuestType::Qemu, None),
        ];
        assert_eq!(
            resources_cfg(guests.iter()),
            "ct: 102\n\tstate stopped\n\nvm: 101\n\tstate started\n"
        );
    }

    #[test]
    fn manager_status_holds_the_crm_state_of_each_service() {
        let requested = HaResource {
            requested: "stopped",
            crm: "started",
        };
        let guests = [guest(101, GuestType::Qemu, Some(requested))];
        let nodes = [("pve1".to_string(), true), ("pve2".to_string(), false)];
        let text = manager_status("pve1", &nodes, guests.iter(), 1_700_000_000);
        let status: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(status["master_node"], "pve1");
        assert_eq!(status["node_status"]["pve2"], "unknown");
        assert_eq!(status["service_status"]["vm:101"]["state"], "started");
        assert_eq!(status["service_status"]["vm:101"]["node"], "pve1");
    }
}
