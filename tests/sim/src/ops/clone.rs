//! `POST /nodes/{node}/{qemu,lxc}/{vmid}/clone`: PVE's clone, step by step as
//! pve-facts §4 describes it — the synchronous checks, the temporary config,
//! one config rewrite per disk under `lock: clone`, the lock going before the
//! task ends, clean-up on failure, and the lost VMID race in both shapes.
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;

use crate::api::{ApiError, ApiRequest, Reply};
use crate::drives::{Drive, is_drive_key};
use crate::faults::RaceShape;
use crate::guest_config::GuestConfig;
use crate::model::flocks::guest_lock_path;
use crate::model::{Guest, SimRef, TaskCtx, locked_message};
use crate::ops::volumes::{self, NewVolume};
use crate::ops::{foreign, path_node, path_vmid};
use crate::params::Params;
use crate::pmxcfs::{FsError, GuestType};
use crate::storage::{StorageDef, Volume, config_size, human_size};
use crate::tasks::TaskEnd;

/// What a clone request asks for, after the synchronous checks.
#[derive(Debug, Clone)]
struct ClonePlan {
    kind: GuestType,
    node: String,
    source: Guest,
    newid: u32,
    full: bool,
    storage: Option<String>,
    format: Option<String>,
    target: Option<String>,
    name: Option<String>,
    description: Option<String>,
    /// a foreign create takes `newid` on this node right after the UPID
    race_inside_task: Option<String>,
}

pub async fn clone(sim: SimRef, req: ApiRequest, kind: GuestType) -> Result<Reply, ApiError> {
    let node = path_node(&req)?;
    let vmid = path_vmid(&req)?;
    sim.check_node(&node)?;
    let p = Params(&req.params);
    let newid = p
        .u32("newid")
        .ok_or_else(|| ApiError::param("newid", "property is missing and it is not optional"))?;
    let source = sim.guest_on(&node, kind, vmid)?;
    if let Some(lock) = source.lock() {
        return Err(ApiError::internal(locked_message(kind, lock)));
    }
    if let Some(snap) = p.str("snapname")
        && !source.config.snapshots.iter().any(|(name, _)| name == snap)
    {
        return Err(ApiError::internal(format!(
            "snapshot '{snap}' does not exist"
        )));
    }
    let full = p.bool("full").unwrap_or(!source.is_template());
    let storage = p.string("storage");
    let format = p.string("format");
    if !full {
        if storage.is_some() {
            return Err(ApiError::internal(
                "parameter 'storage' not allowed for linked clones",
            ));
        }
        if format.is_some() {
            return Err(ApiError::internal(
                "parameter 'format' not allowed for linked clones",
            ));
        }
        // only a template's volumes can be linked; cloud-init drives are always copied
        let first_linked = disks(&source)
            .into_iter()
            .find(|(_, value)| !Drive::parse(value).is_cloudinit());
        if let Some((key, value)) = first_linked.filter(|_| !source.is_template()) {
            return Err(ApiError::internal(format!(
                "Linked clone feature is not supported for '{}' ({key})",
                Drive::parse(&value).volid
            )));
        }
    }
    let target = p.string("target").filter(|t| *t != node);
    if let Some(target) = &target {
        check_target(&sim, &source, target, storage.as_deref())?;
    }
    let name_key = if kind == GuestType::Qemu {
        "name"
    } else {
        "hostname"
    };
    let plan = ClonePlan {
        kind,
        node: node.clone(),
        newid,
        full,
        storage,
        format,
        target,
        name: p.string(name_key),
        description: p.string("description"),
        source,
        race_inside_task: None,
    };
    let race = sim.state().faults.race();
    let race_inside_task = match race {
        Some((race_node, RaceShape::BeforeRequest)) => {
            foreign::take_vmid(&sim, &race_node, newid);
            None
        }
        Some((race_node, RaceShape::InsideTask)) => Some(race_node),
        None => None,
    };
    let plan = ClonePlan {
        race_inside_task,
        ..plan
    };
    if local_config_exists(&sim, &node, kind, newid) {
        return Err(ApiError::internal(format!(
            "unable to create {} {newid}: config file already exists",
            kind_word(kind)
        )));
    }
    if kind == GuestType::Lxc {
        lock_container_source_and_create_target(&sim, &plan)?;
    }
    let task_type = if kind == GuestType::Qemu {
        "qmclone"
    } else {
        "vzclone"
    };
    let upid = sim.spawn_task(
        &node,
        task_type,
        &vmid.to_string(),
        req.caller.rpc_user(),
        move |ctx| run(ctx, plan),
    )?;
    Ok(Value::String(upid.to_string()).into())
}

