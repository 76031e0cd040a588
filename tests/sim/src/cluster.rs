//! Starting a simulated cluster: [`SimCluster::builder`] lays out the pmxcfs
//! tree and task directories, seeds guests, issues certificates from a
//! cluster CA and serves each node's API on its own loopback address.
use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use tokio::sync::watch;
use tokio::task::JoinSet;

use crate::api::{AuthStore, HttpOptions, router};
use crate::clock::SimClock;
use crate::control::{self, ControlState};
use crate::faults::Fault;
use crate::model::{NodeState, Sim, SimOptions, SimRef, State};
use crate::pki::ClusterCa;
use crate::pmxcfs::{Member, Pmxcfs, ViewMode};
use crate::routes::{Served, api_routes};
use crate::sandbox::{Sandbox, SandboxNode, SandboxToken};
use crate::storage::{default_storages, storage_cfg};
use crate::tasks::TaskLogDir;

/// Errors while starting a simulated cluster.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("invalid cluster definition: {0}")]
    Invalid(String),
    #[error("pmxcfs tree: {0}")]
    Fs(#[from] crate::pmxcfs::FsError),
    #[error("{what}: {source}")]
    Io {
        what: String,
        source: std::io::Error,
    },
    #[error("certificates: {0}")]
    Pki(String),
}

fn io(what: impl Into<String>) -> impl FnOnce(std::io::Error) -> StartError {
    let what = what.into();
    move |source| StartError::Io { what, source }
}

/// The loopback address of the node at `index` (0-based): 127.0.10.1, …,
/// 127.0.10.254, then 127.0.11.1 and so on.
pub fn node_address(index: usize) -> IpAddr {
    let block = 10 + (index / 254) as u8;
    let host = 1 + (index % 254) as u8;
    IpAddr::V4(Ipv4Addr::new(127, 0, block, host))
}

/// How a simulated cluster is made.
#[derive(Debug, Clone)]
pub struct SimBuilder {
    cluster_name: String,
    node_ids: Vec<u32>,
    dir: Option<PathBuf>,
    port: u16,
    time_scale: f64,
    seed: u64,
    password: Option<String>,
    view_mode: ViewMode,
    options: SimOptions,
    capacities: Vec<(String, u64)>,
    extra_vms_per_node: u32,
    faults: Vec<Fault>,
}

impl Default for SimBuilder {
    fn default() -> Self {
        Self {
            cluster_name: "sim".into(),
            node_ids: vec![1, 2, 3],
            dir: None,
            port: 0,
            time_scale: 1.0,
            seed: 1,
            password: None,
            view_mode: ViewMode::Auto,
            options: SimOptions::default(),
            capacities: Vec::new(),
            extra_vms_per_node: 0,
            faults: Vec::new(),
        }
    }
}

