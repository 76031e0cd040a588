//! What the cluster-wide and per-node views show: /cluster/resources with
//! its lag for fresh guests, /cluster/status, /cluster/nextid, the node
//! list, and storage usage that follows what clones allocate.
use std::time::Duration;

use pve_sim::SimCluster;
use pve_sim::client::Client;
use serde_json::Value;

use crate::support::{assert_error, assert_param_error, call, client, cluster, ok, upid, wait_ok};

async fn clone_9100(client: &Client, newid: &str, params: &[(&str, &str)]) {
    let mut all = vec![("newid", newid)];
    all.extend_from_slice(params);
    let task = upid(
        &ok(
            client,
            "POST",
            "/nodes/{node}/qemu/{vmid}/clone",
            &["pve1", "9100"],
            &all,
        )
        .await,
    );
    wait_ok(client, "pve1", &task).await;
}

async fn vm_resource(client: &Client, vmid: u64) -> Value {
    let resources = ok(client, "GET", "/cluster/resources", &[], &[("type", "vm")]).await;
    resources
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["vmid"] == vmid)
        .cloned()
        .unwrap_or_else(|| panic!("no vmid {vmid} in {resources}"))
}

#[tokio::test(flavor = "multi_thread")]
async fn a_fresh_clone_is_unknown_and_nameless_in_resources_until_the_lag_passes() {
    let lagging = SimCluster::builder()
        .nodes(3)
        .time_scale(0.01)
        .resources_lag(Duration::from_secs(3600))
        .start()
        .await
        .unwrap();
    let lagging_client = client(&lagging, "pve1");
    clone_9100(&lagging_client, "190", &[("name", "fresh")]).await;
    let fresh = vm_resource(&lagging_client, 190).await;
    assert_eq!(fresh["id"], "qemu/190");
    assert_eq!(fresh["type"], "qemu");
    assert_eq!(fresh["node"], "pve1");
    assert_eq!(fresh["status"], "unknown");
    assert!(fresh.get("name").is_none(), "{fresh}");
    assert!(fresh.get("template").is_none(), "{fresh}");
    // guests that were there before are not fresh
    let old = vm_resource(&lagging_client, 100).await;
    assert_eq!(old["name"], "web1");
    assert_eq!(old["status"], "running");
    assert_eq!(
        old["tags"], "prod;web",
        "tags are read live from the config"
    );

    let prompt = cluster().await;
    let client = client(&prompt, "pve1");
    clone_9100(&client, "190", &[("name", "fresh")]).await;
    let fresh = vm_resource(&client, 190).await;
    assert_eq!(fresh["name"], "fresh");
    assert_eq!(fresh["status"], "stopped");
    assert_eq!(fresh["template"], 0);
    assert_eq!(fresh["maxdisk"], 4u64 << 30);
}

