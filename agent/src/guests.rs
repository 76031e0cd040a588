//! Reading guests: where a guest lives (`.vmlist`, or `/cluster/resources`
//! in API-only mode), its config (the pmxcfs file, or the config GET) and
//! its run state (`status/current`), for `GetGuest` and `GetGuestConfig`
//! and for the create path.

mod convert;
pub mod ha;
mod list;
mod live;
pub mod locate;
pub mod read;

use pvectl_proto::v1;

use crate::context::AgentCtx;
use crate::error::AgentError;
use crate::pmxcfs::GuestKind;

pub use convert::{ConfigFacts, guest_status};
pub use list::list_guests;
pub use live::LiveView;
pub use locate::{GuestIndex, Located};
pub use read::{config_path, read_config};

/// The proto kind of a config kind.
pub fn proto_kind(kind: GuestKind) -> v1::GuestKind {
    match kind {
        GuestKind::Qemu => v1::GuestKind::Qemu,
        GuestKind::Lxc => v1::GuestKind::Lxc,
    }
}

/// Finds guest `vmid` and checks that it lives on this node: NOT_FOUND when
/// no node has it, WRONG_NODE (with the owner's agent) when another has.
pub async fn locate_here(ctx: &AgentCtx, vmid: u32) -> Result<Located, AgentError> {
    let index = GuestIndex::read(ctx).await?;
    let located = index
        .get(vmid)
        .ok_or_else(|| AgentError::not_found(format!("guest {vmid} does not exist")))?;
    if located.node != ctx.node {
        let view = ctx.cluster().await?;
        return Err(ctx.wrong_node(&view, &located.node, &format!("guest {vmid}")));
    }
    Ok(located.clone())
}

/// `GetGuest`: the guest's config facts and its run state.
pub async fn get_guest(ctx: &AgentCtx, vmid: u32) -> Result<v1::Guest, AgentError> {
    let located = locate_here(ctx, vmid).await?;
    let parsed = read_config(ctx, &located.node, located.kind, vmid)
        .await?
        .ok_or_else(|| AgentError::not_found(format!("guest {vmid} does not exist")))?;
    let status = ctx
        .pve
        .status_current(&ctx.node, located.kind, vmid)
        .await
        .map_err(|e| AgentError::pve(&format!("reading the status of guest {vmid}"), &e))?;
    let facts = ConfigFacts::of(&parsed.config);
    let mut guest = convert::guest(&located, &facts, &status);
    ha::fill(std::slice::from_mut(&mut guest), &ha::ha_states(ctx).await?);
    Ok(guest)
}

/// `GetGuestConfig`: the config with pending changes and digest.
pub async fn get_guest_config(ctx: &AgentCtx, vmid: u32) -> Result<v1::GuestConfig, AgentError> {
    let located = locate_here(ctx, vmid).await?;
    let parsed = read::read_config_with_pending(ctx, &located.node, located.kind, vmid)
        .await?
        .ok_or_else(|| AgentError::not_found(format!("guest {vmid} does not exist")))?;
    Ok(convert::guest_config(
        &located,
        &parsed.config,
        &parsed.digest,
    ))
}
