//! Guest configuration over the API: pending changes on a running VM,
//! `current=1`, digests, `delete=`, PUT (synchronous) against POST (a
//! qmconfig task), and PVE's parameter checks.
use std::time::Duration;

use pve_sim::SimCluster;
use pve_sim::client::Client;
use pve_sim::model::flocks::guest_lock_path;
use pve_sim::pmxcfs::GuestType;
use serde_json::Value;
use sha1::{Digest, Sha1};

use crate::support::{
    assert_error, assert_param_error, call, client, cluster, config, eventually, ok, upid, wait_ok,
};

const CONFIG: &str = "/nodes/{node}/qemu/{vmid}/config";

async fn put(client: &Client, vmid: &str, params: &[(&str, &str)]) -> Value {
    ok(client, "PUT", CONFIG, &["pve1", vmid], params).await
}

async fn current(client: &Client, vmid: &str) -> Value {
    ok(client, "GET", CONFIG, &["pve1", vmid], &[("current", "1")]).await
}

/// The config file as pve1's view of the tree holds it.
fn file(cluster: &SimCluster, vmid: u32) -> String {
    let view = &cluster.sandbox().nodes[0].pmxcfs;
    std::fs::read_to_string(view.join(format!("nodes/pve1/qemu-server/{vmid}.conf"))).unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_running_vm_keeps_changes_it_cannot_hotplug_pending() {
    let cluster = cluster().await;
    let client = client(&cluster, "pve1");
    // VM 100 runs: memory waits for a restart, the name applies at once
    let answer = put(
        &client,
        "100",
        &[
            ("memory", "8192"),
            ("name", "web-renamed"),
            ("delete", "cores"),
        ],
    )
    .await;
    assert_eq!(answer, Value::Null);

    let with_pending = config(&client, "pve1", "qemu", 100).await;
    assert_eq!(with_pending["memory"], 8192);
    assert_eq!(with_pending["name"], "web-renamed");
    assert!(with_pending.get("cores").is_none(), "{with_pending}");
    let running = current(&client, "100").await;
    assert_eq!(running["memory"], 4096);
    assert_eq!(running["name"], "web-renamed");
    assert_eq!(running["cores"], 2);

    let pending = ok(
        &client,
        "GET",
        "/nodes/{node}/qemu/{vmid}/pending",
        &["pve1", "100"],
        &[],
    )
    .await;
    let entry = |key: &str| {
        pending
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["key"] == key)
            .cloned()
            .unwrap_or_else(|| panic!("no {key} in {pending}"))
    };
    assert_eq!(entry("memory")["value"], "4096");
    assert_eq!(entry("memory")["pending"], "8192");
    assert_eq!(entry("cores")["delete"], 1);
    assert!(entry("name").get("pending").is_none());
    assert_eq!(entry("name")["value"], "web-renamed");

    let text = file(&cluster, 100);
    let (main, pending_section) = text
        .split_once("\n[PENDING]\n")
        .expect("a [PENDING] section");
    assert!(main.contains("memory: 4096\n"), "{text}");
    assert!(main.contains("name: web-renamed\n"), "{text}");
    assert!(pending_section.contains("memory: 8192\n"), "{text}");
    assert!(pending_section.contains("delete: cores\n"), "{text}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_stopped_vm_takes_every_change_at_once_and_delete_removes_keys() {
    let cluster = cluster().await;
    let client = client(&cluster, "pve1");
    put(
        &client,
        "101",
        &[("memory", "2048"), ("delete", "tags,ide2")],
    )
    .await;
    let now = current(&client, "101").await;
    assert_eq!(now["memory"], 2048);
    assert!(
        now.get("tags").is_none() && now.get("ide2").is_none(),
        "{now}"
    );
    let pending = ok(
        &client,
        "GET",
        "/nodes/{node}/qemu/{vmid}/pending",
        &["pve1", "101"],
        &[],
    )
    .await;
    assert!(
        pending
            .as_array()
            .unwrap()
            .iter()
            .all(|e| e.get("pending").is_none() && e.get("delete").is_none()),
        "{pending}"
    );
    assert!(!file(&cluster, 101).contains("[PENDING]"));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_stale_digest_is_refused_and_changes_nothing() {
    let cluster = cluster().await;
    let client = client(&cluster, "pve1");
    let before = config(&client, "pve1", "qemu", 101).await;
    let digest = before["digest"].as_str().unwrap().to_string();
    assert_eq!(
        digest,
        hex::encode(Sha1::digest(file(&cluster, 101))),
        "the digest is the SHA-1 of the config file"
    );

    put(&client, "101", &[("tags", "changed"), ("digest", &digest)]).await;
    let resp = call(
        &client,
        "PUT",
        CONFIG,
        &["pve1", "101"],
        &[("memory", "1024"), ("digest", &digest)],
    )
    .await;
    assert_error(&resp, 500, "checksum mismatch (file change by other user?)");
    let after = config(&client, "pve1", "qemu", 101).await;
    assert_eq!(after["memory"], 4096);
    assert_eq!(after["tags"], "changed");
}

#[tokio::test(flavor = "multi_thread")]
async fn post_config_runs_a_qmconfig_task() {
    let cluster = cluster().await;
    let client = client(&cluster, "pve1");
    let task = upid(&ok(&client, "POST", CONFIG, &["pve1", "101"], &[("cores", "3")]).await);
    assert!(task.contains(":qmconfig:101:"), "{task}");
    wait_ok(&client, "pve1", &task).await;
    assert_eq!(current(&client, "101").await["cores"], 3);

    // with background_delay the call waits and answers null when the task is done
    let answer = ok(
        &client,
        "POST",
        CONFIG,
        &["pve1", "101"],
        &[("cores", "4"), ("background_delay", "5")],
    )
    .await;
    assert_eq!(answer, Value::Null);
    assert_eq!(current(&client, "101").await["cores"], 4);

    // its checks are synchronous
    let resp = call(
        &client,
        "POST",
        CONFIG,
        &["pve1", "101"],
        &[
            ("cores", "5"),
            ("digest", "0000000000000000000000000000000000000000"),
        ],
    )
    .await;
    assert_error(&resp, 500, "checksum mismatch (file change by other user?)");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_boolean_given_as_true_fails_the_type_check() {
    let cluster = cluster().await;
    let client = client(&cluster, "pve1");
    let resp = call(
        &client,
        "PUT",
        CONFIG,
        &["pve1", "101"],
        &[("protection", "true")],
    )
    .await;
    assert_param_error(
        &resp,
        "protection",
        "type check ('boolean') failed - got 'true'",
    );
    assert!(
        config(&client, "pve1", "qemu", 101)
            .await
            .get("protection")
            .is_none()
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn of_two_changes_sent_with_one_digest_exactly_one_is_written() {
    // real time: the 10 s config flock must outlast lining the requests up
    let cluster = SimCluster::builder()
        .nodes(3)
        .time_scale(1.0)
        .start()
        .await
        .unwrap();
    let client = client(&cluster, "pve1");
    let digest = config(&client, "pve1", "qemu", 101).await["digest"]
        .as_str()
        .unwrap()
        .to_string();
    let sim = cluster.sim();
    let lock_path = guest_lock_path(GuestType::Qemu, 101);
    let held = sim
        .flocks
        .lock(&sim.clock, "pve1", &lock_path, true, Duration::from_secs(1))
        .await
        .unwrap();
    let send = |cores: &'static str| {
        let client = client.clone();
        let digest = digest.clone();
        tokio::spawn(async move {
            call(
                &client,
                "PUT",
                CONFIG,
                &["pve1", "101"],
                &[("cores", cores), ("digest", &digest)],
            )
            .await
        })
    };
    let (three, five) = (send("3"), send("5"));
    eventually("both changes wait for the config lock", || async {
        (sim.flocks.contenders("pve1", &lock_path) == 3).then_some(())
    })
    .await;
    drop(held);
    let answers = [three.await.unwrap(), five.await.unwrap()];
    let won: Vec<&str> = answers
        .iter()
        .zip(["3", "5"])
        .filter(|(resp, _)| resp.status == 200)
        .map(|(_, cores)| cores)
        .collect();
    assert_eq!(won.len(), 1, "exactly one change is written");
    let lost = answers.iter().find(|resp| resp.status != 200).unwrap();
    assert_error(lost, 500, "checksum mismatch (file change by other user?)");
    assert!(
        file(&cluster, 101).contains(&format!("\ncores: {}\n", won[0])),
        "{}",
        file(&cluster, 101)
    );
}
