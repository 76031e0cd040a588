//! Storage views per node: the list with usage, one storage's status, and
//! its content (images, container volumes, ISOs, container templates).
use serde_json::{Value, json};

use crate::api::{ApiError, ApiRequest, Reply};
use crate::model::SimRef;
use crate::ops::path_node;
use crate::params::Params;
use crate::storage::StorageDef;

fn status_of(sim: &SimRef, def: &StorageDef, node: &str) -> Value {
    let st = sim.state();
    let used = st.volumes.used(def, node);
    json!({
        "storage": def.id, "type": def.kind.as_str(), "content": def.content.join(","),
        "active": 1, "enabled": 1, "shared": u8::from(def.shared),
        "total": def.capacity, "used": used, "avail": def.capacity.saturating_sub(used),
        "used_fraction": used as f64 / def.capacity.max(1) as f64,
    })
}

fn storage_param(sim: &SimRef, req: &ApiRequest) -> Result<StorageDef, ApiError> {
    let id = req.path.get("storage").cloned().unwrap_or_default();
    sim.state()
        .storage(&id)
        .cloned()
        .ok_or_else(|| ApiError::internal(format!("storage '{id}' does not exist")))
}

pub async fn list(sim: SimRef, req: ApiRequest) -> Result<Reply, ApiError> {
    let node = path_node(&req)?;
    sim.check_node(&node)?;
    let p = Params(&req.params);
    let defs: Vec<StorageDef> = sim.state().storages.clone();
    let out: Vec<Value> = defs
        .iter()
        .filter(|d| {
            p.str("content")
                .is_none_or(|c| c.split(',').all(|c| d.holds(c)))
        })
        .filter(|d| p.str("storage").is_none_or(|s| s == d.id))
        .map(|d| status_of(&sim, d, &node))
        .collect();
    Ok(Value::Array(out).into())
}

pub async fn status(sim: SimRef, req: ApiRequest) -> Result<Reply, ApiError> {
    let node = path_node(&req)?;
    sim.check_node(&node)?;
    let def = storage_param(&sim, &req)?;
    let mut out = status_of(&sim, &def, &node);
    if let Some(map) = out.as_object_mut() {
        map.remove("storage");
        map.remove("used_fraction");
    }
    Ok(out.into())
}

pub async fn content(sim: SimRef, req: ApiRequest) -> Result<Reply, ApiError> {
    let node = path_node(&req)?;
    sim.check_node(&node)?;
    let def = storage_param(&sim, &req)?;
    let p = Params(&req.params);
    let vmid = p.u32("vmid");
    let volumes = sim.state().volumes.list(&def, &node);
    let out: Vec<Value> = volumes
        .into_iter()
        .filter(|v| p.str("content").is_none_or(|c| c == v.content))
        .filter(|v| vmid.is_none_or(|id| v.vmid == id))
        .map(|v| {
            let mut entry = json!({"volid": v.volid, "format": v.format, "size": v.size, "content": v.content, "ctime": v.ctime});
            if v.vmid != 0 {
                entry["vmid"] = json!(v.vmid);
            }
            entry
        })
        .collect();
    Ok(Value::Array(out).into())
}
