//! Read-only cluster views: `/version`, `/cluster/status`,
//! `/cluster/resources` (with the lag of fresh guests), `/cluster/nextid`,
//! `/nodes`, `/nodes/{node}/status` and the per-node guest lists.
use serde_json::{Value, json};

use crate::api::{ApiError, ApiRequest, Reply};
use crate::model::{Guest, NodeState, RunState, SimRef, State};
use crate::ops::path_node;
use crate::ops::status::status_json;
use crate::params::Params;
use crate::pmxcfs::GuestType;

pub const PVE_VERSION: &str = "9.1.1";

pub async fn version(_sim: SimRef, _req: ApiRequest) -> Result<Reply, ApiError> {
    Ok(json!({"version": PVE_VERSION, "release": "9.1", "repoid": "42e9b6e0e6bd7f5c"}).into())
}

/// `serving` is the node whose API answers (it gets `local: 1`).
pub async fn cluster_status(sim: SimRef, serving: String) -> Result<Reply, ApiError> {
    let st = sim.state();
    let mut out = vec![json!({
        "type": "cluster", "id": "cluster", "name": sim.cluster_name,
        "nodes": st.nodes.len(), "quorate": 1, "version": st.nodes.len() + 1,
    })];
    for node in &st.nodes {
        out.push(json!({
            "type": "node", "id": format!("node/{}", node.name), "name": node.name,
            "nodeid": node.id, "ip": node.address.to_string(),
            "online": u8::from(!st.faults.node_down(&node.name)),
            "local": u8::from(node.name == serving), "level": "",
        }));
    }
    Ok(Value::Array(out).into())
}

fn node_entry(st: &State, node: &NodeState) -> Value {
    let online = !st.faults.node_down(&node.name);
    let mem: u64 = st
        .guests
        .values()
        .filter(|g| g.node == node.name && g.run == RunState::Running)
        .map(Guest::maxmem)
        .sum();
    let mut entry = json!({
        "id": format!("node/{}", node.name), "type": "node", "node": node.name,
        "status": if online { "online" } else { "offline" }, "level": "",
    });
    if online {
        for (k, v) in [
            ("maxcpu", json!(node.maxcpu)),
            ("cpu", json!(0.03)),
            ("maxmem", json!(node.maxmem)),
            ("mem", json!(mem + (2u64 << 30))),
            ("uptime", json!(86_400)),
            ("maxdisk", json!(100u64 << 30)),
            ("disk", json!(12u64 << 30)),
        ] {
            entry[k] = v;
        }
    }
    entry
}

/// One guest as /cluster/resources shows it: a fresh guest is `unknown` and
/// nameless until the RRD broadcast catches up; `lock` and `tags` are live.
fn resource_entry(sim: &SimRef, guest: &Guest) -> Value {
    let kind = guest.kind.as_str();
    let lagging = guest.created.elapsed() < sim.clock.real(sim.options.resources_lag);
    let mut entry = json!({"id": format!("{kind}/{}", guest.vmid), "vmid": guest.vmid, "node": guest.node, "type": kind});
    if lagging {
        entry["status"] = json!("unknown");
    } else {
        let status = status_json(guest, sim.clock.epoch_now());
        for key in [
            "name",
            "status",
            "uptime",
            "cpu",
            "mem",
            "maxmem",
            "maxdisk",
            "disk",
            "netin",
            "netout",
            "diskread",
            "diskwrite",
        ] {
            entry[key] = status[key].clone();
        }
        // pvestatd broadcasts qemu's qmpstatus, so a paused VM shows `paused` here
        entry["status"] = json!(guest.run.as_str());
        entry["maxcpu"] = json!(guest.cpus());
        entry["template"] = json!(u8::from(guest.is_template()));
    }
    if let Some(lock) = guest.lock() {
        entry["lock"] = json!(lock);
    }
    if let Some(tags) = guest.tags() {
        entry["tags"] = json!(tags);
    }
    if let Some(ha) = &guest.ha {
        // pve-manager: the CRM's state from manager_status, else the request
        entry["hastate"] = json!(ha.crm);
    }
    entry
}

