//! The text of pmxcfs's generated files `.members`, `.vmlist` and `.version`, byte for byte as
//! `cfs_create_memberlist_msg`, `cfs_create_vmlist_msg` and `cfs_create_version_msg` in
//! pve-cluster's `status.c` print them (no IO here).

use std::collections::BTreeMap;
use std::fmt::Write as _;

use super::{Member, VmlistEntry};

/// The files whose change counters `.version` lists (`memdb_change_array` in `status.c`).
pub(super) const TRACKED_FILES: &[&str] = &[
    "corosync.conf",
    "corosync.conf.new",
    "storage.cfg",
    "user.cfg",
    "domains.cfg",
    "notifications.cfg",
    "priv/notifications.cfg",
    "priv/shadow.cfg",
    "priv/acme/plugins.cfg",
    "priv/tfa.cfg",
    "priv/token.cfg",
    "priv/ipam.db",
    "priv/macs.db",
    "datacenter.cfg",
    "vzdump.cron",
    "vzdump.conf",
    "jobs.cfg",
    "ha/crm_commands",
    "ha/manager_status",
    "ha/resources.cfg",
    "ha/groups.cfg",
    "ha/fence.cfg",
    "status.cfg",
    "replication.cfg",
    "ceph.conf",
    "sdn/vnets.cfg",
    "sdn/zones.cfg",
    "sdn/controllers.cfg",
    "sdn/subnets.cfg",
    "sdn/ipams.cfg",
    "sdn/mac-cache.json",
    "sdn/pve-ipam-state.json",
    "sdn/dns.cfg",
    "sdn/fabrics/openfabric.cfg",
    "sdn/fabrics/ospf.cfg",
    "sdn/.running-config",
    "virtual-guest/cpu-models.conf",
    "virtual-guest/profiles.cfg",
    "firewall/cluster.fw",
    "mapping/directory.cfg",
    "mapping/pci.cfg",
    "mapping/usb.cfg",
];

/// The corosync config version shown as `cluster.version` (the simulator has one config).
const CLUSTER_CONFIG_VERSION: u32 = 1;

/// `.members`. `nodename` is the first member: one shared tree cannot show each node its own
/// name, so agents in the simulator are told their node name by configuration.
pub(super) fn members_text(cluster_name: &str, members: &[Member], version: u64) -> String {
    let mut out = String::from("{\n");
    let nodename = members.first().map_or("", |m| m.name.as_str());
    let _ = writeln!(out, "\"nodename\": \"{nodename}\",");
    let _ = writeln!(out, "\"version\": {version},");
    let _ = writeln!(
        out,
        "\"cluster\": {{ \"name\": \"{cluster_name}\", \"version\": {CLUSTER_CONFIG_VERSION}, \"nodes\": {}, \"quorate\": {} }},",
        members.len(),
        u8::from(quorate(members)),
    );
    out.push_str("\"nodelist\": {\n");
    let entries: Vec<String> = members
        .iter()
        .map(|m| {
            let ip =
                m.ip.map(|ip| format!(", \"ip\": \"{ip}\""))
                    .unwrap_or_default();
            format!(
                "  \"{}\": {{ \"id\": {}, \"online\": {}{ip}}}",
                m.name,
                m.id,
                u8::from(m.online)
            )
        })
        .collect();
    out.push_str(&entries.join(",\n"));
    out.push_str("\n  }\n}\n");
    out
}

/// Quorum as corosync computes it with one vote per node: more than half are online.
pub(super) fn quorate(members: &[Member]) -> bool {
    members.iter().filter(|m| m.online).count() * 2 > members.len()
}

/// `.vmlist`; `ids` is left out when there are no guests.
pub(super) fn vmlist_text(version: u64, vmlist: &BTreeMap<u32, VmlistEntry>) -> String {
    let mut out = String::from("{\n");
    if vmlist.is_empty() {
        let _ = writeln!(out, "\"version\": {version}");
    } else {
        let _ = writeln!(out, "\"version\": {version},");
        out.push_str("\"ids\": {\n");
        let entries: Vec<String> = vmlist
            .iter()
            .map(|(vmid, e)| {
                format!(
                    "\"{vmid}\": {{ \"node\": \"{}\", \"type\": \"{}\", \"version\": {} }}",
                    e.node,
                    e.kind.as_str(),
                    e.version
                )
            })
            .collect();
        out.push_str(&entries.join(",\n"));
        out.push_str("}\n");
    }
    out.push_str("\n}\n");
    out
}

/// `.version`: start time, membership and vmlist versions, the tracked files' change
/// counters, and this node's (empty) kvstore.
pub(super) fn version_text(
    starttime: i64,
    clinfo_version: u64,
    vmlist_version: u64,
    file_versions: &BTreeMap<&'static str, u64>,
    nodename: &str,
) -> String {
    let mut out = String::from("{\n");
    let _ = writeln!(out, "\"starttime\": {starttime},");
    let _ = writeln!(out, "\"clinfo\": {clinfo_version},");
    let _ = writeln!(out, "\"vmlist\": {vmlist_version},");
    for path in TRACKED_FILES {
        let version = file_versions.get(path).copied().unwrap_or(0);
        let _ = writeln!(out, "\"{path}\": {version},");
    }
    out.push_str("\"kvstore\": {\n");
    let _ = writeln!(out, "\"{nodename}\": {{");
    out.push_str("}\n}\n}\n");
    out
}
