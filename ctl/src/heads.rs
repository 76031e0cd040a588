//! The journal heads `pvectl audit verify` saw last, per cluster and node, kept
//! in `$XDG_STATE_HOME/pvectl/heads.json` (else `~/.local/state/pvectl/`). A
//! hash chain alone cannot show a cut-off tail; checking against the head
//! seen before can.
//!
//! ```json
//! {"clusters": {"lab": {"pve1": {"seq": 42, "hash": "9f86d0…"}}}}
//! ```

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::path::{Path, PathBuf};

use pvectl_proto::journal::Head;
use serde::{Deserialize, Serialize};

use crate::files::{self, FileError, Overwrite};

/// The state file's name inside pvectl's state directory.
pub const HEADS_FILE: &str = "heads.json";

/// Why the remembered heads could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum HeadsError {
    #[error("cannot find the state directory: neither XDG_STATE_HOME nor HOME is set")]
    NoHome,
    #[error("cannot read the remembered journal heads {}: {source}", path.display())]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(
        "the remembered journal heads {} are unreadable: {message} \
         (move the file away to start over; truncations before now go unnoticed)",
        path.display()
    )]
    Syntax { path: PathBuf, message: String },
    #[error(transparent)]
    Write(#[from] FileError),
}

/// `pvectl`'s state directory: `$XDG_STATE_HOME/pvectl`, else
/// `$HOME/.local/state/pvectl` (given the two variables, for tests).
pub fn user_state_dir(
    xdg_state_home: Option<OsString>,
    home: Option<OsString>,
) -> Result<PathBuf, HeadsError> {
    let base = match (xdg_state_home, home) {
        (Some(xdg), _) if !xdg.is_empty() => PathBuf::from(xdg),
        (_, Some(home)) if !home.is_empty() => PathBuf::from(home).join(".local/state"),
        _ => return Err(HeadsError::NoHome),
    };
    Ok(base.join("pvectl"))
}

#[derive(Debug, Default, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct HeadsFile {
    #[serde(default)]
    clusters: BTreeMap<String, BTreeMap<String, StoredHead>>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct StoredHead {
    seq: u64,
    hash: String,
}

/// The remembered heads, loaded from their file.
#[derive(Debug, Clone)]
pub struct HeadStore {
    path: PathBuf,
    file: HeadsFile,
}

impl HeadStore {
    /// Reads `path`; a missing file remembers nothing.
    pub fn load(path: &Path) -> Result<HeadStore, HeadsError> {
        let file = match std::fs::read_to_string(path) {
            Ok(text) => serde_json::from_str(&text).map_err(|error| HeadsError::Syntax {
                path: path.to_path_buf(),
                message: error.to_string(),
            })?,
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => HeadsFile::default(),
            Err(source) => {
                return Err(HeadsError::Read {
                    path: path.to_path_buf(),
                    source,
                });
            }
        };
        Ok(HeadStore {
            path: path.to_path_buf(),
            file,
        })
    }

    /// The head last seen from `node` of `cluster`.
    pub fn get(&self, cluster: &str, node: &str) -> Option<Head> {
        let stored = self.file.clusters.get(cluster)?.get(node)?;
        Some(Head {
            seq: stored.seq,
            hash: stored.hash.clone(),
        })
    }

    /// Remembers `head` for `node` of `cluster`.
    pub fn set(&mut self, cluster: &str, node: &str, head: &Head) {
        self.file
            .clusters
            .entry(cluster.to_owned())
            .or_default()
            .insert(
                node.to_owned(),
                StoredHead {
                    seq: head.seq,
                    hash: head.hash.clone(),
                },
            );
    }

    /// Writes the file atomically, readable by the owner only.
    pub fn save(&self) -> Result<(), HeadsError> {
        let mut text =
            serde_json::to_string_pretty(&self.file).map_err(|error| HeadsError::Syntax {
                path: self.path.clone(),
                message: error.to_string(),
            })?;
        text.push('\n');
        if let Some(dir) = self.path.parent().filter(|dir| !dir.as_os_str().is_empty()) {
            files::create_private_dir(dir)?;
        }
        files::write_atomically(&self.path, text.as_bytes(), 0o600, Overwrite::Replace)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::ffi::OsString;

    use pvectl_proto::journal::Head;

    use super::{HeadStore, HeadsError, user_state_dir};

    fn head(seq: u64) -> Head {
        Head {
            seq,
            hash: format!("{seq:064x}"),
        }
    }

    #[test]
    fn the_state_dir_follows_xdg_then_home() {
        let dir = user_state_dir(Some(OsString::from("/x")), Some(OsString::from("/h")));
        assert_eq!(dir.unwrap(), std::path::Path::new("/x/pvectl"));
        let dir = user_state_dir(Some(OsString::new()), Some(OsString::from("/h")));
        assert_eq!(dir.unwrap(), std::path::Path::new("/h/.local/state/pvectl"));
        assert!(matches!(
            user_state_dir(None, None),
            Err(HeadsError::NoHome)
        ));
    }

    #[test]
    fn a_missing_file_remembers_nothing_and_saved_heads_come_back_per_cluster_and_node() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state/pvectl/heads.json");
        let mut store = HeadStore::load(&path).unwrap();
        assert_eq!(store.get("lab", "pve1"), None);
        store.set("lab", "pve1", &head(3));
        store.set("lab", "pve2", &head(7));
        store.set("prod", "pve1", &head(9));
        store.save().unwrap();
        let loaded = HeadStore::load(&path).unwrap();
        assert_eq!(loaded.get("lab", "pve1"), Some(head(3)));
        assert_eq!(loaded.get("lab", "pve2"), Some(head(7)));
        assert_eq!(loaded.get("prod", "pve1"), Some(head(9)));
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
    }

    #[test]
    fn a_corrupt_file_is_an_error_naming_it_not_a_silent_reset() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("heads.json");
        std::fs::write(&path, "{not json").unwrap();
        let error = HeadStore::load(&path).unwrap_err().to_string();
        assert!(error.contains(&path.display().to_string()), "{error}");
        assert!(error.contains("move the file away"), "{error}");
    }
}
