//! What the PVE API answers, as typed structs read leniently: only the
//! fields the agent uses, unknown fields ignored, numbers and booleans
//! accepted in any of the shapes PVE produces.

use std::collections::BTreeMap;

use serde::Deserialize;

use super::lenient::{flag, loose, loose_opt, string_map};
use crate::pmxcfs::GuestKind;

/// `GET /version`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Version {
    /// `9.0.3`.
    #[serde(deserialize_with = "loose")]
    pub version: String,
    /// `9.0`.
    #[serde(default, deserialize_with = "loose_opt")]
    pub release: Option<String>,
    /// The pve-manager commit.
    #[serde(default, deserialize_with = "loose_opt")]
    pub repoid: Option<String>,
}

/// One entry of `GET /cluster/status`: the cluster itself or a node.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct ClusterStatusEntry {
    /// `cluster` or `node`.
    #[serde(rename = "type")]
    pub kind: String,
    /// Cluster or node name.
    pub name: String,
    /// `node/<name>` or `cluster`.
    #[serde(default)]
    pub id: Option<String>,
    /// Node: its corosync node id.
    #[serde(default, deserialize_with = "loose_opt")]
    pub nodeid: Option<u32>,
    /// Node: its cluster address.
    #[serde(default)]
    pub ip: Option<String>,
    /// Node: online.
    #[serde(default, deserialize_with = "flag")]
    pub online: bool,
    /// Node: the node that answered.
    #[serde(default, deserialize_with = "flag")]
    pub local: bool,
    /// Cluster: quorate.
    #[serde(default, deserialize_with = "flag")]
    pub quorate: bool,
    /// Cluster: number of nodes.
    #[serde(default, deserialize_with = "loose_opt")]
    pub nodes: Option<u32>,
}

/// One guest in `GET /cluster/resources?type=vm`. A fresh guest shows only
/// `id`, `vmid`, `node`, `type` and `status: unknown` until PVE's RRD data
/// arrives (~10 s); `lock` and `tags` are live.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct ClusterResource {
    /// `qemu/100`.
    pub id: String,
    /// The VMID.
    #[serde(deserialize_with = "loose")]
    pub vmid: u32,
    /// The node the guest is on.
    pub node: String,
    /// `qemu` or `lxc`.
    #[serde(rename = "type")]
    pub kind: String,
    /// running, stopped, paused, unknown.
    #[serde(default)]
    pub status: Option<String>,
    /// Guest name (missing on fresh guests).
    #[serde(default, deserialize_with = "loose_opt")]
    pub name: Option<String>,
    /// A template (may show up late).
    #[serde(default, deserialize_with = "flag")]
    pub template: bool,
    /// The `lock:` value, read live.
    #[serde(default)]
    pub lock: Option<String>,
    /// `tags:` as stored (`a;b`), read live.
    #[serde(default, deserialize_with = "loose_opt")]
    pub tags: Option<String>,
    /// Configured CPUs.
    #[serde(default, deserialize_with = "loose_opt")]
    pub maxcpu: Option<f64>,
    /// Configured memory, bytes.
    #[serde(default, deserialize_with = "loose_opt")]
    pub maxmem: Option<u64>,
    /// Memory in use, bytes.
    #[serde(default, deserialize_with = "loose_opt")]
    pub mem: Option<u64>,
    /// Boot disk size, bytes.
    #[serde(default, deserialize_with = "loose_opt")]
    pub maxdisk: Option<u64>,
    /// CPU use, 0..maxcpu.
    #[serde(default, deserialize_with = "loose_opt")]
    pub cpu: Option<f64>,
    /// Seconds running.
    #[serde(default, deserialize_with = "loose_opt")]
    pub uptime: Option<u64>,
    /// Resource pool.
    #[serde(default)]
    pub pool: Option<String>,
    /// HA state when HA-managed.
    #[serde(default)]
    pub hastate: Option<String>,
}