fn kind_word(kind: GuestType) -> &'static str {
    if kind == GuestType::Qemu { "VM" } else { "CT" }
}

fn local_config_exists(sim: &SimRef, node: &str, kind: GuestType, vmid: u32) -> bool {
    sim.fs
        .backing_root()
        .join(format!("nodes/{node}/{}/{vmid}.conf", kind.dir_name()))
        .exists()
}

/// Cloning to another node needs every volume on shared storage.
fn check_target(
    sim: &SimRef,
    source: &Guest,
    target: &str,
    storage: Option<&str>,
) -> Result<(), ApiError> {
    sim.check_node(target)?;
    let st = sim.state();
    let is_shared = |id: &str| st.storage(id).is_some_and(|s| s.shared);
    if let Some(storage) = storage
        && !is_shared(storage)
    {
        return Err(ApiError::internal(format!(
            "can't clone to non-shared storage '{storage}'"
        )));
    }
    let all_shared = source
        .config
        .props
        .iter()
        .filter(|(k, _)| is_drive_key(source.kind, k))
        .all(|(_, v)| {
            let drive = Drive::parse(v);
            drive.volid == "none"
                || drive.volid == "cdrom"
                || drive.storage().is_some_and(is_shared)
        });
    if !all_shared {
        return Err(ApiError::internal(format!(
            "can't clone VM to node '{target}' (VM uses local storage)"
        )));
    }
    Ok(())
}

/// LXC marks the source `lock: disk` and creates the new CT with
/// `lock: create` before the UPID is returned.
fn lock_container_source_and_create_target(sim: &SimRef, plan: &ClonePlan) -> Result<(), ApiError> {
    let mut placeholder = GuestConfig::default();
    placeholder.props.insert("lock".into(), "create".into());
    let text = placeholder.render(GuestType::Lxc);
    sim.fs
        .create_guest_config_exclusive(&plan.node, &plan.node, GuestType::Lxc, plan.newid, &text)
        .map_err(|e| match e {
            FsError::Exists { .. } => {
                ApiError::internal(already_exists(sim, GuestType::Lxc, plan.newid))
            }
            other => ApiError::internal(other.to_string()),
        })?;
    sim.state().guests.insert(
        plan.newid,
        Guest::new(plan.newid, &plan.node, GuestType::Lxc, placeholder),
    );
    let mut source = plan.source.config.clone();
    source.props.insert("lock".into(), "disk".into());
    sim.write_config(&plan.node, GuestType::Lxc, plan.source.vmid, &source, 0)
        .map_err(|e| ApiError::internal(e.to_string()))
}

/// `unable to create VM 100 - VM 100 already exists on node 'pve2'`.
pub fn already_exists(sim: &SimRef, kind: GuestType, vmid: u32) -> String {
    let owner = sim
        .fs
        .vmlist()
        .get(&vmid)
        .map(|e| e.node.clone())
        .unwrap_or_default();
    let word = kind_word(kind);
    format!("unable to create {word} {vmid} - {word} {vmid} already exists on node '{owner}'")
}

/// The source's disks a clone copies or links, in PVE's processing order (sorted keys):
/// every drive but plain CD-ROMs, which are copied like options (a cloud-init drive is cloned).
fn disks(source: &Guest) -> Vec<(String, String)> {
    source
        .config
        .props
        .iter()
        .filter(|(k, v)| is_drive_key(source.kind, k) && !is_plain_cdrom(v))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}

/// PVE's `drive_is_cdrom($drive, 1)`: a CD-ROM that is not a cloud-init drive.
fn is_plain_cdrom(value: &str) -> bool {
    let drive = Drive::parse(value);
    drive.is_cdrom() && !drive.is_cloudinit()
}

