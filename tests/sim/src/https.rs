//! Serves an axum router over TLS and HTTP/1.1 on a bound listener, the way
//! pveproxy listens on :8006: one task per connection, custom reason phrases on
//! the status line, and a graceful stop when the shutdown signal flips.

use std::sync::Arc;
use std::time::Duration;

use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::JoinSet;
use tokio_rustls::TlsAcceptor;

/// How long a TLS handshake may take before the connection is dropped.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
/// How long in-flight requests get to finish once shutdown is signalled.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(3);
/// Pause after a failed `accept` (e.g. out of file descriptors) before trying again.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(50);

/// Serves `app` on `listener` until `shutdown` becomes `true` (or its sender is
/// dropped). Then it stops accepting, lets idle keep-alive connections close,
/// gives in-flight requests a short grace and drops whatever is still running.
pub async fn serve(
    listener: TcpListener,
    tls: Arc<rustls::ServerConfig>,
    app: axum::Router,
    mut shutdown: watch::Receiver<bool>,
) {
    let acceptor = TlsAcceptor::from(tls);
    let mut connections = JoinSet::new();
    loop {
        tokio::select! {
            () = wait_for_shutdown(&mut shutdown) => break,
            accepted = listener.accept() => match accepted {
                Ok((stream, _peer)) => {
                    connections.spawn(serve_connection(
                        stream,
                        acceptor.clone(),
                        app.clone(),
                        shutdown.clone(),
                    ));
                }
                Err(err) => {
                    tracing::warn!(%err, "accepting an https connection failed");
                    tokio::time::sleep(ACCEPT_BACKOFF).await;
                }
            },
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
        }
    }
    drop(listener);
    let drained = tokio::time::timeout(SHUTDOWN_GRACE * 2, async {
        while connections.join_next().await.is_some() {}
    })
    .await;
    if drained.is_err() {
        connections.shutdown().await;
    }
}

async fn serve_connection(
    stream: TcpStream,
    acceptor: TlsAcceptor,
    app: axum::Router,
    mut shutdown: watch::Receiver<bool>,
) {
    if let Err(err) = stream.set_nodelay(true) {
        tracing::debug!(%err, "setting TCP_NODELAY failed");
    }
    let tls = tokio::select! {
        handshake = tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(stream)) => {
            match handshake {
                Ok(Ok(tls)) => tls,
                Ok(Err(err)) => {
                    tracing::debug!(%err, "tls handshake failed");
                    return;
                }
                Err(_) => {
                    tracing::debug!("tls handshake timed out");
                    return;
                }
            }
        }
        () = wait_for_shutdown(&mut shutdown) => return,
    };
    let connection = hyper::server::conn::http1::Builder::new()
        .timer(TokioTimer::new())
        .keep_alive(true)
        .serve_connection(TokioIo::new(tls), TowerToHyperService::new(app));
    tokio::pin!(connection);
    tokio::select! {
        result = connection.as_mut() => {
            if let Err(err) = result {
                tracing::debug!(%err, "https connection ended with an error");
            }
        }
        () = wait_for_shutdown(&mut shutdown) => {
            connection.as_mut().graceful_shutdown();
            if tokio::time::timeout(SHUTDOWN_GRACE, connection.as_mut()).await.is_err() {
                tracing::debug!("dropping an https connection still busy after the shutdown grace");
            }
        }
    }
}

/// Returns once `shutdown` is `true` or its sender is gone.
async fn wait_for_shutdown(shutdown: &mut watch::Receiver<bool>) {
    // An error means the sender was dropped: nobody can keep the server alive any more.
    let _ = shutdown.wait_for(|stop| *stop).await;
}
