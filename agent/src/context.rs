//! Everything a handler needs, built once at startup: the config, this
//! node's name, where cluster state comes from, the PVE API client and the
//! journal.
use std::sync::Arc;

use crate::cluster::{ClusterView, Source};
use crate::config::AgentConfig;
use crate::error::AgentError;
use crate::journal::Journal;
use crate::pve_api::PveClient;

/// The agent's shared state.
pub struct AgentCtx {
    pub config: AgentConfig,
    pub node: String,
    pub source: Source,
    pub pve: PveClient,
    pub journal: Journal,
}

pub type Ctx = Arc<AgentCtx>;

impl AgentCtx {
    /// The port every node's agent listens on (this agent's own port).
    pub fn agent_port(&self) -> u16 {
        self.config.listen.port()
    }

    pub async fn cluster(&self) -> Result<ClusterView, AgentError> {
        ClusterView::read(&self.source, &self.pve).await
    }
}
