//! A pmxcfs-like tree (`/etc/pve`) shared by all simulated nodes, with one view per node.
//!
//! Layout under `DIR`:
//! - `DIR/pmxcfs` — the backing tree: `.members`, `.vmlist`, `.version`, `priv/`,
//!   `nodes/<n>/{qemu-server,lxc,priv}` for every member, and the symlinks `local`,
//!   `qemu-server` and `lxc`, which point at the *first* member's directories (one shared tree
//!   cannot point `local` at each reader's own node; the same holds for `.members`'
//!   `nodename`, so agents in the simulator are told their node name by configuration).
//! - `DIR/views/<n>` — what node `n`'s agent uses as `/etc/pve`. With FUSE it is a `bindfs`
//!   mount of the backing tree, and everything written on behalf of node `n` goes through it:
//!   a watcher on a view sees that node's writes and never another node's, yet every file
//!   shows up in every view — pmxcfs's split between local writes (inotify events) and remote
//!   ones (silent). Without FUSE (`ViewMode::Shared`) each view is a symlink to the backing
//!   tree, and every watcher sees every write.
//!
//! Guest configs are written like PVE's `file_set_contents` (`<vmid>.conf.tmp.<pid>` created
//! exclusively, written, closed, renamed), and the cluster-wide VMID guard of pmxcfs applies:
//! creating, writing or renaming onto a `<vmid>.conf` whose VMID belongs to another node or
//! type fails with `Exists`. Every create, write and rename of a `<vmid>.conf` bumps the
//! guest's and the global version in `.vmlist`; unlink removes the entry. `.vmlist`,
//! `.version` and `.members` are regenerated in the backing tree by tmp + rename, so readers
//! never see a half-written file and views raise no events for them (pmxcfs generates them
//! on read).
//!
//! The in-memory vmlist follows the writes made through this API; files put into the tree by
//! other means are not seen until the tree is opened again with [`Pmxcfs::create`], which
//! rescans the guest configs it finds.

mod files;
mod guest_ops;
mod layout;
mod status;
#[cfg(test)]
mod tests;
mod views;

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::fs;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::sync::{Condvar, Mutex, MutexGuard, PoisonError};
use std::time::{SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

/// The two guest kinds and their directories under `nodes/<n>/`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum GuestType {
    Qemu,
    Lxc,
}

impl GuestType {
    /// The name in `.vmlist` and API paths: `qemu` / `lxc`.
    pub fn as_str(self) -> &'static str {
        match self {
            GuestType::Qemu => "qemu",
            GuestType::Lxc => "lxc",
        }
    }

    /// The config directory under `nodes/<n>/`: `qemu-server` / `lxc`.
    pub fn dir_name(self) -> &'static str {
        match self {
            GuestType::Qemu => "qemu-server",
            GuestType::Lxc => "lxc",
        }
    }
}

impl fmt::Display for GuestType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A cluster member as `.members` lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Member {
    pub name: String,
    pub id: u32,
    pub ip: Option<IpAddr>,
    pub online: bool,
}

/// How node views are provided.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ViewMode {
    /// FUSE views when `bindfs` and `/dev/fuse` work, otherwise `Shared`.
    #[default]
    Auto,
    /// FUSE views or an error saying why they cannot be mounted.
    Fuse,
    /// Every view is a symlink to the backing tree: every watcher sees every write.
    Shared,
}

/// One guest in `.vmlist`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct VmlistEntry {
    pub node: String,
    #[serde(rename = "type")]
    pub kind: GuestType,
    pub version: u64,
}

