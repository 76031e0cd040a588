//! `POST .../template`: qemu writes `template: 1` first, then renames each
//! non-CD-ROM disk to `base-<vmid>-disk-N` with a config rewrite after each
//! (no `lock:` line, no rollback); LXC answers null and sets `template: 1` last.
use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;

use crate::api::{ApiError, ApiRequest, Reply};
use crate::drives::{Drive, is_drive_key};
use crate::model::flocks::guest_lock_path;
use crate::model::{RunState, SimRef, TaskCtx, locked_message};
use crate::ops::{path_node, path_vmid};
use crate::pmxcfs::GuestType;
use crate::storage::volume_name;
use crate::tasks::TaskEnd;

pub async fn convert(sim: SimRef, req: ApiRequest, kind: GuestType) -> Result<Reply, ApiError> {
    let node = path_node(&req)?;
    let vmid = path_vmid(&req)?;
    sim.check_node(&node)?;
    let guest = sim.guest_on(&node, kind, vmid)?;
    // qemu-server's and pve-container's checks, in their order and words
    if let Some(lock) = guest.lock() {
        return Err(ApiError::internal(locked_message(kind, lock)));
    }
    let word = if kind == GuestType::Qemu { "VM" } else { "CT" };
    if !guest.config.snapshots.is_empty() {
        return Err(ApiError::internal(format!(
            "unable to create template, because {word} contains snapshots"
        )));
    }
    if guest.is_template() {
        return Err(ApiError::internal(
            "you can't convert a template to a template",
        ));
    }
    if guest.run != RunState::Stopped {
        let the = if kind == GuestType::Qemu { "" } else { "the " };
        return Err(ApiError::internal(format!(
            "you can't convert a {word} to template if {the}{word} is running"
        )));
    }
    let task_type = if kind == GuestType::Qemu {
        "qmtemplate"
    } else {
        "vztemplate"
    };
    let task_node = node.clone();
    let upid = sim.spawn_task(
        &task_node,
        task_type,
        &vmid.to_string(),
        req.caller.rpc_user(),
        move |ctx| run(ctx, node, kind, vmid),
    )?;
    Ok(match kind {
        GuestType::Qemu => Value::String(upid.to_string()),
        GuestType::Lxc => Value::Null,
    }
    .into())
}

async fn run(
    mut ctx: TaskCtx,
    node: String,
    kind: GuestType,
    vmid: u32,
) -> Result<TaskEnd, String> {
    let sim = Arc::clone(&ctx.sim);
    let _guard = sim
        .flocks
        .lock(
            &sim.clock,
            &node,
            &guest_lock_path(kind, vmid),
            true,
            Duration::from_secs(10),
        )
        .await?;
    let mut config = sim
        .state()
        .guests
        .get(&vmid)
        .map(|g| g.config.clone())
        .ok_or_else(|| format!("{vmid} does not exist"))?;
    if kind == GuestType::Qemu {
        config.props.insert("template".into(), "1".into());
        sim.write_config(&node, kind, vmid, &config, ctx.pid)
            .map_err(|e| e.to_string())?;
    }
    let disks: Vec<(String, String)> = config
        .props
        .iter()
        .filter(|(k, _)| is_drive_key(kind, k))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    for (key, value) in disks {
        let mut drive = Drive::parse(&value);
        if drive.is_cdrom() {
            continue;
        }
        let Some(storage) = drive.storage().map(str::to_string) else {
            continue;
        };
        let old = drive.volid.clone();
        let new = old.replacen(&format!("vm-{vmid}-disk"), &format!("base-{vmid}-disk"), 1);
        if new == old {
            continue;
        }
        ctx.sleep(Duration::from_millis(200)).await?;
        {
            let mut st = sim.state();
            if let Some(def) = st.storage(&storage).cloned() {
                st.volumes.rename(&def, &node, &old, &new);
            }
        }
        ctx.log(&format!(
            "renamed volume '{}' to '{}'",
            volume_name(&old),
            volume_name(&new)
        ));
        drive.volid = new;
        config.props.insert(key, drive.render());
        sim.write_config(&node, kind, vmid, &config, ctx.pid)
            .map_err(|e| e.to_string())?;
    }
    if kind == GuestType::Lxc {
        config.props.insert("template".into(), "1".into());
        sim.write_config(&node, kind, vmid, &config, ctx.pid)
            .map_err(|e| e.to_string())?;
    }
    Ok(TaskEnd::Ok)
}
