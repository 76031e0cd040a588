//! mTLS and roles through the real binaries: refusals come before any
//! handler runs and change nothing.
use pvectl::pki::{CertificateAuthority, ClientRequest, Role};
use pvectl_e2e::Sandbox;
use pvectl_proto::v1::GetNodeInfoRequest;
use pvectl_proto::v1::agent_client::AgentClient;
use tonic::transport::{Certificate, Channel, ClientTlsConfig};

fn vmids(sandbox: &Sandbox) -> Vec<u32> {
    sandbox.cluster.sim().fs.vmlist().keys().copied().collect()
}

/// Adds context `name` with the given client certificate files.
async fn add_context(sandbox: &Sandbox, name: &str, cert: &std::path::Path, key: &std::path::Path) {
    let seed = sandbox.cluster.sandbox().nodes[0].agent.clone().unwrap();
    let ca = sandbox.fleet.pki_dir.join("ca.pem");
    let run = sandbox
        .pvectl(&[
            "config",
            "set-context",
            name,
            "--seed",
            &seed,
            "--ca",
            ca.to_str().unwrap(),
            "--cert",
            cert.to_str().unwrap(),
            "--key",
            key.to_str().unwrap(),
        ])
        .await;
    assert_eq!(run.code, 0, "{run}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_viewer_reads_but_cannot_create_and_nothing_is_created() {
    let sandbox = Sandbox::three_nodes().await.unwrap();
    let read = sandbox.pvectl_as("sim-viewer", &["node", "list"]).await;
    assert_eq!(read.code, 0, "{read}");
    let before = vmids(&sandbox);
    let create = sandbox
        .pvectl_as(
            "sim-viewer",
            &["vm", "create", "web1", "--template", "9100"],
        )
        .await;
    assert_ne!(create.code, 0, "{create}");
    assert!(create.stderr.contains("viewer"), "{create}");
    assert!(create.stderr.contains("admin"), "{create}");
    assert_eq!(vmids(&sandbox), before);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_certificate_from_another_ca_is_refused() {
    let sandbox = Sandbox::three_nodes().await.unwrap();
    let other = sandbox.cluster.dir().join("other-pki");
    let other_dir = other.to_str().unwrap();
    for args in [
        vec!["pki", "--dir", other_dir, "init"],
        vec![
            "pki",
            "--dir",
            other_dir,
            "issue-client",
            "--name",
            "admin",
            "--role",
            "admin",
        ],
    ] {
        let run = sandbox.pvectl(&args).await;
        assert_eq!(run.code, 0, "{run}");
    }
    add_context(
        &sandbox,
        "foreign",
        &other.join("client-admin.pem"),
        &other.join("client-admin.key"),
    )
    .await;
    let run = sandbox.pvectl_as("foreign", &["node", "list"]).await;
    assert_ne!(run.code, 0, "{run}");
    // the TLS alert may or may not reach the client before the connection closes
    assert!(run.stderr.contains("GetNodeInfo failed"), "{run}");
}

#[tokio::test(flavor = "multi_thread")]
async fn an_expired_certificate_is_refused() {
    let sandbox = Sandbox::three_nodes().await.unwrap();
    let ca = CertificateAuthority::load(&sandbox.fleet.pki_dir).unwrap();
    let long_ago = time::OffsetDateTime::now_utc() - time::Duration::days(30);
    let request = ClientRequest {
        name: "admin".into(),
        role: Role::Admin,
    };
    let issued = ca.issue_client(&request, long_ago, 1).unwrap();
    let dir = sandbox.cluster.dir().join("expired");
    std::fs::create_dir_all(&dir).unwrap();
    let (cert, key) = (dir.join("admin.pem"), dir.join("admin.key"));
    std::fs::write(&cert, issued.cert_pem).unwrap();
    std::fs::write(&key, issued.key_pem).unwrap();
    add_context(&sandbox, "expired", &cert, &key).await;
    let run = sandbox.pvectl_as("expired", &["node", "list"]).await;
    assert_ne!(run.code, 0, "{run}");
    assert!(run.stderr.contains("GetNodeInfo failed"), "{run}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_client_without_a_certificate_is_refused_on_its_first_call() {
    let sandbox = Sandbox::three_nodes().await.unwrap();
    let agent = sandbox.cluster.sandbox().nodes[0].agent.clone().unwrap();
    let ca = std::fs::read(sandbox.fleet.pki_dir.join("ca.pem")).unwrap();
    let tls = ClientTlsConfig::new()
        .ca_certificate(Certificate::from_pem(ca))
        .domain_name("pve1");
    let endpoint = Channel::from_shared(format!("https://{agent}"))
        .unwrap()
        .tls_config(tls)
        .unwrap();
    // with TLS 1.3 the refusal shows on the first call, not on connect
    let result = match endpoint.connect().await {
        Ok(channel) => AgentClient::new(channel)
            .get_node_info(GetNodeInfoRequest::default())
            .await
            .map(|_| ()),
        Err(err) => Err(tonic::Status::unavailable(err.to_string())),
    };
    assert!(
        result.is_err(),
        "a call without a client certificate was answered"
    );
}
