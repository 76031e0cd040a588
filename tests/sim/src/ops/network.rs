//! `GET /nodes/{node}/network`: each node's interfaces as `/etc/network/
//! interfaces` of a fresh install has them — the NIC `ens18` and the bridge
//! `vmbr0` on it — filtered by `type` as PVE filters (`any_bridge` and
//! `any_local_bridge`: Linux and OVS bridges; no SDN vnets here).
use serde_json::{Value, json};

use crate::api::{ApiError, ApiRequest, Reply};
use crate::model::SimRef;
use crate::ops::path_node;
use crate::params::Params;

/// The bridge every simulated node has.
pub const BRIDGE: &str = "vmbr0";

pub async fn list(sim: SimRef, req: ApiRequest) -> Result<Reply, ApiError> {
    let node = sim.check_node(&path_node(&req)?)?;
    let p = Params(&req.params);
    let address = format!("10.10.10.{}", 10 + node.id);
    let interfaces = [
        json!({
            "iface": "ens18", "type": "eth", "method": "manual", "families": ["inet"],
            "active": 1, "exists": 1, "priority": 3,
        }),
        json!({
            "iface": BRIDGE, "type": "bridge", "method": "static", "families": ["inet"],
            "active": 1, "autostart": 1, "priority": 4, "bridge_ports": "ens18",
            "address": address, "netmask": "255.255.255.0", "cidr": format!("{address}/24"),
            "gateway": "10.10.10.1",
        }),
    ];
    let wanted = |kind: &str| match p.str("type") {
        None | Some("include_sdn") => true,
        Some("any_bridge" | "any_local_bridge") => matches!(kind, "bridge" | "OVSBridge"),
        Some(filter) => filter == kind,
    };
    let out: Vec<Value> = interfaces
        .into_iter()
        .filter(|iface| wanted(iface["type"].as_str().unwrap_or_default()))
        .collect();
    Ok(Value::Array(out).into())
}