async fn run(mut ctx: TaskCtx, plan: ClonePlan) -> Result<TaskEnd, String> {
    let sim = Arc::clone(&ctx.sim);
    let clock = sim.clock;
    let src_lock = guest_lock_path(plan.kind, plan.source.vmid);
    let _src_guard = sim
        .flocks
        .lock(&clock, &plan.node, &src_lock, false, Duration::from_secs(1))
        .await?;
    let new_lock = guest_lock_path(plan.kind, plan.newid);
    let _new_guard = sim
        .flocks
        .lock(&clock, &plan.node, &new_lock, true, Duration::from_secs(1))
        .await?;

    if plan.kind == GuestType::Qemu {
        write_temporary_config(&mut ctx, &plan)?;
    }
    let mut created = Vec::new();
    let result = match copy_disks(&mut ctx, &plan, &mut created).await {
        Ok(config) => finish(&mut ctx, &plan, config).await,
        Err(err) => Err(err),
    };
    result.map_err(|err| {
        clean_up(&ctx, &plan, &created);
        format!("clone failed: {err}")
    })
}

/// qemu's first write: `# qmclone temporary file\nlock: clone\n`, after the
/// worker repeated the local config check and logged its first line. pmxcfs
/// refuses it when another node took the id meanwhile.
fn write_temporary_config(ctx: &mut TaskCtx, plan: &ClonePlan) -> Result<(), String> {
    let sim = Arc::clone(&ctx.sim);
    if let Some(race_node) = &plan.race_inside_task {
        foreign::take_vmid(&sim, race_node, plan.newid);
    }
    if local_config_exists(&sim, &plan.node, plan.kind, plan.newid) {
        return Err(format!(
            "unable to create VM {}: config file already exists",
            plan.newid
        ));
    }
    ctx.log(&format!(
        "creating a clone of VM {} with ID {}",
        plan.source.vmid, plan.newid
    ));
    let mut temp = GuestConfig {
        description: " qmclone temporary file".into(),
        ..GuestConfig::default()
    };
    temp.props.insert("lock".into(), "clone".into());
    let text = temp.render(GuestType::Qemu);
    match sim.fs.write_guest_config(
        &plan.node,
        &plan.node,
        GuestType::Qemu,
        plan.newid,
        &text,
        ctx.pid,
    ) {
        Ok(()) => {}
        Err(FsError::Exists { .. }) => {
            return Err(format!(
                "close (rename) atomic file '/etc/pve/nodes/{}/qemu-server/{}.conf' failed: File exists",
                plan.node, plan.newid
            ));
        }
        Err(other) => return Err(other.to_string()),
    }
    sim.state().guests.insert(
        plan.newid,
        Guest::new(plan.newid, &plan.node, GuestType::Qemu, temp),
    );
    Ok(())
}

/// The new guest's options: the source's minus template, unused disks,
/// snapshots, lock and the disks to clone (CD-ROMs are kept), with new MACs,
/// smbios uuid and vmgenid.
fn base_config(ctx: &TaskCtx, plan: &ClonePlan) -> GuestConfig {
    let mut st = ctx.sim.state();
    let mut props: BTreeMap<String, String> = BTreeMap::new();
    for (key, value) in &plan.source.config.props {
        let skip = matches!(key.as_str(), "template" | "lock" | "parent")
            || key.starts_with("unused")
            || (is_drive_key(plan.kind, key) && !is_plain_cdrom(value));
        if skip {
            continue;
        }
        let value = if key.starts_with("net") {
            renew_mac(value, st.random_mac(), plan.kind)
        } else if key == "smbios1" {
            renew_uuid(value, &st.random_uuid())
        } else if key == "vmgenid" {
            st.random_uuid()
        } else {
            value.clone()
        };
        props.insert(key.clone(), value);
    }
    let name_key = if plan.kind == GuestType::Qemu {
        "name"
    } else {
        "hostname"
    };
    let default_name = match plan.kind {
        GuestType::Qemu => format!(
            "Copy-of-VM-{}",
            plan.source
                .prop("name")
                .map_or_else(|| plan.source.vmid.to_string(), str::to_string)
        ),
        GuestType::Lxc => plan.source.prop("hostname").unwrap_or("CT").to_string(),
    };
    props.insert(name_key.into(), plan.name.clone().unwrap_or(default_name));
    props.insert(
        "lock".into(),
        if plan.kind == GuestType::Qemu {
            "clone"
        } else {
            "create"
        }
        .into(),
    );
    GuestConfig {
        description: plan
            .description
            .clone()
            .unwrap_or_else(|| plan.source.config.description.clone()),
        props,
        ..GuestConfig::default()
    }
}

