//! `DELETE /nodes/{node}/{qemu,lxc}/{vmid}` (parameters in the query string):
//! protection, running and HA checks answer at once (an HA resource needs
//! `purge`, which takes it out of the HA stack too); the lock check happens
//! inside the task, which frees each volume under its storage's lock, then
//! leaves a config of only `lock: destroyed` until the clean-up (user.cfg,
//! under its cfs lock) is done and the config goes.
use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;

use crate::api::{ApiError, ApiRequest, Reply};
use crate::drives::{Drive, is_drive_key};
use crate::guest_config::GuestConfig;
use crate::model::flocks::{CLUSTER_WIDE, cfs_lock_path, cfs_timeout_message, storage_lock_path};
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
        return Err(ApiError::internal(match kind {
            GuestType::Qemu => format!("VM {vmid} is running - destroy failed"),
            GuestType::Lxc => format!("unable to destroy CT {vmid} - container is running"),
        }));
    }
    let purge = p.bool("purge").unwrap_or(false);
    if guest.ha.is_some() && !purge {
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
    let volumes: Vec<String> = guest
        .config
        .props
        .iter()
        .filter(|(k, _)| is_drive_key(kind, k) || k.starts_with("unused"))
        .map(|(_, v)| Drive::parse(v))
        .filter(|d| !d.is_cdrom() || d.is_cloudinit())
        .map(|d| d.volid)
        .collect();
    let mut warnings = 0;
    for volid in volumes {
        ctx.sleep(Duration::from_millis(100)).await?;
        let storage = volid
            .split_once(':')
            .map(|(s, _)| s.to_string())
            .unwrap_or_default();
        let Some(def) = sim.state().storage(&storage).cloned() else {
            continue;
        };
        // vdisk_free holds the storage lock; a disk it cannot free is a warning
        let lock = storage_lock_path(&def.id);
        let storage_scope = if def.shared {
            CLUSTER_WIDE
        } else {
            node.as_str()
        };
        let guard = match sim
            .flocks
            .lock(
                &sim.clock,
                storage_scope,
                &lock,
                true,
                Duration::from_secs(10),
            )
            .await
        {
            Ok(guard) => guard,
            Err(err) => {
                ctx.log(&format!(
                    "WARN: Could not remove disk '{volid}', check manually: {err}"
                ));
                warnings += 1;
                continue;
            }
        };
        let removed = sim.state().volumes.remove(&def, &node, &volid).is_some();
        drop(guard);
        if removed {
            ctx.log(&format!("Removing image: 100% complete...done. ({volid})"));
        }
    }
    // the disks are gone: a zombie config holds the VMID until the clean-up ends
    let mut zombie = GuestConfig::default();
    zombie.props.insert("lock".into(), "destroyed".into());
    sim.write_config(&node, kind, vmid, &zombie, ctx.pid)
        .map_err(|e| e.to_string())?;
    // remove_vm_access edits user.cfg under its cluster-wide lock
    let user_cfg = sim
        .flocks
        .lock(
            &sim.clock,
            CLUSTER_WIDE,
            &cfs_lock_path("file-user_cfg"),
            true,
            Duration::from_secs(10),
        )
        .await
        .map_err(|_| {
            format!(
                "access permissions cleanup for VM {vmid} failed: {}",
                cfs_timeout_message("file-user_cfg")
            )
        })?;
    drop(user_cfg);
    sim.remove_guest(vmid);
    if guest.ha.is_some() {
        // purge: the service leaves the HA stack with the guest
        crate::ha::write_all(&sim, &node).map_err(|e| e.to_string())?;
    }
    Ok(if warnings == 0 {
        TaskEnd::Ok
    } else {
        TaskEnd::Warnings(warnings)
    })
}
