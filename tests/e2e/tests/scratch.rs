//! `pvectl vm create` without a template and `pvectl ct create` through the
//! real binaries: the guest lands with the asked hardware on the asked (or
//! the placed) node, outside every template range; a container gets root's
//! keys and password without the password reaching any config, journal or
//! output; a lost VMID is retried; `--no-wait` hands back an operation that
//! `task watch` follows, also across an agent restart; and all of it also
//! works in API-only mode.
use std::time::Duration;

use pve_sim::agents::FleetOptions;
use pve_sim::model::SimOptions;
use pve_sim::seed::{CT_TEMPLATE, ISO};
use pve_sim::{Fault, RaceShape};
use pvectl_e2e::{Run, Sandbox, config_value, wait_for};
use pvectl_proto::routing::{Vmid, in_any_template_range};
use serde_json::Value;

const PASSWORD: &str = "correct-horse-battery";
const KEYS: &str = "# the admins\nssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl ana@lab\nssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBbbqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl ben@lab\n";

/// Runs a create that must succeed (with `-o json`) and returns its result.
async fn created(sandbox: &Sandbox, args: &[&str]) -> (Value, u32, Run) {
    let mut args = args.to_vec();
    args.extend(["-o", "json"]);
    let run = sandbox.pvectl(&args).await;
    assert_eq!(run.code, 0, "{run}");
    let result = run.json();
    let vmid = u32::try_from(result["vmid"].as_u64().expect("a vmid")).unwrap();
    assert!(
        !in_any_template_range(Vmid::new(vmid).unwrap(), &[1, 2, 3]),
        "{vmid} lies in a template range"
    );
    (result, vmid, run)
}

