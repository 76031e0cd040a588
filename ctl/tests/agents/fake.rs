//! A fake cluster of pvectl agents: one mTLS tonic server per node on
//! loopback port 0, certificates from `pvectl::pki`, canned templates and
//! resources, create operations with scripted events, and journals the test
//! can edit. Each node's server runs on the fake's own runtime.

mod agent;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use agent::FakeAgent;
use pvectl::pki::{AgentRequest, CertificateAuthority, ClientRequest, Issued, Role, generate_ca};
use pvectl_proto::journal::{Entry, NewEntry, Outcome, ZERO_HASH, parse_line};
use pvectl_proto::v1::agent_server::AgentServer;
use pvectl_proto::v1::{CreateEvent, CreateVmFromTemplateRequest, Member, TemplateRange};
use time::OffsetDateTime;
use tokio::net::TcpListener;
use tokio_stream::wrappers::TcpListenerStream;
use tonic::transport::{Certificate, Identity, Server, ServerTlsConfig};

/// The VMID every successful create gets.
pub const NEW_VMID: u32 = 104;

/// One node of the fake cluster.
struct NodeSpec {
    name: &'static str,
    id: u32,
    free_memory: u64,
    templates: Vec<(u32, &'static str)>,
}

fn nodes() -> Vec<NodeSpec> {
    vec![
        NodeSpec {
            name: "pve1",
            id: 1,
            free_memory: 4 << 30,
            templates: vec![(9100, "ubuntu-24.04"), (9101, "debian-12")],
        },
        NodeSpec {
            name: "pve2",
            id: 2,
            free_memory: 12 << 30,
            templates: vec![(9200, "ubuntu-24.04")],
        },
        NodeSpec {
            name: "pve3",
            id: 3,
            free_memory: 8 << 30,
            templates: vec![],
        },
    ]
}

/// What every node's agent shares: members, journals, and what was asked.
#[derive(Default)]
struct Shared {
    members: Vec<Member>,
    journals: Mutex<HashMap<String, Vec<String>>>,
    /// Every create request, with the node that got it.
    creates: Mutex<Vec<(String, CreateVmFromTemplateRequest)>>,
    /// Events of every operation, by id.
    operations: Mutex<Vec<(String, String, Vec<CreateEvent>)>>,
}

/// A running fake cluster and a pvectl config pointing at its first node.
pub struct FakeCluster {
    runtime: Option<tokio::runtime::Runtime>,
    shared: Arc<Shared>,
    pub home: tempfile::TempDir,
    pub config: PathBuf,
}

impl FakeCluster {
    /// Three nodes; with `dead_member`, a fourth member whose agent never
    /// answers.
    pub fn start(dead_member: bool) -> FakeCluster {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap();
        let ca = generate_ca(OffsetDateTime::now_utc(), 30).unwrap();
        let authority = CertificateAuthority::from_pem(&ca.cert_pem, &ca.key_pem, "ca").unwrap();
        let specs = nodes();
        let listeners: Vec<TcpListener> = specs
            .iter()
            .map(|_| runtime.block_on(TcpListener::bind("127.0.0.1:0")).unwrap())
            .collect();
        let mut members: Vec<Member> = specs
            .iter()
            .zip(&listeners)
            .map(|(spec, listener)| Member {
                name: spec.name.to_owned(),
                node_id: spec.id,
                ip: "127.0.0.1".to_owned(),
                online: true,
                agent_address: listener.local_addr().unwrap().to_string(),
                agent_version: String::new(),
                template_range: Some(range(spec.id)),
            })
            .collect();
        if dead_member {
            let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            let address = closed.local_addr().unwrap().to_string();
            drop(closed);
            members.push(Member {
                name: "pve4".to_owned(),
                node_id: 4,
                ip: "127.0.0.1".to_owned(),
                online: false,
                agent_address: address,
                agent_version: String::new(),
                template_range: Some(range(4)),
            });
        }
        let journals = specs
            .iter()
            .map(|spec| (spec.name.to_owned(), journal_lines(spec.name, 3)))
            .collect();
        let shared = Arc::new(Shared {
            members,
            journals: Mutex::new(journals),
            ..Shared::default()
        });
        for (spec, listener) in specs.into_iter().zip(listeners) {
            let issued = authority
                .issue_agent(
                    &AgentRequest {
                        node: spec.name.to_owned(),
                        ips: vec!["127.0.0.1".parse().unwrap()],
                        dns_names: Vec::new(),
                    },
                    OffsetDateTime::now_utc(),
                    10,
                )
                .unwrap();
            let tls = ServerTlsConfig::new()
                .identity(Identity::from_pem(&issued.cert_pem, &issued.key_pem))
                .client_ca_root(Certificate::from_pem(&ca.cert_pem));
            let agent = FakeAgent {
                spec,
                shared: shared.clone(),
            };
            let server = Server::builder()
                .tls_config(tls)
                .unwrap()
                .add_service(AgentServer::new(agent));
            runtime.spawn(server.serve_with_incoming(TcpListenerStream::new(listener)));
        }
        let client = authority
            .issue_client(
                &ClientRequest {
                    name: "alice".to_owned(),
                    role: Role::Admin,
                },
                OffsetDateTime::now_utc(),
                10,
            )
            .unwrap();
        let home = tempfile::tempdir().unwrap();
        let config = write_config(home.path(), &ca, &client, &shared.members[0].agent_address);
        FakeCluster {
            runtime: Some(runtime),
            shared,
            home,
            config,
        }
    }

