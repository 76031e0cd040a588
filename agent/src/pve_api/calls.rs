//! The typed PVE API calls the agent makes, one method each, with the
//! parameter shapes PVE expects.

use crate::pmxcfs::GuestKind;

use reqwest::Method;

use super::lenient::Loose;
use super::types::{
    ApiGuestConfig, ClusterResource, ClusterStatusEntry, GuestCurrentStatus, NetworkInterface,
    NodeGuest, NodeStatus, PendingEntry, StorageContent, StorageStatus, TaskListEntry, TaskLog,
    TaskLogLine, TaskStatus, Version,
};
use super::{Params, PveClient, PveError, RequestName};

fn kind_path(kind: GuestKind) -> &'static str {
    match kind {
        GuestKind::Qemu => "qemu",
        GuestKind::Lxc => "lxc",
    }
}

/// A guest state change (`POST .../status/<action>`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GuestAction {
    /// Start.
    Start,
    /// Hard stop.
    Stop,
    /// ACPI shutdown (qemu) / clean shutdown (lxc).
    Shutdown,
    /// Reboot; fails at once if the guest is not running.
    Reboot,
    /// Suspend (to RAM, or to disk with `todisk=1`).
    Suspend,
    /// Resume.
    Resume,
    /// Reset (qemu only).
    Reset,
}

impl GuestAction {
    /// The path segment (`start`).
    pub fn as_str(self) -> &'static str {
        match self {
            GuestAction::Start => "start",
            GuestAction::Stop => "stop",
            GuestAction::Shutdown => "shutdown",
            GuestAction::Reboot => "reboot",
            GuestAction::Suspend => "suspend",
            GuestAction::Resume => "resume",
            GuestAction::Reset => "reset",
        }
    }
}

/// Parameters of `POST .../{vmid}/clone`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CloneRequest {
    /// The new VMID (required).
    pub newid: u32,
    /// The new guest's name (qemu `name`, lxc `hostname`).
    pub name: Option<String>,
    /// Full clone (`true`) or linked (`false`); PVE's default is linked for
    /// templates.
    pub full: Option<bool>,
    /// Target storage for a full clone.
    pub storage: Option<String>,
    /// Disk format for a full clone (qemu only).
    pub format: Option<String>,
    /// Node to move the clone to afterwards (shared storage only).
    pub target: Option<String>,
    /// Description.
    pub description: Option<String>,
    /// Resource pool.
    pub pool: Option<String>,
    /// Clone from this snapshot.
    pub snapname: Option<String>,
    /// Bandwidth limit, KiB/s.
    pub bwlimit: Option<u64>,
}

impl CloneRequest {
    fn to_params(&self, kind: GuestKind) -> Params {
        let name_key = match kind {
            GuestKind::Qemu => "name",
            GuestKind::Lxc => "hostname",
        };
        Params::new()
            .int("newid", self.newid)
            .opt_text(name_key, self.name.clone())
            .opt_flag("full", self.full)
            .opt_text("storage", self.storage.clone())
            .opt_text("format", self.format.clone())
            .opt_text("target", self.target.clone())
            .opt_text("description", self.description.clone())
            .opt_text("pool", self.pool.clone())
            .opt_text("snapname", self.snapname.clone())
            .opt_int("bwlimit", self.bwlimit)
    }
}

/// Query parameters of `DELETE /nodes/{node}/{kind}/{vmid}`; unset ones are
/// left to PVE's defaults.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DeleteOptions {
    /// Also remove the guest from backup jobs, replication, HA and pools.
    pub purge: Option<bool>,
    /// Also destroy disks not referenced by the config.
    pub destroy_unreferenced_disks: Option<bool>,
    /// qemu: ignore locks (root@pam only).
    pub skiplock: Option<bool>,
    /// lxc: destroy even if running.
    pub force: Option<bool>,
}