#[tokio::test(flavor = "multi_thread")]
async fn cluster_status_marks_the_serving_node_local() {
    let cluster = cluster().await;
    let client = client(&cluster, "pve2");
    let status = ok(&client, "GET", "/cluster/status", &[], &[]).await;
    let entries = status.as_array().unwrap();
    let head = &entries[0];
    assert_eq!(head["type"], "cluster");
    assert_eq!(head["name"], "sim");
    assert_eq!(head["nodes"], 3);
    assert_eq!(head["quorate"], 1);
    let nodes: Vec<&Value> = entries.iter().filter(|e| e["type"] == "node").collect();
    assert_eq!(nodes.len(), 3);
    for (index, node) in nodes.iter().enumerate() {
        let name = format!("pve{}", index + 1);
        assert_eq!(node["name"], name.as_str());
        assert_eq!(node["id"], format!("node/{name}"));
        assert_eq!(node["nodeid"], index + 1);
        assert_eq!(node["ip"], format!("127.0.10.{}", index + 1));
        assert_eq!(node["online"], 1);
        assert_eq!(node["local"], u8::from(name == "pve2"), "{node}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn nextid_is_the_first_free_vmid_and_refuses_a_taken_one() {
    let cluster = cluster().await;
    let client = client(&cluster, "pve1");
    let next = ok(&client, "GET", "/cluster/nextid", &[], &[]).await;
    assert_eq!(next, "103", "100-102 are pve1's seeded guests");
    let resp = call(&client, "GET", "/cluster/nextid", &[], &[("vmid", "110")]).await;
    assert_param_error(&resp, "vmid", "VM 110 already exists");
    let free = ok(&client, "GET", "/cluster/nextid", &[], &[("vmid", "103")]).await;
    assert_eq!(free, "103");
    clone_9100(&client, "103", &[]).await;
    let next = ok(&client, "GET", "/cluster/nextid", &[], &[]).await;
    assert_eq!(next, "104");
}

#[tokio::test(flavor = "multi_thread")]
async fn nextid_reports_an_exhausted_range() {
    let cluster = SimCluster::builder()
        .nodes(1)
        .time_scale(0.01)
        .next_id(100, 103)
        .start()
        .await
        .unwrap();
    let client = client(&cluster, "pve1");
    let resp = call(&client, "GET", "/cluster/nextid", &[], &[]).await;
    assert_error(
        &resp,
        500,
        "unable to get any free VMID in range [100, 103]",
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn nodes_list_every_member_and_node_status_its_resources() {
    let cluster = cluster().await;
    let client = client(&cluster, "pve3");
    let nodes = ok(&client, "GET", "/nodes", &[], &[]).await;
    let names: Vec<&str> = nodes
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["node"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["pve1", "pve2", "pve3"]);
    assert!(
        nodes
            .as_array()
            .unwrap()
            .iter()
            .all(|n| n["status"] == "online")
    );
    let status = ok(&client, "GET", "/nodes/{node}/status", &["pve1"], &[]).await;
    assert_eq!(status["cpuinfo"]["cpus"], 16);
    assert_eq!(status["memory"]["total"], 64u64 << 30);
    assert!(
        status["pveversion"]
            .as_str()
            .unwrap()
            .starts_with("pve-manager/9.")
    );
    let guests = ok(&client, "GET", "/nodes/{node}/qemu", &["pve3"], &[]).await;
    let mut vmids: Vec<u64> = guests
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["vmid"].as_u64().unwrap())
        .collect();
    vmids.sort_unstable();
    assert_eq!(vmids, [120, 121, 9300, 9301], "only pve3's VMs");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_full_clone_takes_space_on_its_storage() {
    let cluster = cluster().await;
    let client = client(&cluster, "pve1");
    let status = || async {
        ok(
            &client,
            "GET",
            "/nodes/{node}/storage/{storage}/status",
            &["pve1", "local-lvm"],
            &[],
        )
        .await
    };
    let before = status().await;
    clone_9100(&client, "191", &[("full", "1")]).await;
    let after = status().await;
    let used = |s: &Value| s["used"].as_u64().unwrap();
    let avail = |s: &Value| s["avail"].as_u64().unwrap();
    // the 4 GiB boot disk and the new 4 MiB cloud-init drive
    let copied = (4u64 << 30) + (4 << 20);
    assert_eq!(used(&after) - used(&before), copied);
    assert_eq!(avail(&before) - avail(&after), copied);
    assert_eq!(after["total"], before["total"]);

    let content = ok(
        &client,
        "GET",
        "/nodes/{node}/storage/{storage}/content",
        &["pve1", "local-lvm"],
        &[("vmid", "191")],
    )
    .await;
    let mut volumes: Vec<(&str, u64)> = content
        .as_array()
        .unwrap()
        .iter()
        .map(|v| (v["volid"].as_str().unwrap(), v["size"].as_u64().unwrap()))
        .collect();
    volumes.sort_unstable();
    assert_eq!(volumes[0], ("local-lvm:vm-191-cloudinit", 4 << 20));
    assert_eq!(volumes[1], ("local-lvm:vm-191-disk-0", 4 << 30));
    // another node's local storage did not change
    let elsewhere = ok(
        &client,
        "GET",
        "/nodes/{node}/storage/{storage}/content",
        &["pve2", "local-lvm"],
        &[("vmid", "191")],
    )
    .await;
    assert_eq!(elsewhere, Value::Array(Vec::new()));
}
