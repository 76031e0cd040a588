//! The gRPC server: mTLS required (no client certificate from the client CA,
//! no connection), roles checked by [`crate::authz`] before handlers run,
//! readiness told to systemd only once the port is bound, and a graceful
//! stop: on shutdown stop accepting, let running calls finish within the
//! grace period, then cut them.
use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

use pvectl_proto::v1::agent_server::{Agent, AgentServer};
use tokio::net::TcpListener;
use tonic::transport::server::TcpIncoming;
use tonic::transport::{Certificate, Identity, Server, ServerTlsConfig};

use crate::authz::RoleGateLayer;
use crate::config::{RoleMap, TlsConfig};

/// Errors while setting up or running the server.
#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    #[error("cannot read {what} {path}: {source}")]
    Read {
        what: &'static str,
        path: String,
        source: std::io::Error,
    },
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error("gRPC server: {0}")]
    Transport(#[from] tonic::transport::Error),
}

fn read(what: &'static str, path: &Path) -> Result<Vec<u8>, ServerError> {
    std::fs::read(path).map_err(|source| ServerError::Read {
        what,
        path: path.display().to_string(),
        source,
    })
}

/// The server's TLS settings from the config's files.
pub fn tls_config(tls: &TlsConfig) -> Result<ServerTlsConfig, ServerError> {
    let cert = read("agent certificate", &tls.cert)?;
    let key = read("agent key", &tls.key)?;
    let client_ca = read("client CA", &tls.client_ca)?;
    Ok(ServerTlsConfig::new()
        .identity(Identity::from_pem(cert, key))
        .client_ca_root(Certificate::from_pem(client_ca))
        .client_auth_optional(false))
}

/// Binds the listen address; the caller tells systemd it is ready after this.
pub async fn bind(addr: SocketAddr) -> Result<TcpListener, ServerError> {
    TcpListener::bind(addr)
        .await
        .map_err(|source| ServerError::Bind { addr, source })
}

/// Serves `service` on `listener` until `shutdown` resolves, then drains for
/// at most `grace`.
pub async fn serve<A: Agent>(
    listener: TcpListener,
    tls: ServerTlsConfig,
    roles: RoleMap,
    service: A,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
    grace: Duration,
) -> Result<(), ServerError> {
    let (stopping_tx, mut stopping_rx) = tokio::sync::watch::channel(false);
    let signal = async move {
        shutdown.await;
        stopping_tx.send_replace(true);
    };
    let server = Server::builder()
        .tls_config(tls)?
        .layer(RoleGateLayer::new(roles))
        .add_service(AgentServer::new(service))
        // small unary answers must not wait for a delayed ACK (Nagle)
        .serve_with_incoming_shutdown(TcpIncoming::from(listener).with_nodelay(Some(true)), signal);
    tokio::pin!(server);
    tokio::select! {
        result = &mut server => return result.map_err(ServerError::from),
        _ = stopping_rx.wait_for(|stopping| *stopping) => {}
    }
    match tokio::time::timeout(grace, &mut server).await {
        Ok(result) => result.map_err(ServerError::from),
        Err(_) => {
            tracing::warn!(
                ?grace,
                "calls still running after the shutdown grace period; cutting them"
            );
            Ok(())
        }
    }
}

/// Tells systemd (Type=notify) something, when run under it.
pub fn notify_systemd(state: &str) {
    let Some(socket) = std::env::var_os("NOTIFY_SOCKET") else {
        return;
    };
    if let Err(err) = send_notify(&socket, state) {
        tracing::warn!(%err, "cannot notify systemd");
    }
}

fn send_notify(socket: &std::ffi::OsStr, state: &str) -> std::io::Result<()> {
    use std::os::linux::net::SocketAddrExt;
    use std::os::unix::ffi::OsStrExt;
    use std::os::unix::net::{SocketAddr as UnixAddr, UnixDatagram};
    let bytes = socket.as_bytes();
    let addr = match bytes.strip_prefix(b"@") {
        Some(name) => UnixAddr::from_abstract_name(name)?,
        None => UnixAddr::from_pathname(Path::new(socket))?,
    };
    let datagram = UnixDatagram::unbound()?;
    datagram.send_to_addr(state.as_bytes(), &addr)?;
    Ok(())
}
