//! The harness: a simulated cluster and an agent context for pve1, plus
//! helpers to call the service as a given client and read the cluster.
use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use pve_sim::{SimBuilder, SimCluster};
use pvectl_agent::authz::Caller;
use pvectl_agent::config::{AgentConfig, Role};
use pvectl_agent::context::{AgentCtx, Ctx};
use pvectl_agent::pmxcfs::Vmlist;
use pvectl_agent::service::AgentService;
use pvectl_proto::v1::agent_server::Agent;
use pvectl_proto::v1::{
    CreateEvent, CreateResult, CreateVmFromTemplateRequest, ErrorDetail, TemplateRef,
    create_event::Outcome, template_ref::By,
};

pub const NODE: &str = "pve1";
/// pve1's `ubuntu-24.04` and `debian-12`, seeded by the simulator.
pub const UBUNTU: u32 = 9100;
pub const DEBIAN: u32 = 9101;
pub const ACTOR: &str = "alice";

pub struct Harness {
    pub cluster: SimCluster,
    pub ctx: Ctx,
    pub service: AgentService,
    pub dir: tempfile::TempDir,
}

/// A 3-node cluster at 1/100 time.
pub fn sim() -> SimBuilder {
    SimCluster::builder().nodes(3).time_scale(0.01)
}

pub async fn harness(builder: SimBuilder) -> Harness {
    harness_with(builder, |_| {}).await
}

/// The agent config for pve1 of `cluster`, files in `dir`.
pub fn agent_config(cluster: &SimCluster, dir: &std::path::Path) -> AgentConfig {
    let sandbox = cluster.sandbox();
    let node = sandbox.nodes.iter().find(|n| n.name == NODE).unwrap();
    let token = dir.join("pve-api-token");
    std::fs::write(
        &token,
        format!("{}={}\n", sandbox.token.id, sandbox.token.secret),
    )
    .unwrap();
    std::fs::set_permissions(&token, std::fs::Permissions::from_mode(0o600)).unwrap();
    let mut config = AgentConfig {
        node_name: Some(NODE.into()),
        pmxcfs_root: node.pmxcfs.clone(),
        task_log_root: node.tasks.clone(),
        journal_path: dir.join("journal.jsonl"),
        ..AgentConfig::default()
    };
    config.pve_api.url = cluster.url(NODE).unwrap();
    config.pve_api.token_file = token;
    config.pve_api.ca = Some(sandbox.ca.clone());
    config.timeouts.create = Duration::from_secs(60);
    config
}

pub async fn harness_with(builder: SimBuilder, tweak: impl FnOnce(&mut AgentConfig)) -> Harness {
    let cluster = builder.start().await.expect("start the simulated cluster");
    let dir = tempfile::tempdir().unwrap();
    let mut config = agent_config(&cluster, dir.path());
    tweak(&mut config);
    let ctx = Arc::new(AgentCtx::from_config(config).expect("build the agent context"));
    let service = AgentService::new(Arc::clone(&ctx));
    Harness {
        cluster,
        ctx,
        service,
        dir,
    }
}

/// A request as an admin client would send it.
pub fn as_admin<T>(message: T) -> tonic::Request<T> {
    let mut request = tonic::Request::new(message);
    request.extensions_mut().insert(Caller {
        cn: ACTOR.into(),
        role: Role::Admin,
    });
    request
}

pub fn by_name(name: &str) -> Option<TemplateRef> {
    Some(TemplateRef {
        by: Some(By::Name(name.into())),
    })
}

pub fn by_vmid(vmid: u32) -> Option<TemplateRef> {
    Some(TemplateRef {
        by: Some(By::Vmid(vmid)),
    })
}

/// `vm create NAME --template ubuntu-24.04`.
pub fn create_request(name: &str) -> CreateVmFromTemplateRequest {
    CreateVmFromTemplateRequest {
        name: name.into(),
        template: by_name("ubuntu-24.04"),
        ..CreateVmFromTemplateRequest::default()
    }
}

impl Harness {
    /// Runs a create and collects its events to the final one.
    pub async fn create(
        &self,
        request: CreateVmFromTemplateRequest,
    ) -> Result<Vec<CreateEvent>, tonic::Status> {
        let stream = self
            .service
            .create_vm_from_template(as_admin(request))
            .await?
            .into_inner();
        let events: Vec<Result<CreateEvent, tonic::Status>> = stream.collect().await;
        events.into_iter().collect()
    }

    pub fn vmlist(&self) -> Vmlist {
        let path = self.cluster.sandbox().nodes[0].pmxcfs.join(".vmlist");
        Vmlist::parse(&std::fs::read(path).unwrap()).unwrap()
    }

    /// pve1's config file of `vmid`, if any.
    pub fn config_text(&self, vmid: u32) -> Option<String> {
        std::fs::read_to_string(self.config_path(vmid)).ok()
    }

    pub fn config_path(&self, vmid: u32) -> PathBuf {
        self.cluster.sandbox().nodes[0]
            .pmxcfs
            .join(format!("nodes/{NODE}/qemu-server/{vmid}.conf"))
    }

    pub fn journal_lines(&self) -> Vec<serde_json::Value> {
        std::fs::read_to_string(self.dir.path().join("journal.jsonl"))
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    }
}

/// The final event's result; panics with the error otherwise.
pub fn result(events: &[CreateEvent]) -> CreateResult {
    match events.last().and_then(|e| e.outcome.clone()) {
        Some(Outcome::Result(result)) => result,
        other => panic!("the create did not succeed: {other:?}\nevents: {events:#?}"),
    }
}

/// The final event's error; panics if it succeeded.
pub fn error(events: &[CreateEvent]) -> ErrorDetail {
    match events.last().and_then(|e| e.outcome.clone()) {
        Some(Outcome::Error(error)) => error,
        other => panic!("the create did not fail: {other:?}"),
    }
}

/// `key: value` of a config text.
pub fn config_value(text: &str, key: &str) -> Option<String> {
    text.lines()
        .take_while(|l| !l.starts_with('['))
        .find_map(|l| l.strip_prefix(&format!("{key}: ")).map(str::to_string))
}
