//! Guest configuration: `GET config` (pending applied unless `current=1`),
//! `GET pending`, `PUT config` (synchronous) and `POST config` (a qmconfig
//! task), with digest checks, locks, and changes to a running guest that
//! cannot be hot-plugged kept in the pending section.
//!
//! Like PVE's `update_vm_api`, a change is checked and written while the
//! guest's config flock is held (`lock_config`, 10 s), so of two changes sent
//! with the same digest exactly one is written and the other is refused with
//! `checksum mismatch`. POST does its checks and its write synchronously, as
//! PVE writes the change (into the pending section) before forking the
//! qmconfig worker; the worker then only ends.
use std::time::Duration;

use serde_json::{Map, Value, json};

use crate::api::{ApiError, ApiRequest, Reply};
use crate::guest_config::{GuestConfig, digest};
use crate::model::flocks::{FlockGuard, guest_lock_path};
use crate::model::{Guest, RunState, SimRef, locked_message};
use crate::ops::{path_node, path_vmid};
use crate::params::Params;
use crate::pmxcfs::GuestType;
use crate::tasks::TaskEnd;

/// Parameters of config calls that are not config keys.
const CONTROL: &[&str] = &[
    "node",
    "vmid",
    "delete",
    "revert",
    "digest",
    "skiplock",
    "force",
    "background_delay",
];

/// Keys a running guest takes at once (everything else waits in pending).
fn hot_pluggable(kind: GuestType, key: &str) -> bool {
    let always = matches!(
        key,
        "name" | "hostname" | "description" | "tags" | "onboot" | "protection" | "startup" | "lock"
    );
    let network = key.starts_with("net");
    match kind {
        GuestType::Qemu => always || network,
        GuestType::Lxc => {
            always
                || network
                || matches!(key, "memory" | "swap" | "cores" | "cpulimit" | "cpuunits")
        }
    }
}

fn file_text(guest: &Guest) -> String {
    guest.config.render(guest.kind)
}

/// `GET .../config`.
pub async fn get(sim: SimRef, req: ApiRequest, kind: GuestType) -> Result<Reply, ApiError> {
    let node = path_node(&req)?;
    let vmid = path_vmid(&req)?;
    sim.check_node(&node)?;
    let guest = sim.guest_on(&node, kind, vmid)?;
    let p = Params(&req.params);
    let mut values: Map<String, Value> = Map::new();
    let source = if let Some(snap) = p.str("snapshot") {
        guest
            .config
            .snapshots
            .iter()
            .find(|(name, _)| name == snap)
            .map(|(_, props)| props.clone())
            .ok_or_else(|| ApiError::internal(format!("snapshot '{snap}' does not exist")))?
    } else {
        guest.config.props.clone()
    };
    for (k, v) in &source {
        values.insert(k.clone(), json!(v));
    }
    if !p.bool("current").unwrap_or(false) && p.str("snapshot").is_none() {
        for (k, v) in &guest.config.pending {
            values.insert(k.clone(), json!(v));
        }
        for (k, _) in &guest.config.pending_delete {
            values.remove(k);
        }
    }
    for (k, v) in values.iter_mut() {
        if let Some(n) = v
            .as_str()
            .and_then(|s| numeric_key(k).then(|| s.parse::<i64>().ok()).flatten())
        {
            *v = json!(n);
        }
    }
    if !guest.config.description.is_empty() {
        values.insert("description".into(), json!(guest.config.description));
    }
    values.insert("digest".into(), json!(digest(&file_text(&guest))));
    Ok(Value::Object(values).into())
}

/// Keys PVE returns as integers.
fn numeric_key(key: &str) -> bool {
    matches!(
        key,
        "memory"
            | "cores"
            | "sockets"
            | "balloon"
            | "swap"
            | "template"
            | "protection"
            | "onboot"
            | "unprivileged"
            | "cpuunits"
            | "vcpus"
            | "shares"
            | "agent"
            | "numa"
            | "kvm"
            | "acpi"
            | "tablet"
    )
}

/// `GET .../pending`.
pub async fn pending(sim: SimRef, req: ApiRequest, kind: GuestType) -> Result<Reply, ApiError> {
    let node = path_node(&req)?;
    let vmid = path_vmid(&req)?;
    sim.check_node(&node)?;
    let guest = sim.guest_on(&node, kind, vmid)?;
    let cfg = &guest.config;
    let mut keys: Vec<&String> = cfg
        .props
        .keys()
        .chain(cfg.pending.keys())
        .chain(cfg.pending_delete.iter().map(|(k, _)| k))
        .collect();
    keys.sort();
    keys.dedup();
    let items: Vec<Value> = keys
        .into_iter()
        .filter(|k| k.as_str() != "lock" || cfg.props.contains_key("lock"))
        .map(|k| {
            let mut item = json!({"key": k});
            if let Some(v) = cfg.props.get(k) {
                item["value"] = json!(v);
            }
            if let Some(v) = cfg.pending.get(k) {
                item["pending"] = json!(v);
            }
            if let Some((_, force)) = cfg.pending_delete.iter().find(|(d, _)| d == k) {
                item["delete"] = json!(if *force { 2 } else { 1 });
            }
            item
        })
        .collect();
    Ok(Value::Array(items).into())
}

/// A parsed config change.
#[derive(Debug, Clone)]
struct Change {
    set: Vec<(String, String)>,
    delete: Vec<(String, bool)>,
    revert: Vec<String>,
    digest: Option<String>,
    skiplock: bool,
}

