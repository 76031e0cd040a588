//! The HA stack's view of guests: `ha/resources.cfg` (section config: which
//! guests are HA resources and the state last requested for each) and
//! `ha/manager_status` (JSON: the state the CRM put each service in). A
//! guest's HA state is read as pve-manager reads `hastate` for
//! `/cluster/resources`: the CRM's state when the manager status has the
//! service, else the requested state (`started` when not written, the
//! schema's default).

use std::collections::BTreeMap;

use serde_json::Value;

use super::GuestKind;
use super::text::{is_blank, is_perl_space, trim_perl};

/// The HA state of every HA resource, by service id (`vm:101`, `ct:102`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HaStates {
    by_sid: BTreeMap<String, String>,
}

/// The HA service id of a guest: `vm:101`, `ct:102`.
pub fn service_id(kind: GuestKind, vmid: u32) -> String {
    let prefix = match kind {
        GuestKind::Qemu => "vm",
        GuestKind::Lxc => "ct",
    };
    format!("{prefix}:{vmid}")
}

impl HaStates {
    /// The states from the two files' bytes, each `None` when absent. A
    /// manager status that is not JSON reads as absent (PVE's readers
    /// treat it the same way); lines of resources.cfg that fit no section
    /// are skipped.
    pub fn parse(resources_cfg: Option<&[u8]>, manager_status: Option<&[u8]>) -> HaStates {
        let mut by_sid = resources_cfg.map(requested_states).unwrap_or_default();
        let services = manager_status
            .and_then(|bytes| serde_json::from_slice::<Value>(bytes).ok())
            .and_then(|status| status.get("service_status").cloned());
        if let Some(Value::Object(services)) = services {
            for (sid, service) in services {
                if let Some(state) = service.get("state").and_then(Value::as_str) {
                    by_sid.insert(sid, state.to_owned());
                }
            }
        }
        HaStates { by_sid }
    }

    /// States taken from `/cluster/resources` (`hastate`), API-only mode.
    pub fn from_pairs(pairs: impl IntoIterator<Item = (String, String)>) -> HaStates {
        HaStates {
            by_sid: pairs.into_iter().collect(),
        }
    }

    /// The guest's HA state; `None` when it is not an HA resource.
    pub fn state(&self, kind: GuestKind, vmid: u32) -> Option<&str> {
        self.by_sid.get(&service_id(kind, vmid)).map(String::as_str)
    }

    /// Whether no guest is an HA resource.
    pub fn is_empty(&self) -> bool {
        self.by_sid.is_empty()
    }
}

/// `state` of each `vm:`/`ct:` section of resources.cfg (`started` when the
/// section has none).
fn requested_states(bytes: &[u8]) -> BTreeMap<String, String> {
    let text = String::from_utf8_lossy(bytes);
    let mut states = BTreeMap::new();
    let mut current: Option<String> = None;
    for line in text.lines() {
        if is_blank(line) || trim_perl(line).starts_with('#') {
            continue;
        }
        if line.starts_with(is_perl_space) {
            let Some(sid) = &current else { continue };
            let (key, value) = trim_perl(line)
                .split_once(is_perl_space)
                .unwrap_or((trim_perl(line), ""));
            if key == "state" {
                states.insert(sid.clone(), trim_perl(value).to_owned());
            }
            continue;
        }
        current = line.split_once(':').and_then(|(kind, id)| {
            let id = trim_perl(id);
            let known = matches!(kind, "vm" | "ct") && !id.is_empty();
            known.then(|| format!("{kind}:{id}"))
        });
        if let Some(sid) = &current {
            states.insert(sid.clone(), "started".to_owned());
        }
    }
    states
}

#[cfg(test)]
mod tests {
    use super::*;

    const RESOURCES: &[u8] = b"vm: 101\n\tgroup prefer-pve1\n\tstate stopped\n\n\
        ct: 102\n\tmax_restart 2\n\n# a comment\nvm: 103\n\tstate started\n";

    #[test]
    fn requested_states_come_from_resources_cfg_with_started_as_default() {
        let states = HaStates::parse(Some(RESOURCES), None);
        assert_eq!(states.state(GuestKind::Qemu, 101), Some("stopped"));
        assert_eq!(states.state(GuestKind::Lxc, 102), Some("started"));
        assert_eq!(states.state(GuestKind::Qemu, 103), Some("started"));
        assert_eq!(states.state(GuestKind::Qemu, 102), None);
        assert_eq!(states.state(GuestKind::Qemu, 100), None);
    }

    #[test]
    fn the_crm_state_in_manager_status_wins_over_the_request() {
        let status = br#"{"master_node":"pve1","service_status":{"vm:101":{"node":"pve1","state":"request_stop"},"vm:104":{"state":"started"}},"timestamp":1}"#;
        let states = HaStates::parse(Some(RESOURCES), Some(status));
        assert_eq!(states.state(GuestKind::Qemu, 101), Some("request_stop"));
        assert_eq!(states.state(GuestKind::Lxc, 102), Some("started"));
        assert_eq!(states.state(GuestKind::Qemu, 104), Some("started"));
    }

    #[test]
    fn a_manager_status_that_is_not_json_reads_as_absent() {
        let states = HaStates::parse(Some(RESOURCES), Some(b"{not json"));
        assert_eq!(states.state(GuestKind::Qemu, 101), Some("stopped"));
        assert!(HaStates::parse(None, None).is_empty());
    }
}
