//! Where every guest of the cluster lives: `.vmlist` in pmxcfs mode (with
//! each guest's config version), `/cluster/resources` in API-only mode.
use std::collections::BTreeMap;

use crate::cluster::Source;
use crate::context::AgentCtx;
use crate::error::AgentError;
use crate::pmxcfs::{GuestKind, Vmlist};

/// One guest's place.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Located {
    pub vmid: u32,
    pub node: String,
    pub kind: GuestKind,
    /// The `.vmlist` version (0 in API-only mode).
    pub version: u64,
}

/// Every guest of the cluster at one moment, and every taken VMID (guests
/// of unknown types take their id too).
#[derive(Debug, Clone, Default)]
pub struct GuestIndex {
    guests: BTreeMap<u32, Located>,
    taken: std::collections::BTreeSet<u32>,
}

impl GuestIndex {
    /// Reads the index from `.vmlist` or the API.
    pub async fn read(ctx: &AgentCtx) -> Result<GuestIndex, AgentError> {
        match &ctx.source {
            Source::Pmxcfs(root) => {
                let path = root.join(".vmlist");
                let bytes = tokio::fs::read(&path).await.map_err(|e| {
                    AgentError::unavailable(format!("cannot read {}: {e}", path.display()))
                })?;
                let vmlist = Vmlist::parse(&bytes)
                    .map_err(|e| AgentError::internal(format!("{}: {e}", path.display())))?;
                Ok(GuestIndex::from_vmlist(&vmlist))
            }
            Source::ApiOnly => {
                let resources = ctx
                    .pve
                    .cluster_vms()
                    .await
                    .map_err(|e| AgentError::pve("reading /cluster/resources", &e))?;
                let mut index = GuestIndex::default();
                for resource in resources {
                    index.taken.insert(resource.vmid);
                    let Some(kind) = resource.guest_kind() else {
                        continue;
                    };
                    index.guests.insert(
                        resource.vmid,
                        Located {
                            vmid: resource.vmid,
                            node: resource.node,
                            kind,
                            version: 0,
                        },
                    );
                }
                Ok(index)
            }
        }
    }

    /// The index of a parsed `.vmlist`.
    pub fn from_vmlist(vmlist: &Vmlist) -> GuestIndex {
        let mut index = GuestIndex::default();
        for (vmid, entry) in &vmlist.guests {
            index.taken.insert(*vmid);
            if let Some(kind) = entry.guest_type.kind() {
                index.guests.insert(
                    *vmid,
                    Located {
                        vmid: *vmid,
                        node: entry.node.clone(),
                        kind,
                        version: entry.version,
                    },
                );
            }
        }
        index
    }

    pub fn get(&self, vmid: u32) -> Option<&Located> {
        self.guests.get(&vmid)
    }

    /// Whether any guest holds `vmid`.
    pub fn is_taken(&self, vmid: u32) -> bool {
        self.taken.contains(&vmid)
    }

    /// The guests of `kind` on `node`, ascending.
    pub fn on_node<'a>(
        &'a self,
        node: &'a str,
        kind: GuestKind,
    ) -> impl Iterator<Item = &'a Located> + 'a {
        self.guests
            .values()
            .filter(move |g| g.node == node && g.kind == kind)
    }
}
