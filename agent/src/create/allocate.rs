//! VMID allocation (DESIGN, create step 3): the lowest free id within
//! datacenter.cfg's `next-id` bounds, skipping every member's template range
//! — or, for a template promoted into a node's range, the lowest free id of
//! that range — never one in `.vmlist` (or `/cluster/resources`), one this
//! agent has in flight or one lost to a race in this operation. PVE
//! reserves nothing: a reservation only keeps this agent's own creates
//! apart, and a collision with another node is handled by retrying with the
//! next id.
use std::collections::BTreeSet;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use pvectl_proto::routing::{
    self, NextIdBounds, NextIdError, TemplateRange, TemplateRangeError, Vmid,
};
use pvectl_proto::v1::{CreatePhase, ErrorKind};

use super::Run;
use super::record::Request;
use crate::cluster::Source;
use crate::context::AgentCtx;
use crate::error::AgentError;
use crate::guests::GuestIndex;
use crate::pmxcfs::DatacenterConfig;

/// Where an operation's VMID comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IdPool {
    /// Ordinary ids: `next-id`'s bounds outside every template range.
    Ordinary,
    /// One node's template range (promote).
    Range { node: String, range: TemplateRange },
}

impl std::fmt::Display for IdPool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            IdPool::Ordinary => f.write_str("a VMID"),
            IdPool::Range { node, range } => {
                write!(f, "a VMID in node {node}'s template range {range}")
            }
        }
    }
}

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

    /// Holds the lowest id of `range` that `taken` does not claim and no
    /// reservation holds.
    pub fn reserve_in_range(
        &self,
        range: TemplateRange,
        taken: impl Fn(u32) -> bool,
    ) -> Result<Reservation, TemplateRangeError> {
        let mut held = lock(&self.held);
        let vmid = range
            .lowest_free(|vmid| taken(vmid.get()) || held.contains(&vmid.get()))?
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

/// The operation's first VMID: the one asked for, else the lowest free one
/// of `pool`; announced, set on the operation and journaled.
pub async fn first<R: Request>(run: &mut Run<R>, pool: &IdPool) -> Result<Reservation, AgentError> {
    run.op
        .emit(CreatePhase::Allocating, None, format!("allocating {pool}"));
    let reservation = allocate(&run.ctx, pool, run.record.vmid(), &BTreeSet::new()).await?;
    let vmid = reservation.vmid();
    run.progress.vmid = Some(vmid);
    run.op.set_vmid(vmid);
    run.op.emit(
        CreatePhase::Allocating,
        None,
        format!("allocated VMID {vmid}"),
    );
    run.mark("vmid").await;
    Ok(reservation)
}

/// Allocates the VMID for a create from `pool`: `explicit` when given
/// (checked: valid, in the pool, free), else the lowest free one, never one
/// of `lost`.
pub async fn allocate(
    ctx: &AgentCtx,
    pool: &IdPool,
    explicit: Option<u32>,
    lost: &BTreeSet<u32>,
) -> Result<Reservation, AgentError> {
    let view = ctx.cluster().await?;
    let member_ids = view.member_ids();
    let index = GuestIndex::read(ctx).await?;
    if let Some(vmid) = explicit {
        let checked = Vmid::new(vmid).map_err(|e| AgentError::invalid(e.to_string()))?;
        check_in_pool(pool, checked, &member_ids)?;
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
    let taken = |vmid| index.is_taken(vmid) || lost.contains(&vmid);
    match pool {
        IdPool::Ordinary => {
            let bounds = next_id_bounds(ctx).await?;
            ctx.reservations
                .reserve_lowest(bounds, taken, &member_ids)
                .map_err(|e| {
                    AgentError::new(ErrorKind::Unavailable, e.to_string())
                        .with_hint("widen `next-id` in datacenter.cfg or remove unused guests")
                })
        }
        IdPool::Range { node, range } => {
            ctx.reservations
                .reserve_in_range(*range, taken)
                .map_err(|_| {
                    AgentError::refused(format!(
                        "node {node}'s template range {range} is full: every VMID in it is taken"
                    ))
                    .with_hint(format!(
                        "remove templates of {node} that are no longer used (`pvectl template list --node {node}`)"
                    ))
                })
        }
    }
}

/// An explicit VMID must lie in the pool: ordinary ids outside every
/// member's range, a promoted template's id inside its node's range.
fn check_in_pool(pool: &IdPool, vmid: Vmid, member_ids: &[u32]) -> Result<(), AgentError> {
    match pool {
        IdPool::Ordinary => match routing::template_owner(vmid, member_ids) {
            Some(owner) => {
                let range = routing::template_range(owner)
                    .map(|r| r.to_string())
                    .unwrap_or_default();
                Err(AgentError::invalid(format!(
                    "vmid {vmid} lies in the template range {range} of node id {owner}: ordinary guests never get ids there"
                )))
            }
            None => Ok(()),
        },
        IdPool::Range { node, range } if !range.contains(vmid) => Err(AgentError::invalid(
            format!("vmid {vmid} lies outside node {node}'s template range {range}"),
        )),
        IdPool::Range { .. } => Ok(()),
    }
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
    fn range_reservations_take_the_lowest_free_id_and_fail_when_the_range_is_full() {
        let reservations = Reservations::default();
        let range = routing::template_range(2).unwrap();
        let first = reservations
            .reserve_in_range(range, |vmid| vmid == 9200)
            .unwrap();
        assert_eq!(first.vmid(), 9201);
        let second = reservations
            .reserve_in_range(range, |vmid| vmid == 9200)
            .unwrap();
        assert_eq!(second.vmid(), 9202);
        let full = reservations.reserve_in_range(range, |vmid| vmid != 9201 && vmid != 9202);
        assert!(matches!(full, Err(TemplateRangeError::Full { .. })));
    }

    #[test]
    fn explicit_ids_must_lie_in_their_pool() {
        let range = routing::template_range(2).unwrap();
        let pool = IdPool::Range {
            node: "pve2".into(),
            range,
        };
        let vmid = |id| Vmid::new(id).unwrap();
        assert!(check_in_pool(&pool, vmid(9250), &[1, 2]).is_ok());
        let err = check_in_pool(&pool, vmid(9150), &[1, 2]).unwrap_err();
        assert!(
            err.message
                .contains("outside node pve2's template range 9200-9299")
        );
        assert!(check_in_pool(&IdPool::Ordinary, vmid(9150), &[1, 2]).is_err());
        assert!(check_in_pool(&IdPool::Ordinary, vmid(104), &[1, 2]).is_ok());
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