impl ClusterResource {
    /// The guest's kind by `type`; `None` for other resource types.
    pub fn guest_kind(&self) -> Option<GuestKind> {
        match self.kind.as_str() {
            "qemu" => Some(GuestKind::Qemu),
            "lxc" => Some(GuestKind::Lxc),
            _ => None,
        }
    }
}

/// One guest of `GET /nodes/{node}/qemu` or `/lxc`: this node's guests,
/// read live (no cluster-wide lag), with the fields of `status/current`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct NodeGuest {
    /// The VMID.
    #[serde(deserialize_with = "loose")]
    pub vmid: u32,
    /// Run state, usage and the few config facts the list carries.
    #[serde(flatten)]
    pub status: GuestCurrentStatus,
}

/// Memory figures of `GET /nodes/{node}/status`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct NodeMemory {
    /// Bytes in total.
    #[serde(default, deserialize_with = "loose")]
    pub total: u64,
    /// Bytes used.
    #[serde(default, deserialize_with = "loose")]
    pub used: u64,
    /// Bytes free.
    #[serde(default, deserialize_with = "loose")]
    pub free: u64,
}

/// CPU facts of `GET /nodes/{node}/status`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct NodeCpuInfo {
    /// Logical CPUs.
    #[serde(default, deserialize_with = "loose")]
    pub cpus: u32,
}

/// `GET /nodes/{node}/status`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct NodeStatus {
    /// Seconds since boot.
    #[serde(default, deserialize_with = "loose")]
    pub uptime: u64,
    /// CPU use, 0..1.
    #[serde(default, deserialize_with = "loose")]
    pub cpu: f64,
    /// Memory.
    #[serde(default)]
    pub memory: NodeMemory,
    /// CPUs.
    #[serde(default)]
    pub cpuinfo: NodeCpuInfo,
    /// Load averages (PVE sends strings).
    #[serde(default)]
    pub loadavg: Vec<serde_json::Value>,
    /// `pve-manager/9.0.3/...`.
    #[serde(default)]
    pub pveversion: Option<String>,
}

/// One storage of `GET /nodes/{node}/storage`, or
/// `GET /nodes/{node}/storage/{storage}/status`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct StorageStatus {
    /// Storage id (absent in the single-storage status; the caller knows it).
    #[serde(default)]
    pub storage: Option<String>,
    /// Plugin type (`dir`, `lvmthin`, `nfs`).
    #[serde(rename = "type")]
    pub kind: String,
    /// Allowed content, comma-separated (`images,rootdir`).
    #[serde(default)]
    pub content: String,
    /// Active on this node.
    #[serde(default, deserialize_with = "flag")]
    pub active: bool,
    /// Enabled in storage.cfg.
    #[serde(default, deserialize_with = "flag")]
    pub enabled: bool,
    /// Shared between nodes.
    #[serde(default, deserialize_with = "flag")]
    pub shared: bool,
    /// Bytes in total.
    #[serde(default, deserialize_with = "loose_opt")]
    pub total: Option<u64>,
    /// Bytes used.
    #[serde(default, deserialize_with = "loose_opt")]
    pub used: Option<u64>,
    /// Bytes available.
    #[serde(default, deserialize_with = "loose_opt")]
    pub avail: Option<u64>,
}

impl StorageStatus {
    /// True when the storage may hold `content` (`images`, `rootdir`, `iso`).
    pub fn allows(&self, content: &str) -> bool {
        self.content.split(',').any(|item| item.trim() == content)
    }
}

/// One interface of `GET /nodes/{node}/network`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct NetworkInterface {
    /// `vmbr0`.
    pub iface: String,
    /// `bridge`, `OVSBridge`, `vnet`, `eth`…
    #[serde(rename = "type")]
    pub kind: String,
    /// Up now.
    #[serde(default, deserialize_with = "flag")]
    pub active: bool,
}

