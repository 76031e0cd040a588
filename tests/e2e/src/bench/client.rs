//! One create sent straight to an agent (`CreateVmFromTemplate` over mTLS)
//! and timed at the client: when the request left, when the event saying the
//! clone task ended arrived, and when the final event arrived.
use std::time::SystemTime;

use pvectl_proto::v1::agent_client::AgentClient;
use pvectl_proto::v1::{
    CreateEvent, CreatePhase, CreateResult, CreateVmFromTemplateRequest, TemplateRef, create_event,
    template_ref,
};
use tonic::transport::Channel;

/// What the client saw of one create.
#[derive(Debug, Clone)]
pub struct TimedCreate {
    pub name: String,
    pub node: String,
    pub sent: SystemTime,
    /// Arrival of the event the agent sends once the clone task has ended
    /// (phase WAITING at 100 %).
    pub task_ended_seen: Option<SystemTime>,
    /// Arrival of the final event (or of the error).
    pub finished: SystemTime,
    /// The VMIDs the events named, in order: more than one means the agent
    /// lost a VMID race and retried.
    pub vmids_tried: Vec<u32>,
    pub outcome: Result<CreateResult, String>,
}

/// A full clone of template `template` (by name) to a VM `name` on `node`.
pub fn request(name: &str, template: &str, node: &str) -> CreateVmFromTemplateRequest {
    CreateVmFromTemplateRequest {
        name: name.to_string(),
        template: Some(TemplateRef {
            by: Some(template_ref::By::Name(template.to_string())),
        }),
        node: node.to_string(),
        ..CreateVmFromTemplateRequest::default()
    }
}

/// Sends the create and follows its events to the end.
pub async fn create(
    mut agent: AgentClient<Channel>,
    request: CreateVmFromTemplateRequest,
) -> TimedCreate {
    let mut timed = TimedCreate {
        name: request.name.clone(),
        node: request.node.clone(),
        sent: SystemTime::now(),
        task_ended_seen: None,
        finished: SystemTime::now(),
        vmids_tried: Vec::new(),
        outcome: Err("the stream ended without a final event".into()),
    };
    let mut stream = match agent.create_vm_from_template(request).await {
        Ok(response) => response.into_inner(),
        Err(status) => {
            timed.finished = SystemTime::now();
            timed.outcome = Err(format!("CreateVmFromTemplate refused: {status}"));
            return timed;
        }
    };
    loop {
        let message = stream.message().await;
        let arrived = SystemTime::now();
        timed.finished = arrived;
        match message {
            Ok(Some(event)) => {
                if event.vmid != 0 && !timed.vmids_tried.contains(&event.vmid) {
                    timed.vmids_tried.push(event.vmid);
                }
                if timed.task_ended_seen.is_none() && reports_task_end(&event) {
                    timed.task_ended_seen = Some(arrived);
                }
                if let Some(outcome) = event.outcome {
                    timed.outcome = match outcome {
                        create_event::Outcome::Result(result) => Ok(result),
                        create_event::Outcome::Error(detail) => Err(detail.message),
                    };
                    return timed;
                }
            }
            Ok(None) => return timed,
            Err(status) => {
                timed.outcome = Err(format!("the event stream failed: {status}"));
                return timed;
            }
        }
    }
}

/// The agent's "clone task … ended OK" event: WAITING at 100 %.
fn reports_task_end(event: &CreateEvent) -> bool {
    event.phase() == CreatePhase::Waiting && event.percent == Some(100)
}
