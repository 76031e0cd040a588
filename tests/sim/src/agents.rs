//! Real `pvectl-agent` processes for a simulated cluster: certificates made
//! with the real `pvectl pki`, one agent per node whose pmxcfs root is that
//! node's own view and whose task logs are that node's, and a pvectl config
//! (context `sim`) that reaches them. Agents can be killed and restarted
//! (tests of a crash mid-operation).
use std::collections::BTreeMap;
use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use tokio::process::{Child, Command};

use crate::cluster::SimCluster;

/// Errors while starting agents.
#[derive(Debug, thiserror::Error)]
pub enum AgentsError {
    #[error(
        "cannot find the `{0}` binary next to {1} (build the workspace binaries: cargo build --bins)"
    )]
    MissingBinary(&'static str, String),
    #[error("{what}: {source}")]
    Io {
        what: String,
        source: std::io::Error,
    },
    #[error("`{command}` failed: {stderr}")]
    Command { command: String, stderr: String },
    #[error("no port is free on every node address")]
    NoCommonPort,
    #[error(
        "agent of {node} did not accept connections on {addr} within {waited:?}; its log: {log}"
    )]
    NotReady {
        node: String,
        addr: SocketAddr,
        waited: Duration,
        log: String,
    },
}

fn io(what: impl Into<String>) -> impl FnOnce(std::io::Error) -> AgentsError {
    let what = what.into();
    move |source| AgentsError::Io { what, source }
}

/// The clients whose certificates the sandbox issues, with their roles.
pub const CLIENTS: [(&str, &str); 3] = [
    ("admin", "admin"),
    ("operator", "operator"),
    ("viewer", "viewer"),
];

/// Finds a workspace binary: `$PVECTL_BIN_DIR`, else beside this executable
/// or one level up (test executables live in `target/<profile>/deps`).
pub fn find_binary(name: &'static str) -> Result<PathBuf, AgentsError> {
    let exe = std::env::current_exe().unwrap_or_default();
    let mut dirs: Vec<PathBuf> = std::env::var_os("PVECTL_BIN_DIR")
        .map(PathBuf::from)
        .into_iter()
        .collect();
    if let Some(dir) = exe.parent() {
        dirs.push(dir.to_path_buf());
        if let Some(up) = dir.parent() {
            dirs.push(up.to_path_buf());
        }
    }
    dirs.into_iter()
        .map(|d| d.join(name))
        .find(|p| p.is_file())
        .ok_or_else(|| AgentsError::MissingBinary(name, exe.display().to_string()))
}

fn run(command: &mut std::process::Command) -> Result<(), AgentsError> {
    let output = command.output().map_err(io(format!("run {command:?}")))?;
    if output.status.success() {
        Ok(())
    } else {
        Err(AgentsError::Command {
            command: format!("{command:?}"),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        })
    }
}

/// A port that can be bound on every address (agents share one port, as on a
/// real cluster where every node's agent listens on the same one).
pub fn common_port(addresses: &[IpAddr]) -> Result<u16, AgentsError> {
    for _ in 0..50 {
        let first =
            std::net::TcpListener::bind((addresses[0], 0)).map_err(io("bind a probe port"))?;
        let port = first.local_addr().map_err(io("probe port"))?.port();
        let rest: Result<Vec<_>, _> = addresses[1..]
            .iter()
            .map(|a| std::net::TcpListener::bind((*a, port)))
            .collect();
        if rest.is_ok() {
            return Ok(port);
        }
    }
    Err(AgentsError::NoCommonPort)
}

/// One node's agent: its files and, while running, its process.
pub struct NodeAgent {
    pub node: String,
    pub addr: SocketAddr,
    pub config: PathBuf,
    pub log: PathBuf,
    child: Option<Child>,
}

