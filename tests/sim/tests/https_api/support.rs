//! A simulated node with small dummy handlers, served over real HTTPS on
//! 127.0.0.1:0, and clients that trust only its CA.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use http::{Method, StatusCode};
use pve_sim::api::{self, ApiError, ApiRequest, ApiRoutes, AuthStore, HttpOptions, Reply};
use pve_sim::https;
use pve_sim::pki::{self, ClusterCa};
use rustls::pki_types::pem::PemObject as _;
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Notify, watch};
use tokio::task::JoinHandle;

pub const PASSWORD: &str = "s3cret-pw";
pub const TOKEN_ID: &str = "root@pam!ci";
pub const TOKEN_SECRET: &str = "5f0c4a62-7d1e-4c1b-9a57-0b8f2b6d9e11";
pub const UPID: &str = "UPID:pve1:0003A1B2:01C2D3E4:66A0B1C2:qmclone:9100:root@pam:";

/// What the dummy handlers saw.
#[derive(Clone, Default)]
pub struct Seen(Arc<Mutex<Vec<ApiRequest>>>, pub Arc<Gate>);

/// Lets a test hold the template handler in the middle of its work.
#[derive(Default)]
pub struct Gate {
    pub started: Notify,
    pub release: Notify,
    pub finished: Notify,
}

impl Seen {
    fn record(&self, request: ApiRequest) {
        self.0.lock().expect("seen lock").push(request);
    }

    /// The last request a handler received.
    pub fn last(&self) -> ApiRequest {
        self.0
            .lock()
            .expect("seen lock")
            .last()
            .cloned()
            .expect("a handler was called")
    }

    pub fn count(&self) -> usize {
        self.0.lock().expect("seen lock").len()
    }
}

fn routes() -> ApiRoutes<Seen> {
    ApiRoutes::new()
        .route(Method::GET, "/version", |seen: Seen, request| async move {
            seen.record(request);
            Ok(json!({"version": "9.0.3", "release": "9.0", "repoid": "0123abcd"}).into())
        })
        .route(
            Method::POST,
            "/nodes/{node}/qemu/{vmid}/clone",
            |seen: Seen, request| async move {
                seen.record(request);
                Ok(Value::from(UPID).into())
            },
        )
        .route(
            Method::DELETE,
            "/nodes/{node}/qemu/{vmid}",
            |seen: Seen, request| async move {
                seen.record(request);
                Ok(Value::from(UPID).into())
            },
        )
        .route(
            Method::POST,
            "/nodes/{node}/qemu/{vmid}/status/start",
            |seen: Seen, request| async move {
                seen.record(request);
                Err::<Reply, _>(ApiError::internal("VM is locked (clone)"))
            },
        )
        .route(
            Method::POST,
            "/nodes/{node}/qemu/{vmid}/status/stop",
            |_seen: Seen, _request| async move {
                panic!("a handler bug");
            },
        )
        .route(
            Method::GET,
            "/nodes/{node}/tasks",
            |seen: Seen, request: ApiRequest| async move {
                let count = request
                    .params
                    .get("limit")
                    .and_then(Value::as_u64)
                    .unwrap_or(0);
                seen.record(request);
                let tasks: Vec<Value> = (0..count)
                    .map(|n| {
                        json!({"upid": UPID, "node": "pve1", "pid": n, "pstart": 1, "starttime": n,
                               "type": "qmclone", "id": "9100", "user": "root@pam"})
                    })
                    .collect();
                Ok(Reply::with_total(Value::Array(tasks), count))
            },
        )
        .route(
            Method::GET,
            "/nodes/{node}/tasks/{upid}/status",
            |seen: Seen, request: ApiRequest| async move {
                let upid = request.path["upid"].clone();
                seen.record(request);
                Ok(
                    json!({"upid": upid, "node": "pve1", "pid": 238002, "pstart": 29545444,
                          "starttime": 1721807298, "type": "qmclone", "id": "9100",
                          "user": "root@pam", "status": "running"})
                    .into(),
                )
            },
        )
        .route(
            Method::POST,
            "/nodes/{node}/qemu/{vmid}/template",
            |seen: Seen, request| async move {
                seen.1.started.notify_one();
                seen.1.release.notified().await;
                seen.record(request);
                seen.1.finished.notify_one();
                Ok(Value::from(UPID).into())
            },
        )
        .route(
            Method::PUT,
            "/access/password",
            |seen: Seen, request| async move {
                seen.record(request);
                Ok(Value::Null.into())
            },
        )
}

/// A running simulated node.
pub struct Node {
    pub addr: SocketAddr,
    pub ca: ClusterCa,
    pub auth: Arc<AuthStore>,
    pub seen: Seen,
    shutdown: watch::Sender<bool>,
    server: JoinHandle<()>,
}

