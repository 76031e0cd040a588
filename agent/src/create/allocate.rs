//! VMID allocation (DESIGN, create step 3): the lowest free id within
//! datacenter.cfg's `next-id` bounds, skipping every member's template range,
//! the ids in `.vmlist` (or `/cluster/resources`), the ids this agent has in
//! flight and the ids lost to races in this operation. PVE reserves
//! nothing: a reservation only keeps this agent's own creates apart, and a
//! collision with another node is handled by retrying with the next id.
use std::collections::BTreeSet;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use pvectl_proto::routing::{self, NextIdBounds, NextIdError, Vmid};
use pvectl_proto::v1::ErrorKind;

use crate::cluster::Source;
use crate::context::AgentCtx;
use crate::error::AgentError;
use crate::guests::GuestIndex;
use crate::pmxcfs::DatacenterConfig;

/// The VMIDs this agent is creating right now.
#[derive(Debug, Default)]
pub struct Reservations {
    held: Arc<Mutex<BTreeSet<u32>>>,
}

/// One VMID held for an operation; released when dropped.
#[derive(Debug)]
pub struct Reservation {
    vmid: u32,
    held: Arc<Mutex<BTreeSet<u32>>>,
}

impl Reservation {
    pub fn vmid(&self) -> u32 {
        self.vmid
    }
}

impl Drop for Reservation {
    fn drop(&mut self) {
        lock(&self.held).remove(&self.vmid);
    }
}

fn lock(held: &Mutex<BTreeSet<u32>>) -> MutexGuard<'_, BTreeSet<u32>> {
    held.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Reservations {
    /// The ids held now, ascending.
    pub fn held(&self) -> Vec<u32> {
        lock(&self.held).iter().copied().collect()
    }

    /// Holds the lowest id in `bounds` that `taken` does not claim, no
    /// reservation holds, and no member's range contains.
    pub fn reserve_lowest(
        &self,
        bounds: NextIdBounds,
        taken: impl Fn(u32) -> bool,
        member_ids: &[u32],
    ) -> Result<Reservation, NextIdError> {
        let mut held = lock(&self.held);
        let vmid = routing::lowest_free_vmid(
            bounds,
            |vmid| taken(vmid.get()) || held.contains(&vmid.get()),
            member_ids,
        )?
        .get();
        held.insert(vmid);
        Ok(self.reservation(vmid))
    }

    /// Holds exactly `vmid`; `None` when already held.
    pub fn reserve_exact(&self, vmid: u32) -> Option<Reservation> {
        lock(&self.held)
            .insert(vmid)
            .then(|| self.reservation(vmid))
    }

    fn reservation(&self, vmid: u32) -> Reservation {
        Reservation {
            vmid,
            held: Arc::clone(&self.held),
        }
    }
}

/// Allocates the VMID for a create: `explicit` when given (checked: valid,
/// outside every template range, free), else the lowest free one, never one
/// of `lost`.
pub async fn allocate(
    ctx: &AgentCtx,
    explicit: Option<u32>,
    lost: &BTreeSet<u32>,
) -> Result<Reservation, AgentError> {
    let view = ctx.cluster().await?;
    let member_ids = view.member_ids();
    let index = GuestIndex::read(ctx).await?;
    if let Some(vmid) = explicit {
        let checked = Vmid::new(vmid).map_err(|e| AgentError::invalid(e.to_string()))?;
        if let Some(owner) = routing::template_owner(checked, &member_ids) {
            let range = routing::template_range(owner)
                .map(|r| r.to_string())
                .unwrap_or_default();
            return Err(AgentError::invalid(format!(
                "vmid {vmid} lies in the template range {range} of node id {owner}: ordinary VMs never get ids there"
            )));
        }
        if let Some(guest) = index.get(vmid) {
            return Err(AgentError::conflict(format!(
                "vmid {vmid} is taken by a guest on node '{}'",
                guest.node
            )));
        }
        if index.is_taken(vmid) || lost.contains(&vmid) {
            return Err(AgentError::conflict(format!("vmid {vmid} is taken")));
        }
        return ctx.reservations.reserve_exact(vmid).ok_or_else(|| {
            AgentError::conflict(format!(
                "vmid {vmid} is being created by another operation of this agent"
            ))
        });
    }
    let bounds = next_id_bounds(ctx).await?;
    ctx.reservations
        .reserve_lowest(
            bounds,
            |vmid| index.is_taken(vmid) || lost.contains(&vmid),
            &member_ids,
        )
        .map_err(|e| {
            AgentError::new(ErrorKind::Unavailable, e.to_string())
                .with_hint("widen `next-id` in datacenter.cfg or remove unused guests")
        })
}

/// datacenter.cfg's `next-id` (PVE's defaults when absent or malformed, as
/// PVE reads it). In API-only mode the file is out of reach: the API's
/// `nextid` (the first free id at or above the lower bound) becomes the
/// lower bound.
async fn next_id_bounds(ctx: &AgentCtx) -> Result<NextIdBounds, AgentError> {
    let (lower, upper) = match &ctx.source {
        Source::Pmxcfs(root) => {
            let path = root.join("datacenter.cfg");
            let bytes = match tokio::fs::read(&path).await {
                Ok(bytes) => bytes,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
                Err(e) => {
                    return Err(AgentError::unavailable(format!(
                        "cannot read {}: {e}",
                        path.display()
                    )));
                }
            };
            match DatacenterConfig::parse(&bytes).next_id() {
                Ok(range) => (range.lower, range.upper),
                Err(e) => {
                    tracing::warn!(%e, "using PVE's default next-id range");
                    (
                        routing::NEXT_ID_LOWER_DEFAULT,
                        routing::NEXT_ID_UPPER_DEFAULT,
                    )
                }
            }
        }
        Source::ApiOnly => {
            let lower = ctx
                .pve
                .next_id(None)
                .await
                .map_err(|e| AgentError::pve("asking PVE for the next free VMID", &e))?;
            (lower, routing::NEXT_ID_UPPER_DEFAULT)
        }
    };
    Ok(NextIdBounds::new(lower, upper).unwrap_or_else(|e| {
        tracing::warn!(%e, "using PVE's default next-id range");
        NextIdBounds::default()
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reservations_keep_concurrent_creates_apart_until_dropped() {
        let reservations = Reservations::default();
        let bounds = NextIdBounds::default();
        let taken = |vmid: u32| vmid == 100;
        let first = reservations.reserve_lowest(bounds, taken, &[1, 2]).unwrap();
        let second = reservations.reserve_lowest(bounds, taken, &[1, 2]).unwrap();
        assert_eq!((first.vmid(), second.vmid()), (101, 102));
        assert!(reservations.reserve_exact(102).is_none());
        drop(first);
        assert_eq!(reservations.held(), [102]);
        let again = reservations.reserve_lowest(bounds, taken, &[1, 2]).unwrap();
        assert_eq!(again.vmid(), 101);
    }

    #[test]
    fn allocation_skips_the_template_ranges_of_members() {
        let reservations = Reservations::default();
        let bounds = NextIdBounds::new(9100, 9400).unwrap();
        let vmid = reservations
            .reserve_lowest(bounds, |_| false, &[1, 3])
            .unwrap();
        assert_eq!(vmid.vmid(), 9200);
        let next = reservations.reserve_lowest(bounds, |_| false, &[1, 2, 3]);
        assert!(next.is_err());
    }
}
