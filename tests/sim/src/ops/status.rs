//! Guest power state: `status/current` and the lifecycle actions
//! (start, stop, shutdown, reboot, suspend, resume), each a task with PVE's
//! task types and errors; HA-managed guests only queue a request.
use std::sync::Arc;
use std::time::Duration;

use serde_json::{Value, json};

use crate::api::{ApiError, ApiRequest, Reply};
use crate::model::{Guest, RunState, SimRef, TaskCtx, locked_message};
use crate::ops::{path_node, path_vmid};
use crate::params::Params;
use crate::pmxcfs::GuestType;
use crate::tasks::TaskEnd;

/// A lifecycle action.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Start,
    Stop,
    Shutdown,
    Reboot,
    Suspend,
    Resume,
}

impl Action {
    fn task_type(self, kind: GuestType) -> &'static str {
        match (kind, self) {
            (GuestType::Qemu, Action::Start) => "qmstart",
            (GuestType::Qemu, Action::Stop) => "qmstop",
            (GuestType::Qemu, Action::Shutdown) => "qmshutdown",
            (GuestType::Qemu, Action::Reboot) => "qmreboot",
            (GuestType::Qemu, Action::Suspend) => "qmsuspend",
            (GuestType::Qemu, Action::Resume) => "qmresume",
            (GuestType::Lxc, Action::Start) => "vzstart",
            (GuestType::Lxc, Action::Stop) => "vzstop",
            (GuestType::Lxc, Action::Shutdown) => "vzshutdown",
            (GuestType::Lxc, Action::Reboot) => "vzreboot",
            (GuestType::Lxc, Action::Suspend) => "vzsuspend",
            (GuestType::Lxc, Action::Resume) => "vzresume",
        }
    }

    /// How long the action takes (simulated).
    fn duration(self) -> Duration {
        match self {
            Action::Start | Action::Reboot => Duration::from_millis(800),
            Action::Shutdown => Duration::from_millis(1500),
            _ => Duration::from_millis(300),
        }
    }
}

fn word(kind: GuestType) -> &'static str {
    if kind == GuestType::Qemu { "VM" } else { "CT" }
}

/// `GET .../status/current`.
pub async fn current(sim: SimRef, req: ApiRequest, kind: GuestType) -> Result<Reply, ApiError> {
    let node = path_node(&req)?;
    let vmid = path_vmid(&req)?;
    sim.check_node(&node)?;
    let guest = sim.guest_on(&node, kind, vmid)?;
    Ok(status_json(&guest, sim.clock.epoch_now()).into())
}

/// The status fields PVE's vmstatus gives for one guest.
pub fn status_json(guest: &Guest, now: i64) -> Value {
    let running = guest.run != RunState::Stopped;
    let maxdisk = guest
        .config
        .props
        .iter()
        .find(|(k, _)| {
            matches!(
                k.as_str(),
                "scsi0" | "virtio0" | "sata0" | "ide0" | "rootfs"
            )
        })
        .map(|(_, v)| crate::drives::Drive::parse(v).size())
        .unwrap_or(0);
    let mut out = json!({
        "vmid": guest.vmid,
        "name": guest.name(),
        // a paused guest still runs: only qmpstatus (and the RRD status) says paused
        "status": if running { "running" } else { "stopped" },
        "cpus": guest.cpus(),
        "cpu": if running { 0.02 } else { 0.0 },
        "maxmem": guest.maxmem(),
        "mem": if running { guest.maxmem() / 3 } else { 0 },
        "maxdisk": maxdisk,
        "disk": 0,
        "netin": 0, "netout": 0, "diskread": 0, "diskwrite": 0,
        "uptime": guest.uptime(now),
        "ha": ha_status(guest),
    });
    if guest.kind == GuestType::Qemu {
        out["qmpstatus"] = json!(guest.run.as_str());
        if running {
            out["pid"] = json!(10_000 + guest.vmid);
        }
    } else {
        out["type"] = json!("lxc");
        out["maxswap"] = json!(512u64 << 20);
        out["swap"] = json!(0);
    }
    if guest.is_template() {
        out["template"] = json!(1);
    }
    if let Some(lock) = guest.lock() {
        out["lock"] = json!(lock);
    }
    if let Some(tags) = guest.tags() {
        out["tags"] = json!(tags);
    }
    out
}

/// The `ha` object of status/current (`PVE::HA::Config::get_service_status`):
/// `managed`, and for a managed guest the state resources.cfg requests.
fn ha_status(guest: &Guest) -> Value {
    match &guest.ha {
        Some(ha) => json!({"managed": 1, "state": ha.requested}),
        None => json!({"managed": 0}),
    }
}

