//! What every scenario needs: a simulated cluster with token clients for its nodes, a watcher
//! on a directory of a node's view of /etc/pve, and reads of the tree, task logs and storage
//! content the way a client on the node would make them.

use std::path::{Path, PathBuf};
use std::time::Duration;

use notify::event::{AccessKind, AccessMode, ModifyKind, RenameMode};
use notify::{Event, EventKind, RecommendedWatcher, RecursiveMode, Watcher};
use pve_sim::client::{Client, RawResponse, encode};
use pve_sim::drives::{Drive, is_drive_key};
use pve_sim::guest_config::GuestConfig;
use pve_sim::pmxcfs::{FsError, GuestType, ViewMode};
use pve_sim::tasks::Upid;
use pve_sim::{SimBuilder, SimCluster, StartError};
use serde_json::Value;
use tokio::sync::mpsc;

/// Upper bound for a task to end.
pub const TASK_TIMEOUT: Duration = Duration::from_secs(30);
/// Upper bound for an expected inotify event to arrive.
pub const EVENT_TIMEOUT: Duration = Duration::from_secs(10);

/// Node pve1's first template (`ubuntu-24.04`): `ide2` cloud-init drive and `scsi0` boot disk
/// on local-lvm.
pub const TEMPLATE1: u32 = 9100;
/// Node pve2's first template.
pub const TEMPLATE2: u32 = 9200;

/// Three nodes, a simulated second lasting 10 ms.
pub fn cluster() -> SimBuilder {
    SimCluster::builder().nodes(3).time_scale(0.01)
}

/// A running cluster and a token client per node.
pub struct Env {
    pub cluster: SimCluster,
    clients: Vec<(String, Client)>,
}

impl Env {
    pub async fn start(builder: SimBuilder) -> Env {
        let cluster = builder.start().await.expect("start the simulated cluster");
        Env::with(cluster)
    }

    /// A cluster whose nodes have FUSE views (a watcher on a view sees that node's writes
    /// only), or — where FUSE is unusable and `PVE_SIM_REQUIRE_FUSE=1` is not set — one shared
    /// tree; the flag says which.
    pub async fn start_with_fuse_views(builder: SimBuilder) -> (Env, bool) {
        match builder.clone().view_mode(ViewMode::Fuse).start().await {
            Ok(cluster) => (Env::with(cluster), true),
            Err(e @ StartError::Fs(FsError::Mount { .. })) => {
                assert!(
                    std::env::var("PVE_SIM_REQUIRE_FUSE").as_deref() != Ok("1"),
                    "FUSE views are required (PVE_SIM_REQUIRE_FUSE=1) but unusable: {e}"
                );
                eprintln!("FUSE views unavailable ({e}); testing the shared tree instead");
                (Env::start(builder.view_mode(ViewMode::Shared)).await, false)
            }
            Err(e) => panic!("cannot start the simulated cluster: {e}"),
        }
    }

    fn with(cluster: SimCluster) -> Env {
        let clients = cluster
            .sandbox()
            .nodes
            .iter()
            .map(|n| {
                let client = Client::for_node(cluster.sandbox(), &n.name).unwrap();
                (n.name.clone(), client)
            })
            .collect();
        Env { cluster, clients }
    }

    pub fn client(&self, node: &str) -> &Client {
        &self
            .clients
            .iter()
            .find(|(name, _)| name == node)
            .unwrap_or_else(|| panic!("no node {node}"))
            .1
    }

    /// `node`'s view of /etc/pve.
    pub fn view(&self, node: &str) -> PathBuf {
        self.cluster
            .sandbox()
            .nodes
            .iter()
            .find(|n| n.name == node)
            .unwrap_or_else(|| panic!("no node {node}"))
            .pmxcfs
            .clone()
    }

    /// `nodes/<node>/qemu-server` as seen through `view`'s view.
    pub fn qemu_dir(&self, view: &str, node: &str) -> PathBuf {
        self.view(view).join(format!("nodes/{node}/qemu-server"))
    }

    /// The text of `nodes/<node>/qemu-server/<vmid>.conf` read through `node`'s own view.
    pub fn config_text(&self, node: &str, vmid: u32) -> Option<String> {
        std::fs::read_to_string(self.qemu_dir(node, node).join(format!("{vmid}.conf"))).ok()
    }

    pub fn config(&self, node: &str, vmid: u32) -> GuestConfig {
        let text = self
            .config_text(node, vmid)
            .unwrap_or_else(|| panic!("no config for {vmid} on {node}"));
        GuestConfig::parse(&text, GuestType::Qemu).unwrap()
    }

