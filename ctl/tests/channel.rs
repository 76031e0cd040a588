//! The mTLS channel builder against a real tonic server that requires client
//! certificates, with certificates from the `pki` module.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use pvectl::channel::{AgentAddress, ChannelError, ClientIdentity, Connector};
use pvectl::cluster::Cluster;
use pvectl::config::Context;
use pvectl::pki::{AgentRequest, CertificateAuthority, ClientRequest, Issued, Role, generate_ca};
use pvectl_proto::v1::agent_server::{Agent, AgentServer};
use pvectl_proto::v1::{GetNodeInfoRequest, Member, NodeInfo};
use time::OffsetDateTime;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use tokio_stream::StreamExt;
use tokio_stream::wrappers::TcpListenerStream;
use tonic::transport::{Certificate, Identity, Server, ServerTlsConfig};
use tonic::{Request, Response, Status};

/// Serves `GetNodeInfo` only, telling the caller how many certificates it
/// presented (in `cluster_name`), so tests see mTLS really happened.
struct FakeAgent;

#[tonic::async_trait]
impl Agent for FakeAgent {
    async fn get_node_info(
        &self,
        request: Request<GetNodeInfoRequest>,
    ) -> Result<Response<NodeInfo>, Status> {
        let presented = request.peer_certs().map_or(0, |certs| certs.len());
        Ok(Response::new(NodeInfo {
            node: Some(Member {
                name: "pve1".to_owned(),
                node_id: 1,
                ..Member::default()
            }),
            cluster_name: format!("client presented {presented} certificate(s)"),
            ..NodeInfo::default()
        }))
    }
}

struct Pki {
    ca: Issued,
    authority: CertificateAuthority,
}

fn pki() -> Pki {
    let ca = generate_ca(OffsetDateTime::now_utc(), 30).unwrap();
    let authority = CertificateAuthority::from_pem(&ca.cert_pem, &ca.key_pem, "ca").unwrap();
    Pki { ca, authority }
}

impl Pki {
    fn agent(&self) -> Issued {
        let request = AgentRequest {
            node: "pve1".to_owned(),
            ips: vec!["127.0.0.1".parse().unwrap()],
            dns_names: Vec::new(),
        };
        self.authority
            .issue_agent(&request, OffsetDateTime::now_utc(), 10)
            .unwrap()
    }

    fn client(&self) -> Issued {
        let request = ClientRequest {
            name: "alice".to_owned(),
            role: Role::Admin,
        };
        self.authority
            .issue_client(&request, OffsetDateTime::now_utc(), 10)
            .unwrap()
    }
}

/// A running mTLS server; dropping `stop` shuts it down.
struct Running {
    address: AgentAddress,
    /// Connections it accepted.
    accepted: Arc<AtomicUsize>,
    stop: Option<oneshot::Sender<()>>,
    task: JoinHandle<()>,
}

impl Running {
    async fn shut_down(mut self) {
        if let Some(stop) = self.stop.take() {
            stop.send(()).unwrap();
        }
        self.task.await.unwrap();
    }
}

async fn serve(pki: &Pki) -> Running {
    let agent = pki.agent();
    let tls = ServerTlsConfig::new()
        .identity(Identity::from_pem(&agent.cert_pem, &agent.key_pem))
        .client_ca_root(Certificate::from_pem(&pki.ca.cert_pem));
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let local: SocketAddr = listener.local_addr().unwrap();
    let (stop, stopped) = oneshot::channel::<()>();
    let accepted = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&accepted);
    let incoming = TcpListenerStream::new(listener).map(move |connection| {
        counter.fetch_add(1, Ordering::SeqCst);
        connection
    });
    let server = Server::builder()
        .tls_config(tls)
        .unwrap()
        .add_service(AgentServer::new(FakeAgent));
    let task = tokio::spawn(async move {
        server
            .serve_with_incoming_shutdown(incoming, async {
                let _ = stopped.await;
            })
            .await
            .unwrap();
    });
    Running {
        address: local.to_string().parse().unwrap(),
        accepted,
        stop: Some(stop),
        task,
    }
}

fn connector(ca_pem: &str, client: &Issued) -> Connector {
    let identity = ClientIdentity::from_pem(ca_pem, &client.cert_pem, &client.key_pem);
    Connector::new(identity, Duration::from_secs(5))
}

#[tokio::test]
async fn an_agent_client_calls_get_node_info_over_mutual_tls() {
    let pki = pki();
    let server = serve(&pki).await;
    let connector = connector(&pki.ca.cert_pem, &pki.client());
    let mut agent = connector.agent(&server.address, None).await.unwrap();
    let info = agent
        .get_node_info(GetNodeInfoRequest::default())
        .await
        .unwrap()
        .into_inner();
    assert_eq!(info.node.unwrap().name, "pve1");
    assert_eq!(info.cluster_name, "client presented 1 certificate(s)");
    server.shut_down().await;
}

