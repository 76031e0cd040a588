//! Everything a handler needs, built once at startup: the config, this
//! node's name, where cluster state comes from, the PVE API client, the
//! journal, and the create path's shared state (operations, VMID
//! reservations, the per-storage clone queue, the watcher).
use std::sync::Arc;

use anyhow::Context as _;

use crate::cluster::{ClusterView, Source};
use crate::config::AgentConfig;
use crate::create::allocate::Reservations;
use crate::create::queue::CloneQueue;
use crate::error::AgentError;
use crate::guests::LiveView;
use crate::journal::Journal;
use crate::operations::Operations;
use crate::pmxcfs::Members;
use crate::pve_api::PveClient;
use crate::watch::{PollConfig, WatchError, WatchHub};

/// The agent's shared state.
pub struct AgentCtx {
    pub config: AgentConfig,
    pub node: String,
    pub source: Source,
    pub pve: PveClient,
    pub journal: Journal,
    /// Create operations, running and finished, with their events.
    pub operations: Operations,
    /// VMIDs this agent is creating right now.
    pub reservations: Reservations,
    /// At most `clones_per_storage` clones per target storage at once.
    pub clone_queue: CloneQueue,
    /// The watcher over this node's config and task log directories;
    /// `None` in API-only mode.
    pub watch: Option<WatchHub>,
    /// This node's config facts for listings, kept current from the watcher.
    pub live: LiveView,
}

pub type Ctx = Arc<AgentCtx>;

impl AgentCtx {
    /// The context from its parts, with empty create state and, where the
    /// pmxcfs tree is, the watcher the config's mode asks for. Must run
    /// inside a tokio runtime. Fails only when `watcher = "inotify"` and
    /// inotify is unavailable.
    pub fn new(
        config: AgentConfig,
        node: String,
        source: Source,
        pve: PveClient,
        journal: Journal,
    ) -> Result<AgentCtx, WatchError> {
        let watch = match source {
            Source::Pmxcfs(_) => Some(WatchHub::start(config.watcher, PollConfig::default())?),
            Source::ApiOnly => None,
        };
        let clone_queue = CloneQueue::new(config.clones_per_storage);
        let operations = Operations::new(&node);
        Ok(AgentCtx {
            config,
            node,
            source,
            pve,
            journal,
            operations,
            reservations: Reservations::default(),
            clone_queue,
            watch,
            live: LiveView::default(),
        })
    }

    /// Builds the context the config describes: detects pmxcfs or API-only
    /// mode, names this node (config, `.members`, hostname), sets up the PVE
    /// client and opens the journal.
    pub fn from_config(config: AgentConfig) -> anyhow::Result<AgentCtx> {
        let source = Source::detect(&config.pmxcfs_root);
        let members_nodename = match &source {
            Source::Pmxcfs(root) => {
                let bytes = std::fs::read(root.join(".members")).context("read .members")?;
                Some(Members::parse(&bytes).context("parse .members")?.nodename)
            }
            Source::ApiOnly => None,
        };
        let hostname = nix::unistd::gethostname()
            .ok()
            .and_then(|h| h.into_string().ok());
        let node = config.resolve_node_name(members_nodename.as_deref(), hostname.as_deref())?;
        let pve = PveClient::from_config(&config).context("set up the PVE API client")?;
        let journal = Journal::open(&config.journal_path)
            .with_context(|| format!("open the journal {}", config.journal_path.display()))?;
        if let Some(torn) = journal.torn_tail() {
            tracing::warn!(
                ?torn,
                "the journal's last line was torn by a crash and has been cut off"
            );
        }
        AgentCtx::new(config, node, source, pve, journal).context("start the watcher")
    }

    /// The port every node's agent listens on (this agent's own port).
    pub fn agent_port(&self) -> u16 {
        self.config.listen.port()
    }

    pub async fn cluster(&self) -> Result<ClusterView, AgentError> {
        ClusterView::read(&self.source, &self.pve).await
    }

    /// The error for a request that belongs to `owner`: WRONG_NODE with the
    /// owner's agent address when the cluster view knows it.
    pub fn wrong_node(&self, view: &ClusterView, owner: &str, what: &str) -> AgentError {
        let address = view
            .member(owner)
            .map(|member| ClusterView::to_proto(member, self.agent_port()).agent_address)
            .unwrap_or_default();
        AgentError::wrong_node(
            owner,
            &address,
            format!("{what} belongs to node '{owner}', not '{}'", self.node),
        )
    }
}