fn renew_mac(value: &str, mac: String, kind: GuestType) -> String {
    value
        .split(',')
        .map(|part| match part.split_once('=') {
            Some((k, _)) if kind == GuestType::Lxc && k == "hwaddr" => format!("hwaddr={mac}"),
            Some((k, v))
                if kind == GuestType::Qemu && v.len() == 17 && v.matches(':').count() == 5 =>
            {
                format!("{k}={mac}")
            }
            _ => part.to_string(),
        })
        .collect::<Vec<_>>()
        .join(",")
}

fn renew_uuid(value: &str, uuid: &str) -> String {
    value
        .split(',')
        .map(|part| {
            if part.starts_with("uuid=") {
                format!("uuid={uuid}")
            } else {
                part.to_string()
            }
        })
        .collect::<Vec<_>>()
        .join(",")
}

/// Copies (or links) each disk in sorted key order, rewriting the config
/// after each one; returns the complete, still locked config.
async fn copy_disks(
    ctx: &mut TaskCtx,
    plan: &ClonePlan,
    created: &mut Vec<(StorageDef, String)>,
) -> Result<GuestConfig, String> {
    let sim = Arc::clone(&ctx.sim);
    let mut config = base_config(ctx, plan);
    let disks = disks(&plan.source);
    let total: u64 = disks
        .iter()
        .map(|(_, v)| clone_size(&Drive::parse(v)))
        .sum();
    let seconds = sim.state().faults.clone_seconds(plan.source.vmid);
    let failure = sim.state().faults.clone_failure(plan.source.vmid);
    let mut done: u64 = 0;
    for (key, value) in disks {
        let drive = Drive::parse(&value);
        let size = clone_size(&drive);
        let linked = !plan.full && !drive.is_cloudinit();
        let how = if linked { "linked" } else { "full" };
        ctx.log(&format!(
            "create {how} clone of drive {key} ({})",
            drive.volid
        ));
        let (def, volume) = allocate(ctx, plan, &drive).await?;
        created.push((def.clone(), volume.volid.clone()));
        if !linked && !drive.is_cloudinit() {
            let duration = match seconds {
                Some(s) if total > 0 => {
                    Duration::from_secs_f64(s * drive.size() as f64 / total as f64)
                }
                Some(s) => Duration::from_secs_f64(s),
                None => Duration::from_secs_f64(
                    drive.size() as f64 / sim.options.clone_bytes_per_sec.max(1) as f64,
                ),
            };
            transfer(ctx, size, duration, done, total, failure.as_ref()).await?;
        }
        done += size;
        let mut new_drive = Drive {
            volid: volume.volid.clone(),
            options: drive.options.clone(),
        };
        if size > 0 {
            new_drive.set_option("size", &config_size(size));
        }
        config.props.insert(key, new_drive.render());
        sim.write_config(&plan.node, plan.kind, plan.newid, &config, ctx.pid)
            .map_err(|e| e.to_string())?;
    }
    Ok(config)
}

/// PVE's `CLOUDINIT_DISK_SIZE`: every cloud-init drive is made anew at 4 MiB.
const CLOUDINIT_DISK_SIZE: u64 = 4 << 20;

/// The size of a disk's new volume.
fn clone_size(drive: &Drive) -> u64 {
    if drive.is_cloudinit() {
        CLOUDINIT_DISK_SIZE
    } else {
        drive.size()
    }
}

