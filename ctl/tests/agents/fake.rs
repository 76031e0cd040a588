//! A fake cluster of pvectl agents: one mTLS tonic server per node on
//! loopback port 0, certificates from `pvectl::pki`, canned templates and
//! resources, create operations with scripted events, and journals the test
//! can edit. Each node's server runs on the fake's own runtime.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use pvectl::pki::{AgentRequest, CertificateAuthority, ClientRequest, Issued, Role, generate_ca};
use pvectl_proto::journal::{Entry, NewEntry, Outcome, ZERO_HASH, parse_line};
use pvectl_proto::v1::agent_server::{Agent, AgentServer};
use pvectl_proto::v1::{
    CreateEvent, CreatePhase, CreateResult, CreateVmFromTemplateRequest, ErrorDetail, ErrorKind,
    FindingCode, FindingSeverity, GetGuestRequest, GetJournalHeadRequest, GetNodeInfoRequest,
    Guest, GuestKind, GuestStatus, JournalEntry, JournalHead, ListOperationsRequest,
    ListOperationsResponse, ListTemplatesRequest, ListTemplatesResponse, Member, NodeInfo,
    NodeResources, OperationSummary, ReadJournalRequest, Template, TemplateDisk, TemplateRange,
    ValidationFinding, WatchOperationRequest, create_event, template_ref,
};
use time::OffsetDateTime;
use tokio::net::TcpListener;
use tokio_stream::wrappers::TcpListenerStream;
use tonic::codegen::BoxStream;
use tonic::transport::{Certificate, Identity, Server, ServerTlsConfig};
use tonic::{Request, Response, Status};

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

struct FakeAgent {
    spec: NodeSpec,
    shared: Arc<Shared>,
}

impl FakeAgent {
    fn templates(&self) -> Vec<Template> {
        self.spec
            .templates
            .iter()
            .map(|&(vmid, name)| Template {
                vmid,
                kind: GuestKind::Qemu as i32,
                node: self.spec.name.to_owned(),
                name: name.to_owned(),
                os_type: "l26".to_owned(),
                cores: 2,
                memory_mib: 2048,
                disks: vec![TemplateDisk {
                    key: "scsi0".to_owned(),
                    volume: format!("local-lvm:base-{vmid}-disk-0"),
                    storage: "local-lvm".to_owned(),
                    size_bytes: 32 << 30,
                    boot: true,
                    cdrom: false,
                }],
                tags: Vec::new(),
                lock: String::new(),
                in_node_range: true,
            })
            .collect()
    }

    fn events(
        &self,
        operation_id: &str,
        request: &CreateVmFromTemplateRequest,
    ) -> Vec<CreateEvent> {
        let event = |phase: CreatePhase, percent: Option<u32>, message: &str| CreateEvent {
            operation_id: operation_id.to_owned(),
            phase: phase as i32,
            percent,
            elapsed_ms: 10,
            message: message.to_owned(),
            ..CreateEvent::default()
        };
        let mut events = vec![event(
            CreatePhase::Resolving,
            None,
            "resolving the template",
        )];
        if request.name == "refused" {
            let mut failed = event(CreatePhase::Failed, None, "template fails validation");
            failed.outcome = Some(create_event::Outcome::Error(ErrorDetail {
                kind: ErrorKind::RefusedBySafety as i32,
                message: "template 9100 has no boot disk".to_owned(),
                hint: "recreate it".to_owned(),
                findings: vec![ValidationFinding {
                    code: FindingCode::NoBootDisk as i32,
                    severity: FindingSeverity::Error as i32,
                    key: String::new(),
                    cause: "template 9100 has no boot disk".to_owned(),
                    fix: "recreate it".to_owned(),
                }],
                ..ErrorDetail::default()
            }));
            events.push(failed);
            return events;
        }
        events.push(event(CreatePhase::Allocating, None, "vmid 104"));
        events.push(event(
            CreatePhase::Cloning,
            Some(50),
            "cloning to 104 on local-lvm",
        ));
        if request.name == "vanish" {
            return events;
        }
        events.push(event(
            CreatePhase::Cloning,
            Some(100),
            "cloning to 104 on local-lvm",
        ));
        events.push(event(
            CreatePhase::Waiting,
            None,
            "waiting for the clone task",
        ));
        let mut done = event(CreatePhase::Done, Some(100), "created");
        done.vmid = NEW_VMID;
        done.outcome = Some(create_event::Outcome::Result(CreateResult {
            vmid: NEW_VMID,
            kind: GuestKind::Qemu as i32,
            node: self.spec.name.to_owned(),
            name: request.name.clone(),
            upid: format!(
                "UPID:{}:00000001:00000002:00000003:qmclone:9100:root@pam:",
                self.spec.name
            ),
            config_digest: "d1g3st".to_owned(),
            started: request.start,
        }));
        events.push(done);
        events
    }
}