impl SimBuilder {
    /// `n` nodes `pve1..pveN` with corosync ids 1..N.
    pub fn nodes(mut self, n: u32) -> Self {
        self.node_ids = (1..=n).collect();
        self
    }
    /// Nodes with these corosync ids (non-contiguous allowed); named `pve<id>`.
    pub fn node_ids(mut self, ids: impl IntoIterator<Item = u32>) -> Self {
        self.node_ids = ids.into_iter().collect();
        self
    }
    pub fn cluster_name(mut self, name: &str) -> Self {
        self.cluster_name = name.into();
        self
    }
    /// Where the tree, task logs and sandbox.json live (default: a temp dir
    /// removed with the cluster).
    pub fn dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.dir = Some(dir.into());
        self
    }
    /// The API port on every node's address (0 = a free port per node).
    pub fn port(mut self, port: u16) -> Self {
        self.port = port;
        self
    }
    pub fn time_scale(mut self, scale: f64) -> Self {
        self.time_scale = scale;
        self
    }
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }
    pub fn password(mut self, password: &str) -> Self {
        self.password = Some(password.into());
        self
    }
    pub fn view_mode(mut self, mode: ViewMode) -> Self {
        self.view_mode = mode;
        self
    }
    pub fn options(mut self, options: SimOptions) -> Self {
        self.options = options;
        self
    }
    pub fn resources_lag(mut self, lag: Duration) -> Self {
        self.options.resources_lag = lag;
        self
    }
    /// `datacenter.cfg` `next-id: lower=..,upper=..`.
    pub fn next_id(mut self, lower: u32, upper: u32) -> Self {
        self.options.next_id = (lower, upper);
        self
    }
    pub fn storage_capacity(mut self, storage: &str, bytes: u64) -> Self {
        self.capacities.push((storage.into(), bytes));
        self
    }
    pub fn extra_vms_per_node(mut self, n: u32) -> Self {
        self.extra_vms_per_node = n;
        self
    }
    pub fn fault(mut self, fault: Fault) -> Self {
        self.faults.push(fault);
        self
    }

    fn validate(&self) -> Result<(), StartError> {
        if self.node_ids.is_empty() {
            return Err(StartError::Invalid(
                "a cluster needs at least one node".into(),
            ));
        }
        let mut ids = self.node_ids.clone();
        ids.sort_unstable();
        ids.dedup();
        if ids.len() != self.node_ids.len() || ids.contains(&0) {
            return Err(StartError::Invalid(format!(
                "node ids must be unique and >= 1, got {:?}",
                self.node_ids
            )));
        }
        let (lower, upper) = self.options.next_id;
        if lower < 100 || upper <= lower {
            return Err(StartError::Invalid(format!(
                "next-id range [{lower}, {upper}) is empty or below 100"
            )));
        }
        Ok(())
    }

    /// Lays everything out and starts serving.
    pub async fn start(self) -> Result<SimCluster, StartError> {
        self.validate()?;
        let (dir, tempdir) = match &self.dir {
            Some(dir) => (dir.clone(), None),
            None => {
                let tmp = tempfile::Builder::new()
                    .prefix("pve-sim-")
                    .tempdir()
                    .map_err(io("temp dir"))?;
                (tmp.path().to_path_buf(), Some(tmp))
            }
        };
        std::fs::create_dir_all(&dir).map_err(io(format!("create {}", dir.display())))?;
        let mut rng = ChaCha8Rng::seed_from_u64(self.seed);
        let password = self
            .password
            .clone()
            .unwrap_or_else(|| format!("sim-{:08x}", rng.random::<u32>()));
        let secret = uuid_from(&mut rng);

        let nodes: Vec<NodeState> = self
            .node_ids
            .iter()
            .enumerate()
            .map(|(i, id)| NodeState {
                name: format!("pve{id}"),
                id: *id,
                address: node_address(i),
                port: self.port,
                maxcpu: 16,
                maxmem: 64 << 30,
            })
            .collect();
        let listeners = bind_all(&nodes).await?;
        let nodes: Vec<NodeState> = nodes
            .into_iter()
            .zip(&listeners)
            .map(|(mut n, l)| {
                n.port = l.local_addr().map(|a| a.port()).unwrap_or(n.port);
                n
            })
            .collect();

        let members: Vec<Member> = nodes
            .iter()
            .map(|n| Member {
                name: n.name.clone(),
                id: n.id,
                ip: Some(n.address),
                online: true,
            })
            .collect();
        let fs = Pmxcfs::create(&dir, &self.cluster_name, &members, self.view_mode)?;
        let first = nodes[0].name.clone();
        let ca =
            ClusterCa::generate(&self.cluster_name).map_err(|e| StartError::Pki(e.to_string()))?;
        fs.write_file(&first, "pve-root-ca.pem", ca.cert_pem.as_bytes(), 1)?;
        fs.write_file(&first, "priv/pve-root-ca.key", ca.key_pem.as_bytes(), 1)?;
        let token_id = "root@pam!pvectl".to_string();
        fs.write_file(
            &first,
            "priv/token.cfg",
            format!("{token_id} {secret}\n").as_bytes(),
            1,
        )?;
        let mut storages = default_storages();
        for (id, bytes) in &self.capacities {
            let def = storages
                .iter_mut()
                .find(|s| s.id == *id)
                .ok_or_else(|| StartError::Invalid(format!("no storage '{id}'")))?;
            def.capacity = *bytes;
        }
        fs.write_file(&first, "storage.cfg", storage_cfg(&storages).as_bytes(), 1)?;
        let (lower, upper) = self.options.next_id;
        fs.write_file(
            &first,
            "datacenter.cfg",
            format!("keyboard: en-us\nnext-id: lower={lower},upper={upper}\n").as_bytes(),
            1,
        )?;

        let mut tls = BTreeMap::new();
        for node in &nodes {
            let cert = ca
                .issue_node_cert(&node.name, node.address)
                .map_err(|e| StartError::Pki(e.to_string()))?;
            fs.write_file(
                &node.name,
                &format!("nodes/{}/pve-ssl.pem", node.name),
                cert.cert_pem.as_bytes(),
                1,
            )?;
            fs.write_file(
                &node.name,
                &format!("nodes/{}/pve-ssl.key", node.name),
                cert.key_pem.as_bytes(),
                1,
            )?;
            let config =
                crate::pki::server_config(&cert).map_err(|e| StartError::Pki(e.to_string()))?;
            tls.insert(node.name.clone(), config);
        }

        let mut tasklogs = BTreeMap::new();
        for node in &nodes {
            let root = dir.join("tasks").join(&node.name);
            tasklogs.insert(
                node.name.clone(),
                TaskLogDir::create(&root).map_err(io(format!("task dir {}", root.display())))?,
            );
        }

        let mut state = State::new(nodes.clone(), storages, self.seed);
        let guests = crate::seed::seed(&mut state, self.extra_vms_per_node);
        let clock = SimClock::new(self.time_scale);
        let sim: SimRef = Arc::new(Sim::new(
            self.cluster_name.clone(),
            clock,
            self.options.clone(),
            fs,
            tasklogs,
            state,
        ));
        let up_since = clock.epoch_now() - 3600;
        // seeded guests have been reported by pvestatd long ago: no resources lag
        let seeded_at =
            std::time::Instant::now().checked_sub(clock.real(self.options.resources_lag));
        for mut guest in guests {
            if guest.started_at.is_some() {
                guest.started_at = Some(up_since);
            }
            if let Some(seeded_at) = seeded_at {
                guest.created = seeded_at;
            }
            let text = guest.config.render(guest.kind);
            sim.fs.write_guest_config(
                &guest.node,
                &guest.node,
                guest.kind,
                guest.vmid,
                &text,
                1,
            )?;
            sim.state().guests.insert(guest.vmid, guest);
        }
        for fault in self.faults {
            control::apply_fault(&sim, fault).map_err(StartError::Invalid)?;
        }

        let auth = AuthStore::new(self.seed);
        auth.add_user("root@pam", &password);
        auth.add_token(&token_id, &secret);
        let auth = Arc::new(auth);
        let authorization: Arc<str> = format!("PVEAPIToken={token_id}={secret}").into();
        let (shutdown, shutdown_rx) = watch::channel(false);
        let mut servers = JoinSet::new();
        for (node, listener) in nodes.iter().zip(listeners) {
            let served = Served {
                sim: Arc::clone(&sim),
                node: node.name.clone(),
            };
            let options = HttpOptions {
                cluster_name: self.cluster_name.clone(),
                auth_failure_delay: clock.real(self.options.auth_failure_delay),
                before: Some(fault_hook(Arc::clone(&sim), node.name.clone())),
            };
            let app = router(api_routes(), served, Arc::clone(&auth), options).merge(
                control::routes(ControlState {
                    sim: Arc::clone(&sim),
                    authorization: Arc::clone(&authorization),
                }),
            );
            let config = tls[&node.name].clone();
            servers.spawn(crate::https::serve(
                listener,
                config,
                app,
                shutdown_rx.clone(),
            ));
        }

        let ca_path = sim.fs.backing_root().join("pve-root-ca.pem");
        let sandbox = Sandbox {
            dir: dir.clone(),
            ca: ca_path,
            user: "root@pam".into(),
            password,
            token: SandboxToken {
                id: token_id,
                secret,
            },
            nodes: nodes
                .iter()
                .map(|n| SandboxNode {
                    name: n.name.clone(),
                    id: n.id,
                    address: n.address.to_string(),
                    port: n.port,
                    pmxcfs: sim.fs.view(&n.name),
                    tasks: dir.join("tasks").join(&n.name),
                    agent: None,
                })
                .collect(),
            pvectl_config: None,
        };
        Ok(SimCluster {
            sim,
            sandbox,
            shutdown,
            servers,
            _tempdir: tempdir,
        })
    }
}