/// One volume of `GET /nodes/{node}/storage/{storage}/content`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct StorageContent {
    /// `local-lvm:vm-100-disk-0`.
    pub volid: String,
    /// `images`, `rootdir`, `iso`, `vztmpl`, `backup`.
    pub content: String,
    /// `raw`, `qcow2`, `iso`…
    #[serde(default)]
    pub format: Option<String>,
    /// Bytes.
    #[serde(default, deserialize_with = "loose")]
    pub size: u64,
    /// Owning guest.
    #[serde(default, deserialize_with = "loose_opt")]
    pub vmid: Option<u32>,
}

/// A guest config as `GET .../config` returns it: every key with its value as
/// PVE's text, plus `digest`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(transparent)]
pub struct ApiGuestConfig(#[serde(deserialize_with = "string_map")] pub BTreeMap<String, String>);

impl ApiGuestConfig {
    /// The value of `key`.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).map(String::as_str)
    }

    /// The config's digest (SHA-1 of the file), for `digest=` on updates.
    pub fn digest(&self) -> Option<&str> {
        self.get("digest")
    }
}

/// One key of `GET .../pending`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct PendingEntry {
    /// The config key.
    pub key: String,
    /// The current value.
    #[serde(default, deserialize_with = "loose_opt")]
    pub value: Option<String>,
    /// The value waiting for the next reboot.
    #[serde(default, deserialize_with = "loose_opt")]
    pub pending: Option<String>,
    /// 1: pending delete; 2: forced pending delete.
    #[serde(default, deserialize_with = "loose_opt")]
    pub delete: Option<u32>,
}

/// `GET .../status/current`. The default is a guest of unknown state.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct GuestCurrentStatus {
    /// `running` or `stopped`.
    pub status: String,
    /// qemu: `running`, `paused`, `prelaunch`, `suspended`…
    #[serde(default)]
    pub qmpstatus: Option<String>,
    /// The `lock:` value.
    #[serde(default)]
    pub lock: Option<String>,
    /// Guest name.
    #[serde(default, deserialize_with = "loose_opt")]
    pub name: Option<String>,
    /// A template.
    #[serde(default, deserialize_with = "flag")]
    pub template: bool,
    /// Seconds running.
    #[serde(default, deserialize_with = "loose_opt")]
    pub uptime: Option<u64>,
    /// CPUs.
    #[serde(default, deserialize_with = "loose_opt")]
    pub cpus: Option<f64>,
    /// Configured memory, bytes.
    #[serde(default, deserialize_with = "loose_opt")]
    pub maxmem: Option<u64>,
    /// Memory in use, bytes.
    #[serde(default, deserialize_with = "loose_opt")]
    pub mem: Option<u64>,
    /// The qemu or lxc process id when running.
    #[serde(default, deserialize_with = "loose_opt")]
    pub pid: Option<u64>,
    /// CPU usage as a fraction of `cpus`.
    #[serde(default, deserialize_with = "loose_opt")]
    pub cpu: Option<f64>,
    /// Boot disk size, bytes.
    #[serde(default, deserialize_with = "loose_opt")]
    pub maxdisk: Option<u64>,
    /// Boot disk usage, bytes (containers; 0 for VMs without the agent).
    #[serde(default, deserialize_with = "loose_opt")]
    pub disk: Option<u64>,
    /// Bytes received since start.
    #[serde(default, deserialize_with = "loose_opt")]
    pub netin: Option<u64>,
    /// Bytes sent since start.
    #[serde(default, deserialize_with = "loose_opt")]
    pub netout: Option<u64>,
    /// Tags as stored (`;`-separated).
    #[serde(default, deserialize_with = "loose_opt")]
    pub tags: Option<String>,
    /// status/current only: whether the HA stack manages the guest.
    #[serde(default)]
    pub ha: Option<GuestHaStatus>,
}