/// Allocates the new volume for one source disk.
async fn allocate(
    ctx: &mut TaskCtx,
    plan: &ClonePlan,
    drive: &Drive,
) -> Result<(StorageDef, Volume), String> {
    let source_storage = drive.storage().unwrap_or_default().to_string();
    let linked = !plan.full && !drive.is_cloudinit();
    let storage = if linked {
        source_storage
    } else {
        plan.storage.clone().unwrap_or(source_storage)
    };
    let new = NewVolume {
        storage,
        vmid: plan.newid,
        linked_to: linked.then(|| drive.volid.clone()),
        name: drive
            .is_cloudinit()
            .then(|| format!("vm-{}-cloudinit", plan.newid)),
        format: plan.format.clone().filter(|_| !drive.is_cloudinit()),
        size: clone_size(drive),
        content: if plan.kind == GuestType::Qemu {
            "images"
        } else {
            "rootdir"
        },
    };
    volumes::allocate(ctx, &plan.node, new).await
}

/// The copy itself, with PVE's `transferred … (x%)` lines.
async fn transfer(
    ctx: &mut TaskCtx,
    size: u64,
    duration: Duration,
    before: u64,
    total: u64,
    failure: Option<&(u8, String)>,
) -> Result<(), String> {
    let steps = ((duration.as_secs_f64() * 4.0) as u32).clamp(4, 100);
    ctx.log(&format!(
        "transferred 0.0 B of {} (0.00%)",
        human_size(size)
    ));
    for step in 1..=steps {
        ctx.sleep(duration / steps).await?;
        let bytes = size * u64::from(step) / u64::from(steps);
        let percent = if size == 0 {
            100.0
        } else {
            bytes as f64 * 100.0 / size as f64
        };
        ctx.log(&format!(
            "transferred {} of {} ({percent:.2}%)",
            human_size(bytes),
            human_size(size)
        ));
        if let Some((fail_at, message)) = failure {
            let overall = if total == 0 {
                100.0
            } else {
                (before + bytes) as f64 * 100.0 / total as f64
            };
            if overall >= f64::from(*fail_at) {
                return Err(message.clone());
            }
        }
    }
    Ok(())
}

/// The lock goes (first complete, unlocked config), the config moves to the
/// target node if one was given, then the task ends. Failing here cleans up
/// like failing during the copy (PVE runs both in one eval).
async fn finish(
    ctx: &mut TaskCtx,
    plan: &ClonePlan,
    mut config: GuestConfig,
) -> Result<TaskEnd, String> {
    let sim = Arc::clone(&ctx.sim);
    if sim.state().faults.lock_never_released(plan.source.vmid) {
        return Err(ctx.hang().await);
    }
    config.props.remove("lock");
    sim.write_config(&plan.node, plan.kind, plan.newid, &config, ctx.pid)
        .map_err(|e| e.to_string())?;
    if plan.kind == GuestType::Lxc {
        unlock_container_source(&sim, plan)?;
    }
    if let Some(target) = &plan.target {
        sim.fs
            .move_guest_config(&plan.node, &plan.node, target, plan.kind, plan.newid)
            .map_err(|e| e.to_string())?;
        if let Some(guest) = sim.state().guests.get_mut(&plan.newid) {
            guest.node = target.clone();
        }
    }
    Ok(TaskEnd::Ok)
}

fn unlock_container_source(sim: &SimRef, plan: &ClonePlan) -> Result<(), String> {
    let current = sim
        .state()
        .guests
        .get(&plan.source.vmid)
        .map(|g| g.config.clone());
    if let Some(mut source) = current {
        source.props.remove("lock");
        sim.write_config(&plan.node, GuestType::Lxc, plan.source.vmid, &source, 0)
            .map_err(|e| e.to_string())?;
    }
    Ok(())
}

/// Frees the new volumes and unlinks the new config (the VMID leaves .vmlist).
fn clean_up(ctx: &TaskCtx, plan: &ClonePlan, created: &[(StorageDef, String)]) {
    let sim = &ctx.sim;
    volumes::free(ctx, &plan.node, created);
    let ours = sim
        .state()
        .guests
        .get(&plan.newid)
        .is_some_and(|g| g.node == plan.node);
    if ours {
        sim.remove_guest(plan.newid);
    }
    if plan.kind == GuestType::Lxc {
        let _ = unlock_container_source(sim, plan);
    }
}