/// Filters of `GET /nodes/{node}/tasks`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TaskFilter {
    /// Skip this many.
    pub start: Option<u64>,
    /// At most this many (PVE's default 50).
    pub limit: Option<u64>,
    /// `archive` (PVE's default: finished only), `active` or `all`.
    pub source: Option<String>,
    /// Only tasks of this guest.
    pub vmid: Option<u32>,
    /// Only this task type (`qmclone`).
    pub typefilter: Option<String>,
    /// Only this user.
    pub userfilter: Option<String>,
    /// Only failed tasks.
    pub errors: Option<bool>,
    /// Started after (Unix seconds).
    pub since: Option<i64>,
    /// Started before (Unix seconds).
    pub until: Option<i64>,
}

impl PveClient {
    /// `GET /version`.
    pub async fn version(&self) -> Result<Version, PveError> {
        Ok(self.get(&["version"], &Params::new()).await?.data)
    }

    /// `GET /cluster/status`: the cluster entry and one per node.
    pub async fn cluster_status(&self) -> Result<Vec<ClusterStatusEntry>, PveError> {
        Ok(self.get(&["cluster", "status"], &Params::new()).await?.data)
    }

    /// `GET /cluster/resources?type=vm`: every guest of the cluster.
    pub async fn cluster_vms(&self) -> Result<Vec<ClusterResource>, PveError> {
        let params = Params::new().text("type", "vm");
        Ok(self.get(&["cluster", "resources"], &params).await?.data)
    }

    /// `GET /cluster/nextid`: the lowest free VMID in `next-id`'s range, or
    /// `vmid` itself if free (a 400 naming `vmid` if taken).
    pub async fn next_id(&self, vmid: Option<u32>) -> Result<u32, PveError> {
        let params = Params::new().opt_int("vmid", vmid);
        let answer = self
            .get::<serde_json::Value>(&["cluster", "nextid"], &params)
            .await?;
        u32::from_loose(&answer.data).map_err(|message| PveError::Decode {
            request: RequestName {
                method: Method::GET,
                path: "/cluster/nextid".to_owned(),
            },
            message,
        })
    }

    /// `GET /nodes/{node}/status`.
    pub async fn node_status(&self, node: &str) -> Result<NodeStatus, PveError> {
        Ok(self
            .get(&["nodes", node, "status"], &Params::new())
            .await?
            .data)
    }

    /// `GET /nodes/{node}/qemu` or `/lxc`: the node's guests of `kind`,
    /// templates flagged, with their run state.
    pub async fn node_guests(
        &self,
        node: &str,
        kind: GuestKind,
    ) -> Result<Vec<NodeGuest>, PveError> {
        Ok(self
            .get(&["nodes", node, kind_path(kind)], &Params::new())
            .await?
            .data)
    }

    /// `GET /nodes/{node}/storage`, optionally only storages allowing `content`.
    pub async fn storage_list(
        &self,
        node: &str,
        content: Option<&str>,
    ) -> Result<Vec<StorageStatus>, PveError> {
        let params = Params::new().opt_text("content", content);
        Ok(self.get(&["nodes", node, "storage"], &params).await?.data)
    }

    /// `GET /nodes/{node}/network?type=any_bridge`: the node's bridges,
    /// Linux and OVS ones and SDN vnets alike.
    pub async fn network_bridges(&self, node: &str) -> Result<Vec<NetworkInterface>, PveError> {
        let params = Params::new().text("type", "any_bridge");
        Ok(self.get(&["nodes", node, "network"], &params).await?.data)
    }

    /// `GET /nodes/{node}/storage/{storage}/status`.
    pub async fn storage_status(
        &self,
        node: &str,
        storage: &str,
    ) -> Result<StorageStatus, PveError> {
        let path = ["nodes", node, "storage", storage, "status"];
        let mut status: StorageStatus = self.get(&path, &Params::new()).await?.data;
        status.storage.get_or_insert_with(|| storage.to_owned());
        Ok(status)
    }

