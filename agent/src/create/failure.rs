//! What a create reports when its clone or create task fails, hangs or
//! ends wrong: PVE's own message, the task log's tail, the new guest's last
//! config state, and whether PVE cleaned up after itself.
use std::collections::BTreeMap;
use std::time::Duration;

use pvectl_proto::v1::ErrorKind;

use crate::context::AgentCtx;
use crate::error::AgentError;
use crate::guests::read_config;
use crate::pmxcfs::{DiskBus, GuestConfig, GuestKind};
use crate::task_wait::TaskWaiter;
use crate::templates::TemplateInfo;
use crate::templates::validate::copied_disks;

/// The task a failure concerns: its UPID and the log's last lines.
pub struct TaskReport {
    pub upid: String,
    pub tail: Vec<String>,
}

impl TaskReport {
    pub fn of(waiter: &TaskWaiter) -> TaskReport {
        TaskReport {
            upid: waiter.upid().to_string(),
            tail: waiter.tail(),
        }
    }
}

/// `lock clone, disks scsi0, ide2`.
fn describe(config: &GuestConfig) -> String {
    let lock = config
        .lock()
        .map_or_else(|| "no lock".to_string(), |lock| format!("lock {lock}"));
    let disks: Vec<String> = config
        .disks()
        .unwrap_or_default()
        .into_iter()
        .filter(|d| d.bus != DiskBus::Unused)
        .map(|d| d.key)
        .collect();
    if disks.is_empty() {
        format!("{lock}, no disks yet")
    } else {
        format!("{lock}, disks {}", disks.join(", "))
    }
}

/// `5s`, `15m`, `1h30m`.
fn human(duration: Duration) -> String {
    let secs = duration.as_secs();
    match (secs / 3600, secs % 3600 / 60, secs % 60) {
        (0, 0, s) => format!("{s}s"),
        (0, m, 0) => format!("{m}m"),
        (0, m, s) => format!("{m}m{s}s"),
        (h, m, _) => format!("{h}h{m}m"),
    }
}

/// `VM`/`CT` and the PVE command of `kind` (`qm`, `pct`).
pub fn words(kind: GuestKind) -> (&'static str, &'static str) {
    match kind {
        GuestKind::Qemu => ("VM", "qm"),
        GuestKind::Lxc => ("CT", "pct"),
    }
}

/// The task (`what`: "clone of template 9100 to 104") ended with
/// `TASK ERROR: message`.
pub async fn task_failed(
    ctx: &AgentCtx,
    kind: GuestKind,
    what: &str,
    vmid: u32,
    task: TaskReport,
    message: &str,
) -> AgentError {
    let (word, tool) = words(kind);
    let cleanup = match read_config(ctx, &ctx.node, kind, vmid).await {
        Ok(None) => format!("PVE removed the partial {word} {vmid}"),
        Ok(Some(left)) => format!(
            "{word} {vmid}'s config was left behind ({}): remove it with `{tool} unlock {vmid}` and `{tool} destroy {vmid}`",
            describe(&left.config)
        ),
        Err(err) => format!("cannot check for a leftover config of {word} {vmid}: {err}"),
    };
    let mut err = AgentError::new(
        ErrorKind::PveApiError,
        format!("{what} failed: {message}; {cleanup}"),
    );
    err.detail.pve_message = message.to_string();
    err.detail.task_log_tail = task.tail;
    err.detail.upid = task.upid;
    err
}

/// The deadline passed while the task (`what`) ran.
pub async fn timed_out(
    ctx: &AgentCtx,
    kind: GuestKind,
    timeout: Duration,
    what: &str,
    vmid: u32,
    task: TaskReport,
) -> AgentError {
    let (word, tool) = words(kind);
    let state = match read_config(ctx, &ctx.node, kind, vmid).await {
        Ok(Some(config)) => format!("{word} {vmid}'s config: {}", describe(&config.config)),
        Ok(None) => format!("no config for {word} {vmid} yet"),
        Err(err) => format!("cannot read {word} {vmid}'s config: {err}"),
    };
    let upid = &task.upid;
    let mut err = AgentError::timeout(format!(
        "{what} did not finish within {}; {state}; task {upid} has not ended",
        human(timeout)
    ))
    .with_hint(format!(
        "the task may still finish; stop it with `pvectl task stop {upid}`; a stale lock needs `{tool} unlock {vmid}`"
    ));
    err.detail.upid = upid.clone();
    err.detail.task_log_tail = task.tail;
    err
}

/// Waiting for any other step passed the deadline.
pub fn step_timed_out(timeout: Duration, what: &str) -> AgentError {
    AgentError::timeout(format!("{what} did not finish within {}", human(timeout)))
}

/// After `TASK OK`: the new config exists on `node`, is unlocked, and has
/// the source's disks, each copied disk on a new volume.
pub async fn verify_clone(
    ctx: &AgentCtx,
    template: &TemplateInfo,
    node: &str,
    vmid: u32,
) -> Result<(), AgentError> {
    let source = if template.is_template() {
        "template"
    } else {
        "VM"
    };
    let wrong = |problem: String| {
        AgentError::new(
            ErrorKind::PveApiError,
            format!(
                "the clone of {source} {} ended OK but {problem}",
                template.vmid
            ),
        )
    };
    let parsed = read_config(ctx, node, GuestKind::Qemu, vmid)
        .await?
        .ok_or_else(|| wrong(format!("VM {vmid} has no config on {node}")))?;
    if let Some(lock) = parsed.config.lock() {
        return Err(wrong(format!("VM {vmid} is still locked ({lock})")));
    }
    let new: BTreeMap<String, String> = parsed
        .config
        .disks()
        .map_err(|e| wrong(format!("VM {vmid} has a bad disk: {e}")))?
        .into_iter()
        .map(|d| (d.key, d.drive.volume))
        .collect();
    let expected: Vec<String> = template
        .config
        .disks()
        .unwrap_or_default()
        .into_iter()
        .filter(|d| d.bus != DiskBus::Unused)
        .map(|d| d.key)
        .collect();
    let missing: Vec<&str> = expected
        .iter()
        .filter(|key| !new.contains_key(*key))
        .map(String::as_str)
        .collect();
    if !missing.is_empty() {
        return Err(wrong(format!(
            "VM {vmid} lacks disk {}",
            missing.join(", ")
        )));
    }
    for disk in copied_disks(template) {
        if new.get(&disk.key) == Some(&disk.drive.volume) {
            return Err(wrong(format!(
                "disk {} of VM {vmid} still uses the template's volume {}",
                disk.key, disk.drive.volume
            )));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_like_the_command_line() {
        assert_eq!(human(Duration::from_secs(5)), "5s");
        assert_eq!(human(Duration::from_secs(900)), "15m");
        assert_eq!(human(Duration::from_secs(95)), "1m35s");
        assert_eq!(human(Duration::from_secs(5400)), "1h30m");
    }

    #[test]
    fn config_states_name_the_lock_and_the_disks() {
        let text = b"# qmclone temporary file\nlock: clone\n";
        let config = GuestConfig::parse(GuestKind::Qemu, text).unwrap().config;
        assert_eq!(describe(&config), "lock clone, no disks yet");
        let text = b"scsi0: local-lvm:vm-104-disk-0,size=4G\nunused0: local-lvm:vm-104-disk-1\n";
        let config = GuestConfig::parse(GuestKind::Qemu, text).unwrap().config;
        assert_eq!(describe(&config), "no lock, disks scsi0");
    }
}
