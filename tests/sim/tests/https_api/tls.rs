use http::StatusCode;
use pve_sim::pki::ClusterCa;
use tokio::net::TcpStream;

use crate::support::{Node, client_trusting, tls_connector};

#[tokio::test]
async fn a_client_trusting_another_ca_cannot_connect() {
    let node = Node::start().await;
    let stranger = ClusterCa::generate("othercluster").expect("ca");
    let result = client_trusting(&stranger)
        .get(node.url("/version"))
        .header("Authorization", node.token_header())
        .send()
        .await;
    let error = result.expect_err("the handshake must fail");
    assert!(error.is_connect(), "{error:?}");
    assert_eq!(node.seen.count(), 0);
}

#[tokio::test]
async fn the_node_certificate_names_the_node_localhost_and_its_address() {
    let node = Node::start().await;
    let _ = rustls::crypto::ring::default_provider().install_default();
    let root = reqwest::Certificate::from_pem(node.ca.cert_pem.as_bytes()).expect("ca pem");
    let client = reqwest::Client::builder()
        .tls_certs_only([root])
        .resolve("pve1", node.addr)
        .resolve("localhost", node.addr)
        .build()
        .expect("client");
    let port = node.addr.port();
    for host in ["pve1", "localhost", "127.0.0.1"] {
        let response = client
            .get(format!("https://{host}:{port}/api2/json/version"))
            .header("Authorization", node.token_header())
            .send()
            .await
            .unwrap_or_else(|err| panic!("{host}: {err:?}"));
        assert_eq!(response.status(), StatusCode::OK, "{host}");
    }
}

#[tokio::test]
async fn the_server_offers_http_1_1_only() {
    let node = Node::start().await;
    let stream = TcpStream::connect(node.addr).await.expect("connect");
    let tls = tls_connector(&node.ca, &[b"h2", b"http/1.1"])
        .connect("pve1".try_into().expect("server name"), stream)
        .await
        .expect("tls handshake");
    assert_eq!(tls.get_ref().1.alpn_protocol(), Some(&b"http/1.1"[..]));
}

#[tokio::test]
async fn a_stopped_node_no_longer_accepts_connections() {
    let node = Node::start().await;
    let client = node.client();
    let response = client
        .get(node.url("/version"))
        .header("Authorization", node.token_header())
        .send()
        .await
        .expect("request");
    assert_eq!(response.status(), StatusCode::OK);
    let addr = node.addr;
    node.stop().await;
    assert!(TcpStream::connect(addr).await.is_err());
}
