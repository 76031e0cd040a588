//! The pvectl gRPC contract and the rules shared by agent and client: routing
//! (template ranges), PVE's rules for guest values, the journal's line
//! format and hash chain, PVE's task ids (UPIDs), and how long bulk actions
//! may take.

pub mod bulk;
pub mod guest_values;
pub mod journal;
mod role;
pub mod routing;
mod status;
pub mod upid;

pub use role::Role;
pub use routing::{
    NextIdBounds, NextIdError, TemplateRange, TemplateRangeError, Vmid, VmidError,
    in_any_template_range, lowest_free_vmid, range_node_id, template_owner, template_range,
};
pub use upid::{Upid, UpidError};

/// Generated code for package `pvectl.v1`.
#[allow(clippy::all, missing_docs)]
pub mod v1 {
    tonic::include_proto!("pvectl.v1");
}
