//! Certificates from `pvectl pki` complete real mutual-TLS handshakes with
//! rustls (webpki verification) over an in-memory stream, and the wrong ones
//! are refused.

use std::path::Path;
use std::process::Command;
use std::sync::Arc;

use pvectl::pki::{AgentRequest, CertificateAuthority, ClientRequest, Issued, Role, generate_ca};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use rustls::server::WebPkiClientVerifier;
use rustls::{ClientConfig, RootCertStore, ServerConfig};
use time::{Duration, OffsetDateTime};
use tokio_rustls::{TlsAcceptor, TlsConnector};

/// PEM texts of one side of a connection.
struct Side {
    ca: String,
    cert: String,
    key: String,
}

fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

fn roots(ca: &str) -> Arc<RootCertStore> {
    let mut roots = RootCertStore::empty();
    roots
        .add(CertificateDer::from_pem_slice(ca.as_bytes()).unwrap())
        .unwrap();
    Arc::new(roots)
}

fn chain(cert: &str) -> Vec<CertificateDer<'static>> {
    vec![CertificateDer::from_pem_slice(cert.as_bytes()).unwrap()]
}

fn key(key: &str) -> PrivateKeyDer<'static> {
    PrivateKeyDer::from_pem_slice(key.as_bytes()).unwrap()
}

fn server_config(server: &Side) -> ServerConfig {
    let verifier = WebPkiClientVerifier::builder_with_provider(roots(&server.ca), provider())
        .build()
        .unwrap();
    ServerConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_client_cert_verifier(verifier)
        .with_single_cert(chain(&server.cert), key(&server.key))
        .unwrap()
}

fn client_config(client: &Side) -> ClientConfig {
    ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots(&client.ca))
        .with_client_auth_cert(chain(&client.cert), key(&client.key))
        .unwrap()
}

/// Runs both ends of a handshake; on success, returns the client certificate
/// the server saw.
async fn handshake(server: &Side, client: &Side, server_name: &str) -> Result<Vec<u8>, String> {
    let (server_io, client_io) = tokio::io::duplex(64 * 1024);
    let acceptor = TlsAcceptor::from(Arc::new(server_config(server)));
    let connector = TlsConnector::from(Arc::new(client_config(client)));
    let name = ServerName::try_from(server_name.to_owned()).unwrap();
    let (accepted, connected) = tokio::join!(
        acceptor.accept(server_io),
        connector.connect(name, client_io)
    );
    connected.map_err(|error| format!("client: {error}"))?;
    let accepted = accepted.map_err(|error| format!("server: {error}"))?;
    let peer = accepted.get_ref().1.peer_certificates().unwrap();
    Ok(peer[0].to_vec())
}

fn pvectl(dir: &Path, args: &[&str]) {
    let output = Command::new(env!("CARGO_BIN_EXE_pvectl"))
        .args(["pki", "--dir"])
        .arg(dir)
        .args(args)
        .env_remove("PVECTL_CONFIG")
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
}

fn read(dir: &Path, name: &str) -> String {
    std::fs::read_to_string(dir.join(name)).unwrap()
}

#[tokio::test]
async fn files_written_by_pvectl_pki_complete_a_mutual_tls_handshake() {
    let dir = tempfile::tempdir().unwrap();
    let dir = dir.path();
    pvectl(dir, &["init"]);
    pvectl(
        dir,
        &[
            "issue-agent",
            "--node",
            "pve2",
            "--ip",
            "127.0.0.2",
            "--dns",
            "pve2.lab",
        ],
    );
    pvectl(dir, &["issue-client", "--name", "alice", "--role", "admin"]);
    let server = Side {
        ca: read(dir, "ca.pem"),
        cert: read(dir, "agent-pve2.pem"),
        key: read(dir, "agent-pve2.key"),
    };
    let client = Side {
        ca: read(dir, "ca.pem"),
        cert: read(dir, "client-alice.pem"),
        key: read(dir, "client-alice.key"),
    };
    let client_der = chain(&client.cert)[0].to_vec();
    for name in ["pve2", "pve2.lab", "127.0.0.2"] {
        let seen = handshake(&server, &client, name).await.unwrap();
        assert_eq!(seen, client_der, "server name {name}");
    }
    let error = handshake(&server, &client, "pve3").await.unwrap_err();
    assert!(error.starts_with("client:"), "{error}");
}

fn now() -> OffsetDateTime {
    OffsetDateTime::now_utc()
}

fn authority() -> (Issued, CertificateAuthority) {
    let issued = generate_ca(now(), 30).unwrap();
    let ca = CertificateAuthority::from_pem(&issued.cert_pem, &issued.key_pem, "ca").unwrap();
    (issued, ca)
}

fn agent(ca_pem: &str, ca: &CertificateAuthority) -> Side {
    let request = AgentRequest {
        node: "pve1".to_owned(),
        ips: vec!["127.0.0.1".parse().unwrap()],
        dns_names: Vec::new(),
    };
    let issued = ca.issue_agent(&request, now(), 10).unwrap();
    Side {
        ca: ca_pem.to_owned(),
        cert: issued.cert_pem,
        key: issued.key_pem,
    }
}

fn client_issued_at(ca_pem: &str, ca: &CertificateAuthority, at: OffsetDateTime) -> Side {
    let request = ClientRequest {
        name: "bob".to_owned(),
        role: Role::Viewer,
    };
    let issued = ca.issue_client(&request, at, 1).unwrap();
    Side {
        ca: ca_pem.to_owned(),
        cert: issued.cert_pem,
        key: issued.key_pem,
    }
}

#[tokio::test]
async fn a_client_certificate_from_another_ca_is_refused_by_the_server() {
    let (ca_issued, ca) = authority();
    let (other_issued, other) = authority();
    let server = agent(&ca_issued.cert_pem, &ca);
    let mut foreign = client_issued_at(&other_issued.cert_pem, &other, now());
    foreign.ca = ca_issued.cert_pem.clone();
    let error = handshake(&server, &foreign, "pve1").await.unwrap_err();
    assert!(error.starts_with("server:"), "{error}");
    assert!(error.contains("UnknownIssuer"), "{error}");
}

#[tokio::test]
async fn a_client_trusting_another_ca_refuses_the_agent() {
    let (ca_issued, ca) = authority();
    let (other_issued, _) = authority();
    let server = agent(&ca_issued.cert_pem, &ca);
    let mut client = client_issued_at(&ca_issued.cert_pem, &ca, now());
    client.ca = other_issued.cert_pem;
    let error = handshake(&server, &client, "pve1").await.unwrap_err();
    assert!(error.starts_with("client:"), "{error}");
    assert!(error.contains("UnknownIssuer"), "{error}");
}

#[tokio::test]
async fn an_expired_client_certificate_is_refused_by_the_server() {
    let (ca_issued, ca) = authority();
    let server = agent(&ca_issued.cert_pem, &ca);
    let expired = client_issued_at(&ca_issued.cert_pem, &ca, now() - Duration::days(3));
    let error = handshake(&server, &expired, "pve1").await.unwrap_err();
    assert!(error.starts_with("server:"), "{error}");
    assert!(error.contains("certificate expired"), "{error}");
}