/// What a tree operation can fail with.
#[derive(Debug, thiserror::Error)]
pub enum FsError {
    /// The name is taken; for guest configs `owner` says which node and type hold the VMID
    /// (pmxcfs's EEXIST, the only cluster-wide VMID guard).
    #[error("{} already exists{}", path.display(), owner_note(owner))]
    Exists {
        path: PathBuf,
        owner: Option<(String, GuestType)>,
    },
    #[error("{} does not exist", path.display())]
    NotFound { path: PathBuf },
    #[error("node '{node}' is not a cluster member")]
    UnknownNode { node: String },
    #[error("invalid {what} '{name}': {reason}")]
    InvalidName {
        what: &'static str,
        name: String,
        reason: String,
    },
    #[error("invalid tree path '{rel}': {reason}")]
    InvalidPath { rel: String, reason: String },
    #[error("{} is too large: {size} bytes (pmxcfs allows 1 MiB per file)", path.display())]
    TooLarge { path: PathBuf, size: usize },
    #[error("{op} {} failed: {source}", path.display())]
    Io {
        op: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot mount the FUSE view {}: {reason}", view.display())]
    Mount { view: PathBuf, reason: String },
}

fn owner_note(owner: &Option<(String, GuestType)>) -> String {
    match owner {
        Some((node, kind)) => format!(" (the VMID belongs to {kind} on node '{node}')"),
        None => String::new(),
    }
}

/// The simulated pmxcfs: the backing tree, per-node views and the in-memory vmlist.
/// `Send + Sync`; the state mutex is never held across file IO.
pub struct Pmxcfs {
    backing: PathBuf,
    views_dir: PathBuf,
    cluster_name: String,
    starttime: i64,
    state: Mutex<State>,
    /// Signalled when a VMID is released by an operation in flight.
    vmid_released: Condvar,
    /// Serializes regeneration of the dot files (each writer renders the newest state).
    publish: Mutex<()>,
    /// Mounted FUSE views; empty in shared mode and after unmount.
    mounts: Mutex<Vec<views::FuseView>>,
    separate: bool,
}

struct State {
    members: Vec<Member>,
    members_version: u64,
    vmlist: BTreeMap<u32, VmlistEntry>,
    vmlist_version: u64,
    guest_version_counter: u64,
    file_versions: BTreeMap<&'static str, u64>,
    /// VMIDs with a create/write/rename/unlink in flight.
    busy: BTreeSet<u32>,
}

impl State {
    /// pmxcfs's `vmlist_register_vm`: a new entry or a replaced one with a fresh version.
    fn register(&mut self, vmid: u32, node: &str, kind: GuestType) {
        self.vmlist_version += 1;
        self.guest_version_counter += 1;
        self.vmlist.insert(
            vmid,
            VmlistEntry {
                node: node.to_string(),
                kind,
                version: self.guest_version_counter,
            },
        );
    }

    /// pmxcfs's `vmlist_delete_vm`.
    fn unregister(&mut self, vmid: u32) {
        self.vmlist_version += 1;
        self.vmlist.remove(&vmid);
    }
}

impl Pmxcfs {
    /// Builds (or reopens) the tree under `dir` for `members` and mounts their views.
    pub fn create(
        dir: &Path,
        cluster_name: &str,
        members: &[Member],
        mode: ViewMode,
    ) -> Result<Pmxcfs, FsError> {
        layout::validate_members(cluster_name, members)?;
        fs::create_dir_all(dir).map_err(files::io_error("mkdir", dir))?;
        let dir = dir
            .canonicalize()
            .map_err(files::io_error("resolve", dir))?;
        let backing = dir.join("pmxcfs");
        let views_dir = dir.join("views");
        files::ensure_dir(&dir, "pmxcfs")?;
        files::ensure_dir(&dir, "views")?;
        layout::build(&backing, members)?;

        let mut state = State {
            members: members.to_vec(),
            members_version: 1,
            vmlist: BTreeMap::new(),
            vmlist_version: 0,
            guest_version_counter: 0,
            file_versions: BTreeMap::new(),
            busy: BTreeSet::new(),
        };
        guest_ops::scan_existing(&backing, members, &mut state)?;

        let mut tree = Pmxcfs {
            backing,
            views_dir,
            cluster_name: cluster_name.to_string(),
            starttime: SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(0, |d| d.as_secs() as i64),
            state: Mutex::new(state),
            vmid_released: Condvar::new(),
            publish: Mutex::new(()),
            mounts: Mutex::new(Vec::new()),
            separate: false,
        };
        tree.publish_all()?;
        tree.setup_views(mode)?;
        Ok(tree)
    }