    /// `GET /nodes/{node}/storage/{storage}/content`, optionally filtered.
    pub async fn storage_content(
        &self,
        node: &str,
        storage: &str,
        content: Option<&str>,
        vmid: Option<u32>,
    ) -> Result<Vec<StorageContent>, PveError> {
        let params = Params::new()
            .opt_text("content", content)
            .opt_int("vmid", vmid);
        let path = ["nodes", node, "storage", storage, "content"];
        Ok(self.get(&path, &params).await?.data)
    }

    /// `GET .../{vmid}/config`: the current config (pending changes applied
    /// only where PVE applies them).
    pub async fn guest_config(
        &self,
        node: &str,
        kind: GuestKind,
        vmid: u32,
    ) -> Result<ApiGuestConfig, PveError> {
        let vmid = vmid.to_string();
        let path = ["nodes", node, kind_path(kind), &vmid, "config"];
        Ok(self.get(&path, &Params::new()).await?.data)
    }

    /// `PUT .../{vmid}/config`: a synchronous config change.
    pub async fn put_guest_config(
        &self,
        node: &str,
        kind: GuestKind,
        vmid: u32,
        params: &Params,
    ) -> Result<(), PveError> {
        let vmid = vmid.to_string();
        let path = ["nodes", node, kind_path(kind), &vmid, "config"];
        self.put::<Option<serde_json::Value>>(&path, params).await?;
        Ok(())
    }

    /// `POST /nodes/{node}/qemu/{vmid}/config` (qemu only): an asynchronous
    /// config change; returns the task's UPID when PVE started one.
    pub async fn post_qemu_config(
        &self,
        node: &str,
        vmid: u32,
        params: &Params,
    ) -> Result<Option<String>, PveError> {
        let vmid = vmid.to_string();
        let path = ["nodes", node, "qemu", &vmid, "config"];
        Ok(self.post(&path, params).await?.data)
    }

    /// `GET .../{vmid}/pending`: current and pending value per key.
    pub async fn pending(
        &self,
        node: &str,
        kind: GuestKind,
        vmid: u32,
    ) -> Result<Vec<PendingEntry>, PveError> {
        let vmid = vmid.to_string();
        let path = ["nodes", node, kind_path(kind), &vmid, "pending"];
        Ok(self.get(&path, &Params::new()).await?.data)
    }

    /// `GET .../{vmid}/status/current`.
    pub async fn status_current(
        &self,
        node: &str,
        kind: GuestKind,
        vmid: u32,
    ) -> Result<GuestCurrentStatus, PveError> {
        let vmid = vmid.to_string();
        let path = ["nodes", node, kind_path(kind), &vmid, "status", "current"];
        Ok(self.get(&path, &Params::new()).await?.data)
    }

    /// `POST .../{vmid}/status/{action}`; returns the task's UPID.
    pub async fn status_action(
        &self,
        node: &str,
        kind: GuestKind,
        vmid: u32,
        action: GuestAction,
        params: &Params,
    ) -> Result<String, PveError> {
        let vmid = vmid.to_string();
        let path = [
            "nodes",
            node,
            kind_path(kind),
            &vmid,
            "status",
            action.as_str(),
        ];
        upid(self.post(&path, params).await?.data, Method::POST, &path)
    }

    /// `POST .../{vmid}/clone`; returns the clone task's UPID.
    pub async fn clone_guest(
        &self,
        node: &str,
        kind: GuestKind,
        vmid: u32,
        request: &CloneRequest,
    ) -> Result<String, PveError> {
        let vmid = vmid.to_string();
        let path = ["nodes", node, kind_path(kind), &vmid, "clone"];
        upid(
            self.post(&path, &request.to_params(kind)).await?.data,
            Method::POST,
            &path,
        )
    }

    /// `POST /nodes/{node}/{kind}` with `vmid` and `params`; returns the
    /// create task's UPID.
    pub async fn create_guest(
        &self,
        node: &str,
        kind: GuestKind,
        vmid: u32,
        params: &Params,
    ) -> Result<String, PveError> {
        let mut all = Params::new().int("vmid", vmid);
        for (key, value) in params.pairs() {
            all = all.text(key, value.clone());
        }
        let path = ["nodes", node, kind_path(kind)];
        upid(self.post(&path, &all).await?.data, Method::POST, &path)
    }

