//! Each guest's HA state for listings: from pmxcfs's `ha/resources.cfg` and
//! `ha/manager_status` (two small reads whatever the guest count), or from
//! `/cluster/resources`' `hastate` in API-only mode. A display extra: files
//! that cannot be read leave the states empty rather than fail a listing.
use pvectl_proto::v1;

use crate::cluster::Source;
use crate::context::AgentCtx;
use crate::error::AgentError;
use crate::pmxcfs::{GuestKind, HaStates};

/// The HA state of every HA resource of the cluster.
pub async fn ha_states(ctx: &AgentCtx) -> Result<HaStates, AgentError> {
    match &ctx.source {
        Source::Pmxcfs(root) => {
            let (resources, status) = tokio::join!(
                read_optional(root.join("ha/resources.cfg")),
                read_optional(root.join("ha/manager_status")),
            );
            Ok(HaStates::parse(resources.as_deref(), status.as_deref()))
        }
        Source::ApiOnly => {
            let resources = ctx
                .pve
                .cluster_vms()
                .await
                .map_err(|e| AgentError::pve("reading /cluster/resources", &e))?;
            Ok(HaStates::from_pairs(resources.into_iter().filter_map(
                |resource| {
                    let kind = resource.guest_kind()?;
                    let state = resource.hastate.filter(|state| !state.is_empty())?;
                    Some((crate::pmxcfs::ha::service_id(kind, resource.vmid), state))
                },
            )))
        }
    }
}

/// Sets `ha_state` of each guest from `states`.
pub fn fill(guests: &mut [v1::Guest], states: &HaStates) {
    if states.is_empty() {
        return;
    }
    for guest in guests {
        let kind = match guest.kind() {
            v1::GuestKind::Lxc => GuestKind::Lxc,
            _ => GuestKind::Qemu,
        };
        if let Some(state) = states.state(kind, guest.vmid) {
            guest.ha_state = state.to_owned();
        }
    }
}

/// A file's bytes; `None` when it is absent or unreadable (logged).
async fn read_optional(path: std::path::PathBuf) -> Option<Vec<u8>> {
    match tokio::fs::read(&path).await {
        Ok(bytes) => Some(bytes),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => {
            tracing::warn!(path = %path.display(), %e, "HA state unknown: cannot read");
            None
        }
    }
}
