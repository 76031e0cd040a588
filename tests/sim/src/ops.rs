//! The simulator's endpoint handlers, one file per family of PVE calls.
pub mod clone;
pub mod config;
pub mod create;
pub mod destroy;
pub mod foreign;
pub mod listing;
pub mod network;
pub mod status;
pub mod storage;
pub mod tasks;
pub mod template;
pub mod volumes;

use crate::api::{ApiError, ApiRequest};

/// The `{node}` path parameter.
pub fn path_node(req: &ApiRequest) -> Result<String, ApiError> {
    req.path
        .get("node")
        .cloned()
        .ok_or_else(|| ApiError::param("node", "property is missing and it is not optional"))
}

/// The `{vmid}` path parameter.
pub fn path_vmid(req: &ApiRequest) -> Result<u32, ApiError> {
    req.path
        .get("vmid")
        .and_then(|v| v.parse().ok())
        .ok_or_else(|| ApiError::param("vmid", "type check ('integer') failed"))
}
