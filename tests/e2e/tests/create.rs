//! `pvectl vm create` succeeding through the real binaries: on a named
//! node, placed by free memory, by template VMID, linked, started, and
//! with its hardware and tags applied — each checked in the node's own
//! pmxcfs view and through `pvectl vm get`.
use pvectl_e2e::{Run, Sandbox, config_value};
use pvectl_proto::routing::{Vmid, in_any_template_range};
use serde_json::Value;

/// Runs a create that must succeed (with `-o json`) and returns its result.
async fn created(sandbox: &Sandbox, args: &[&str]) -> (Value, Run) {
    let mut args = args.to_vec();
    args.extend(["-o", "json"]);
    let run = sandbox.pvectl(&args).await;
    assert_eq!(run.code, 0, "{run}");
    let result = run.json();
    let vmid = vmid_of(&result);
    assert!(
        !in_any_template_range(Vmid::new(vmid).unwrap(), &[1, 2, 3]),
        "{vmid} lies in a template range"
    );
    (result, run)
}

fn vmid_of(result: &Value) -> u32 {
    u32::try_from(result["vmid"].as_u64().expect("a vmid in the result")).unwrap()
}

/// `vm get VMID -o json`, which must succeed.
async fn guest(sandbox: &Sandbox, vmid: u32) -> Value {
    let run = sandbox
        .pvectl(&["vm", "get", &vmid.to_string(), "-o", "json"])
        .await;
    assert_eq!(run.code, 0, "{run}");
    run.json()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_create_on_a_named_node_clones_that_nodes_template_there() {
    let sandbox = Sandbox::three_nodes().await.unwrap();
    let before = sandbox.vmids();
    let (result, _) = created(
        &sandbox,
        &[
            "vm",
            "create",
            "app1",
            "--template",
            "ubuntu-24.04",
            "--node",
            "pve2",
        ],
    )
    .await;
    let vmid = vmid_of(&result);
    assert_eq!(result["node"], "pve2");
    assert_eq!(result["name"], "app1");
    assert_eq!(result["started"], false);
    assert!(!before.contains(&vmid));
    let text = sandbox.config_text("pve2", vmid).expect("config on pve2");
    assert_eq!(config_value(&text, "name").as_deref(), Some("app1"));
    assert_eq!(config_value(&text, "lock"), None);
    let scsi0 = config_value(&text, "scsi0").expect("the boot disk");
    assert!(
        scsi0.starts_with(&format!("local-lvm:vm-{vmid}-disk-")),
        "{scsi0}"
    );
    // the clone's own template is pve2's, in pve2's range
    let log = sandbox.task_log(result["upid"].as_str().unwrap()).unwrap();
    assert!(
        log.iter().any(|line| line.contains("base-9200-disk-0")),
        "{log:#?}"
    );
    let guest = guest(&sandbox, vmid).await;
    assert_eq!(
        (&guest["node"], &guest["name"], &guest["status"]),
        (
            &Value::from("pve2"),
            &Value::from("app1"),
            &Value::from("stopped")
        )
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_create_without_a_node_is_placed_and_says_where_on_stderr() {
    let sandbox = Sandbox::three_nodes().await.unwrap();
    let (result, run) = created(
        &sandbox,
        &["vm", "create", "app2", "--template", "debian-12"],
    )
    .await;
    let node = result["node"].as_str().unwrap();
    assert!(
        run.stderr
            .contains("template debian-12 is on pve1 (9101), pve2 (9201), pve3 (9301)"),
        "{run}"
    );
    assert!(
        run.stderr.contains(&format!("creating on {node} (")),
        "the chosen node is not named: {run}"
    );
    let vmid = vmid_of(&result);
    let text = sandbox.config_text(node, vmid).expect("config on the node");
    assert_eq!(config_value(&text, "name").as_deref(), Some("app2"));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_template_vmid_routes_the_create_to_the_node_owning_its_range() {
    let sandbox = Sandbox::three_nodes().await.unwrap();
    let (result, _) = created(&sandbox, &["vm", "create", "app3", "--template", "9301"]).await;
    assert_eq!(result["node"], "pve3");
    let vmid = vmid_of(&result);
    assert!(sandbox.config_text("pve3", vmid).is_some());
    let log = sandbox.task_log(result["upid"].as_str().unwrap()).unwrap();
    assert!(
        log.iter().any(|line| line.contains("base-9301-disk-0")),
        "{log:#?}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_linked_create_gives_a_disk_linked_to_the_templates_base_volume() {
    let sandbox = Sandbox::three_nodes().await.unwrap();
    let (result, _) = created(
        &sandbox,
        &[
            "vm",
            "create",
            "app4",
            "--template",
            "ubuntu-24.04",
            "--node",
            "pve1",
            "--linked",
        ],
    )
    .await;
    let vmid = vmid_of(&result);
    let text = sandbox.config_text("pve1", vmid).expect("config on pve1");
    let scsi0 = config_value(&text, "scsi0").expect("the boot disk");
    let volid = scsi0.split(',').next().unwrap().to_owned();
    assert!(
        volid.starts_with(&format!("local-lvm:vm-{vmid}-disk-")),
        "{scsi0}"
    );
    let log = sandbox.task_log(result["upid"].as_str().unwrap()).unwrap();
    assert!(
        log.iter()
            .any(|line| line == "create linked clone of drive scsi0 (local-lvm:base-9100-disk-0)"),
        "{log:#?}"
    );
    // a thin linked volume holds no blocks of its own; a full copy would
    let sim = sandbox.cluster.sim();
    let state = sim.state();
    let storage = state.storage("local-lvm").unwrap();
    let volume = state
        .volumes
        .get(storage, "pve1", &volid)
        .expect("the disk's volume exists on pve1");
    assert_eq!(volume.size, 0, "{volume:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_create_with_start_leaves_the_guest_running() {
    let sandbox = Sandbox::three_nodes().await.unwrap();
    let (result, _) = created(
        &sandbox,
        &[
            "vm",
            "create",
            "app5",
            "--template",
            "ubuntu-24.04",
            "--node",
            "pve3",
            "--start",
        ],
    )
    .await;
    assert_eq!(result["started"], true);
    let guest = guest(&sandbox, vmid_of(&result)).await;
    assert_eq!(guest["status"], "running", "{guest}");
    assert_eq!(guest["node"], "pve3");
}

#[tokio::test(flavor = "multi_thread")]
async fn cores_memory_and_tags_are_written_to_the_new_config() {
    let sandbox = Sandbox::three_nodes().await.unwrap();
    let (result, _) = created(
        &sandbox,
        &[
            "vm",
            "create",
            "app6",
            "--template",
            "debian-12",
            "--node",
            "pve1",
            "--cores",
            "4",
            "--memory",
            "3072",
            "--tag",
            "web",
            "--tag",
            "prod",
        ],
    )
    .await;
    let vmid = vmid_of(&result);
    let text = sandbox.config_text("pve1", vmid).expect("config on pve1");
    assert_eq!(config_value(&text, "cores").as_deref(), Some("4"), "{text}");
    assert_eq!(
        config_value(&text, "memory").as_deref(),
        Some("3072"),
        "{text}"
    );
    let tags = config_value(&text, "tags").expect("tags in the config");
    let mut tags: Vec<&str> = tags.split([';', ',', ' ']).collect();
    tags.sort_unstable();
    assert_eq!(tags, ["prod", "web"], "{text}");
    let guest = guest(&sandbox, vmid).await;
    let mut shown: Vec<String> = serde_json::from_value(guest["tags"].clone()).unwrap();
    shown.sort();
    assert_eq!(shown, ["prod", "web"]);
}
