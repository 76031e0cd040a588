//! Guests and configs in the contract's shape.
use std::collections::BTreeSet;

use pvectl_proto::v1;

use super::locate::Located;
use super::proto_kind;
use crate::pmxcfs::GuestConfig;
use crate::pmxcfs::split_list;
use crate::pve_api::GuestCurrentStatus;

/// What a listing needs from a guest's config, kept by the live view.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ConfigFacts {
    pub name: String,
    pub template: bool,
    pub lock: String,
    /// Lowercased, deduplicated and sorted.
    pub tags: Vec<String>,
    pub protected: bool,
}

impl ConfigFacts {
    /// The facts of a parsed config; a malformed flag reads as unset.
    pub fn of(config: &GuestConfig) -> ConfigFacts {
        ConfigFacts {
            name: config.name().unwrap_or_default().to_string(),
            template: config.is_template().unwrap_or(false),
            lock: config.lock().unwrap_or_default().to_string(),
            tags: normalized_tags(&config.tags()),
            protected: config.is_protected().unwrap_or(false),
        }
    }

    /// The facts the node's guest list carries (API-only mode: no
    /// protection flag there).
    pub fn of_status(status: &GuestCurrentStatus) -> ConfigFacts {
        let tags = status.tags.as_deref().map(split_list).unwrap_or_default();
        ConfigFacts {
            name: status.name.clone().unwrap_or_default(),
            template: status.template,
            lock: status.lock.clone().unwrap_or_default(),
            tags: normalized_tags(&tags),
            protected: false,
        }
    }
}

/// A guest from its config facts and run state (`status/current`, or the
/// node's guest list).
pub fn guest(located: &Located, facts: &ConfigFacts, status: &GuestCurrentStatus) -> v1::Guest {
    let lock = if facts.lock.is_empty() {
        status.lock.clone().unwrap_or_default()
    } else {
        facts.lock.clone()
    };
    v1::Guest {
        vmid: located.vmid,
        kind: proto_kind(located.kind) as i32,
        node: located.node.clone(),
        name: facts.name.clone(),
        status: guest_status(status, &lock) as i32,
        template: facts.template,
        lock,
        tags: facts.tags.clone(),
        protected: facts.protected,
        ha_state: String::new(),
        resources: Some(v1::GuestResources {
            cpus: status.cpus.unwrap_or_default(),
            cpu_usage: status.cpu.unwrap_or_default(),
            memory_bytes: status.mem.unwrap_or_default(),
            memory_max_bytes: status.maxmem.unwrap_or_default(),
            disk_bytes: status.disk.unwrap_or_default(),
            disk_max_bytes: status.maxdisk.unwrap_or_default(),
            uptime_seconds: status.uptime.unwrap_or_default(),
            net_in_bytes: status.netin.unwrap_or_default(),
            net_out_bytes: status.netout.unwrap_or_default(),
        }),
        config_version: located.version,
    }
}

/// PVE's run state in the contract's terms.
pub fn guest_status(status: &GuestCurrentStatus, lock: &str) -> v1::GuestStatus {
    match status.status.as_str() {
        "running" if status.qmpstatus.as_deref() == Some("paused") => v1::GuestStatus::Paused,
        "running" => v1::GuestStatus::Running,
        "stopped" if lock == "suspended" => v1::GuestStatus::Suspended,
        "stopped" => v1::GuestStatus::Stopped,
        _ => v1::GuestStatus::Unknown,
    }
}

/// Tags lowercased, deduplicated and sorted, as PVE stores them.
pub fn normalized_tags(tags: &[&str]) -> Vec<String> {
    tags.iter()
        .map(|tag| tag.to_lowercase())
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect()
}

/// A config with its pending values, the description first.
pub fn guest_config(located: &Located, config: &GuestConfig, digest: &str) -> v1::GuestConfig {
    let mut entries = Vec::new();
    let main = &config.main;
    let pending = &config.pending.values;
    if main.description.is_some() || pending.description.is_some() {
        entries.push(v1::ConfigEntry {
            key: "description".into(),
            value: main.description.clone(),
            pending_value: pending.description.clone(),
        });
    }
    let keys: BTreeSet<&String> = main.options.keys().chain(pending.options.keys()).collect();
    for key in keys {
        entries.push(v1::ConfigEntry {
            key: key.clone(),
            value: main.options.get(key).cloned(),
            pending_value: pending.options.get(key).cloned(),
        });
    }
    v1::GuestConfig {
        vmid: located.vmid,
        kind: proto_kind(located.kind) as i32,
        node: located.node.clone(),
        entries,
        pending_deletes: config
            .pending
            .delete
            .iter()
            .map(|d| v1::PendingDelete {
                key: d.key.clone(),
                force: d.force,
            })
            .collect(),
        digest: digest.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pmxcfs::GuestKind;

    fn status(status: &str, qmp: Option<&str>) -> GuestCurrentStatus {
        serde_json::from_value(serde_json::json!({"status": status, "qmpstatus": qmp})).unwrap()
    }

    #[test]
    fn run_states_follow_qmp_status_and_the_suspended_lock() {
        assert_eq!(
            guest_status(&status("running", Some("paused")), ""),
            v1::GuestStatus::Paused
        );
        assert_eq!(
            guest_status(&status("running", Some("running")), ""),
            v1::GuestStatus::Running
        );
        assert_eq!(
            guest_status(&status("stopped", None), "suspended"),
            v1::GuestStatus::Suspended
        );
        assert_eq!(
            guest_status(&status("stopped", None), ""),
            v1::GuestStatus::Stopped
        );
    }

    #[test]
    fn configs_list_description_first_and_pending_values_beside_current_ones() {
        let text =
            b"#a web server\ncores: 2\nmemory: 4096\n\n[PENDING]\ncores: 4\ndelete: !memory\n";
        let parsed = GuestConfig::parse(GuestKind::Qemu, text).unwrap();
        let located = Located {
            vmid: 100,
            node: "pve1".into(),
            kind: GuestKind::Qemu,
            version: 3,
        };
        let proto = guest_config(&located, &parsed.config, &parsed.digest);
        let keys: Vec<&str> = proto.entries.iter().map(|e| e.key.as_str()).collect();
        assert_eq!(keys, ["description", "cores", "memory"]);
        assert_eq!(proto.entries[1].pending_value.as_deref(), Some("4"));
        assert_eq!(proto.pending_deletes[0].key, "memory");
        assert!(proto.pending_deletes[0].force);
        assert_eq!(proto.digest.len(), 40);
    }
}
