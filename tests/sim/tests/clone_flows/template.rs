//! `POST .../template` on qemu (pve-facts §4): `template: 1` is written first, then each
//! non-CD-ROM disk is renamed to `base-<vmid>-disk-N` with a config write after each; running,
//! template and locked VMs are refused before any task starts.

use pve_sim::Fault;
use pve_sim::drives::Drive;
use pve_sim::guest_config::GuestConfig;
use pve_sim::pmxcfs::GuestType;

use crate::support::{DirWatch, Env, TEMPLATE1, cluster, upid_of};

const VMID: u32 = 700;

fn volid(config: &GuestConfig, key: &str) -> String {
    Drive::parse(&config.props[key]).volid
}

/// The conversion waits 200 ms (simulated) before each rename; at real time that leaves a
/// reader at each IN_MOVED_TO time to read the state it announces.
#[tokio::test(flavor = "multi_thread")]
async fn converting_a_stopped_vm_writes_template_first_then_renames_each_disk() {
    let env = Env::start(cluster().time_scale(1.0)).await;
    let vmid = VMID.to_string();
    let upid = env
        .start_task(
            "pve1",
            "/nodes/pve1/qemu",
            &[
                ("vmid", &vmid),
                ("name", "golden"),
                ("scsi0", "local-lvm:1"),
                ("scsi1", "local-lvm:2"),
                ("ide2", "none,media=cdrom"),
            ],
        )
        .await;
    assert_eq!(env.exitstatus(&upid).await, "OK");
    let before = env.config("pve1", VMID);
    assert_eq!(volid(&before, "scsi0"), "local-lvm:vm-700-disk-0");
    assert_eq!(volid(&before, "scsi1"), "local-lvm:vm-700-disk-1");

    let mut watch = DirWatch::new(&env.qemu_dir("pve1", "pve1"), false);
    let upid = env
        .start_task("pve1", &format!("/nodes/pve1/qemu/{VMID}/template"), &[])
        .await;
    let parsed = upid_of(&upid);
    assert_eq!(
        (parsed.task_type.as_str(), parsed.id.as_str()),
        ("qmtemplate", "700")
    );
    let reads: Vec<GuestConfig> = watch
        .contents_at_moved_to("700.conf", 3)
        .await
        .iter()
        .map(|text| GuestConfig::parse(text, GuestType::Qemu).unwrap())
        .collect();
    assert_eq!(env.exitstatus(&upid).await, "OK");
    env.fence_write("pve1", 101).await;
    let rest = watch.until("moved_to 101.conf").await;
    assert!(!rest.iter().any(|e| e.ends_with(" 700.conf")), "{rest:?}");

    let mut expected = before.clone();
    expected.props.insert("template".into(), "1".into());
    assert_eq!(
        reads[0], expected,
        "template: 1 comes first, disks untouched"
    );
    for (i, key) in ["scsi0", "scsi1"].iter().enumerate() {
        let drive = before.props[*key].replacen("vm-700-disk", "base-700-disk", 1);
        expected.props.insert((*key).to_string(), drive);
        assert_eq!(reads[i + 1], expected, "after renaming {key}");
        assert_eq!(reads[i + 1].props.get("lock"), None);
    }
    assert_eq!(reads[2].props["ide2"], "none,media=cdrom");
    assert_eq!(env.config("pve1", VMID), expected);
    assert_eq!(env.task_log(&upid).last().unwrap(), "TASK OK");

    let mut volumes = env.volumes_of("pve1", "local-lvm", VMID).await;
    volumes.sort();
    assert_eq!(
        volumes,
        [
            "local-lvm:base-700-disk-0".to_string(),
            "local-lvm:base-700-disk-1".to_string()
        ]
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn converting_a_running_vm_a_template_or_a_locked_vm_is_refused() {
    let env = Env::start(cluster()).await;
    env.cluster
        .add_fault(Fault::SetLock {
            vmid: 101,
            lock: "backup".into(),
        })
        .unwrap();
    let cases = [
        (100, "you can't convert a VM to template if VM is running"),
        (TEMPLATE1, "you can't convert a template to a template"),
        (101, "VM is locked (backup)"),
    ];
    for (vmid, message) in cases {
        let before = env.config_text("pve1", vmid).unwrap();
        let path = format!("/nodes/pve1/qemu/{vmid}/template");
        let resp = env.call("pve1", "POST", &path, &[]).await;
        assert_eq!(resp.status, 500, "{vmid}: {}", resp.body);
        assert_eq!(resp.reason, message);
        assert_eq!(resp.json()["message"], format!("{message}\n"));
        assert_eq!(resp.json()["data"], serde_json::Value::Null);
        assert_eq!(env.config_text("pve1", vmid).unwrap(), before);
    }
    let tasks = env
        .call(
            "pve1",
            "GET",
            "/nodes/pve1/tasks",
            &[("source", "all"), ("typefilter", "qmtemplate")],
        )
        .await;
    assert_eq!(tasks.data(), serde_json::Value::Array(Vec::new()));
}
