//! The pvectl gRPC contract and the routing rule shared by agent and client.

/// Generated code for package `pvectl.v1`.
#[allow(clippy::all, missing_docs)]
pub mod v1 {
    tonic::include_proto!("pvectl.v1");
}
