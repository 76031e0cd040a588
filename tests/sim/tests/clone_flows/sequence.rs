//! The qemu clone's config lifecycle as a client on the node sees it (pve-facts §4, §7): a
//! watcher on `nodes/pve1/qemu-server/` reads `<newid>.conf` at each IN_MOVED_TO and finds the
//! temporary config, then the locked config gaining one disk at a time in sorted key order,
//! then the first complete unlocked config; the task log and status, `.vmlist` and the storage
//! agree.

use std::time::Duration;

use pve_sim::Fault;
use pve_sim::drives::Drive;
use pve_sim::guest_config::GuestConfig;
use pve_sim::model::SimOptions;
use pve_sim::pmxcfs::GuestType;

use crate::support::{DirWatch, Env, TEMPLATE1, cloned_disks, cluster, upid_of};

const NEWID: u32 = 9500;
pub const TEMPORARY: &str = "# qmclone temporary file\nlock: clone\n";

/// A cluster where every clone config write is followed by at least 300 ms (real) before the
/// next one — a 30 s storage allocation and a 60 s copy — except the unlock, which follows
/// the last disk's write at once, as in PVE.
pub async fn spread_out() -> Env {
    let options = SimOptions {
        storage_lock_hold: Duration::from_secs(30),
        ..SimOptions::default()
    };
    Env::start(cluster().options(options).fault(Fault::SlowClone {
        vmid: Some(TEMPLATE1),
        seconds: 60.0,
    }))
    .await
}

/// The clone's config after `done` of its disks, derived from the final config.
pub fn locked_state(final_config: &GuestConfig, disks: &[String], done: usize) -> String {
    let mut state = final_config.clone();
    state.props.insert("lock".into(), "clone".into());
    for key in &disks[done..] {
        state.props.remove(key);
    }
    state.render(GuestType::Qemu)
}

/// Checks the texts read at each rename onto `<newid>.conf`: the temporary config, one locked
/// config per disk, the unlocked one. Only the state after the last disk may have been
/// overtaken by the unlock before the reader got to it.
fn assert_clone_sequence(template: &GuestConfig, reads: &[String]) -> GuestConfig {
    let disks = cloned_disks(template);
    assert_eq!(reads.len(), disks.len() + 2, "{reads:#?}");
    assert_eq!(reads[0], TEMPORARY);
    let last = reads.last().unwrap();
    let final_config = GuestConfig::parse(last, GuestType::Qemu).unwrap();
    assert_eq!(final_config.props.get("lock"), None, "{last}");
    for done in 1..=disks.len() {
        let read = &reads[done];
        let expected = locked_state(&final_config, &disks, done);
        if done == disks.len() && read == last {
            continue;
        }
        assert_eq!(read, &expected, "state after disk {}", disks[done - 1]);
    }
    final_config
}

/// What a clone must get: the template's options, its disks on new volumes, a new MAC, smbios
/// uuid and vmgenid, the given name, and no `template`.
fn assert_clone_of(template: &GuestConfig, clone: &GuestConfig, name: &str) {
    assert_eq!(clone.props.get("template"), None);
    assert_eq!(clone.props["name"], name);
    for (key, value) in &template.props {
        if matches!(
            key.as_str(),
            "template" | "name" | "net0" | "smbios1" | "vmgenid"
        ) || cloned_disks(template).contains(key)
        {
            continue;
        }
        assert_eq!(clone.props.get(key), Some(value), "option {key}");
    }
    let (model, rest) = template.props["net0"].split_once(',').unwrap();
    let (clone_model, clone_rest) = clone.props["net0"].split_once(',').unwrap();
    assert_eq!(rest, clone_rest);
    assert_eq!(model.split('=').next(), clone_model.split('=').next());
    assert_ne!(model, clone_model, "the MAC must change");
    assert!(clone.props["smbios1"].starts_with("uuid="));
    assert_ne!(template.props["smbios1"], clone.props["smbios1"]);
    assert_ne!(template.props["vmgenid"], clone.props["vmgenid"]);
    assert_eq!(
        Drive::parse(&clone.props["scsi0"]).volid,
        format!("local-lvm:vm-{NEWID}-disk-0")
    );
    assert_eq!(
        clone.props["ide2"],
        format!("local-lvm:vm-{NEWID}-cloudinit,media=cdrom,size=4M")
    );
    let scsi0 = Drive::parse(&clone.props["scsi0"]);
    let template_scsi0 = Drive::parse(&template.props["scsi0"]);
    assert_eq!(scsi0.options, template_scsi0.options);
}

async fn clone_and_watch(env: &Env, params: &[(&str, &str)]) -> (String, Vec<String>) {
    let mut watch = DirWatch::new(&env.qemu_dir("pve1", "pve1"), false);
    let path = format!("/nodes/pve1/qemu/{TEMPLATE1}/clone");
    let upid = env.start_task("pve1", &path, params).await;
    let name = format!("{NEWID}.conf");
    let reads = watch.contents_at_moved_to(&name, 4).await;
    let status = env.wait(&upid).await;
    assert_eq!(status["status"], "stopped");
    assert_eq!(status["exitstatus"], "OK");
    // exactly four writes: nothing touches the config between the last one and a later write
    env.fence_write("pve1", 101).await;
    let rest = watch.until("moved_to 101.conf").await;
    assert!(
        !rest.iter().any(|e| e.ends_with(&format!(" {name}"))),
        "{rest:?}"
    );
    (upid, reads)
}