    /// The backing tree, `DIR/pmxcfs`.
    pub fn backing_root(&self) -> &Path {
        &self.backing
    }

    /// What `node`'s agent uses as `/etc/pve`: `DIR/views/<node>`.
    pub fn view(&self, node: &str) -> PathBuf {
        self.views_dir.join(node)
    }

    /// True when every node has its own FUSE view (writes raise events only on the writer's).
    pub fn views_are_separate(&self) -> bool {
        self.separate
    }

    /// The members as `.members` shows them now.
    pub fn members(&self) -> Vec<Member> {
        self.lock().members.clone()
    }

    /// A snapshot of `.vmlist`'s guests.
    pub fn vmlist(&self) -> BTreeMap<u32, VmlistEntry> {
        self.lock().vmlist.clone()
    }

    /// `.vmlist`'s global version.
    pub fn vmlist_version(&self) -> u64 {
        self.lock().vmlist_version
    }

    /// Marks a member online or offline and rewrites `.members` (and `.version`).
    pub fn set_member_online(&self, node: &str, online: bool) -> Result<(), FsError> {
        {
            let mut state = self.lock();
            let member = state
                .members
                .iter_mut()
                .find(|m| m.name == node)
                .ok_or_else(|| FsError::UnknownNode {
                    node: node.to_string(),
                })?;
            member.online = online;
            state.members_version += 1;
        }
        self.publish_all()
    }

    /// Unmounts the FUSE views (idempotent; also done on drop). Views stay usable as plain
    /// directories only in shared mode.
    pub fn unmount(&self) {
        let mounted =
            std::mem::take(&mut *self.mounts.lock().unwrap_or_else(PoisonError::into_inner));
        for view in mounted {
            if let Err(reason) = views::unmount(view) {
                tracing::warn!("{reason}");
            }
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn check_member(&self, node: &str) -> Result<(), FsError> {
        if self.lock().members.iter().any(|m| m.name == node) {
            Ok(())
        } else {
            Err(FsError::UnknownNode {
                node: node.to_string(),
            })
        }
    }

    /// Rewrites `.members`, `.vmlist` and `.version` from the current state.
    fn publish_all(&self) -> Result<(), FsError> {
        let _writer = self.publish.lock().unwrap_or_else(PoisonError::into_inner);
        let (members, vmlist, version) = {
            let state = self.lock();
            (
                status::members_text(&self.cluster_name, &state.members, state.members_version),
                status::vmlist_text(state.vmlist_version, &state.vmlist),
                self.version_text(&state),
            )
        };
        files::replace_generated(&self.backing, ".members", 0o440, &members)?;
        files::replace_generated(&self.backing, ".vmlist", 0o440, &vmlist)?;
        files::replace_generated(&self.backing, ".version", 0o440, &version)
    }

    /// Rewrites `.vmlist` and `.version` from the current state.
    fn publish_vmlist(&self) -> Result<(), FsError> {
        let _writer = self.publish.lock().unwrap_or_else(PoisonError::into_inner);
        let (vmlist, version) = {
            let state = self.lock();
            (
                status::vmlist_text(state.vmlist_version, &state.vmlist),
                self.version_text(&state),
            )
        };
        files::replace_generated(&self.backing, ".vmlist", 0o440, &vmlist)?;
        files::replace_generated(&self.backing, ".version", 0o440, &version)
    }

    fn version_text(&self, state: &State) -> String {
        status::version_text(
            self.starttime,
            state.members_version,
            state.vmlist_version,
            &state.file_versions,
            state.members.first().map_or("", |m| m.name.as_str()),
        )
    }
}

impl Drop for Pmxcfs {
    fn drop(&mut self) {
        self.unmount();
    }
}