#[tokio::test]
async fn a_given_server_name_is_checked_instead_of_the_host() {
    let pki = pki();
    let server = serve(&pki).await;
    let connector = connector(&pki.ca.cert_pem, &pki.client());
    let mut agent = connector
        .agent(&server.address, Some("pve1"))
        .await
        .unwrap();
    assert!(
        agent
            .get_node_info(GetNodeInfoRequest::default())
            .await
            .is_ok()
    );
    let error = connector
        .agent(&server.address, Some("pve9"))
        .await
        .unwrap_err();
    assert!(matches!(error, ChannelError::Connect { .. }), "{error}");
    assert!(
        error.to_string().contains("not valid for name \"pve9\""),
        "{error}"
    );
    server.shut_down().await;
}

#[tokio::test]
async fn a_client_certificate_from_another_ca_fails_on_the_first_call() {
    let pki = pki();
    let server = serve(&pki).await;
    let foreign = self::pki().client();
    let connector = connector(&pki.ca.cert_pem, &foreign);
    // TLS 1.3: the client finishes its handshake before the server checks
    // its certificate, so the refusal shows on the call.
    let outcome = match connector.agent(&server.address, None).await {
        Ok(mut agent) => agent
            .get_node_info(GetNodeInfoRequest::default())
            .await
            .map(|_| ())
            .map_err(|status| status.to_string()),
        Err(error) => Err(error.to_string()),
    };
    let error = outcome.expect_err("a foreign client certificate was accepted");
    assert!(error.contains("UnknownCA"), "{error}");
    server.shut_down().await;
}

#[tokio::test]
async fn a_connector_for_a_context_reads_the_context_files() {
    let pki = pki();
    let server = serve(&pki).await;
    let client = pki.client();
    let dir = tempfile::tempdir().unwrap();
    let write = |name: &str, text: &str| {
        let path = dir.path().join(name);
        std::fs::write(&path, text).unwrap();
        path
    };
    let context = Context {
        name: "test".to_owned(),
        seed: server.address.clone(),
        ca: write("ca.pem", &pki.ca.cert_pem),
        cert: write("client.pem", &client.cert_pem),
        key: write("client.key", &client.key_pem),
        server_name: None,
        output: None,
        timeout: Some(Duration::from_secs(3)),
    };
    let connector = Connector::for_context(&context).unwrap();
    let mut agent = connector.agent(&context.seed, None).await.unwrap();
    assert!(
        agent
            .get_node_info(GetNodeInfoRequest::default())
            .await
            .is_ok()
    );
    server.shut_down().await;
}

#[test]
fn loading_names_the_missing_or_wrong_file() {
    let pki = pki();
    let client = pki.client();
    let dir = tempfile::tempdir().unwrap();
    let ca = dir.path().join("ca.pem");
    std::fs::write(&ca, &pki.ca.cert_pem).unwrap();
    let key = dir.path().join("client.key");
    std::fs::write(&key, &client.key_pem).unwrap();
    let missing = dir.path().join("absent.pem");
    let error = ClientIdentity::load(&ca, &missing, &key).unwrap_err();
    assert!(matches!(error, ChannelError::Read { .. }));
    assert!(error.to_string().contains("absent.pem"), "{error}");
    let error = ClientIdentity::load(&ca, &key, &key)
        .unwrap_err()
        .to_string();
    assert_eq!(
        error,
        format!(
            "the client certificate {} holds no PEM CERTIFICATE",
            key.display()
        )
    );
}

#[tokio::test]
async fn an_agent_that_is_not_listening_fails_to_connect_naming_its_address() {
    let pki = pki();
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address: AgentAddress = listener.local_addr().unwrap().to_string().parse().unwrap();
    drop(listener);
    let error = connector(&pki.ca.cert_pem, &pki.client())
        .agent(&address, None)
        .await
        .unwrap_err()
        .to_string();
    assert!(
        error.starts_with(&format!("cannot connect to agent {address}")),
        "{error}"
    );
}

#[tokio::test]
async fn a_cluster_dials_each_agent_once_for_all_its_calls() {
    let pki = pki();
    let server = serve(&pki).await;
    let connector = connector(&pki.ca.cert_pem, &pki.client());
    let cluster = Cluster::discover(
        connector,
        server.address.clone(),
        None,
        Duration::from_secs(5),
    )
    .await
    .unwrap();
    assert_eq!(cluster.seed().node, "pve1");
    let seed = cluster.target("pve1").unwrap();
    for _ in 0..3 {
        let (answered, info) = cluster
            .call(seed.clone(), "GetNodeInfo", |mut agent| async move {
                agent.get_node_info(GetNodeInfoRequest::default()).await
            })
            .await
            .unwrap();
        assert_eq!(answered, seed);
        assert_eq!(info.cluster_name, "client presented 1 certificate(s)");
    }
    // A copy with another timeout shares the channels.
    let longer = cluster.with_call_timeout(Duration::from_secs(60));
    longer.client(&seed).await.unwrap();
    assert_eq!(server.accepted.load(Ordering::SeqCst), 1);
    server.shut_down().await;
}
