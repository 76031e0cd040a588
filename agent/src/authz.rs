//! Roles enforced before any handler runs: a tower layer in front of the
//! gRPC service reads the client certificate's common name (mTLS already
//! proved the certificate chains to the client CA), looks up its role and
//! refuses the call with PERMISSION_DENIED unless the role covers the RPC.
//! Default deny: an unknown CN, an RPC not in the table, no certificate.
use std::sync::Arc;
use std::task::{Context, Poll};

use futures::future::BoxFuture;
use tonic::transport::server::{TcpConnectInfo, TlsConnectInfo};

use crate::config::{Role, RoleMap};

/// Who is calling, as established by [`RoleGate`]; handlers read it from the
/// request extensions (the journal records `cn`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    pub cn: String,
    pub role: Role,
}

impl Caller {
    /// The caller a handler's request carries; `unknown` cannot happen behind
    /// the gate but keeps handlers total.
    pub fn of<T>(request: &tonic::Request<T>) -> Caller {
        request
            .extensions()
            .get::<Caller>()
            .cloned()
            .unwrap_or(Caller {
                cn: "unknown".into(),
                role: Role::Viewer,
            })
    }
}

/// The role each RPC of `pvectl.v1.Agent` needs; `None` for anything else.
pub fn required_role(path: &str) -> Option<Role> {
    let method = path.strip_prefix("/pvectl.v1.Agent/")?;
    let role = match method {
        "GetNodeInfo" | "ListGuests" | "GetGuest" | "GetGuestConfig" | "ListTemplates"
        | "ValidateTemplate" | "WatchOperation" | "ListOperations" | "ListTasks"
        | "StreamTaskLog" | "ReadJournal" | "GetJournalHead" | "PlanNode" | "ExportNode" => {
            Role::Viewer
        }
        "RunGuestAction" | "StopTask" => Role::Operator,
        "CreateVmFromTemplate"
        | "CreateVm"
        | "CreateContainer"
        | "PromoteTemplate"
        | "UpdateGuestConfig"
        | "DeleteGuests"
        | "ApplyNode" => Role::Admin,
        _ => return None,
    };
    Some(role)
}

/// The common name of the first (leaf) peer certificate.
pub fn peer_common_name(der: &[u8]) -> Option<String> {
    let (_, cert) = x509_parser::parse_x509_certificate(der).ok()?;
    let cn = cert.subject().iter_common_name().next()?;
    cn.as_str().ok().map(str::to_string)
}

/// Decides one call: the caller, or the status refusing it.
pub fn authorize(
    roles: &RoleMap,
    path: &str,
    leaf_der: Option<&[u8]>,
) -> Result<Caller, tonic::Status> {
    let Some(der) = leaf_der else {
        return Err(tonic::Status::unauthenticated(
            "a client certificate is required",
        ));
    };
    let cn = peer_common_name(der).ok_or_else(|| {
        tonic::Status::unauthenticated("the client certificate has no common name")
    })?;
    let role = roles.role_for(&cn).ok_or_else(|| {
        tonic::Status::permission_denied(format!(
            "client '{cn}' has no role on this agent: add it to [roles] in the agent config"
        ))
    })?;
    let required = required_role(path).ok_or_else(|| {
        tonic::Status::permission_denied(format!("{path} is not an agent method"))
    })?;
    if !role.permits(required) {
        return Err(tonic::Status::permission_denied(format!(
            "client '{cn}' is {} but {path} needs {}",
            role.as_str(),
            required.as_str()
        )));
    }
    Ok(Caller { cn, role })
}

/// The layer that puts [`RoleGate`] in front of the service.
#[derive(Debug, Clone)]
pub struct RoleGateLayer {
    roles: Arc<RoleMap>,
}

impl RoleGateLayer {
    pub fn new(roles: RoleMap) -> Self {
        Self {
            roles: Arc::new(roles),
        }
    }
}

impl<S> tower::Layer<S> for RoleGateLayer {
    type Service = RoleGate<S>;
    fn layer(&self, inner: S) -> RoleGate<S> {
        RoleGate {
            inner,
            roles: Arc::clone(&self.roles),
        }
    }
}

/// Checks the caller's role, then passes the call on with a [`Caller`].
#[derive(Debug, Clone)]
pub struct RoleGate<S> {
    inner: S,
    roles: Arc<RoleMap>,
}

impl<S, B> tower::Service<http::Request<B>> for RoleGate<S>
where
    S: tower::Service<http::Request<B>, Response = http::Response<tonic::body::Body>>
        + Clone
        + Send
        + 'static,
    S::Future: Send + 'static,
    B: Send + 'static,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = BoxFuture<'static, Result<S::Response, S::Error>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: http::Request<B>) -> Self::Future {
        let certs = request
            .extensions()
            .get::<TlsConnectInfo<TcpConnectInfo>>()
            .and_then(TlsConnectInfo::peer_certs);
        let leaf = certs.as_ref().and_then(|c| c.first()).map(|c| c.as_ref());
        match authorize(&self.roles, request.uri().path(), leaf) {
            Ok(caller) => {
                request.extensions_mut().insert(caller);
                // the service that was polled ready is the one that must be called
                let clone = self.inner.clone();
                let mut ready = std::mem::replace(&mut self.inner, clone);
                Box::pin(ready.call(request))
            }
            Err(status) => Box::pin(async move { Ok(status.into_http()) }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_rpc_of_the_contract_has_a_role() {
        let proto = include_str!("../../proto/proto/pvectl/v1/agent.proto");
        let rpcs: Vec<&str> = proto
            .lines()
            .filter_map(|l| l.trim().strip_prefix("rpc "))
            .filter_map(|l| l.split('(').next())
            .collect();
        assert!(rpcs.len() > 20, "parsed {rpcs:?}");
        for rpc in rpcs {
            assert!(
                required_role(&format!("/pvectl.v1.Agent/{rpc}")).is_some(),
                "{rpc} has no role"
            );
        }
    }

    #[test]
    fn roles_are_ordered_and_unknown_paths_are_refused() {
        assert_eq!(
            required_role("/pvectl.v1.Agent/CreateVmFromTemplate"),
            Some(Role::Admin)
        );
        assert_eq!(
            required_role("/pvectl.v1.Agent/RunGuestAction"),
            Some(Role::Operator)
        );
        assert_eq!(
            required_role("/pvectl.v1.Agent/GetNodeInfo"),
            Some(Role::Viewer)
        );
        assert_eq!(required_role("/grpc.health.v1.Health/Check"), None);
    }

    #[test]
    fn a_missing_certificate_is_unauthenticated() {
        let err = authorize(&RoleMap::default(), "/pvectl.v1.Agent/GetNodeInfo", None).unwrap_err();
        assert_eq!(err.code(), tonic::Code::Unauthenticated);
    }
}
