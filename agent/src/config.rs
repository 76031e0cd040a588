//! The agent's TOML config (`/etc/pvectl/agent.toml`): every path, address,
//! limit and role the agent needs, with PVE's defaults, checked strictly so a
//! typo is an error that names the key instead of a silently ignored setting.
//!
//! `packaging/agent.toml` is the documented example; its comments describe
//! every key.

mod duration;
mod error;
mod roles;

use std::net::SocketAddr;
use std::num::NonZeroUsize;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Deserializer, de};

pub use duration::parse_duration;
pub use error::ConfigError;
pub use roles::{Role, RoleMap};

/// Where the agent reads its config unless told otherwise.
pub const DEFAULT_CONFIG_PATH: &str = "/etc/pvectl/agent.toml";

/// The agent's default gRPC port. 8006 is pveproxy, 8007 Proxmox Backup
/// Server and 8443 Proxmox Datacenter Manager; 8446 is free on a PVE node.
pub const DEFAULT_LISTEN_PORT: u16 = 8446;

const DEFAULT_CLONES_PER_STORAGE: NonZeroUsize = NonZeroUsize::new(2).unwrap();

/// The whole agent config, defaults filled in.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AgentConfig {
    /// This node's PVE name; `None` means "ask `.members`, then the hostname"
    /// (see [`AgentConfig::resolve_node_name`]).
    #[serde(deserialize_with = "node_name_option")]
    pub node_name: Option<String>,
    /// Address the gRPC server binds (`0.0.0.0:8446`).
    pub listen: SocketAddr,
    /// Root of the pmxcfs tree (`/etc/pve`). When it holds no `.members` the
    /// agent runs in API-only mode.
    #[serde(deserialize_with = "absolute_path")]
    pub pmxcfs_root: PathBuf,
    /// PVE's node-local task log directory (`/var/log/pve/tasks`).
    #[serde(deserialize_with = "absolute_path")]
    pub task_log_root: PathBuf,
    /// The agent's append-only journal (`/var/lib/pvectl/journal.jsonl`).
    #[serde(deserialize_with = "absolute_path")]
    pub journal_path: PathBuf,
    /// How the agent learns of config and task log changes.
    pub watcher: WatcherMode,
    /// Clones run at once against one storage (2). PVE's storage lock times
    /// out after 10 s, so more parallel clones fail rather than go faster.
    pub clones_per_storage: NonZeroUsize,
    /// How to reach the node's own PVE API.
    pub pve_api: PveApiConfig,
    /// The gRPC server's mTLS material.
    pub tls: TlsConfig,
    /// Client certificate CN → role. A CN not listed is refused (default deny).
    pub roles: RoleMap,
    /// Time limits.
    pub timeouts: Timeouts,
}

/// How the agent reaches the local PVE API.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PveApiConfig {
    /// Base URL of pveproxy (`https://127.0.0.1:8006`); must be `https`.
    #[serde(deserialize_with = "https_url")]
    pub url: String,
    /// File holding the API token as `USER@REALM!ID=SECRET`, mode 0600,
    /// read once at startup (`/etc/pvectl/pve-api-token`).
    #[serde(deserialize_with = "absolute_path")]
    pub token_file: PathBuf,
    /// The CA that signed pveproxy's certificate; `None` means
    /// `<pmxcfs_root>/pve-root-ca.pem` (see [`AgentConfig::pve_ca_path`]).
    #[serde(deserialize_with = "absolute_path_option")]
    pub ca: Option<PathBuf>,
}

/// The gRPC server's certificate, key, and the CA its clients must present
/// certificates from.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TlsConfig {
    /// The agent's certificate chain, PEM (`/etc/pvectl/tls/agent.pem`).
    #[serde(deserialize_with = "absolute_path")]
    pub cert: PathBuf,
    /// The agent's private key, PEM (`/etc/pvectl/tls/agent-key.pem`).
    #[serde(deserialize_with = "absolute_path")]
    pub key: PathBuf,
    /// The CA client certificates must chain to (`/etc/pvectl/tls/ca.pem`).
    #[serde(deserialize_with = "absolute_path")]
    pub client_ca: PathBuf,
}

/// The agent's time limits.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Timeouts {
    /// How long a create may take before it is reported as timed out (15m).
    #[serde(deserialize_with = "duration::deserialize_duration")]
    pub create: Duration,
    /// Limit for one PVE API request (30s).
    #[serde(deserialize_with = "duration::deserialize_duration")]
    pub api_request: Duration,
    /// How long a SIGTERM waits for running calls to finish (30s).
    #[serde(deserialize_with = "duration::deserialize_duration")]
    pub shutdown_grace: Duration,
}

/// How the agent watches for changes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum WatcherMode {
    /// inotify where the pmxcfs tree and task logs exist, polling otherwise.
    #[default]
    Auto,
    /// inotify only; the agent refuses to start where it is unavailable.
    Inotify,
    /// Polling only (`.vmlist` versions, task status), never inotify.
    Poll,
}

