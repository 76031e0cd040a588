//! Cloning onto another node (pve-facts §4 "Cloning to another node"): only a guest whose
//! volumes are all on shared storage may go; its config is built on the source node and
//! renamed into the target's directory once complete and unlocked.

use pve_sim::drives::Drive;

use crate::support::{DirWatch, Env, TEMPLATE1, cluster};

#[tokio::test(flavor = "multi_thread")]
async fn cloning_a_vm_on_local_storage_to_another_node_is_refused() {
    let env = Env::start(cluster()).await;
    let path = format!("/nodes/pve1/qemu/{TEMPLATE1}/clone");
    let cases: [(&[(&str, &str)], &str); 2] = [
        (
            &[("newid", "9500"), ("target", "pve2")],
            "can't clone VM to node 'pve2' (VM uses local storage)",
        ),
        // PVE checks a given storage before the source's volumes
        (
            &[
                ("newid", "9500"),
                ("target", "pve2"),
                ("full", "1"),
                ("storage", "local-lvm"),
            ],
            "can't clone to non-shared storage 'local-lvm'",
        ),
    ];
    for (params, message) in cases {
        let resp = env.call("pve1", "POST", &path, params).await;
        assert_eq!(resp.status, 500, "{}", resp.body);
        assert_eq!(resp.reason, message);
        assert_eq!(resp.json()["message"], format!("{message}\n"));
    }
    for node in ["pve1", "pve2"] {
        assert_eq!(env.config_text(node, 9500), None);
    }
    assert_eq!(env.vmlist_entry(9500), None);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_vm_on_shared_storage_clones_onto_another_node_and_arrives_unlocked() {
    let env = Env::start(cluster()).await;
    let upid = env
        .start_task(
            "pve1",
            "/nodes/pve1/qemu",
            &[("vmid", "800"), ("name", "app"), ("scsi0", "shared:1")],
        )
        .await;
    assert_eq!(env.exitstatus(&upid).await, "OK");
    assert_eq!(
        Drive::parse(&env.config("pve1", 800).props["scsi0"]).volid,
        "shared:800/vm-800-disk-0.qcow2"
    );

    let mut watch = DirWatch::new(&env.qemu_dir("pve1", "pve1"), false);
    let upid = env
        .start_task(
            "pve1",
            "/nodes/pve1/qemu/800/clone",
            &[("newid", "801"), ("target", "pve2"), ("name", "app2")],
        )
        .await;
    // built in pve1's directory (temporary config, the disk, the unlock), then moved away
    let events = watch.until("moved_from 801.conf").await;
    let writes = events.iter().filter(|e| *e == "moved_to 801.conf").count();
    assert_eq!(writes, 3, "{events:?}");
    assert_eq!(env.exitstatus(&upid).await, "OK");
    assert_eq!(env.task_log(&upid).last().unwrap(), "TASK OK");

    assert_eq!(env.config_text("pve1", 801), None);
    let clone = env.config("pve2", 801);
    assert_eq!(clone.props.get("lock"), None);
    assert_eq!(clone.props["name"], "app2");
    assert_eq!(
        Drive::parse(&clone.props["scsi0"]).volid,
        "shared:801/vm-801-disk-0.qcow2"
    );
    assert_eq!(env.vmlist_entry(801).unwrap()["node"], "pve2");
    let resp = env
        .call("pve2", "GET", "/nodes/pve2/qemu/801/config", &[])
        .await;
    assert_eq!(resp.status, 200, "{}", resp.body);
    assert_eq!(resp.data()["name"], "app2");
    assert_eq!(
        env.volumes_of("pve2", "shared", 801).await,
        ["shared:801/vm-801-disk-0.qcow2".to_string()]
    );
}