    /// The `.vmlist` entry of `vmid` (`{"node": .., "type": .., "version": ..}`) as node pve1
    /// reads it.
    pub fn vmlist_entry(&self, vmid: u32) -> Option<Value> {
        let text = std::fs::read_to_string(self.view("pve1").join(".vmlist")).unwrap();
        let vmlist: Value = serde_json::from_str(&text).unwrap();
        vmlist["ids"].get(vmid.to_string()).cloned()
    }

    pub async fn call(
        &self,
        node: &str,
        method: &str,
        path: &str,
        params: &[(&str, &str)],
    ) -> RawResponse {
        self.client(node)
            .request(method, path, params)
            .await
            .unwrap()
    }

    /// Sends a call that starts a task on `node` and returns its UPID.
    pub async fn start_task(&self, node: &str, path: &str, params: &[(&str, &str)]) -> String {
        let resp = self.call(node, "POST", path, params).await;
        assert_eq!(resp.status, 200, "POST {path}: {}", resp.body);
        resp.data()
            .as_str()
            .unwrap_or_else(|| panic!("no UPID from POST {path}: {}", resp.body))
            .to_string()
    }

    /// Waits for a task to stop and returns its status.
    pub async fn wait(&self, upid: &str) -> Value {
        let node = upid_of(upid).node;
        self.client(&node)
            .wait_task(&node, upid, TASK_TIMEOUT)
            .await
            .unwrap()
    }

    /// Waits for a task and returns its exit status.
    pub async fn exitstatus(&self, upid: &str) -> String {
        let status = self.wait(upid).await;
        status["exitstatus"].as_str().unwrap().to_string()
    }

    pub async fn task_status(&self, upid: &str) -> Value {
        let node = upid_of(upid).node;
        let path = format!("/nodes/{node}/tasks/{}/status", encode(upid));
        self.call(&node, "GET", &path, &[]).await.data()
    }

    /// The task's log lines, read from the node's task directory on disk.
    pub fn task_log(&self, upid: &str) -> Vec<String> {
        let parsed = upid_of(upid);
        let tasks = &self
            .cluster
            .sandbox()
            .nodes
            .iter()
            .find(|n| n.name == parsed.node)
            .unwrap()
            .tasks;
        let path = tasks.join(parsed.log_subdir()).join(upid);
        std::fs::read_to_string(&path)
            .unwrap_or_else(|e| panic!("read {}: {e}", path.display()))
            .lines()
            .map(str::to_string)
            .collect()
    }

    /// The volids `GET /nodes/<node>/storage/<storage>/content` lists for `vmid`'s disks
    /// (owned by it, or named after it).
    pub async fn volumes_of(&self, node: &str, storage: &str, vmid: u32) -> Vec<String> {
        let path = format!("/nodes/{node}/storage/{storage}/content");
        let resp = self.call(node, "GET", &path, &[]).await;
        assert_eq!(resp.status, 200, "{}", resp.body);
        let owned_marker = format!("-{vmid}-");
        resp.data()
            .as_array()
            .unwrap()
            .iter()
            .filter(|v| {
                v["vmid"].as_u64() == Some(u64::from(vmid))
                    || v["volid"].as_str().unwrap().contains(&owned_marker)
            })
            .map(|v| v["volid"].as_str().unwrap().to_string())
            .collect()
    }

    /// Asserts the clone of `vmid` on `node` left nothing behind: no config, no `.vmlist`
    /// entry, no volume.
    pub async fn assert_gone(&self, node: &str, vmid: u32) {
        assert_eq!(self.config_text(node, vmid), None, "config of {vmid} left");
        assert_eq!(self.vmlist_entry(vmid), None, "{vmid} left in .vmlist");
        assert_eq!(
            self.volumes_of(node, "local-lvm", vmid).await,
            Vec::<String>::new(),
            "volumes of {vmid} left"
        );
        let path = format!("/nodes/{node}/qemu/{vmid}/config");
        let resp = self.call(node, "GET", &path, &[]).await;
        assert_eq!(resp.status, 500, "{}", resp.body);
        assert_eq!(
            resp.json()["message"],
            format!("Configuration file 'nodes/{node}/qemu-server/{vmid}.conf' does not exist\n")
        );
    }

    /// A synchronous config write on `node` (PUT .../config of one of its VMs), used as a
    /// fence: inotify delivers events in order, so once a watcher sees this write, it has seen
    /// every earlier event on its view.
    pub async fn fence_write(&self, node: &str, vmid: u32) {
        let path = format!("/nodes/{node}/qemu/{vmid}/config");
        let resp = self
            .call(node, "PUT", &path, &[("description", "fence")])
            .await;
        assert_eq!(resp.status, 200, "{}", resp.body);
    }
}

