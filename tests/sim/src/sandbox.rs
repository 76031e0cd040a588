//! `DIR/sandbox.json`: the machine-readable description of a running
//! sandbox that scripts and tests read instead of scraping output.
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct SandboxToken {
    /// `root@pam!pvectl`
    pub id: String,
    pub secret: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct SandboxNode {
    pub name: String,
    /// corosync node id
    pub id: u32,
    pub address: String,
    pub port: u16,
    /// this node's view of the pmxcfs tree (its `/etc/pve`)
    pub pmxcfs: PathBuf,
    /// this node's task log directory (its `/var/log/pve/tasks`)
    pub tasks: PathBuf,
    /// `address:port` of the node's pvectl-agent, when one runs
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agent: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Sandbox {
    pub dir: PathBuf,
    /// path of pve-root-ca.pem
    pub ca: PathBuf,
    pub user: String,
    pub password: String,
    pub token: SandboxToken,
    pub nodes: Vec<SandboxNode>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pvectl_config: Option<PathBuf>,
}

impl Sandbox {
    pub fn path(&self) -> PathBuf {
        self.dir.join("sandbox.json")
    }

    /// Writes sandbox.json through a temp file and a rename.
    pub fn write(&self) -> std::io::Result<PathBuf> {
        let path = self.path();
        let tmp = self.dir.join(".sandbox.json.tmp");
        let text = serde_json::to_string_pretty(self).map_err(std::io::Error::other)?;
        std::fs::write(&tmp, text + "\n")?;
        std::fs::rename(&tmp, &path)?;
        Ok(path)
    }

    pub fn read(path: &std::path::Path) -> std::io::Result<Sandbox> {
        let text = std::fs::read_to_string(path)?;
        serde_json::from_str(&text).map_err(|e| {
            std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                format!("{}: {e}", path.display()),
            )
        })
    }
}
