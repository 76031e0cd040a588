//! Volume allocation as the storage plugins do it: under the storage's lock
//! (10 s timeout), refusing when there is no room.
use std::sync::Arc;
use std::time::Duration;

use crate::model::flocks::{CLUSTER_WIDE, storage_lock_path, timeout_message};
use crate::model::{INTERRUPTED, TaskCtx};
use crate::storage::{StorageDef, Volume};

/// What to allocate.
#[derive(Debug, Clone)]
pub struct NewVolume {
    pub storage: String,
    pub vmid: u32,
    /// `Some(base volid)` for a linked clone of that base
    pub linked_to: Option<String>,
    /// the disk name; `None` picks the next free `vm-<vmid>-disk-N`
    pub name: Option<String>,
    pub format: Option<String>,
    pub size: u64,
    /// images or rootdir
    pub content: &'static str,
}

/// Allocates a volume on `node` and returns its storage and the volume.
pub async fn allocate(
    ctx: &mut TaskCtx,
    node: &str,
    new: NewVolume,
) -> Result<(StorageDef, Volume), String> {
    let sim = Arc::clone(&ctx.sim);
    let def = sim
        .state()
        .storage(&new.storage)
        .cloned()
        .ok_or_else(|| format!("storage '{}' does not exist", new.storage))?;
    if !def.holds(new.content) {
        return Err(format!(
            "storage '{}' does not support content-type '{}'",
            def.id, new.content
        ));
    }
    let lock_path = storage_lock_path(&def.id);
    if sim.state().faults.storage_lock_timeout(&def.id) {
        return Err(timeout_message(&lock_path));
    }
    // a local storage's lock is the node's own; a shared one's is the cluster's
    let scope = if def.shared { CLUSTER_WIDE } else { node };
    let guard = sim
        .flocks
        .lock(&sim.clock, scope, &lock_path, true, Duration::from_secs(10))
        .await?;
    ctx.sleep(sim.options.storage_lock_hold).await?;
    let format = new
        .format
        .unwrap_or_else(|| def.default_format().to_string());
    let volume = {
        let mut st = sim.state();
        let name = new
            .name
            .unwrap_or_else(|| st.volumes.next_disk_name(&def, node, new.vmid));
        let volid = match &new.linked_to {
            Some(base) => def.linked_volid(base, new.vmid, &name, &format),
            None => def.volid(new.vmid, &name, &format),
        };
        let volume = Volume {
            volid,
            size: if new.linked_to.is_some() { 0 } else { new.size },
            format,
            content: new.content.to_string(),
            vmid: new.vmid,
            ctime: sim.clock.epoch_now(),
        };
        st.volumes.add(&def, node, volume.clone())?;
        volume
    };
    drop(guard);
    Ok((def, volume))
}

/// Frees volumes allocated by a task that failed.
pub fn free(ctx: &TaskCtx, node: &str, created: &[(StorageDef, String)]) {
    let mut st = ctx.sim.state();
    for (def, volid) in created {
        st.volumes.remove(def, node, volid);
    }
}

/// An allocation error as the task reports it: `scsi0: <error>`, except a
/// stop request, which ends the task as `interrupted by signal`.
pub fn disk_error(key: &str, error: String) -> String {
    if error == INTERRUPTED {
        error
    } else {
        format!("{key}: {error}")
    }
}
