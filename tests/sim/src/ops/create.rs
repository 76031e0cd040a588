//! `POST /nodes/{node}/qemu` (qmcreate) and `POST /nodes/{node}/lxc`
//! (vzcreate): a config holding only `lock: create` is created before the
//! UPID is returned (the cluster-wide VMID check); the worker allocates the
//! disks and writes the final config once; failure frees and unlinks.
use std::sync::Arc;

use serde_json::Value;

use crate::api::{ApiError, ApiRequest, Reply};
use crate::drives::{Drive, is_drive_key, parse_size};
use crate::guest_config::GuestConfig;
use crate::model::{Guest, SimRef, TaskCtx};
use crate::ops::clone::already_exists;
use crate::ops::status::start_now;
use crate::ops::volumes::{self, NewVolume};
use crate::ops::{foreign, path_node};
use crate::params::Params;
use crate::pmxcfs::{FsError, GuestType};
use crate::storage::{GIB, StorageDef, config_size};
use crate::tasks::TaskEnd;

/// Parameters that steer the call rather than land in the config.
const CONTROL: &[&str] = &[
    "node",
    "vmid",
    "start",
    "storage",
    "archive",
    "force",
    "unique",
    "pool",
    "password",
    "ssh-public-keys",
    "ostemplate",
    "ignore-unpack-errors",
    "restore",
    "bwlimit",
    "live-restore",
];

pub async fn create(sim: SimRef, req: ApiRequest, kind: GuestType) -> Result<Reply, ApiError> {
    let node = path_node(&req)?;
    sim.check_node(&node)?;
    let p = Params(&req.params);
    let vmid = p
        .u32("vmid")
        .ok_or_else(|| ApiError::param("vmid", "property is missing and it is not optional"))?;
    if p.str("archive").is_some() {
        return Err(ApiError::not_implemented(
            &req.method,
            "restore from archive in pve-sim",
        ));
    }
    let ostemplate = if kind == GuestType::Lxc {
        let ostemplate = p.string("ostemplate").ok_or_else(|| {
            ApiError::param("ostemplate", "property is missing and it is not optional")
        })?;
        check_ostemplate(&sim, &node, &ostemplate)?;
        Some(ostemplate)
    } else {
        None
    };
    if let Some(password) = p.str("password")
        && password.chars().count() < 5
    {
        return Err(ApiError::param(
            "password",
            "value must be at least 5 characters long",
        ));
    }
    let values = p.config_values(CONTROL);
    let start = p.bool("start").unwrap_or(false);
    // what vzcreate writes into the new root file system, not the config
    let authorized_keys = p
        .string("ssh-public-keys")
        .filter(|_| kind == GuestType::Lxc);
    let password_set = kind == GuestType::Lxc && p.str("password").is_some();
    let default_storage = p.string("storage").unwrap_or_else(|| "local".into());

    // the state lock is released before the foreign create takes it again;
    // a create's config exists before its UPID, so every race is lost here
    let race = sim.state().faults.race();
    if let Some((race_node, _)) = race {
        foreign::take_vmid(&sim, &race_node, vmid);
    }
    let mut placeholder = GuestConfig::default();
    placeholder.props.insert("lock".into(), "create".into());
    let text = placeholder.render(kind);
    sim.fs
        .create_guest_config_exclusive(&node, &node, kind, vmid, &text)
        .map_err(|e| match e {
            FsError::Exists { .. } => ApiError::internal(already_exists(&sim, kind, vmid)),
            other => ApiError::internal(other.to_string()),
        })?;
    sim.state()
        .guests
        .insert(vmid, Guest::new(vmid, &node, kind, placeholder));

    let task_type = if kind == GuestType::Qemu {
        "qmcreate"
    } else {
        "vzcreate"
    };
    let task_node = node.clone();
    let upid = sim.spawn_task(
        &task_node,
        task_type,
        &vmid.to_string(),
        req.caller.rpc_user(),
        move |ctx| async move {
            let mut ctx = ctx;
            let mut created = Vec::new();
            let result = build(
                &mut ctx,
                &node,
                kind,
                vmid,
                values,
                &default_storage,
                ostemplate.as_deref(),
                &mut created,
            )
            .await;
            match result {
                Ok(config) => {
                    let sim = Arc::clone(&ctx.sim);
                    if let Some(guest) = sim.state().guests.get_mut(&vmid) {
                        guest.authorized_keys = authorized_keys;
                        guest.root_password_set = password_set;
                    }
                    sim.write_config(&node, kind, vmid, &config, ctx.pid)
                        .map_err(|e| e.to_string())?;
                    if start {
                        start_now(&ctx, kind, vmid)?;
                    }
                    Ok(TaskEnd::Ok)
                }
                Err(err) => {
                    volumes::free(&ctx, &node, &created);
                    ctx.sim.remove_guest(vmid);
                    Err(format!(
                        "unable to create {} {vmid} - {err}",
                        if kind == GuestType::Qemu { "VM" } else { "CT" }
                    ))
                }
            }
        },
    )?;
    Ok(Value::String(upid.to_string()).into())
}

fn check_ostemplate(sim: &SimRef, node: &str, volid: &str) -> Result<(), ApiError> {
    let st = sim.state();
    let storage = volid.split_once(':').map(|(s, _)| s).unwrap_or_default();
    let exists = st
        .storage(storage)
        .is_some_and(|def| st.volumes.get(def, node, volid).is_some());
    if exists {
        Ok(())
    } else {
        Err(ApiError::internal(format!(
            "volume '{volid}' does not exist"
        )))
    }
}