pub fn upid_of(upid: &str) -> Upid {
    upid.parse().unwrap()
}

/// The disks a clone copies or links, in PVE's processing order (sorted keys): every drive
/// except plain CD-ROMs, which are copied as options.
pub fn cloned_disks(config: &GuestConfig) -> Vec<String> {
    config
        .props
        .iter()
        .filter(|(key, value)| {
            let drive = Drive::parse(value);
            is_drive_key(GuestType::Qemu, key) && (!drive.is_cdrom() || drive.is_cloudinit())
        })
        .map(|(key, _)| key.clone())
        .collect()
}

/// An inotify watcher on one directory (or a tree), with its events as short strings:
/// `create x`, `modify x`, `close_write x`, `moved_from x`, `moved_to x`, `delete x`.
pub struct DirWatch {
    _watcher: RecommendedWatcher,
    events: mpsc::UnboundedReceiver<Event>,
}

impl DirWatch {
    pub fn new(dir: &Path, recursive: bool) -> DirWatch {
        let (tx, events) = mpsc::unbounded_channel();
        let mut watcher = notify::recommended_watcher(move |res: notify::Result<Event>| {
            if let Ok(event) = res {
                let _ = tx.send(event);
            }
        })
        .unwrap();
        let mode = if recursive {
            RecursiveMode::Recursive
        } else {
            RecursiveMode::NonRecursive
        };
        watcher.watch(dir, mode).unwrap();
        DirWatch {
            _watcher: watcher,
            events,
        }
    }

    async fn next(&mut self, waiting_for: &str, seen: &[String]) -> Event {
        tokio::time::timeout(EVENT_TIMEOUT, self.events.recv())
            .await
            .unwrap_or_else(|_| panic!("no '{waiting_for}' within {EVENT_TIMEOUT:?}; saw {seen:?}"))
            .expect("the watcher stopped")
    }

    /// Events until one equals `last` (included).
    pub async fn until(&mut self, last: &str) -> Vec<String> {
        let mut seen = Vec::new();
        loop {
            let event = self.next(last, &seen).await;
            for described in describe(&event) {
                let done = described == last;
                seen.push(described);
                if done {
                    return seen;
                }
            }
        }
    }

    /// Waits for `count` renames onto `name` and reads the file right after each one, as a
    /// client reacting to IN_MOVED_TO would.
    pub async fn contents_at_moved_to(&mut self, name: &str, count: usize) -> Vec<String> {
        let wanted = format!("moved_to {name}");
        let mut seen = Vec::new();
        let mut contents = Vec::new();
        while contents.len() < count {
            let event = self.next(&wanted, &seen).await;
            if !is_moved_to(&event) {
                seen.extend(describe(&event));
                continue;
            }
            for path in &event.paths {
                if path.file_name().is_some_and(|f| f == name) {
                    contents.push(read_renamed(path));
                }
            }
            seen.extend(describe(&event));
        }
        contents
    }
}

/// Reads a file that was just renamed into place. Through a FUSE view, an open racing the
/// next rename onto the same name can fail with ENOENT (the name's old inode is gone before
/// the open reaches it); reading again then gets the newer file, as a retrying client would.
fn read_renamed(path: &Path) -> String {
    let mut attempts = 0;
    loop {
        match std::fs::read_to_string(path) {
            Ok(text) => return text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound && attempts < 3 => attempts += 1,
            Err(e) => panic!("read {}: {e}", path.display()),
        }
    }
}

fn is_moved_to(event: &Event) -> bool {
    event.kind == EventKind::Modify(ModifyKind::Name(RenameMode::To))
}

fn describe(event: &Event) -> Vec<String> {
    let what = match event.kind {
        EventKind::Create(_) => "create",
        EventKind::Modify(ModifyKind::Data(_)) => "modify",
        EventKind::Access(AccessKind::Close(AccessMode::Write)) => "close_write",
        EventKind::Modify(ModifyKind::Name(RenameMode::From)) => "moved_from",
        EventKind::Modify(ModifyKind::Name(RenameMode::To)) => "moved_to",
        EventKind::Remove(_) => "delete",
        _ => return Vec::new(),
    };
    event
        .paths
        .iter()
        .map(|p| format!("{what} {}", p.file_name().unwrap().to_string_lossy()))
        .collect()
}
