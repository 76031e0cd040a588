//! The fake agent of one node: canned node info and templates, scripted
//! create events by the new VM's name (`refused`, `vanish`, `elsewhere`),
//! re-attachable operations, a guest on pve2, and the shared journals.

use std::sync::Arc;

use pvectl_proto::journal::{Entry, parse_line};
use pvectl_proto::v1::agent_server::Agent;
use pvectl_proto::v1::{
    CreateEvent, CreatePhase, CreateResult, CreateVmFromTemplateRequest, ErrorDetail, ErrorKind,
    FindingCode, FindingSeverity, GetGuestRequest, GetJournalHeadRequest, GetNodeInfoRequest,
    Guest, GuestKind, GuestStatus, JournalEntry, JournalHead, ListOperationsRequest,
    ListOperationsResponse, ListTemplatesRequest, ListTemplatesResponse, NodeInfo, NodeResources,
    OperationSummary, ReadJournalRequest, Template, TemplateDisk, ValidationFinding,
    WatchOperationRequest, create_event, template_ref,
};
use tonic::codegen::BoxStream;
use tonic::{Request, Response, Status};

use super::{NEW_VMID, NodeSpec, Shared};

pub(super) struct FakeAgent {
    pub spec: NodeSpec,
    pub shared: Arc<Shared>,
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