#[tokio::test(flavor = "multi_thread")]
async fn a_vm_from_scratch_lands_on_its_node_with_the_asked_hardware() {
    let sandbox = Sandbox::three_nodes().await.unwrap();
    let before = sandbox.vmids();
    let iso = format!("--iso={ISO}");
    let (result, vmid, _) = created(
        &sandbox,
        &[
            "vm",
            "create",
            "build1",
            "--node",
            "pve2",
            "--cores",
            "4",
            "--memory",
            "4096",
            "--disk",
            "local-lvm:8",
            "--disk",
            "local:2",
            "--net",
            "bridge=vmbr0,tag=42,firewall=1",
            &iso,
            "--ostype",
            "l26",
            "--tag",
            "CI",
        ],
    )
    .await;
    assert!(!before.contains(&vmid));
    assert_eq!(
        (&result["node"], &result["name"], &result["kind"]),
        (
            &Value::from("pve2"),
            &Value::from("build1"),
            &Value::from("qemu")
        )
    );
    let text = sandbox.config_text("pve2", vmid).expect("config on pve2");
    let value = |key| config_value(&text, key);
    assert_eq!(value("lock"), None, "{text}");
    assert_eq!(value("template"), None, "{text}");
    assert_eq!(value("cores").as_deref(), Some("4"));
    assert_eq!(value("memory").as_deref(), Some("4096"));
    assert_eq!(value("ostype").as_deref(), Some("l26"));
    assert_eq!(value("tags").as_deref(), Some("ci"));
    assert_eq!(value("scsihw").as_deref(), Some("virtio-scsi-single"));
    assert_eq!(
        value("scsi0"),
        Some(format!("local-lvm:vm-{vmid}-disk-0,size=8G"))
    );
    assert_eq!(
        value("scsi1"),
        Some(format!("local:{vmid}/vm-{vmid}-disk-0.qcow2,size=2G"))
    );
    assert_eq!(value("ide2"), Some(format!("{ISO},media=cdrom")));
    let net0 = value("net0").expect("a NIC");
    assert!(
        net0.starts_with("virtio=") && net0.ends_with(",bridge=vmbr0,firewall=1,tag=42"),
        "{net0}"
    );
    assert_eq!(
        value("boot").as_deref(),
        Some("order=scsi0;ide2;net0"),
        "{text}"
    );
    // the create task is PVE's qmcreate on pve2
    let upid = result["upid"].as_str().unwrap();
    assert!(
        upid.contains(":qmcreate:") && upid.starts_with("UPID:pve2:"),
        "{upid}"
    );
    let guest = sandbox
        .pvectl(&["vm", "get", &vmid.to_string(), "-o", "json"])
        .await;
    assert_eq!(guest.code, 0, "{guest}");
    assert_eq!(guest.json()["status"], "stopped", "{guest}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_vm_without_a_node_is_placed_by_free_memory_and_started() {
    let sandbox = Sandbox::three_nodes().await.unwrap();
    let (result, vmid, run) = created(
        &sandbox,
        &[
            "vm",
            "create",
            "build2",
            "--disk",
            "local-lvm:1",
            "--net",
            "bridge=vmbr0",
            "--start",
        ],
    )
    .await;
    let node = result["node"].as_str().unwrap();
    assert!(
        run.stderr
            .contains(&format!("creating vm build2 on {node} (most free memory, ")),
        "the placement is not said: {run}"
    );
    assert_eq!(result["started"], true);
    let guest = sandbox
        .pvectl(&["vm", "get", &vmid.to_string(), "-o", "json"])
        .await;
    assert_eq!(guest.json()["status"], "running", "{guest}");
    assert!(sandbox.config_text(node, vmid).is_some());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_container_gets_roots_keys_and_password_and_the_password_goes_nowhere_else() {
    let sandbox = Sandbox::three_nodes().await.unwrap();
    let keys = sandbox.cluster.dir().join("admins.pub");
    std::fs::write(&keys, KEYS).unwrap();
    let password = sandbox.cluster.dir().join("root.pw");
    std::fs::write(&password, format!("{PASSWORD}\n")).unwrap();
    let ostemplate = format!("--ostemplate={CT_TEMPLATE}");
    let keys_arg = format!("--ssh-public-keys={}", keys.display());
    let password_arg = format!("--password-file={}", password.display());
    let (result, vmid, run) = created(
        &sandbox,
        &[
            "ct",
            "create",
            "dns9",
            "--node",
            "pve3",
            &ostemplate,
            "--rootfs",
            "local-lvm:8",
            "--net",
            "name=eth0,bridge=vmbr0,ip=10.0.0.53/24,gw=10.0.0.1",
            &keys_arg,
            &password_arg,
            "--cores",
            "2",
            "--memory",
            "1024",
            "--swap",
            "256",
            "--tag",
            "dns",
            "--start",
        ],
    )
    .await;
    assert_eq!(
        (&result["node"], &result["name"], &result["kind"]),
        (
            &Value::from("pve3"),
            &Value::from("dns9"),
            &Value::from("lxc")
        )
    );
    assert_eq!(result["started"], true);
    let text = sandbox
        .ct_config_text("pve3", vmid)
        .expect("the CT's config");
    let value = |key| config_value(&text, key);
    assert_eq!(value("lock"), None, "{text}");
    assert_eq!(value("hostname").as_deref(), Some("dns9"));
    assert_eq!(value("unprivileged").as_deref(), Some("1"));
    assert_eq!(value("cores").as_deref(), Some("2"));
    assert_eq!(value("memory").as_deref(), Some("1024"));
    assert_eq!(value("swap").as_deref(), Some("256"));
    assert_eq!(value("tags").as_deref(), Some("dns"));
    assert_eq!(
        value("rootfs"),
        Some(format!("local-lvm:vm-{vmid}-disk-0,size=8G"))
    );
    let net0 = value("net0").expect("an interface");
    assert!(
        net0.starts_with("name=eth0,bridge=vmbr0,gw=10.0.0.1,ip=10.0.0.53/24,hwaddr="),
        "{net0}"
    );
    // vzcreate wrote both into the container's root file system
    let guest = sandbox.cluster.sim().state().guests.get(&vmid).cloned();
    let guest = guest.expect("the CT in the model");
    let expected_keys: Vec<&str> = KEYS.lines().filter(|l| l.starts_with("ssh-")).collect();
    assert_eq!(guest.authorized_keys, Some(expected_keys.join("\n")));
    assert!(guest.root_password_set);
    // and the password is nowhere else
    assert!(!text.contains(PASSWORD));
    assert!(!run.stdout.contains(PASSWORD) && !run.stderr.contains(PASSWORD));
    for node in ["pve1", "pve2", "pve3"] {
        let journal = std::fs::read_to_string(sandbox.journal_path(node)).unwrap_or_default();
        assert!(!journal.contains(PASSWORD), "{node}'s journal holds it");
        let log = sandbox
            .cluster
            .dir()
            .join("agents")
            .join(node)
            .join("agent.log");
        let log = std::fs::read_to_string(log).expect("the agent log");
        assert!(!log.contains(PASSWORD), "{node}'s agent log holds it");
    }
    let journaled = sandbox
        .journal_entries("pve3")
        .into_iter()
        .find(|e| e["action"] == "ct.create" && e["operation"]["phase"] == "start")
        .expect("the create's start in pve3's journal");
    let detail: Value = serde_json::from_str(journaled["detail"].as_str().unwrap()).unwrap();
    assert_eq!(detail["password_set"], true, "{detail}");
    let log = sandbox
        .task_log(result["upid"].as_str().unwrap())
        .unwrap()
        .join("\n");
    assert!(!log.contains(PASSWORD), "{log}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_create_from_scratch_that_loses_its_vmid_retries_with_the_next() {
    // every second new VMID goes to a foreign create on pve2 first
    let sandbox = Sandbox::start(Sandbox::fast().fault(Fault::RaceCreates {
        node: "pve2".into(),
        shape: RaceShape::BeforeRequest,
        every: 2,
    }))
    .await
    .unwrap();
    let args = ["--node", "pve1", "--disk", "local-lvm:1"];
    let first = created(&sandbox, &[&["vm", "create", "one"][..], &args].concat()).await;
    let (_, second, run) = created(&sandbox, &[&["vm", "create", "two"][..], &args].concat()).await;
    assert!(
        run.stderr.contains("already exists on node 'pve2'")
            && run.stderr.contains("retrying with"),
        "no retry shown: {run}"
    );
    assert_ne!(first.1, second);
    let text = sandbox.config_text("pve1", second).expect("the second VM");
    assert_eq!(config_value(&text, "name").as_deref(), Some("two"));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_container_create_survives_an_agent_restart_and_task_watch_sees_it_end() {
    // each disk allocation holds the storage for 300 simulated seconds: 3 s here
    let options = SimOptions {
        storage_lock_hold: Duration::from_secs(300),
        ..SimOptions::default()
    };
    let mut sandbox = Sandbox::start(Sandbox::fast().options(options))
        .await
        .unwrap();
    let ostemplate = format!("--ostemplate={CT_TEMPLATE}");
    let started = sandbox
        .pvectl(&[
            "ct",
            "create",
            "web9",
            "--node",
            "pve1",
            &ostemplate,
            "--no-wait",
            "-o",
            "json",
        ])
        .await;
    assert_eq!(started.code, 0, "{started}");
    let opid = started.json()["operation_id"]
        .as_str()
        .expect("an operation id")
        .to_owned();
    let create_mark = |sandbox: &Sandbox| {
        sandbox.journal_entries("pve1").iter().any(|entry| {
            entry["action"] == "ct.create.create" && entry["operation"]["id"] == opid.as_str()
        })
    };
    wait_for(
        "the create mark in pve1's journal",
        Duration::from_secs(30),
        || create_mark(&sandbox),
    )
    .await;
    let binary = sandbox.fleet.binary().to_path_buf();
    let agent = sandbox.fleet.agent("pve1").unwrap();
    agent.kill().await;
    agent.start(&binary).await.unwrap();

    let watched = sandbox
        .pvectl(&["task", "watch", &opid, "-o", "json"])
        .await;
    assert_eq!(watched.code, 0, "{watched}");
    assert!(watched.stderr.contains("the agent restarted"), "{watched}");
    let result = watched.json();
    assert_eq!(result["kind"], "lxc", "{watched}");
    let vmid = u32::try_from(result["vmid"].as_u64().unwrap()).unwrap();
    let text = sandbox
        .ct_config_text("pve1", vmid)
        .expect("the CT's config");
    assert_eq!(config_value(&text, "lock"), None, "{text}");
    assert_eq!(
        config_value(&text, "rootfs"),
        Some(format!("local:{vmid}/vm-{vmid}-disk-0.raw,size=4G")),
        "PVE's default root disk: {text}"
    );
    let verify = sandbox.pvectl(&["audit", "verify"]).await;
    assert_eq!(verify.code, 0, "{verify}");
}

#[tokio::test(flavor = "multi_thread")]
async fn in_api_only_mode_guests_from_scratch_and_promotions_succeed() {
    let options = FleetOptions {
        api_only: true,
        ..FleetOptions::default()
    };
    let sandbox = Sandbox::start_with(Sandbox::fast(), options).await.unwrap();
    let (_, vm, _) = created(
        &sandbox,
        &[
            "vm",
            "create",
            "plain1",
            "--node",
            "pve2",
            "--disk",
            "local-lvm:2",
            "--net",
            "bridge=vmbr0",
        ],
    )
    .await;
    let text = sandbox.config_text("pve2", vm).expect("the VM's config");
    assert_eq!(
        config_value(&text, "scsi0"),
        Some(format!("local-lvm:vm-{vm}-disk-0,size=2G"))
    );
    let ostemplate = format!("--ostemplate={CT_TEMPLATE}");
    let (_, ct, _) = created(
        &sandbox,
        &["ct", "create", "plain2", "--node", "pve2", &ostemplate],
    )
    .await;
    assert!(sandbox.ct_config_text("pve2", ct).is_some());
    let promoted = sandbox
        .pvectl(&["template", "promote", &vm.to_string(), "-o", "json"])
        .await;
    assert_eq!(promoted.code, 0, "{promoted}");
    assert_eq!(promoted.json()["vmid"], 9202, "{promoted}");
    let text = sandbox.config_text("pve2", 9202).expect("the template");
    assert_eq!(
        config_value(&text, "template").as_deref(),
        Some("1"),
        "{text}"
    );
}