impl Node {
    pub async fn start() -> Node {
        Self::start_with(|_| {}).await
    }

    /// Starts a node after `adjust` has changed its HTTP options.
    pub async fn start_with(adjust: impl FnOnce(&mut HttpOptions)) -> Node {
        let ca = ClusterCa::generate("testcluster").expect("ca");
        let cert = ca
            .issue_node_cert("pve1", IpAddr::V4(Ipv4Addr::LOCALHOST))
            .expect("node cert");
        let tls = pki::server_config(&cert).expect("tls config");
        let auth = Arc::new(AuthStore::new(42));
        auth.add_user("root@pam", PASSWORD);
        auth.add_token(TOKEN_ID, TOKEN_SECRET);
        let seen = Seen::default();
        let mut options = HttpOptions::new("testcluster");
        options.auth_failure_delay = Duration::from_millis(1);
        adjust(&mut options);
        let app = api::router(routes(), seen.clone(), Arc::clone(&auth), options);
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("local addr");
        let (shutdown, signal) = watch::channel(false);
        let server = tokio::spawn(https::serve(listener, tls, app, signal));
        Node {
            addr,
            ca,
            auth,
            seen,
            shutdown,
            server,
        }
    }

    /// `https://127.0.0.1:<port>/api2/json<path>`
    pub fn url(&self, path: &str) -> String {
        format!("https://{}/api2/json{path}", self.addr)
    }

    /// A client that trusts this node's CA only.
    pub fn client(&self) -> reqwest::Client {
        client_trusting(&self.ca)
    }

    pub fn token_header(&self) -> String {
        format!("PVEAPIToken={TOKEN_ID}={TOKEN_SECRET}")
    }

    /// Logs in as root@pam and returns (ticket, CSRF token).
    pub async fn login(&self) -> (String, String) {
        let response = self
            .client()
            .post(self.url("/access/ticket"))
            .form(&[("username", "root@pam"), ("password", PASSWORD)])
            .send()
            .await
            .expect("login request");
        assert_eq!(response.status(), StatusCode::OK);
        let body: Value = response.json().await.expect("login json");
        let text = |name: &str| body["data"][name].as_str().expect(name).to_string();
        (text("ticket"), text("CSRFPreventionToken"))
    }

    /// Sends a raw HTTP/1.1 request over TLS and returns the whole answer as text.
    pub async fn raw(&self, request: &str) -> String {
        let stream = TcpStream::connect(self.addr).await.expect("connect");
        let mut tls = tls_connector(&self.ca, &[b"http/1.1"])
            .connect("localhost".try_into().expect("server name"), stream)
            .await
            .expect("tls handshake");
        tls.write_all(request.as_bytes()).await.expect("write");
        let mut answer = Vec::new();
        tls.read_to_end(&mut answer).await.expect("read");
        String::from_utf8_lossy(&answer).into_owned()
    }

    /// Signals shutdown and waits for the server to return.
    pub async fn stop(self) {
        self.shutdown.send(true).expect("server still listening");
        self.server.await.expect("server task");
    }
}

pub fn client_trusting(ca: &ClusterCa) -> reqwest::Client {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let root = reqwest::Certificate::from_pem(ca.cert_pem.as_bytes()).expect("ca pem");
    reqwest::Client::builder()
        .tls_certs_only([root])
        .build()
        .expect("client")
}

pub fn tls_connector(ca: &ClusterCa, alpn: &[&[u8]]) -> tokio_rustls::TlsConnector {
    let mut roots = rustls::RootCertStore::empty();
    for cert in rustls::pki_types::CertificateDer::pem_slice_iter(ca.cert_pem.as_bytes()) {
        roots.add(cert.expect("ca pem")).expect("ca cert");
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("protocol versions")
        .with_root_certificates(roots)
        .with_no_client_auth();
    config.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
    tokio_rustls::TlsConnector::from(Arc::new(config))
}

/// The reason phrase hyper received on the status line.
pub fn reason(response: &reqwest::Response) -> Option<String> {
    response
        .extensions()
        .get::<hyper::ext::ReasonPhrase>()
        .map(|reason| String::from_utf8_lossy(reason.as_bytes()).into_owned())
}

/// A response's status, reason phrase and body text.
pub async fn parts(response: reqwest::Response) -> (StatusCode, Option<String>, String) {
    let status = response.status();
    let reason = reason(&response);
    let body = response.text().await.expect("body");
    (status, reason, body)
}

/// Parses a JSON body.
pub fn json(body: &str) -> Value {
    serde_json::from_str(body).unwrap_or_else(|err| panic!("{err}: {body}"))
}