impl NodeAgent {
    /// Starts the agent and waits until it accepts connections.
    pub async fn start(&mut self, binary: &Path) -> Result<(), AgentsError> {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log)
            .map_err(io(format!("open {}", self.log.display())))?;
        let err = log.try_clone().map_err(io("clone log handle"))?;
        let child = Command::new(binary)
            .arg("--config")
            .arg(&self.config)
            .arg("run")
            .env(
                "RUST_LOG",
                std::env::var("PVECTL_AGENT_LOG").unwrap_or_else(|_| "info".into()),
            )
            .stdin(Stdio::null())
            .stdout(log)
            .stderr(err)
            .kill_on_drop(true)
            .spawn()
            .map_err(io(format!("start {}", binary.display())))?;
        self.child = Some(child);
        self.wait_ready(Duration::from_secs(20)).await
    }

    async fn wait_ready(&mut self, limit: Duration) -> Result<(), AgentsError> {
        let deadline = tokio::time::Instant::now() + limit;
        loop {
            if tokio::net::TcpStream::connect(self.addr).await.is_ok() {
                return Ok(());
            }
            let exited = self
                .child
                .as_mut()
                .and_then(|c| c.try_wait().ok().flatten());
            if exited.is_some() || tokio::time::Instant::now() >= deadline {
                let log = std::fs::read_to_string(&self.log).unwrap_or_default();
                return Err(AgentsError::NotReady {
                    node: self.node.clone(),
                    addr: self.addr,
                    waited: limit,
                    log,
                });
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    /// SIGKILL: the agent dies mid-whatever, as in a crash.
    pub async fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill().await;
        }
    }

    /// SIGTERM and wait for the exit; returns its exit code.
    pub async fn terminate(&mut self) -> Option<i32> {
        let mut child = self.child.take()?;
        if let Some(pid) = child.id() {
            let _ = nix::sys::signal::kill(
                nix::unistd::Pid::from_raw(pid as i32),
                nix::sys::signal::Signal::SIGTERM,
            );
        }
        child.wait().await.ok().and_then(|s| s.code())
    }

    pub fn running(&mut self) -> bool {
        self.child
            .as_mut()
            .is_some_and(|c| matches!(c.try_wait(), Ok(None)))
    }
}

/// How the agents are set up.
#[derive(Debug, Clone, Default)]
pub struct FleetOptions {
    /// The port every agent listens on; `None` finds one free on every address.
    pub port: Option<u16>,
    /// `watcher = "..."` in every agent config (`auto`, `inotify`, `poll`).
    pub watcher: Option<String>,
    /// Point the agents at an empty directory instead of their pmxcfs view,
    /// so they run in API-only mode.
    pub api_only: bool,
    /// `timeouts.create` for every agent (e.g. `"5s"`).
    pub create_timeout: Option<String>,
}

/// Every node's agent plus the pvectl config that reaches them.
pub struct AgentFleet {
    pub agents: BTreeMap<String, NodeAgent>,
    pub pvectl_config: PathBuf,
    pub pki_dir: PathBuf,
    binary: PathBuf,
}

impl AgentFleet {
    /// Issues certificates, writes configs and starts one agent per node;
    /// records the agents and the pvectl config in the cluster's sandbox.
    pub async fn start(
        cluster: &mut SimCluster,
        port: Option<u16>,
    ) -> Result<AgentFleet, AgentsError> {
        let options = FleetOptions {
            port,
            ..FleetOptions::default()
        };
        Self::start_with(cluster, options).await
    }