pub async fn cluster_resources(sim: SimRef, req: ApiRequest) -> Result<Reply, ApiError> {
    let p = Params(&req.params);
    let kind = p.str("type");
    let st = sim.state();
    let mut out = Vec::new();
    if kind.is_none_or(|t| t == "node") {
        out.extend(st.nodes.iter().map(|n| node_entry(&st, n)));
    }
    if kind.is_none_or(|t| t == "storage") {
        for node in &st.nodes {
            for def in &st.storages {
                out.push(json!({
                    "id": format!("storage/{}/{}", node.name, def.id), "type": "storage", "node": node.name,
                    "storage": def.id, "status": "available", "plugintype": def.kind.as_str(),
                    "shared": u8::from(def.shared), "content": def.content.join(","),
                    "maxdisk": def.capacity, "disk": st.volumes.used(def, &node.name),
                }));
            }
        }
    }
    if kind.is_none_or(|t| t == "vm") {
        out.extend(st.guests.values().map(|g| resource_entry(&sim, g)));
    }
    Ok(Value::Array(out).into())
}

pub async fn nextid(sim: SimRef, req: ApiRequest) -> Result<Reply, ApiError> {
    let p = Params(&req.params);
    let taken = sim.fs.vmlist();
    if let Some(vmid) = p.u32("vmid") {
        if taken.contains_key(&vmid) {
            return Err(ApiError::param("vmid", format!("VM {vmid} already exists")));
        }
        return Ok(json!(vmid.to_string()).into());
    }
    let (lower, upper) = sim.options.next_id;
    (lower..upper)
        .find(|id| !taken.contains_key(id))
        .map(|id| Reply::from(json!(id.to_string())))
        .ok_or_else(|| {
            ApiError::internal(format!(
                "unable to get any free VMID in range [{lower}, {upper}]"
            ))
        })
}

pub async fn nodes(sim: SimRef, _req: ApiRequest) -> Result<Reply, ApiError> {
    let st = sim.state();
    Ok(Value::Array(st.nodes.iter().map(|n| node_entry(&st, n)).collect()).into())
}

pub async fn node_status(sim: SimRef, req: ApiRequest) -> Result<Reply, ApiError> {
    let node = sim.check_node(&path_node(&req)?)?;
    let st = sim.state();
    let used: u64 = st
        .guests
        .values()
        .filter(|g| g.node == node.name && g.run == RunState::Running)
        .map(Guest::maxmem)
        .sum::<u64>()
        + (2u64 << 30);
    Ok(json!({
        "uptime": 86_400, "cpu": 0.03, "wait": 0.0, "loadavg": ["0.10", "0.08", "0.05"],
        "memory": {"total": node.maxmem, "used": used, "free": node.maxmem.saturating_sub(used), "available": node.maxmem.saturating_sub(used)},
        "swap": {"total": 8u64 << 30, "used": 0, "free": 8u64 << 30},
        "rootfs": {"total": 100u64 << 30, "used": 12u64 << 30, "free": 88u64 << 30, "avail": 88u64 << 30},
        "cpuinfo": {"cpus": node.maxcpu, "sockets": 1, "cores": node.maxcpu, "model": "pve-sim virtual CPU", "mhz": "2400.000", "hvm": "1", "flags": "", "user_hz": 100},
        "pveversion": format!("pve-manager/{PVE_VERSION}/42e9b6e0e6bd7f5c"),
        "kversion": "Linux 6.14.8-2-pve #1 SMP PREEMPT_DYNAMIC PMX 6.14.8-2 x86_64",
        "current-kernel": {"sysname": "Linux", "release": "6.14.8-2-pve", "version": "#1 SMP PREEMPT_DYNAMIC PMX 6.14.8-2", "machine": "x86_64"},
        "ksm": {"shared": 0},
        "boot-info": {"mode": "efi", "secureboot": 0},
    })
    .into())
}

/// `GET /nodes/{node}/qemu` and `/lxc`: this node's guests of one kind.
pub async fn guests(sim: SimRef, req: ApiRequest, kind: GuestType) -> Result<Reply, ApiError> {
    let node = path_node(&req)?;
    sim.check_node(&node)?;
    let now = sim.clock.epoch_now();
    let st = sim.state();
    let list = st
        .guests
        .values()
        .filter(|g| g.node == node && g.kind == kind)
        .map(|g| status_json(g, now))
        .collect();
    Ok(Value::Array(list).into())
}