fn uuid_from(rng: &mut ChaCha8Rng) -> String {
    let b: [u8; 16] = rng.random();
    let h = hex::encode(b);
    format!(
        "{}-{}-4{}-a{}-{}",
        &h[0..8],
        &h[8..12],
        &h[13..16],
        &h[17..20],
        &h[20..32]
    )
}

async fn bind_all(nodes: &[NodeState]) -> Result<Vec<tokio::net::TcpListener>, StartError> {
    let mut listeners = Vec::new();
    for node in nodes {
        let addr = SocketAddr::new(node.address, node.port);
        let listener = tokio::net::TcpListener::bind(addr)
            .await
            .map_err(io(format!("bind {addr} for {}", node.name)))?;
        listeners.push(listener);
    }
    Ok(listeners)
}

/// Counts each request, then applies latency, injected 5xx answers and a
/// down node.
fn fault_hook(sim: SimRef, node: String) -> crate::api::BeforeHook {
    Arc::new(move |_method, _path| {
        let sim = Arc::clone(&sim);
        let node = node.clone();
        Box::pin(async move {
            sim.api_calls.record(&node);
            let (down, latency, probability) = {
                let st = sim.state();
                (
                    st.faults.node_down(&node),
                    st.faults.api_latency_ms(&node),
                    st.faults.server_error_probability(&node),
                )
            };
            if down {
                // a powered-off node does not answer at all: the caller times out
                std::future::pending::<()>().await;
            }
            if latency > 0 {
                tokio::time::sleep(Duration::from_millis(latency)).await;
            }
            if probability > 0.0 && sim.state().chance() < probability {
                let err = crate::api::ApiError::custom(
                    http::StatusCode::SERVICE_UNAVAILABLE,
                    "injected server error (pve-sim)",
                );
                return Some(axum::response::IntoResponse::into_response(err));
            }
            None
        })
    })
}

