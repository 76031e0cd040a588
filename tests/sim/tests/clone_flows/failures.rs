//! A failing clone cleans up after itself (pve-facts §4 "Failure", §3 DELETE): new volumes
//! freed, config unlinked, the VMID gone from `.vmlist`, and the task ends with
//! `TASK ERROR: clone failed: <err>`.

use pve_sim::Fault;

use crate::sequence::{TEMPORARY, locked_state, spread_out};
use crate::support::{DirWatch, Env, TEMPLATE1, cloned_disks, cluster};

const NEWID: u32 = 9500;

fn clone_path() -> String {
    format!("/nodes/pve1/qemu/{TEMPLATE1}/clone")
}

#[tokio::test(flavor = "multi_thread")]
async fn a_clone_failing_halfway_frees_its_volumes_and_unlinks_its_config() {
    let env = Env::start(cluster().fault(Fault::CloneFails {
        vmid: Some(TEMPLATE1),
        percent: 50,
        message: "disk I/O error".into(),
    }))
    .await;
    let mut watch = DirWatch::new(&env.qemu_dir("pve1", "pve1"), false);
    let upid = env
        .start_task("pve1", &clone_path(), &[("newid", "9500"), ("full", "1")])
        .await;
    assert_eq!(env.exitstatus(&upid).await, "clone failed: disk I/O error");
    let log = env.task_log(&upid);
    assert_eq!(
        log.last().unwrap(),
        "TASK ERROR: clone failed: disk I/O error"
    );
    let last_transfer = log
        .iter()
        .rev()
        .find(|l| l.starts_with("transferred "))
        .unwrap_or_else(|| panic!("{log:#?}"));
    assert!(!last_transfer.ends_with("(100.00%)"), "{log:#?}");
    // the config was there, locked, and the clean-up unlinked it
    let events = watch.until("delete 9500.conf").await;
    assert!(
        events.contains(&"moved_to 9500.conf".to_string()),
        "{events:?}"
    );
    env.assert_gone("pve1", NEWID).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_storage_lock_timeout_fails_the_clone_with_pves_flock_error_and_cleans_up() {
    let env = Env::start(cluster().fault(Fault::StorageLockTimeout {
        storage: "local-lvm".into(),
    }))
    .await;
    let upid = env
        .start_task("pve1", &clone_path(), &[("newid", "9500"), ("full", "1")])
        .await;
    let expected = "clone failed: can't lock file '/var/lock/pve-manager/pve-storage-local-lvm' \
                    - got timeout";
    assert_eq!(env.exitstatus(&upid).await, expected);
    let log = env.task_log(&upid);
    assert_eq!(
        log.first().unwrap(),
        "creating a clone of VM 9100 with ID 9500"
    );
    assert_eq!(log.last().unwrap(), &format!("TASK ERROR: {expected}"));
    env.assert_gone("pve1", NEWID).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_clone_that_never_releases_its_lock_runs_until_stopped_then_cleans_up() {
    let env = spread_out().await;
    env.cluster
        .add_fault(Fault::LockNeverReleased {
            vmid: Some(TEMPLATE1),
        })
        .unwrap();
    let template = env.config("pve1", TEMPLATE1);
    let disks = cloned_disks(&template);
    let mut watch = DirWatch::new(&env.qemu_dir("pve1", "pve1"), false);
    let upid = env
        .start_task("pve1", &clone_path(), &[("newid", "9500")])
        .await;

    // the temporary config and one write per disk; then nothing: the worker hangs locked
    let reads = watch
        .contents_at_moved_to("9500.conf", disks.len() + 1)
        .await;
    assert_eq!(reads[0], TEMPORARY);
    let complete = env.config("pve1", NEWID);
    assert_eq!(complete.props["lock"], "clone");
    for key in &disks {
        assert!(
            complete.props.contains_key(key),
            "{key} missing: {complete:?}"
        );
    }
    let mut unlocked = complete.clone();
    unlocked.props.remove("lock");
    for (done, read) in reads.iter().enumerate().skip(1) {
        assert_eq!(read, &locked_state(&unlocked, &disks, done));
    }
    assert_eq!(env.task_status(&upid).await["status"], "running");
    let resp = env
        .call(
            "pve1",
            "GET",
            &format!("/nodes/pve1/qemu/{NEWID}/config"),
            &[],
        )
        .await;
    assert_eq!(resp.data()["lock"], "clone");

    let stop = env
        .call(
            "pve1",
            "DELETE",
            &format!("/nodes/pve1/tasks/{}", pve_sim::client::encode(&upid)),
            &[],
        )
        .await;
    assert_eq!((stop.status, stop.body.as_str()), (200, r#"{"data":null}"#));
    assert_eq!(
        env.exitstatus(&upid).await,
        "clone failed: interrupted by signal"
    );
    assert_eq!(
        env.task_log(&upid).last().unwrap(),
        "TASK ERROR: clone failed: interrupted by signal"
    );
    watch.until("delete 9500.conf").await;
    env.assert_gone("pve1", NEWID).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_linked_clone_of_a_plain_vm_is_refused_naming_its_first_disk() {
    let env = Env::start(cluster()).await;
    // VM 101 (db1) has `ide2: none,media=cdrom` before `scsi0`; CD-ROMs are not cloned
    let resp = env
        .call(
            "pve1",
            "POST",
            "/nodes/pve1/qemu/101/clone",
            &[("newid", "9500"), ("full", "0")],
        )
        .await;
    assert_eq!(resp.status, 500, "{}", resp.body);
    let message = "Linked clone feature is not supported for 'local-lvm:vm-101-disk-0' (scsi0)";
    assert_eq!(resp.reason, message);
    assert_eq!(resp.json()["message"], format!("{message}\n"));
    assert_eq!(resp.json()["data"], serde_json::Value::Null);
    assert_eq!(env.config_text("pve1", NEWID), None);
}