    /// Every create request so far, with the node that got it.
    pub fn creates(&self) -> Vec<(String, CreateVmFromTemplateRequest)> {
        self.shared.creates.lock().unwrap().clone()
    }

    /// Changes `node`'s journal lines in place.
    pub fn edit_journal(&self, node: &str, edit: impl FnOnce(&mut Vec<String>)) {
        edit(self.shared.journals.lock().unwrap().get_mut(node).unwrap());
    }

    /// `node`'s journal lines.
    pub fn journal(&self, node: &str) -> Vec<String> {
        self.shared.journals.lock().unwrap()[node].clone()
    }

    /// Where `pvectl audit verify` keeps the heads it saw.
    pub fn heads_file(&self) -> PathBuf {
        self.home.path().join(".local/state/pvectl/heads.json")
    }
}

impl Drop for FakeCluster {
    fn drop(&mut self) {
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_background();
        }
    }
}

fn range(node_id: u32) -> TemplateRange {
    let first = 9000 + 100 * node_id;
    TemplateRange {
        first,
        last: first + 99,
    }
}

fn write_config(home: &Path, ca: &Issued, client: &Issued, seed: &str) -> PathBuf {
    let dir = home.join("pvectl");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("ca.pem"), &ca.cert_pem).unwrap();
    std::fs::write(dir.join("client.pem"), &client.cert_pem).unwrap();
    std::fs::write(dir.join("client.key"), &client.key_pem).unwrap();
    let config = dir.join("config.toml");
    std::fs::write(
        &config,
        format!(
            "current-context = \"fake\"\n\n[contexts.fake]\nseed = \"{seed}\"\n\
             ca = \"ca.pem\"\ncert = \"client.pem\"\nkey = \"client.key\"\ntimeout = \"5s\"\n"
        ),
    )
    .unwrap();
    config
}

/// `count` sealed journal lines of `node`, as the agent's journal writes them.
pub fn journal_lines(node: &str, count: u64) -> Vec<String> {
    let mut lines: Vec<String> = Vec::new();
    for _ in 0..count {
        append_line(&mut lines, node);
    }
    lines
}

/// Appends one sealed entry after the last line.
pub fn append_line(lines: &mut Vec<String>, node: &str) {
    let (seq, prev) = match lines.last() {
        Some(last) => {
            let entry = parse_line(last).unwrap();
            (entry.seq + 1, entry.hash)
        }
        None => (1, ZERO_HASH.to_owned()),
    };
    let new = NewEntry {
        actor: "alice".to_owned(),
        action: "guest.create".to_owned(),
        target: format!("node/{node}"),
        outcome: Outcome::Ok,
        detail: format!("step {seq}"),
        operation: None,
    };
    let time = OffsetDateTime::from_unix_timestamp(1_735_689_600 + seq as i64).unwrap();
    lines.push(Entry::seal(new, seq, time, &prev).to_line());
}
