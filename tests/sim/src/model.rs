//! The simulated cluster's state: nodes, storages and volumes, guests, tasks
//! and faults, behind one mutex that is never held across an `.await` or a
//! file write. Every config change is mirrored into the pmxcfs tree through
//! the acting node's view.
pub mod flocks;
mod guest;
mod workers;

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::api::ApiError;
use crate::clock::SimClock;
use crate::faults::Faults;
use crate::guest_config::GuestConfig;
use crate::pmxcfs::{GuestType, Pmxcfs};
use crate::storage::{StorageDef, Volumes};
use crate::tasks::TaskLogDir;

pub use flocks::Flocks;
pub use guest::{Guest, HaResource, RunState};
pub use workers::{INTERRUPTED, TaskCtx, TaskRecord};

/// A simulated node.
#[derive(Debug, Clone)]
pub struct NodeState {
    pub name: String,
    pub id: u32,
    pub address: IpAddr,
    pub port: u16,
    pub maxcpu: u32,
    pub maxmem: u64,
}

/// Knobs that shape the simulation (all durations simulated).
#[derive(Debug, Clone)]
pub struct SimOptions {
    /// Full-copy speed for clones without a `slow_clone` fault.
    pub clone_bytes_per_sec: u64,
    /// How long a new guest stays `unknown` and nameless in /cluster/resources.
    pub resources_lag: Duration,
    /// How long volume allocation holds the storage lock.
    pub storage_lock_hold: Duration,
    /// PVE's delay before answering a failed authentication.
    pub auth_failure_delay: Duration,
    /// `next-id` bounds from datacenter.cfg (lower inclusive, upper exclusive).
    pub next_id: (u32, u32),
}

impl Default for SimOptions {
    fn default() -> Self {
        Self {
            clone_bytes_per_sec: 2 << 30,
            resources_lag: Duration::ZERO,
            storage_lock_hold: Duration::from_millis(200),
            auth_failure_delay: Duration::from_secs(3),
            next_id: (100, 1_000_000),
        }
    }
}

/// Everything that changes, under one lock.
#[derive(Debug)]
pub struct State {
    pub nodes: Vec<NodeState>,
    pub storages: Vec<StorageDef>,
    pub volumes: Volumes,
    pub guests: BTreeMap<u32, Guest>,
    pub tasks: BTreeMap<String, TaskRecord>,
    pub faults: Faults,
    next_pid: u32,
    rng: ChaCha8Rng,
}

impl State {
    pub fn new(nodes: Vec<NodeState>, storages: Vec<StorageDef>, seed: u64) -> Self {
        Self {
            nodes,
            storages,
            volumes: Volumes::default(),
            guests: BTreeMap::new(),
            tasks: BTreeMap::new(),
            faults: Faults::default(),
            next_pid: 0x0001_0000,
            rng: ChaCha8Rng::seed_from_u64(seed),
        }
    }

    pub fn node(&self, name: &str) -> Option<&NodeState> {
        self.nodes.iter().find(|n| n.name == name)
    }

    pub fn storage(&self, id: &str) -> Option<&StorageDef> {
        self.storages.iter().find(|s| s.id == id)
    }

    /// A fresh worker pid (deterministic).
    pub fn next_pid(&mut self) -> u32 {
        self.next_pid += 1 + self.rng.random_range(0..16);
        self.next_pid
    }

    /// A locally administered MAC with Proxmox's BC:24:11 prefix.
    pub fn random_mac(&mut self) -> String {
        let tail: [u8; 3] = self.rng.random();
        format!("BC:24:11:{:02X}:{:02X}:{:02X}", tail[0], tail[1], tail[2])
    }

    pub fn random_uuid(&mut self) -> String {
        let b: [u8; 16] = self.rng.random();
        format!(
            "{:08x}-{:04x}-4{:03x}-{:04x}-{:012x}",
            u32::from_be_bytes([b[0], b[1], b[2], b[3]]),
            u16::from_be_bytes([b[4], b[5]]),
            u16::from_be_bytes([b[6], b[7]]) & 0x0fff,
            (u16::from_be_bytes([b[8], b[9]]) & 0x3fff) | 0x8000,
            u64::from_be_bytes([0, 0, b[10], b[11], b[12], b[13], b[14], b[15]])
        )
    }