/// A running simulated cluster. Dropping it stops the servers and unmounts views.
pub struct SimCluster {
    sim: SimRef,
    sandbox: Sandbox,
    shutdown: watch::Sender<bool>,
    servers: JoinSet<()>,
    _tempdir: Option<tempfile::TempDir>,
}

impl SimCluster {
    pub fn builder() -> SimBuilder {
        SimBuilder::default()
    }

    pub fn sim(&self) -> &SimRef {
        &self.sim
    }

    /// What sandbox.json holds.
    pub fn sandbox(&self) -> &Sandbox {
        &self.sandbox
    }

    pub fn sandbox_mut(&mut self) -> &mut Sandbox {
        &mut self.sandbox
    }

    pub fn dir(&self) -> &Path {
        &self.sandbox.dir
    }

    /// `https://<address>:<port>` of a node's API.
    pub fn url(&self, node: &str) -> Option<String> {
        self.sandbox
            .nodes
            .iter()
            .find(|n| n.name == node)
            .map(|n| format!("https://{}:{}", n.address, n.port))
    }

    pub fn add_fault(&self, fault: Fault) -> Result<(), String> {
        control::apply_fault(&self.sim, fault)
    }

    pub fn clear_faults(&self) -> Result<(), String> {
        control::clear_faults(&self.sim)
    }

    /// Writes `DIR/sandbox.json` (atomically) and returns its path.
    pub fn write_sandbox(&self) -> std::io::Result<PathBuf> {
        self.sandbox.write()
    }

    /// Stops serving, waits for the servers and unmounts the views.
    pub async fn shutdown(mut self) {
        self.shutdown.send_replace(true);
        while self.servers.join_next().await.is_some() {}
        self.sim.fs.unmount();
    }
}

impl Drop for SimCluster {
    fn drop(&mut self) {
        self.shutdown.send_replace(true);
        self.servers.abort_all();
        self.sim.fs.unmount();
    }
}