impl Default for AgentConfig {
    fn default() -> Self {
        AgentConfig {
            node_name: None,
            listen: SocketAddr::from(([0, 0, 0, 0], DEFAULT_LISTEN_PORT)),
            pmxcfs_root: PathBuf::from("/etc/pve"),
            task_log_root: PathBuf::from("/var/log/pve/tasks"),
            journal_path: PathBuf::from("/var/lib/pvectl/journal.jsonl"),
            watcher: WatcherMode::Auto,
            clones_per_storage: DEFAULT_CLONES_PER_STORAGE,
            pve_api: PveApiConfig::default(),
            tls: TlsConfig::default(),
            roles: RoleMap::default(),
            timeouts: Timeouts::default(),
        }
    }
}

impl Default for PveApiConfig {
    fn default() -> Self {
        PveApiConfig {
            url: "https://127.0.0.1:8006".to_owned(),
            token_file: PathBuf::from("/etc/pvectl/pve-api-token"),
            ca: None,
        }
    }
}

impl Default for TlsConfig {
    fn default() -> Self {
        TlsConfig {
            cert: PathBuf::from("/etc/pvectl/tls/agent.pem"),
            key: PathBuf::from("/etc/pvectl/tls/agent-key.pem"),
            client_ca: PathBuf::from("/etc/pvectl/tls/ca.pem"),
        }
    }
}

impl Default for Timeouts {
    fn default() -> Self {
        Timeouts {
            create: Duration::from_secs(15 * 60),
            api_request: Duration::from_secs(30),
            shutdown_grace: Duration::from_secs(30),
        }
    }
}

impl AgentConfig {
    /// Reads and checks the config at `path`.
    pub fn load(path: &Path) -> Result<AgentConfig, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_owned(),
            source,
        })?;
        AgentConfig::parse(&text, path)
    }

    /// Parses config `text`; `path` only names the file in errors.
    pub fn parse(text: &str, path: &Path) -> Result<AgentConfig, ConfigError> {
        toml::from_str(text).map_err(|error| ConfigError::from_toml(path.to_owned(), text, &error))
    }

    /// The CA that verifies the PVE API: `pve_api.ca`, or
    /// `<pmxcfs_root>/pve-root-ca.pem`.
    pub fn pve_ca_path(&self) -> PathBuf {
        self.pve_api
            .ca
            .clone()
            .unwrap_or_else(|| self.pmxcfs_root.join("pve-root-ca.pem"))
    }

    /// This node's name: `node_name` from the config, else `.members`'
    /// `nodename` (pass `None` in API-only mode), else the hostname up to its
    /// first dot, as PVE itself names nodes.
    pub fn resolve_node_name(
        &self,
        members_nodename: Option<&str>,
        hostname: Option<&str>,
    ) -> Result<String, ConfigError> {
        if let Some(name) = &self.node_name {
            return Ok(name.clone());
        }
        if let Some(name) = members_nodename.filter(|name| !name.is_empty()) {
            return check_node_name(name)
                .map(str::to_owned)
                .map_err(|why| ConfigError::NodeName(format!(".members nodename {why}")));
        }
        let short = hostname
            .and_then(|host| host.split('.').next())
            .filter(|short| !short.is_empty())
            .ok_or_else(|| ConfigError::NodeName("no .members and no hostname".to_owned()))?;
        check_node_name(short)
            .map(str::to_owned)
            .map_err(|why| ConfigError::NodeName(format!("hostname {why}")))
    }
}

/// PVE node names are DNS labels: letters, digits and inner dashes.
fn check_node_name(name: &str) -> Result<&str, String> {
    let valid = !name.is_empty()
        && name.len() <= 63
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        && !name.starts_with('-')
        && !name.ends_with('-');
    if valid {
        Ok(name)
    } else {
        Err(format!(
            "\"{name}\" is not a valid node name (letters, digits and inner dashes, at most 63)"
        ))
    }
}

fn node_name_option<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<String>, D::Error> {
    let name = String::deserialize(deserializer)?;
    check_node_name(&name).map_err(de::Error::custom)?;
    Ok(Some(name))
}

fn absolute_path<'de, D: Deserializer<'de>>(deserializer: D) -> Result<PathBuf, D::Error> {
    let path = PathBuf::deserialize(deserializer)?;
    if path.is_absolute() {
        Ok(path)
    } else {
        Err(de::Error::custom(format!(
            "path \"{}\" must be absolute",
            path.display()
        )))
    }
}

fn absolute_path_option<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<PathBuf>, D::Error> {
    absolute_path(deserializer).map(Some)
}

fn https_url<'de, D: Deserializer<'de>>(deserializer: D) -> Result<String, D::Error> {
    let text = String::deserialize(deserializer)?;
    let url = reqwest::Url::parse(&text)
        .map_err(|error| de::Error::custom(format!("invalid URL \"{text}\": {error}")))?;
    if url.scheme() != "https" {
        return Err(de::Error::custom(format!(
            "URL \"{text}\" must use https: the agent always verifies PVE's certificate"
        )));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(de::Error::custom(format!(
            "URL \"{text}\" must not carry a query or fragment"
        )));
    }
    Ok(text.trim_end_matches('/').to_owned())
}

#[cfg(test)]
mod tests;