fn stream<T: Send + 'static>(items: Vec<T>) -> BoxStream<T> {
    Box::pin(tokio_stream::iter(items.into_iter().map(Ok)))
}

#[tonic::async_trait]
impl Agent for FakeAgent {
    async fn get_node_info(
        &self,
        _request: Request<GetNodeInfoRequest>,
    ) -> Result<Response<NodeInfo>, Status> {
        let mut node = self
            .shared
            .members
            .iter()
            .find(|member| member.name == self.spec.name)
            .cloned()
            .unwrap();
        node.agent_version = format!("0.1.0-{}", self.spec.name);
        Ok(Response::new(NodeInfo {
            node: Some(node),
            cluster_name: "lab".to_owned(),
            quorate: true,
            members: self.shared.members.clone(),
            pve_version: "pve-manager/9.1.2".to_owned(),
            api_only: false,
            resources: Some(NodeResources {
                cpus: 8,
                cpu_usage: 0.25,
                memory_total_bytes: 32 << 30,
                memory_used_bytes: (32 << 30) - self.spec.free_memory,
                memory_free_bytes: self.spec.free_memory,
            }),
        }))
    }

    async fn list_templates(
        &self,
        _request: Request<ListTemplatesRequest>,
    ) -> Result<Response<ListTemplatesResponse>, Status> {
        Ok(Response::new(ListTemplatesResponse {
            node: self.spec.name.to_owned(),
            templates: self.templates(),
        }))
    }

    async fn get_guest(
        &self,
        request: Request<GetGuestRequest>,
    ) -> Result<Response<Guest>, Status> {
        // Guest 200 lives on pve2; every other agent names pve2 as the owner.
        let vmid = request.into_inner().vmid;
        if vmid != 200 {
            return Err(Status::not_found(format!("no guest {vmid}")));
        }
        if self.spec.name != "pve2" {
            let owner = &self.shared.members[1];
            return Err(ErrorDetail {
                kind: ErrorKind::WrongNode as i32,
                message: format!("guest {vmid} lives on pve2"),
                owner_node: owner.name.clone(),
                owner_address: owner.agent_address.clone(),
                ..ErrorDetail::default()
            }
            .into_status());
        }
        Ok(Response::new(Guest {
            vmid,
            kind: GuestKind::Qemu as i32,
            node: "pve2".to_owned(),
            name: "db1".to_owned(),
            status: GuestStatus::Running as i32,
            ..Guest::default()
        }))
    }