    /// `POST .../{vmid}/template`: qemu returns its task's UPID, lxc `None`
    /// (PVE discards the container's task id).
    pub async fn make_template(
        &self,
        node: &str,
        kind: GuestKind,
        vmid: u32,
    ) -> Result<Option<String>, PveError> {
        let vmid = vmid.to_string();
        let path = ["nodes", node, kind_path(kind), &vmid, "template"];
        Ok(self.post(&path, &Params::new()).await?.data)
    }

    /// `DELETE /nodes/{node}/{kind}/{vmid}` (options in the query string);
    /// returns the destroy task's UPID.
    pub async fn delete_guest(
        &self,
        node: &str,
        kind: GuestKind,
        vmid: u32,
        options: &DeleteOptions,
    ) -> Result<String, PveError> {
        let params = Params::new()
            .opt_flag("purge", options.purge)
            .opt_flag(
                "destroy-unreferenced-disks",
                options.destroy_unreferenced_disks,
            )
            .opt_flag("skiplock", options.skiplock)
            .opt_flag("force", options.force);
        let vmid = vmid.to_string();
        let path = ["nodes", node, kind_path(kind), &vmid];
        upid(
            self.delete(&path, &params).await?.data,
            Method::DELETE,
            &path,
        )
    }

    /// `GET /nodes/{node}/tasks/{upid}/status`.
    pub async fn task_status(&self, node: &str, upid: &str) -> Result<TaskStatus, PveError> {
        let path = ["nodes", node, "tasks", upid, "status"];
        Ok(self.get(&path, &Params::new()).await?.data)
    }

    /// `GET /nodes/{node}/tasks/{upid}/log`: `limit` lines from 0-based
    /// `start` (`limit` 0: all), and the log's total.
    pub async fn task_log(
        &self,
        node: &str,
        upid: &str,
        start: u64,
        limit: u64,
    ) -> Result<TaskLog, PveError> {
        let params = Params::new().int("start", start).int("limit", limit);
        let path = ["nodes", node, "tasks", upid, "log"];
        let answer = self.get::<Vec<TaskLogLine>>(&path, &params).await?;
        let total = answer.total.unwrap_or(answer.data.len() as u64);
        Ok(TaskLog {
            lines: answer.data,
            total,
        })
    }

    /// `GET /nodes/{node}/tasks` with `filter`.
    pub async fn tasks(
        &self,
        node: &str,
        filter: &TaskFilter,
    ) -> Result<Vec<TaskListEntry>, PveError> {
        let params = Params::new()
            .opt_int("start", filter.start)
            .opt_int("limit", filter.limit)
            .opt_text("source", filter.source.clone())
            .opt_int("vmid", filter.vmid)
            .opt_text("typefilter", filter.typefilter.clone())
            .opt_text("userfilter", filter.userfilter.clone())
            .opt_flag("errors", filter.errors)
            .opt_int("since", filter.since)
            .opt_int("until", filter.until);
        Ok(self.get(&["nodes", node, "tasks"], &params).await?.data)
    }

    /// `DELETE /nodes/{node}/tasks/{upid}`: stops a running task.
    pub async fn stop_task(&self, node: &str, upid: &str) -> Result<(), PveError> {
        let path = ["nodes", node, "tasks", upid];
        self.delete::<Option<serde_json::Value>>(&path, &Params::new())
            .await?;
        Ok(())
    }
}

/// A `data` that must be a UPID string.
fn upid(data: serde_json::Value, method: Method, path: &[&str]) -> Result<String, PveError> {
    match data {
        serde_json::Value::String(upid) if upid.starts_with("UPID:") => Ok(upid),
        other => Err(PveError::Decode {
            request: RequestName {
                method,
                path: format!("/{}", path.join("/")),
            },
            message: format!("expected a UPID, got {other}"),
        }),
    }
}
