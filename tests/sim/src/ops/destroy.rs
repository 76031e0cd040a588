//! `DELETE /nodes/{node}/{qemu,lxc}/{vmid}` (parameters in the query string):
//! protection, running and HA checks answer at once; the lock check happens
//! inside the task, which holds `lock: destroyed` until the config goes.
use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;

use crate::api::{ApiError, ApiRequest, Reply};
use crate::drives::{Drive, is_drive_key};
use crate::model::{RunState, SimRef, TaskCtx, locked_message};
use crate::ops::{path_node, path_vmid};
use crate::params::Params;
use crate::pmxcfs::GuestType;
use crate::tasks::TaskEnd;

pub async fn destroy(sim: SimRef, req: ApiRequest, kind: GuestType) -> Result<Reply, ApiError> {
    let node = path_node(&req)?;
    let vmid = path_vmid(&req)?;
    sim.check_node(&node)?;
    let guest = sim.guest_on(&node, kind, vmid)?;
    let p = Params(&req.params);
    let word = if kind == GuestType::Qemu { "VM" } else { "CT" };
    if guest.protected() {
        return Err(ApiError::internal(format!(
            "can't remove {word} {vmid} - protection mode enabled"
        )));
    }
    let force = p.bool("force").unwrap_or(false) && kind == GuestType::Lxc;
    if guest.run != RunState::Stopped && !force {
        return Err(ApiError::internal(format!(
            "{word} {vmid} is running - destroy failed"
        )));
    }
    if guest.ha && !p.bool("purge").unwrap_or(false) {
        return Err(ApiError::internal(format!(
            "unable to remove {word} {vmid} - used in HA resources and purge parameter not set."
        )));
    }
    let skiplock = p.bool("skiplock").unwrap_or(false);
    let task_type = if kind == GuestType::Qemu {
        "qmdestroy"
    } else {
        "vzdestroy"
    };
    let task_node = node.clone();
    let upid = sim.spawn_task(
        &task_node,
        task_type,
        &vmid.to_string(),
        req.caller.rpc_user(),
        move |ctx| run(ctx, node, kind, vmid, skiplock),
    )?;
    Ok(Value::String(upid.to_string()).into())
}

async fn run(
    mut ctx: TaskCtx,
    node: String,
    kind: GuestType,
    vmid: u32,
    skiplock: bool,
) -> Result<TaskEnd, String> {
    let sim = Arc::clone(&ctx.sim);
    let guest = sim
        .guest_on(&node, kind, vmid)
        .map_err(|e| e.message.trim_end().to_string())?;
    if let Some(lock) = guest.lock()
        && !skiplock
    {
        return Err(locked_message(kind, lock));
    }
    let mut config = guest.config.clone();
    config.props.insert("lock".into(), "destroyed".into());
    sim.write_config(&node, kind, vmid, &config, ctx.pid)
        .map_err(|e| e.to_string())?;
    let volumes: Vec<String> = guest
        .config
        .props
        .iter()
        .filter(|(k, _)| is_drive_key(kind, k) || k.starts_with("unused"))
        .map(|(_, v)| Drive::parse(v))
        .filter(|d| !d.is_cdrom() || d.is_cloudinit())
        .map(|d| d.volid)
        .collect();
    for volid in volumes {
        ctx.sleep(Duration::from_millis(100)).await?;
        let storage = volid
            .split_once(':')
            .map(|(s, _)| s.to_string())
            .unwrap_or_default();
        let mut st = sim.state();
        if let Some(def) = st.storage(&storage).cloned()
            && st.volumes.remove(&def, &node, &volid).is_some()
        {
            drop(st);
            ctx.log(&format!("Removing image: 100% complete...done. ({volid})"));
        }
    }
    sim.remove_guest(vmid);
    Ok(TaskEnd::Ok)
}
