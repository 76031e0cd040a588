//! Containers where they differ from VMs: create from an ostemplate behind a
//! `lock: create` placeholder, clone with `lock: disk` on the source and the
//! new CT created before the UPID, `template` answering null, PUT config only.
use std::time::Duration;

use pve_sim::client::Client;
use pve_sim::model::flocks::storage_lock_path;
use pve_sim::seed::CT_TEMPLATE;
use pve_sim::{Fault, SimCluster};
use serde_json::Value;

use crate::support::{
    assert_error, call, client, cluster, config, eventually, ok, task_log, upid, wait, wait_ok,
};

/// Two public keys, one per line, as `ssh-public-keys` takes them.
const KEYS: &str = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMq a@lab\nssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBbb b@lab";

async fn ct_config(client: &Client, vmid: u32) -> Value {
    config(client, "pve1", "lxc", vmid).await
}

async fn stop(client: &Client, vmid: &str) {
    let task = upid(
        &ok(
            client,
            "POST",
            "/nodes/{node}/lxc/{vmid}/status/stop",
            &["pve1", vmid],
            &[],
        )
        .await,
    );
    wait_ok(client, "pve1", &task).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn container_create_writes_a_create_lock_first_then_the_final_config() {
    // real time, so the storage lock this test holds outlasts every read
    let cluster = SimCluster::builder().nodes(1).start().await.unwrap();
    let client = client(&cluster, "pve1");
    let sim = cluster.sim();
    let held = sim
        .flocks
        .lock(
            &sim.clock,
            "pve1",
            &storage_lock_path("local-lvm"),
            true,
            Duration::from_secs(1),
        )
        .await
        .unwrap();
    let task = upid(
        &ok(
            &client,
            "POST",
            "/nodes/{node}/lxc",
            &["pve1"],
            &[
                ("vmid", "160"),
                ("ostemplate", CT_TEMPLATE),
                ("hostname", "ct160"),
                ("rootfs", "local-lvm:8"),
                ("net0", "name=eth0,bridge=vmbr0,ip=dhcp"),
                ("password", "secret-pw"),
                ("ssh-public-keys", KEYS),
            ],
        )
        .await,
    );
    assert!(task.contains(":vzcreate:160:"), "{task}");
    // the placeholder exists before the UPID comes back; the task waits on the storage
    let placeholder = ct_config(&client, 160).await;
    let mut keys: Vec<&String> = placeholder.as_object().unwrap().keys().collect();
    keys.sort();
    assert_eq!(keys, ["digest", "lock"], "{placeholder}");
    assert_eq!(placeholder["lock"], "create");
    drop(held);

    wait_ok(&client, "pve1", &task).await;
    let done = ct_config(&client, 160).await;
    assert!(done.get("lock").is_none(), "{done}");
    assert_eq!(done["hostname"], "ct160");
    assert_eq!(done["rootfs"], "local-lvm:vm-160-disk-0,size=8G");
    assert_eq!(done["unprivileged"], 1);
    assert_eq!(done["arch"], "amd64");
    let net0 = done["net0"].as_str().unwrap();
    assert!(
        net0.starts_with("name=eth0,bridge=vmbr0,ip=dhcp,hwaddr=BC:24:11:"),
        "{net0}"
    );
    assert!(
        done.get("password").is_none(),
        "the password is no config key"
    );
    assert!(done.get("ssh-public-keys").is_none(), "{done}");
    // both went into the container's root file system
    let guest = sim.state().guests.get(&160).cloned().unwrap();
    assert_eq!(guest.authorized_keys.as_deref(), Some(KEYS));
    assert!(guest.root_password_set);
    let log = task_log(&client, "pve1", &task).await;
    assert!(
        log.contains(&format!(
            "extracting archive '/var/lib/vz/template/cache/{}'",
            CT_TEMPLATE.rsplit('/').next().unwrap()
        )),
        "{log:?}"
    );
    let volumes = ok(
        &client,
        "GET",
        "/nodes/{node}/storage/{storage}/content",
        &["pve1", "local-lvm"],
        &[("vmid", "160")],
    )
    .await;
    assert_eq!(volumes[0]["volid"], "local-lvm:vm-160-disk-0");
    assert_eq!(volumes[0]["content"], "rootdir");
    assert_eq!(volumes[0]["size"], 8u64 << 30);
}

#[tokio::test(flavor = "multi_thread")]
async fn container_clone_locks_the_source_and_creates_the_target_before_the_upid() {
    let cluster = cluster().await;
    let client = client(&cluster, "pve1");
    stop(&client, "102").await;
    cluster
        .add_fault(Fault::SlowClone {
            vmid: Some(102),
            seconds: 100_000.0,
        })
        .unwrap();
    let clone = |newid: &'static str| {
        let client = client.clone();
        async move {
            upid(
                &ok(
                    &client,
                    "POST",
                    "/nodes/{node}/lxc/{vmid}/clone",
                    &["pve1", "102"],
                    &[("newid", newid), ("hostname", "dns-copy")],
                )
                .await,
            )
        }
    };

    let task = clone("180").await;
    assert!(task.contains(":vzclone:102:"), "{task}");
    assert_eq!(ct_config(&client, 102).await["lock"], "disk");
    assert_eq!(ct_config(&client, 180).await["lock"], "create");
    let status = ok(
        &client,
        "GET",
        "/nodes/{node}/tasks/{upid}/status",
        &["pve1", &task],
        &[],
    )
    .await;
    assert_eq!(status["status"], "running");
    ok(
        &client,
        "DELETE",
        "/nodes/{node}/tasks/{upid}",
        &["pve1", &task],
        &[],
    )
    .await;
    let stopped = wait(&client, "pve1", &task).await;
    assert_eq!(stopped["exitstatus"], "clone failed: interrupted by signal");
    assert!(ct_config(&client, 102).await.get("lock").is_none());
    let gone = call(
        &client,
        "GET",
        "/nodes/{node}/lxc/{vmid}/config",
        &["pve1", "180"],
        &[],
    )
    .await;
    assert_eq!(
        gone.status, 500,
        "the failed clone is removed: {}",
        gone.body
    );

    cluster.clear_faults().unwrap();
    let task = clone("181").await;
    wait_ok(&client, "pve1", &task).await;
    let source = ct_config(&client, 102).await;
    let copy = ct_config(&client, 181).await;
    assert!(source.get("lock").is_none() && copy.get("lock").is_none());
    assert_eq!(copy["hostname"], "dns-copy");
    assert_eq!(copy["rootfs"], "local-lvm:vm-181-disk-0,size=8G");
    let mac = |config: &Value| {
        config["net0"]
            .as_str()
            .unwrap()
            .split(',')
            .find_map(|part| part.strip_prefix("hwaddr="))
            .unwrap()
            .to_string()
    };
    assert_ne!(mac(&copy), mac(&source), "a clone gets a new MAC");
}