/// Allocates each `storage:GiB` disk and assembles the final config.
#[allow(clippy::too_many_arguments)]
async fn build(
    ctx: &mut TaskCtx,
    node: &str,
    kind: GuestType,
    vmid: u32,
    values: Vec<(String, String)>,
    default_storage: &str,
    ostemplate: Option<&str>,
    created: &mut Vec<(StorageDef, String)>,
) -> Result<GuestConfig, String> {
    let mut config = GuestConfig::default();
    for (key, value) in values {
        let value = if key == "description" {
            config.description = value;
            continue;
        } else if is_drive_key(kind, &key) {
            allocate_disk(ctx, node, kind, vmid, &key, &value, created).await?
        } else if key.starts_with("net") {
            with_mac(ctx, kind, &value)
        } else {
            value
        };
        config.props.insert(key, value);
    }
    match kind {
        GuestType::Qemu => finish_qemu(ctx, &mut config),
        GuestType::Lxc => {
            if !config.props.contains_key("rootfs") {
                let value = allocate_disk(
                    ctx,
                    node,
                    kind,
                    vmid,
                    "rootfs",
                    &format!("{default_storage}:4"),
                    created,
                )
                .await?;
                config.props.insert("rootfs".into(), value);
            }
            if let Some(ostemplate) = ostemplate {
                ctx.log(&format!(
                    "extracting archive '/var/lib/vz/template/cache/{}'",
                    ostemplate.rsplit('/').next().unwrap_or(ostemplate)
                ));
                ctx.log("Total bytes read: 524288000 (500MiB, 100MiB/s)");
            }
            for (key, default) in [
                ("arch", "amd64"),
                ("memory", "512"),
                ("swap", "512"),
                ("unprivileged", "1"),
                ("ostype", "debian"),
            ] {
                config
                    .props
                    .entry(key.into())
                    .or_insert_with(|| default.into());
            }
        }
    }
    Ok(config)
}

/// `local-lvm:32[,opts]` allocates 32 GiB; anything else (an existing volume,
/// a CD-ROM) is kept as given.
async fn allocate_disk(
    ctx: &mut TaskCtx,
    node: &str,
    kind: GuestType,
    vmid: u32,
    key: &str,
    value: &str,
    created: &mut Vec<(StorageDef, String)>,
) -> Result<String, String> {
    let mut drive = Drive::parse(value);
    let Some((storage, size)) = drive.volid.split_once(':').filter(|(_, size)| {
        !size.is_empty() && size.bytes().all(|b| b.is_ascii_digit() || b == b'.')
    }) else {
        return Ok(value.to_string());
    };
    if drive.is_cdrom() {
        return Ok(value.to_string());
    }
    let size = parse_size(&format!("{size}G")).max(GIB / 1024);
    let new = NewVolume {
        storage: storage.to_string(),
        vmid,
        linked_to: None,
        name: None,
        // container volumes are raw images on file storages, never qcow2
        format: drive
            .option("format")
            .map(str::to_string)
            .or_else(|| (kind == GuestType::Lxc).then(|| "raw".to_string())),
        size,
        content: if kind == GuestType::Qemu {
            "images"
        } else {
            "rootdir"
        },
    };
    let (def, volume) = volumes::allocate(ctx, node, new)
        .await
        .map_err(|e| volumes::disk_error(key, e))?;
    created.push((def, volume.volid.clone()));
    drive.volid = volume.volid;
    drive.options.retain(|(k, _)| k != "format");
    drive.set_option("size", &config_size(size));
    Ok(drive.render())
}

/// `virtio,bridge=vmbr0` → `virtio=BC:24:11:..,bridge=vmbr0`; LXC gets `hwaddr=`.
fn with_mac(ctx: &TaskCtx, kind: GuestType, value: &str) -> String {
    let mac = ctx.sim.state().random_mac();
    match kind {
        GuestType::Qemu => {
            let mut parts: Vec<String> = value.split(',').map(str::to_string).collect();
            if let Some(model) = parts.first_mut()
                && !model.contains('=')
            {
                *model = format!("{model}={mac}");
            }
            parts.join(",")
        }
        GuestType::Lxc if value.contains("hwaddr=") => value.to_string(),
        GuestType::Lxc => format!("{value},hwaddr={mac}"),
    }
}

/// qmcreate's final touches: boot order, smbios1, vmgenid, meta.
fn finish_qemu(ctx: &TaskCtx, config: &mut GuestConfig) {
    let mut st = ctx.sim.state();
    if !config.props.contains_key("boot") {
        let mut order: Vec<String> = Vec::new();
        let disk = ["scsi", "virtio", "sata", "ide"].iter().find_map(|bus| {
            config
                .props
                .iter()
                .find(|(k, v)| {
                    k.starts_with(bus)
                        && is_drive_key(GuestType::Qemu, k)
                        && !Drive::parse(v).is_cdrom()
                })
                .map(|(k, _)| k.clone())
        });
        order.extend(disk);
        order.extend(
            config
                .props
                .iter()
                .filter(|(k, v)| {
                    is_drive_key(GuestType::Qemu, k)
                        && Drive::parse(v).is_cdrom()
                        && !Drive::parse(v).is_cloudinit()
                })
                .map(|(k, _)| k.clone()),
        );
        order.extend(
            config
                .props
                .keys()
                .filter(|k| k.starts_with("net"))
                .cloned(),
        );
        if !order.is_empty() {
            config
                .props
                .insert("boot".into(), format!("order={}", order.join(";")));
        }
    }
    let uuid = st.random_uuid();
    config
        .props
        .entry("smbios1".into())
        .or_insert(format!("uuid={uuid}"));
    let genid = st.random_uuid();
    config.props.entry("vmgenid".into()).or_insert(genid);
    let ctime = ctx.sim.clock.epoch_now();
    config
        .props
        .entry("meta".into())
        .or_insert(format!("creation-qemu=9.2.0,ctime={ctime}"));
}