    async fn create_vm_from_template(
        &self,
        request: Request<CreateVmFromTemplateRequest>,
    ) -> Result<Response<BoxStream<CreateEvent>>, Status> {
        let request = request.into_inner();
        let known = self.templates().iter().any(|template| {
            match request.template.as_ref().and_then(|t| t.by.as_ref()) {
                Some(template_ref::By::Vmid(vmid)) => template.vmid == *vmid,
                Some(template_ref::By::Name(name)) => template.name == *name,
                None => false,
            }
        });
        self.shared
            .creates
            .lock()
            .unwrap()
            .push((self.spec.name.to_owned(), request.clone()));
        if request.name == "elsewhere" && self.spec.name != "pve2" {
            let owner = &self.shared.members[1];
            let failed = CreateEvent {
                operation_id: String::new(),
                phase: CreatePhase::Failed as i32,
                outcome: Some(create_event::Outcome::Error(ErrorDetail {
                    kind: ErrorKind::WrongNode as i32,
                    message: "this create belongs to pve2".to_owned(),
                    owner_node: owner.name.clone(),
                    owner_address: owner.agent_address.clone(),
                    ..ErrorDetail::default()
                })),
                ..CreateEvent::default()
            };
            return Ok(Response::new(stream(vec![failed])));
        }
        if !known && request.name != "elsewhere" {
            return Err(ErrorDetail {
                kind: ErrorKind::NotFound as i32,
                message: format!("no such template on {}", self.spec.name),
                ..ErrorDetail::default()
            }
            .into_status());
        }
        let mut operations = self.shared.operations.lock().unwrap();
        let operation_id = format!("{}-{}", self.spec.name, operations.len() + 1);
        let events = self.events(&operation_id, &request);
        operations.push((self.spec.name.to_owned(), operation_id, events.clone()));
        Ok(Response::new(stream(events)))
    }

    async fn watch_operation(
        &self,
        request: Request<WatchOperationRequest>,
    ) -> Result<Response<BoxStream<CreateEvent>>, Status> {
        let id = request.into_inner().operation_id;
        let operations = self.shared.operations.lock().unwrap();
        match operations
            .iter()
            .find(|(node, op, _)| *node == self.spec.name && *op == id)
        {
            Some((_, _, events)) => Ok(Response::new(stream(events.clone()))),
            None => Err(Status::not_found(format!("no operation {id}"))),
        }
    }

    async fn list_operations(
        &self,
        _request: Request<ListOperationsRequest>,
    ) -> Result<Response<ListOperationsResponse>, Status> {
        let operations = self.shared.operations.lock().unwrap();
        Ok(Response::new(ListOperationsResponse {
            operations: operations
                .iter()
                .filter(|(node, _, _)| *node == self.spec.name)
                .map(|(_, id, events)| OperationSummary {
                    operation_id: id.clone(),
                    last_event: events.last().cloned(),
                    ..OperationSummary::default()
                })
                .collect(),
        }))
    }

    async fn read_journal(
        &self,
        request: Request<ReadJournalRequest>,
    ) -> Result<Response<BoxStream<JournalEntry>>, Status> {
        let request = request.into_inner();
        let lines = self.shared.journals.lock().unwrap()[self.spec.name].clone();
        let from = request.from_seq.max(1);
        let limit = if request.limit == 0 {
            usize::MAX
        } else {
            request.limit as usize
        };
        let entries: Vec<JournalEntry> = lines
            .into_iter()
            .enumerate()
            .filter(|(index, _)| *index as u64 + 1 >= from)
            .take(limit)
            .map(|(index, raw)| {
                let parsed = parse_line(&raw).ok();
                JournalEntry {
                    seq: index as u64 + 1,
                    time_unix_ms: parsed.as_ref().map_or(0, Entry::time_unix_ms),
                    actor: parsed.as_ref().map(|e| e.actor.clone()).unwrap_or_default(),
                    action: parsed
                        .as_ref()
                        .map(|e| e.action.clone())
                        .unwrap_or_default(),
                    target: parsed
                        .as_ref()
                        .map(|e| e.target.clone())
                        .unwrap_or_default(),
                    detail: parsed
                        .as_ref()
                        .map(|e| e.detail.clone())
                        .unwrap_or_default(),
                    hash: parsed.map(|e| e.hash).unwrap_or_default(),
                    raw,
                    ..JournalEntry::default()
                }
            })
            .collect();
        Ok(Response::new(stream(entries)))
    }

    async fn get_journal_head(
        &self,
        _request: Request<GetJournalHeadRequest>,
    ) -> Result<Response<JournalHead>, Status> {
        let lines = self.shared.journals.lock().unwrap()[self.spec.name].clone();
        let last = lines.last().and_then(|line| parse_line(line).ok());
        Ok(Response::new(JournalHead {
            node: self.spec.name.to_owned(),
            seq: last.as_ref().map_or(0, |entry| entry.seq),
            hash: last.map(|entry| entry.hash).unwrap_or_default(),
        }))
    }
}