#[tokio::test(flavor = "multi_thread")]
async fn container_template_answers_null_and_sets_template_last() {
    let cluster = cluster().await;
    let client = client(&cluster, "pve1");
    stop(&client, "102").await;
    let resp = call(
        &client,
        "POST",
        "/nodes/{node}/lxc/{vmid}/template",
        &["pve1", "102"],
        &[],
    )
    .await;
    assert_eq!(resp.status, 200, "{}", resp.body);
    assert_eq!(resp.body, r#"{"data":null}"#);
    let done = eventually("CT 102 becomes a template", || async {
        let config = ct_config(&client, 102).await;
        (config["template"] == 1).then_some(config)
    })
    .await;
    assert_eq!(done["rootfs"], "local-lvm:base-102-disk-0,size=8G");
    let tasks = ok(
        &client,
        "GET",
        "/nodes/{node}/tasks",
        &["pve1"],
        &[("source", "all"), ("typefilter", "vztemplate")],
    )
    .await;
    let task = tasks[0]["upid"].as_str().unwrap().to_string();
    wait_ok(&client, "pve1", &task).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn container_config_put_is_synchronous() {
    let cluster = cluster().await;
    let client = client(&cluster, "pve1");
    let answer = ok(
        &client,
        "PUT",
        "/nodes/{node}/lxc/{vmid}/config",
        &["pve1", "102"],
        &[("memory", "1024"), ("hostname", "dns-renamed")],
    )
    .await;
    assert_eq!(answer, Value::Null);
    let now = ok(
        &client,
        "GET",
        "/nodes/{node}/lxc/{vmid}/config",
        &["pve1", "102"],
        &[("current", "1")],
    )
    .await;
    assert_eq!(now["memory"], 1024, "a running CT takes memory at once");
    assert_eq!(now["hostname"], "dns-renamed");
    let resp = call(
        &client,
        "POST",
        "/nodes/{node}/lxc/{vmid}/config",
        &["pve1", "102"],
        &[("memory", "2048")],
    )
    .await;
    assert_eq!(resp.status, 501, "containers have no POST config");
    assert_eq!(
        resp.reason,
        "Method 'POST /nodes/pve1/lxc/102/config' not implemented"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_running_container_is_removed_only_with_force() {
    let cluster = cluster().await;
    let client = client(&cluster, "pve1");
    let resp = call(
        &client,
        "DELETE",
        "/nodes/{node}/lxc/{vmid}",
        &["pve1", "102"],
        &[],
    )
    .await;
    assert_error(
        &resp,
        500,
        "unable to destroy CT 102 - container is running",
    );
    let task = upid(
        &ok(
            &client,
            "DELETE",
            "/nodes/{node}/lxc/{vmid}",
            &["pve1", "102"],
            &[("force", "1")],
        )
        .await,
    );
    assert!(task.contains(":vzdestroy:102:"), "{task}");
    wait_ok(&client, "pve1", &task).await;
    let gone = call(
        &client,
        "GET",
        "/nodes/{node}/lxc/{vmid}/config",
        &["pve1", "102"],
        &[],
    )
    .await;
    assert_eq!(gone.status, 500, "{}", gone.body);
}