    /// [`AgentFleet::start`] with more choices.
    pub async fn start_with(
        cluster: &mut SimCluster,
        options: FleetOptions,
    ) -> Result<AgentFleet, AgentsError> {
        let pvectl = find_binary("pvectl")?;
        let binary = find_binary("pvectl-agent")?;
        let sandbox = cluster.sandbox().clone();
        let dir = sandbox.dir.clone();
        let pki = dir.join("pki");
        let addresses: Vec<IpAddr> = sandbox
            .nodes
            .iter()
            .filter_map(|n| n.address.parse().ok())
            .collect();
        let port = match options.port {
            Some(port) => port,
            None => common_port(&addresses)?,
        };
        let pki_cmd = |args: &[&str]| {
            let mut cmd = std::process::Command::new(&pvectl);
            cmd.arg("pki")
                .arg("--dir")
                .arg(&pki)
                .args(args)
                .arg("--force")
                .arg("--yes");
            cmd
        };
        run(&mut pki_cmd(&["init"]))?;
        for (name, role) in CLIENTS {
            run(&mut pki_cmd(&[
                "issue-client",
                "--name",
                name,
                "--role",
                role,
            ]))?;
        }
        let token = format!("{}={}\n", sandbox.token.id, sandbox.token.secret);
        let mut agents = BTreeMap::new();
        for node in &sandbox.nodes {
            run(&mut pki_cmd(&[
                "issue-agent",
                "--node",
                &node.name,
                "--ip",
                &node.address,
            ]))?;
            let home = dir.join("agents").join(&node.name);
            std::fs::create_dir_all(&home).map_err(io(format!("create {}", home.display())))?;
            let token_file = home.join("pve-api-token");
            write_private(&token_file, &token)?;
            let addr = SocketAddr::new(
                node.address
                    .parse()
                    .map_err(|_| AgentsError::NoCommonPort)?,
                port,
            );
            let config = home.join("agent.toml");
            let no_tree = home.join("no-pmxcfs");
            if options.api_only {
                std::fs::create_dir_all(&no_tree)
                    .map_err(io(format!("create {}", no_tree.display())))?;
            }
            let mut text = agent_config(&AgentFiles {
                node: &node.name,
                listen: addr,
                pmxcfs: if options.api_only {
                    &no_tree
                } else {
                    &node.pmxcfs
                },
                tasks: &node.tasks,
                journal: &home.join("journal.jsonl"),
                api: &format!("https://{}:{}", node.address, node.port),
                token: &token_file,
                pve_ca: &sandbox.ca,
                cert: &pki.join(format!("agent-{}.pem", node.name)),
                key: &pki.join(format!("agent-{}.key", node.name)),
                client_ca: &pki.join("ca.pem"),
            });
            if let Some(watcher) = &options.watcher {
                text = format!("watcher = {}\n{text}", toml_string(watcher));
            }
            if let Some(timeout) = &options.create_timeout {
                text = text.replace(
                    "[timeouts]\n",
                    &format!("[timeouts]\ncreate = {}\n", toml_string(timeout)),
                );
            }
            std::fs::write(&config, text).map_err(io(format!("write {}", config.display())))?;
            agents.insert(
                node.name.clone(),
                NodeAgent {
                    node: node.name.clone(),
                    addr,
                    config,
                    log: home.join("agent.log"),
                    child: None,
                },
            );
        }
        let pvectl_config = dir.join("pvectl").join("config.toml");
        let first = agents
            .values()
            .next()
            .map(|a| a.addr.to_string())
            .unwrap_or_default();
        for (name, _) in CLIENTS {
            let context = if name == "admin" {
                "sim".to_string()
            } else {
                format!("sim-{name}")
            };
            let mut cmd = std::process::Command::new(&pvectl);
            cmd.arg("--config")
                .arg(&pvectl_config)
                .args(["config", "set-context", &context, "--seed", &first])
                .arg("--ca")
                .arg(pki.join("ca.pem"))
                .arg("--cert")
                .arg(pki.join(format!("client-{name}.pem")))
                .arg("--key")
                .arg(pki.join(format!("client-{name}.key")));
            run(&mut cmd)?;
        }
        let mut fleet = AgentFleet {
            agents,
            pvectl_config: pvectl_config.clone(),
            pki_dir: pki,
            binary,
        };
        for agent in fleet.agents.values_mut() {
            agent.start(&fleet.binary).await?;
        }
        let sandbox = cluster.sandbox_mut();
        sandbox.pvectl_config = Some(pvectl_config);
        for node in &mut sandbox.nodes {
            node.agent = fleet.agents.get(&node.name).map(|a| a.addr.to_string());
        }
        Ok(fleet)
    }

    pub fn agent(&mut self, node: &str) -> Option<&mut NodeAgent> {
        self.agents.get_mut(node)
    }

    pub fn binary(&self) -> &Path {
        &self.binary
    }

    /// SIGTERM to every agent, waiting for each.
    pub async fn shutdown(&mut self) {
        for agent in self.agents.values_mut() {
            agent.terminate().await;
        }
    }
}

fn write_private(path: &Path, text: &str) -> Result<(), AgentsError> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(true)
        .write(true)
        .mode(0o600)
        .open(path)
        .map_err(io(format!("write {}", path.display())))?;
    file.write_all(text.as_bytes())
        .map_err(io(format!("write {}", path.display())))
}

struct AgentFiles<'a> {
    node: &'a str,
    listen: SocketAddr,
    pmxcfs: &'a Path,
    tasks: &'a Path,
    journal: &'a Path,
    api: &'a str,
    token: &'a Path,
    pve_ca: &'a Path,
    cert: &'a Path,
    key: &'a Path,
    client_ca: &'a Path,
}

/// The agent config for one simulated node (see packaging/agent.toml).
fn agent_config(f: &AgentFiles<'_>) -> String {
    let q = |p: &Path| toml_string(&p.display().to_string());
    let mut roles = String::new();
    for (name, role) in CLIENTS {
        roles.push_str(&format!("{} = \"{role}\"\n", toml_string(name)));
    }
    format!(
        "node_name = {node}\nlisten = \"{listen}\"\npmxcfs_root = {pmxcfs}\ntask_log_root = {tasks}\njournal_path = {journal}\n\n\
         [pve_api]\nurl = {api}\ntoken_file = {token}\nca = {ca}\n\n\
         [tls]\ncert = {cert}\nkey = {key}\nclient_ca = {client_ca}\n\n\
         [timeouts]\nshutdown_grace = \"5s\"\n\n[roles]\n{roles}",
        node = toml_string(f.node),
        listen = f.listen,
        pmxcfs = q(f.pmxcfs),
        tasks = q(f.tasks),
        journal = q(f.journal),
        api = toml_string(f.api),
        token = q(f.token),
        ca = q(f.pve_ca),
        cert = q(f.cert),
        key = q(f.key),
        client_ca = q(f.client_ca),
    )
}

fn toml_string(text: &str) -> String {
    format!("\"{}\"", text.replace('\\', "\\\\").replace('"', "\\\""))
}