/// `POST .../status/{action}`.
pub async fn action(
    sim: SimRef,
    req: ApiRequest,
    kind: GuestType,
    action: Action,
) -> Result<Reply, ApiError> {
    let node = path_node(&req)?;
    let vmid = path_vmid(&req)?;
    sim.check_node(&node)?;
    let p = Params(&req.params);
    let guest = sim.guest_on(&node, kind, vmid)?;
    let skiplock = p.bool("skiplock").unwrap_or(false);
    if let Some(lock) = guest.lock()
        && !skiplock
        && action != Action::Stop
    {
        return Err(ApiError::internal(locked_message(kind, lock)));
    }
    if matches!(action, Action::Reboot | Action::Suspend) && guest.run == RunState::Stopped {
        return Err(ApiError::internal(format!(
            "{} {vmid} not running",
            word(kind)
        )));
    }
    if guest.ha.is_some() && matches!(action, Action::Start | Action::Stop | Action::Shutdown) {
        return ha_request(&sim, &req, &guest, action);
    }
    let user = req.caller.rpc_user().to_string();
    let task_type = action.task_type(kind);
    let upid = sim.spawn_task(&node, task_type, &vmid.to_string(), &user, move |ctx| {
        run(ctx, kind, vmid, action)
    })?;
    Ok(Value::String(upid.to_string()).into())
}

async fn run(
    mut ctx: TaskCtx,
    kind: GuestType,
    vmid: u32,
    action: Action,
) -> Result<TaskEnd, String> {
    let sim = Arc::clone(&ctx.sim);
    let guest = sim
        .state()
        .guests
        .get(&vmid)
        .cloned()
        .ok_or_else(|| format!("{} {vmid} does not exist", word(kind)))?;
    match action {
        Action::Start => {
            if guest.is_template() {
                return Err(format!(
                    "you can't start a {} if it's a template",
                    if kind == GuestType::Qemu { "vm" } else { "ct" }
                ));
            }
            if guest.run != RunState::Stopped {
                return Err(format!("{} {vmid} already running", word(kind)));
            }
            ctx.sleep(action.duration()).await?;
            start_now(&ctx, kind, vmid)?;
        }
        Action::Stop | Action::Shutdown => {
            if guest.run != RunState::Stopped {
                ctx.sleep(action.duration()).await?;
            }
            set_run(&sim, vmid, RunState::Stopped, None);
        }
        Action::Reboot => {
            ctx.sleep(action.duration()).await?;
            set_run(&sim, vmid, RunState::Running, Some(sim.clock.epoch_now()));
        }
        Action::Suspend => {
            ctx.sleep(action.duration()).await?;
            set_run(&sim, vmid, RunState::Paused, guest.started_at);
        }
        Action::Resume => {
            if guest.run == RunState::Stopped {
                return Err(format!("{} {vmid} not running", word(kind)));
            }
            ctx.sleep(action.duration()).await?;
            set_run(&sim, vmid, RunState::Running, guest.started_at);
        }
    }
    Ok(TaskEnd::Ok)
}

fn set_run(sim: &SimRef, vmid: u32, run: RunState, started_at: Option<i64>) {
    if let Some(guest) = sim.state().guests.get_mut(&vmid) {
        guest.run = run;
        guest.started_at = if run == RunState::Stopped {
            None
        } else {
            started_at
        };
    }
}

/// Marks a guest running now (used by start and by `start=1` on create).
pub fn start_now(ctx: &TaskCtx, kind: GuestType, vmid: u32) -> Result<(), String> {
    let sim = &ctx.sim;
    if kind == GuestType::Qemu {
        ctx.log(&format!("starting VM {vmid}"));
    }
    let now = sim.clock.epoch_now();
    let mut st = sim.state();
    let guest = st
        .guests
        .get_mut(&vmid)
        .ok_or_else(|| format!("{} {vmid} does not exist", word(kind)))?;
    guest.run = RunState::Running;
    guest.started_at = Some(now);
    Ok(())
}

/// HA-managed guests: the task only queues a request with the HA manager
/// (`ha-manager set <sid> --state …` rewrites resources.cfg on this node) and
/// ends at once; the CRM acts a little later, changes the guest's state and
/// records it in manager_status.
fn ha_request(
    sim: &SimRef,
    req: &ApiRequest,
    guest: &Guest,
    action: Action,
) -> Result<Reply, ApiError> {
    let (task_type, target, requested) = match action {
        Action::Start => ("hastart", RunState::Running, "started"),
        _ => ("hastop", RunState::Stopped, "stopped"),
    };
    let vmid = guest.vmid;
    let node = guest.node.clone();
    let sid = crate::ha::sid(guest.kind, vmid);
    let upid = sim.spawn_task(
        &guest.node,
        task_type,
        &vmid.to_string(),
        req.caller.rpc_user(),
        move |ctx| async move {
            ctx.log(&format!(
                "Requesting HA {} for {sid}",
                if target == RunState::Running {
                    "start"
                } else {
                    "stop"
                }
            ));
            let sim = Arc::clone(&ctx.sim);
            if let Some(ha) = sim
                .state()
                .guests
                .get_mut(&vmid)
                .and_then(|g| g.ha.as_mut())
            {
                ha.requested = requested;
            }
            crate::ha::write_resources(&sim, &node).map_err(|e| e.to_string())?;
            tokio::spawn(async move {
                sim.clock.sleep(Duration::from_secs(10)).await;
                if let Some(ha) = sim
                    .state()
                    .guests
                    .get_mut(&vmid)
                    .and_then(|g| g.ha.as_mut())
                {
                    ha.crm = requested;
                }
                // the guest may be gone by then; its service went with it
                let _ = crate::ha::write_manager_status(&sim);
                let now = sim.clock.epoch_now();
                set_run(&sim, vmid, target, Some(now));
            });
            Ok(TaskEnd::Ok)
        },
    )?;
    Ok(Value::String(upid.to_string()).into())
}