    /// A draw in 0..1 from the seeded generator (for injected 5xx answers).
    pub fn chance(&mut self) -> f64 {
        self.rng.random()
    }
}

/// The shared simulator state handed to every handler and worker.
pub struct Sim {
    pub cluster_name: String,
    pub clock: SimClock,
    pub options: SimOptions,
    pub fs: Pmxcfs,
    pub tasklogs: BTreeMap<String, TaskLogDir>,
    pub flocks: Flocks,
    /// API requests received per node, for benchmarks that check what a
    /// client's call costs PVE.
    pub api_calls: ApiCalls,
    state: Mutex<State>,
}

pub type SimRef = Arc<Sim>;

/// A count of API requests per node.
#[derive(Debug, Default)]
pub struct ApiCalls(Mutex<BTreeMap<String, u64>>);

impl ApiCalls {
    pub fn record(&self, node: &str) {
        let mut counts = self
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        *counts.entry(node.to_owned()).or_default() += 1;
    }

    /// Requests `node` received so far.
    pub fn count(&self, node: &str) -> u64 {
        let counts = self
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        counts.get(node).copied().unwrap_or_default()
    }
}

impl Sim {
    pub fn new(
        cluster_name: String,
        clock: SimClock,
        options: SimOptions,
        fs: Pmxcfs,
        tasklogs: BTreeMap<String, TaskLogDir>,
        state: State,
    ) -> Self {
        Self {
            cluster_name,
            clock,
            options,
            fs,
            tasklogs,
            flocks: Flocks::default(),
            api_calls: ApiCalls::default(),
            state: Mutex::new(state),
        }
    }

    /// The state lock. Never hold the guard across `.await` or file IO.
    pub fn state(&self) -> MutexGuard<'_, State> {
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Checks that `node` is a member and up (requests for a down node fail
    /// the way pveproxy's proxying fails).
    pub fn check_node(&self, node: &str) -> Result<NodeState, ApiError> {
        let st = self.state();
        let found = st
            .node(node)
            .cloned()
            .ok_or_else(|| ApiError::internal(format!("hostname lookup '{node}' failed - failed to get address info for: {node}: Name or service not known")))?;
        if st.faults.node_down(node) {
            return Err(ApiError::custom(
                http::StatusCode::from_u16(595).unwrap_or(http::StatusCode::BAD_GATEWAY),
                "No route to host",
            ));
        }
        Ok(found)
    }

    /// The guest `vmid` of `kind` on `node`, or PVE's "does not exist" error.
    pub fn guest_on(&self, node: &str, kind: GuestType, vmid: u32) -> Result<Guest, ApiError> {
        let st = self.state();
        match st.guests.get(&vmid) {
            Some(g) if g.node == node && g.kind == kind => Ok(g.clone()),
            _ => Err(ApiError::internal(missing_config_message(node, kind, vmid))),
        }
    }

    /// Stores a guest's config in the model and writes it through `node`'s view
    /// (tmp file + rename).
    pub fn write_config(
        &self,
        node: &str,
        kind: GuestType,
        vmid: u32,
        config: &GuestConfig,
        pid: u32,
    ) -> Result<(), crate::pmxcfs::FsError> {
        let text = config.render(kind);
        self.fs
            .write_guest_config(node, node, kind, vmid, &text, pid)?;
        let mut st = self.state();
        if let Some(guest) = st.guests.get_mut(&vmid) {
            guest.config = config.clone();
        }
        Ok(())
    }

    /// Removes a guest from the model and unlinks its config.
    pub fn remove_guest(&self, vmid: u32) {
        let removed = self.state().guests.remove(&vmid);
        if let Some(guest) = removed {
            // the file may already be gone when a clone failed before its first write
            let _ = self
                .fs
                .remove_guest_config(&guest.node, &guest.node, guest.kind, vmid);
        }
    }
}

/// PVE's text for a config that is not on this node.
pub fn missing_config_message(node: &str, kind: GuestType, vmid: u32) -> String {
    format!(
        "Configuration file 'nodes/{node}/{}/{vmid}.conf' does not exist",
        kind.dir_name()
    )
}

/// `VM is locked (clone)` / `CT is locked (disk)`.
pub fn locked_message(kind: GuestType, lock: &str) -> String {
    let who = match kind {
        GuestType::Qemu => "VM",
        GuestType::Lxc => "CT",
    };
    format!("{who} is locked ({lock})")
}
