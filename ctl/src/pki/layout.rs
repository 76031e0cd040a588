//! Where `pvectl pki` keeps its files inside the PKI directory, and with
//! which permissions.

use std::path::{Path, PathBuf};

/// A certificate and its key, side by side.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PkiPaths {
    pub cert: PathBuf,
    pub key: PathBuf,
}

/// Permission bits of a certificate: anyone may read it.
pub const CERT_MODE: u32 = 0o644;
/// Permission bits of a private key: the owner only.
pub const KEY_MODE: u32 = 0o600;

/// `ca.pem` and `ca.key`.
pub fn ca_paths(dir: &Path) -> PkiPaths {
    pair(dir, "ca")
}

/// `agent-<node>.pem` and `agent-<node>.key`.
pub fn agent_paths(dir: &Path, node: &str) -> PkiPaths {
    pair(dir, &format!("agent-{node}"))
}

/// `client-<name>.pem` and `client-<name>.key`.
pub fn client_paths(dir: &Path, name: &str) -> PkiPaths {
    pair(dir, &format!("client-{name}"))
}

fn pair(dir: &Path, stem: &str) -> PkiPaths {
    PkiPaths {
        cert: dir.join(format!("{stem}.pem")),
        key: dir.join(format!("{stem}.key")),
    }
}
