//! One guest (VM or container) as the model keeps it.
use std::time::Instant;

use crate::guest_config::GuestConfig;
use crate::pmxcfs::GuestType;

/// Whether a guest runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RunState {
    Stopped,
    Running,
    Paused,
}

impl RunState {
    /// The `status` string of /nodes/{node}/qemu and status/current.
    pub fn as_str(self) -> &'static str {
        match self {
            RunState::Stopped => "stopped",
            RunState::Running => "running",
            RunState::Paused => "paused",
        }
    }
}

/// A guest in the model; its config mirrors `nodes/<node>/<dir>/<vmid>.conf`.
#[derive(Debug, Clone)]
pub struct Guest {
    pub vmid: u32,
    pub node: String,
    pub kind: GuestType,
    pub config: GuestConfig,
    pub run: RunState,
    /// epoch seconds when it was started (for uptime)
    pub started_at: Option<i64>,
    /// when it came into existence (for the /cluster/resources lag)
    pub created: Instant,
    /// managed by the HA stack (actions become hastart/hastop requests)
    pub ha: Option<HaResource>,
    /// A container's `/root/.ssh/authorized_keys`, which vzcreate writes
    /// from `ssh-public-keys` into the new root file system.
    pub authorized_keys: Option<String>,
    /// Whether vzcreate set root's password in the container (from
    /// `password`; only the fact is kept, as a hash would be).
    pub root_password_set: bool,
}

/// A guest's entry in the HA stack: `ha/resources.cfg` holds the state last
/// requested (`ha-manager set --state`), `ha/manager_status` the state the
/// CRM last put the service in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HaResource {
    /// `state` in resources.cfg: `started` or `stopped`.
    pub requested: &'static str,
    /// The service's `state` in manager_status.
    pub crm: &'static str,
}

impl HaResource {
    /// A resource whose request and CRM state both match `run`, as when
    /// `ha-manager add` takes over a guest in that state.
    pub fn matching(run: RunState) -> HaResource {
        let state = if run == RunState::Stopped {
            "stopped"
        } else {
            "started"
        };
        HaResource {
            requested: state,
            crm: state,
        }
    }
}

impl Guest {
    pub fn new(vmid: u32, node: &str, kind: GuestType, config: GuestConfig) -> Self {
        Self {
            vmid,
            node: node.to_string(),
            kind,
            config,
            run: RunState::Stopped,
            started_at: None,
            created: Instant::now(),
            ha: None,
            authorized_keys: None,
            root_password_set: false,
        }
    }

    pub fn prop(&self, key: &str) -> Option<&str> {
        self.config.props.get(key).map(String::as_str)
    }

    pub fn is_template(&self) -> bool {
        matches!(self.prop("template"), Some("1"))
    }

    pub fn lock(&self) -> Option<&str> {
        self.prop("lock")
    }

    pub fn protected(&self) -> bool {
        matches!(self.prop("protection"), Some("1"))
    }

    /// `name` for VMs, `hostname` for containers, PVE's defaults otherwise.
    pub fn name(&self) -> String {
        let key = match self.kind {
            GuestType::Qemu => "name",
            GuestType::Lxc => "hostname",
        };
        match self.prop(key) {
            Some(name) => name.to_string(),
            None => match self.kind {
                GuestType::Qemu => format!("VM {}", self.vmid),
                GuestType::Lxc => format!("CT{}", self.vmid),
            },
        }
    }

    /// Memory in bytes (config is MiB; PVE's default 512).
    pub fn maxmem(&self) -> u64 {
        self.prop("memory")
            .and_then(|m| m.parse::<u64>().ok())
            .unwrap_or(512)
            << 20
    }

    pub fn cpus(&self) -> u32 {
        let cores = self
            .prop("cores")
            .and_then(|c| c.parse().ok())
            .unwrap_or(1u32);
        let sockets = self
            .prop("sockets")
            .and_then(|s| s.parse().ok())
            .unwrap_or(1u32);
        cores * sockets
    }

    pub fn tags(&self) -> Option<&str> {
        self.prop("tags")
    }

    pub fn uptime(&self, now: i64) -> i64 {
        self.started_at.map_or(0, |t| (now - t).max(0))
    }
}