/// The `ha` object of `status/current` (`PVE::HA::Config::get_service_status`).
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct GuestHaStatus {
    /// An HA resource: start, stop and shutdown go to the HA manager.
    #[serde(default, deserialize_with = "flag")]
    pub managed: bool,
    /// The state requested for it (`started`, `stopped`, ...).
    #[serde(default, deserialize_with = "loose_opt")]
    pub state: Option<String>,
}

/// `GET /nodes/{node}/tasks/{upid}/status`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct TaskStatus {
    /// The UPID.
    pub upid: String,
    /// The node running it.
    pub node: String,
    /// Task type (`qmclone`).
    #[serde(rename = "type")]
    pub kind: String,
    /// Usually a VMID; clones carry the source.
    #[serde(default, deserialize_with = "loose_opt")]
    pub id: Option<String>,
    /// The user (without the token part).
    pub user: String,
    /// Token name when a token started it.
    #[serde(default)]
    pub tokenid: Option<String>,
    /// Worker pid.
    #[serde(default, deserialize_with = "loose_opt")]
    pub pid: Option<u64>,
    /// Start time, Unix seconds.
    #[serde(default, deserialize_with = "loose_opt")]
    pub starttime: Option<i64>,
    /// `running` or `stopped`.
    pub status: String,
    /// When stopped: `OK`, `WARNINGS: n`, the error, or `unexpected status`.
    #[serde(default)]
    pub exitstatus: Option<String>,
}

/// How a finished task ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TaskExit {
    /// `OK`.
    Ok,
    /// `WARNINGS: n`: done, with `n` warnings.
    Warnings(u32),
    /// Anything else: PVE's error text.
    Failed(String),
}

impl TaskExit {
    /// Reads an `exitstatus` (or the text after a log's `TASK `).
    pub fn parse(exitstatus: &str) -> TaskExit {
        let text = exitstatus.trim();
        if text == "OK" {
            return TaskExit::Ok;
        }
        if let Some(count) = text.strip_prefix("WARNINGS: ")
            && let Ok(count) = count.trim().parse()
        {
            return TaskExit::Warnings(count);
        }
        TaskExit::Failed(text.strip_prefix("ERROR: ").unwrap_or(text).to_owned())
    }

    /// True for `OK` and `WARNINGS`.
    pub fn succeeded(&self) -> bool {
        !matches!(self, TaskExit::Failed(_))
    }
}

impl TaskStatus {
    /// True while the worker runs.
    pub fn is_running(&self) -> bool {
        self.status == "running"
    }

    /// How it ended; `None` while running.
    pub fn exit(&self) -> Option<TaskExit> {
        if self.is_running() {
            return None;
        }
        Some(TaskExit::parse(
            self.exitstatus.as_deref().unwrap_or("unexpected status"),
        ))
    }
}

/// One line of a task log.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct TaskLogLine {
    /// 1-based line number.
    #[serde(deserialize_with = "loose")]
    pub n: u64,
    /// The text.
    #[serde(deserialize_with = "loose")]
    pub t: String,
}

/// A page of a task log and the log's total line count.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaskLog {
    /// The lines asked for.
    pub lines: Vec<TaskLogLine>,
    /// Lines in the whole log.
    pub total: u64,
}

/// One task of `GET /nodes/{node}/tasks`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct TaskListEntry {
    /// The UPID.
    pub upid: String,
    /// The node.
    pub node: String,
    /// Task type.
    #[serde(rename = "type")]
    pub kind: String,
    /// Usually a VMID.
    #[serde(default, deserialize_with = "loose_opt")]
    pub id: Option<String>,
    /// Who started it.
    pub user: String,
    /// Start time, Unix seconds.
    #[serde(default, deserialize_with = "loose_opt")]
    pub starttime: Option<i64>,
    /// End time when finished.
    #[serde(default, deserialize_with = "loose_opt")]
    pub endtime: Option<i64>,
    /// `RUNNING` for active tasks, else the exit status.
    #[serde(default)]
    pub status: Option<String>,
}