fn parse_change(p: &Params<'_>) -> Change {
    let list = |key: &str| -> Vec<String> {
        p.string(key)
            .map(|s| {
                s.split([',', ';', ' '])
                    .filter(|x| !x.is_empty())
                    .map(str::to_string)
                    .collect()
            })
            .unwrap_or_default()
    };
    let delete = list("delete")
        .into_iter()
        .map(|k| match k.strip_prefix('!') {
            Some(name) => (name.to_string(), true),
            None => (k, p.bool("force").unwrap_or(false)),
        })
        .collect();
    Change {
        set: p.config_values(CONTROL),
        delete,
        revert: list("revert"),
        digest: p.string("digest"),
        skiplock: p.bool("skiplock").unwrap_or(false),
    }
}

/// Applies a change to a guest's config as PVE does; returns the new config.
fn apply(guest: &Guest, change: &Change) -> Result<GuestConfig, ApiError> {
    if let Some(expected) = &change.digest
        && *expected != digest(&file_text(guest))
    {
        return Err(ApiError::internal(
            "checksum mismatch (file change by other user?)",
        ));
    }
    if let Some(lock) = guest.lock()
        && !change.skiplock
    {
        return Err(ApiError::internal(locked_message(guest.kind, lock)));
    }
    let mut errors = std::collections::BTreeMap::new();
    for (key, _) in &change.delete {
        if change.set.iter().any(|(k, _)| k == key) {
            errors.insert(key.clone(), "conflict with delete".to_string());
        }
    }
    if !errors.is_empty() {
        return Err(ApiError::params(errors));
    }
    let running = guest.run != RunState::Stopped;
    let mut cfg = guest.config.clone();
    for key in &change.revert {
        cfg.pending.remove(key);
        cfg.pending_delete.retain(|(k, _)| k != key);
    }
    for (key, value) in &change.set {
        if key == "description" {
            cfg.description = value.clone();
        } else if running && !hot_pluggable(guest.kind, key) {
            cfg.pending.insert(key.clone(), value.clone());
        } else {
            cfg.props.insert(key.clone(), value.clone());
            cfg.pending.remove(key);
        }
    }
    for (key, force) in &change.delete {
        if guest.protected() && key.starts_with("unused") {
            let volid = cfg.props.get(key).cloned().unwrap_or_default();
            return Err(ApiError::internal(format!(
                "can't remove unused disk '{volid}' - protection mode enabled"
            )));
        }
        if key == "description" {
            cfg.description.clear();
        } else if running && !hot_pluggable(guest.kind, key) {
            cfg.pending_delete.retain(|(k, _)| k != key);
            cfg.pending_delete.push((key.clone(), *force));
        } else {
            cfg.props.remove(key);
            cfg.pending.remove(key);
        }
    }
    Ok(cfg)
}

/// Takes the guest's config flock on `node` as PVE's `lock_config` does.
async fn lock_config(
    sim: &SimRef,
    node: &str,
    kind: GuestType,
    vmid: u32,
) -> Result<FlockGuard, ApiError> {
    sim.flocks
        .lock(
            &sim.clock,
            node,
            &guest_lock_path(kind, vmid),
            true,
            Duration::from_secs(10),
        )
        .await
        .map_err(ApiError::internal)
}

/// Checks and writes a change under the config flock.
async fn update(sim: &SimRef, req: &ApiRequest, kind: GuestType, pid: u32) -> Result<(), ApiError> {
    let node = path_node(req)?;
    let vmid = path_vmid(req)?;
    sim.check_node(&node)?;
    let _flock = lock_config(sim, &node, kind, vmid).await?;
    let guest = sim.guest_on(&node, kind, vmid)?;
    let change = parse_change(&Params(&req.params));
    let cfg = apply(&guest, &change)?;
    sim.write_config(&node, kind, vmid, &cfg, pid)
        .map_err(|e| ApiError::internal(e.to_string()))
}

/// `PUT .../config`: synchronous, returns null.
pub async fn put(sim: SimRef, req: ApiRequest, kind: GuestType) -> Result<Reply, ApiError> {
    let pid = sim.state().next_pid();
    update(&sim, &req, kind, pid).await?;
    Ok(Value::Null.into())
}

/// `POST .../config` (qemu): checks and writes synchronously, then runs a
/// qmconfig task (the worker that applies the change) and returns its UPID.
pub async fn post(sim: SimRef, req: ApiRequest) -> Result<Reply, ApiError> {
    let node = path_node(&req)?;
    let vmid = path_vmid(&req)?;
    sim.check_node(&node)?;
    let pid = sim.state().next_pid();
    update(&sim, &req, GuestType::Qemu, pid).await?;
    let background_delay = Params(&req.params).u64("background_delay");
    let user = req.caller.rpc_user().to_string();
    let upid = sim.spawn_task(&node, "qmconfig", &vmid.to_string(), &user, |_ctx| async {
        Ok(TaskEnd::Ok)
    })?;
    if let Some(delay) = background_delay
        && wait_for_task(&sim, &upid.to_string(), delay).await
    {
        return Ok(Value::Null.into());
    }
    Ok(Value::String(upid.to_string()).into())
}

/// Waits up to `seconds` (simulated) for a task; true if it ended OK.
async fn wait_for_task(sim: &SimRef, upid: &str, seconds: u64) -> bool {
    let step = std::time::Duration::from_millis(50);
    let mut waited = std::time::Duration::ZERO;
    while waited < std::time::Duration::from_secs(seconds) {
        let end = sim.state().tasks.get(upid).and_then(|t| t.end.clone());
        if let Some((end, _)) = end {
            return end == TaskEnd::Ok;
        }
        sim.clock.sleep(step).await;
        waited += step;
    }
    false
}