#[tokio::test(flavor = "multi_thread")]
async fn full_clone_writes_the_temporary_config_then_one_disk_at_a_time_then_unlocks() {
    let env = spread_out().await;
    let template = env.config("pve1", TEMPLATE1);
    let newid = NEWID.to_string();
    let (upid, reads) = clone_and_watch(
        &env,
        &[("newid", &newid), ("full", "1"), ("name", "web-9500")],
    )
    .await;
    let clone = assert_clone_sequence(&template, &reads);
    assert_clone_of(&template, &clone, "web-9500");
    assert_eq!(env.config("pve1", NEWID), clone);

    let parsed = upid_of(&upid);
    assert_eq!(
        (parsed.task_type.as_str(), parsed.id.as_str()),
        ("qmclone", "9100")
    );
    let log = env.task_log(&upid);
    assert_eq!(log[0], "creating a clone of VM 9100 with ID 9500");
    let ide2 = log
        .iter()
        .position(|l| l == "create full clone of drive ide2 (local-lvm:vm-9100-cloudinit)")
        .unwrap_or_else(|| panic!("{log:#?}"));
    let scsi0 = log
        .iter()
        .position(|l| l == "create full clone of drive scsi0 (local-lvm:base-9100-disk-0)")
        .unwrap_or_else(|| panic!("{log:#?}"));
    assert!(ide2 < scsi0, "{log:#?}");
    let transferred: Vec<&String> = log[scsi0 + 1..]
        .iter()
        .filter(|l| l.starts_with("transferred "))
        .collect();
    assert!(transferred.len() > 2, "{log:#?}");
    assert!(
        transferred
            .iter()
            .all(|l| l.contains(" of 4.0 GiB (") && l.ends_with("%)")),
        "{transferred:#?}"
    );
    assert_eq!(
        transferred.last().unwrap().as_str(),
        "transferred 4.0 GiB of 4.0 GiB (100.00%)"
    );
    assert_eq!(log.last().unwrap(), "TASK OK");

    let entry = env.vmlist_entry(NEWID).unwrap();
    assert_eq!(
        (entry["node"].as_str(), entry["type"].as_str()),
        (Some("pve1"), Some("qemu"))
    );
    let mut volumes = env.volumes_of("pve1", "local-lvm", NEWID).await;
    volumes.sort();
    assert_eq!(
        volumes,
        [
            "local-lvm:vm-9500-cloudinit".to_string(),
            "local-lvm:vm-9500-disk-0".to_string()
        ]
    );
}

/// PVE copies CD-ROMs with the options, before any disk: a CD-ROM whose key sorts after a
/// disk (`ide2` after `ide0`) is in the config written after that first disk.
#[tokio::test(flavor = "multi_thread")]
async fn cd_roms_are_in_the_clone_from_its_first_disk_on() {
    let env = spread_out().await;
    let upid = env
        .start_task(
            "pve1",
            "/nodes/pve1/qemu",
            &[
                ("vmid", "600"),
                ("ide0", "local-lvm:1"),
                ("ide2", "none,media=cdrom"),
                ("scsi0", "local-lvm:1"),
            ],
        )
        .await;
    assert_eq!(env.exitstatus(&upid).await, "OK");
    let source = env.config("pve1", 600);
    assert_eq!(cloned_disks(&source), ["ide0", "scsi0"]);

    let mut watch = DirWatch::new(&env.qemu_dir("pve1", "pve1"), false);
    let upid = env
        .start_task("pve1", "/nodes/pve1/qemu/600/clone", &[("newid", "601")])
        .await;
    let reads = watch.contents_at_moved_to("601.conf", 4).await;
    assert_eq!(env.exitstatus(&upid).await, "OK");
    let clone = assert_clone_sequence(&source, &reads);
    assert_eq!(clone.props["ide2"], "none,media=cdrom");
    let after_ide0 = GuestConfig::parse(&reads[1], GuestType::Qemu).unwrap();
    assert_eq!(
        after_ide0.props.get("ide2").map(String::as_str),
        Some("none,media=cdrom")
    );
    assert_eq!(after_ide0.props.get("scsi0"), None);
}

#[tokio::test(flavor = "multi_thread")]
async fn linked_clone_of_a_template_follows_the_same_sequence_without_copying_the_boot_disk() {
    let env = spread_out().await;
    let template = env.config("pve1", TEMPLATE1);
    let newid = NEWID.to_string();
    let (upid, reads) = clone_and_watch(&env, &[("newid", &newid), ("name", "web-9500")]).await;
    let clone = assert_clone_sequence(&template, &reads);
    assert_clone_of(&template, &clone, "web-9500");

    let log = env.task_log(&upid);
    assert_eq!(log[0], "creating a clone of VM 9100 with ID 9500");
    assert!(
        log.iter()
            .any(|l| l == "create full clone of drive ide2 (local-lvm:vm-9100-cloudinit)"),
        "the cloud-init drive is always copied: {log:#?}"
    );
    assert!(
        log.iter()
            .any(|l| l == "create linked clone of drive scsi0 (local-lvm:base-9100-disk-0)"),
        "{log:#?}"
    );
    assert!(
        !log.iter().any(|l| l.starts_with("transferred ")),
        "a linked clone copies no data: {log:#?}"
    );
    assert_eq!(log.last().unwrap(), "TASK OK");
    assert_eq!(env.vmlist_entry(NEWID).unwrap()["node"], "pve1");
}
