//! Every typed call, against a healthy simulated cluster.

use std::os::unix::fs::PermissionsExt;
use std::time::{Duration, Instant};

use pve_sim::Fault;
use pvectl_agent::config::AgentConfig;
use pvectl_agent::pmxcfs::GuestKind;
use pvectl_agent::pve_api::{
    CloneRequest, DeleteOptions, GuestAction, Params, PveClient, PveError, TaskExit, TaskFilter,
};

use super::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn version_and_cluster_status_come_over_verified_tls_with_the_token() {
    let cluster = cluster().await;
    let client = client(&cluster);
    let version = client.version().await.unwrap();
    assert!(version.version.starts_with('9'), "{version:?}");

    let status = client.cluster_status().await.unwrap();
    let nodes: Vec<_> = status.iter().filter(|entry| entry.kind == "node").collect();
    assert_eq!(nodes.len(), 3);
    assert!(nodes.iter().all(|node| node.online));
    let local: Vec<_> = nodes
        .iter()
        .filter(|node| node.local)
        .map(|node| node.name.as_str())
        .collect();
    assert_eq!(local, [NODE]);
    assert_eq!(
        nodes.iter().map(|node| node.nodeid).collect::<Vec<_>>(),
        [Some(1), Some(2), Some(3)]
    );
    let cluster_entry = status.iter().find(|entry| entry.kind == "cluster").unwrap();
    assert!(cluster_entry.quorate);
    assert_eq!(cluster_entry.nodes, Some(3));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cluster_vms_lists_guests_and_templates_of_every_node() {
    let cluster = cluster().await;
    let vms = client(&cluster).cluster_vms().await.unwrap();
    let template = vms.iter().find(|vm| vm.vmid == TEMPLATE).unwrap();
    assert!(template.template);
    assert_eq!(template.node, NODE);
    assert_eq!(template.kind, "qemu");
    assert_eq!(template.name.as_deref(), Some("ubuntu-24.04"));
    assert!(vms.iter().any(|vm| vm.vmid == 9300 && vm.node == "pve3"));
    assert!(vms.iter().any(|vm| vm.kind == "lxc"));
    let web = vms.iter().find(|vm| vm.vmid == 100).unwrap();
    assert_eq!(web.status.as_deref(), Some("running"));
    assert_eq!(web.tags.as_deref(), Some("prod;web"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn next_id_gives_the_lowest_free_id_and_checks_a_requested_one() {
    let cluster = cluster().await;
    let client = client(&cluster);
    let free = client.next_id(None).await.unwrap();
    assert!(free >= 100);
    let vms = client.cluster_vms().await.unwrap();
    assert!(vms.iter().all(|vm| vm.vmid != free));
    assert!(
        (100..free).all(|id| vms.iter().any(|vm| vm.vmid == id)),
        "{free} is not the lowest"
    );

    assert_eq!(client.next_id(Some(4242)).await.unwrap(), 4242);
    let taken = client.next_id(Some(100)).await.unwrap_err();
    let errors = taken.field_errors().expect("a per-field error");
    assert_eq!(errors["vmid"], "VM 100 already exists");
    assert!(!taken.is_retryable());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn node_and_storage_calls_decode_pves_shapes() {
    let cluster = cluster().await;
    let client = client(&cluster);
    let node = client.node_status(NODE).await.unwrap();
    assert!(node.memory.total > 0 && node.memory.total >= node.memory.used);
    assert_eq!(node.cpuinfo.cpus, 16);

    let storages = client.storage_list(NODE, Some("images")).await.unwrap();
    let ids: Vec<_> = storages
        .iter()
        .filter_map(|s| s.storage.as_deref())
        .collect();
    assert!(ids.contains(&"local-lvm"), "{ids:?}");
    assert!(storages.iter().all(|storage| storage.allows("images")));

    let lvm = client.storage_status(NODE, "local-lvm").await.unwrap();
    assert_eq!(lvm.storage.as_deref(), Some("local-lvm"));
    assert_eq!(lvm.kind, "lvmthin");
    assert!(lvm.active && lvm.enabled && !lvm.shared);
    assert!(lvm.avail.unwrap() < lvm.total.unwrap());

    let volumes = client
        .storage_content(NODE, "local-lvm", None, Some(TEMPLATE))
        .await
        .unwrap();
    assert!(
        volumes
            .iter()
            .any(|v| v.volid == format!("local-lvm:base-{TEMPLATE}-disk-0")),
        "{volumes:?}"
    );
    assert!(volumes.iter().all(|v| v.vmid == Some(TEMPLATE)));

    let missing = client.storage_status(NODE, "nope").await.unwrap_err();
    assert!(matches!(missing, PveError::NotFound { .. }), "{missing:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn guest_config_reads_writes_and_shows_pending_changes() {
    let cluster = cluster().await;
    let client = client(&cluster);
    let config = client
        .guest_config(NODE, GuestKind::Qemu, TEMPLATE)
        .await
        .unwrap();
    assert_eq!(config.get("template"), Some("1"));
    assert_eq!(config.get("name"), Some("ubuntu-24.04"));
    assert!(config.digest().is_some());

    let before = client
        .guest_config(NODE, GuestKind::Qemu, STOPPED_VM)
        .await
        .unwrap();
    client
        .put_guest_config(
            NODE,
            GuestKind::Qemu,
            STOPPED_VM,
            &Params::new()
                .int("cores", 6)
                .text("digest", before.digest().unwrap()),
        )
        .await
        .unwrap();
    let after = client
        .guest_config(NODE, GuestKind::Qemu, STOPPED_VM)
        .await
        .unwrap();
    assert_eq!(after.get("cores"), Some("6"));
    assert_ne!(after.digest(), before.digest());

    let stale = client
        .put_guest_config(
            NODE,
            GuestKind::Qemu,
            STOPPED_VM,
            &Params::new()
                .int("cores", 8)
                .text("digest", before.digest().unwrap()),
        )
        .await
        .unwrap_err();
    assert!(
        stale.pve_message().unwrap().contains("other user"),
        "{stale}"
    );
    assert!(
        !stale.is_retryable(),
        "a stale digest needs a re-read, not a retry"
    );

    let upid = client
        .post_qemu_config(NODE, STOPPED_VM, &Params::new().int("memory", 2048))
        .await
        .unwrap();
    if let Some(upid) = upid {
        assert_eq!(wait_task(&client, &upid).await, TaskExit::Ok);
    }
    let pending = client
        .pending(NODE, GuestKind::Qemu, STOPPED_VM)
        .await
        .unwrap();
    let memory = pending.iter().find(|entry| entry.key == "memory").unwrap();
    assert_eq!(memory.value.as_deref(), Some("2048"));

    let lxc = client
        .guest_config(NODE, GuestKind::Lxc, 102)
        .await
        .unwrap();
    assert_eq!(lxc.get("hostname"), Some("dns1"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn status_actions_return_upids_whose_tasks_finish() {
    let cluster = cluster().await;
    let client = client(&cluster);
    let current = client
        .status_current(NODE, GuestKind::Qemu, STOPPED_VM)
        .await
        .unwrap();
    assert_eq!(current.status, "stopped");

    let upid = client
        .status_action(
            NODE,
            GuestKind::Qemu,
            STOPPED_VM,
            GuestAction::Start,
            &Params::new(),
        )
        .await
        .unwrap();
    assert!(
        upid.starts_with("UPID:pve1:") && upid.contains(":qmstart:101:"),
        "{upid}"
    );
    assert_eq!(wait_task(&client, &upid).await, TaskExit::Ok);
    let current = client
        .status_current(NODE, GuestKind::Qemu, STOPPED_VM)
        .await
        .unwrap();
    assert_eq!(current.status, "running");
    assert!(current.pid.is_some());

    let again = client
        .status_action(
            NODE,
            GuestKind::Qemu,
            STOPPED_VM,
            GuestAction::Start,
            &Params::new(),
        )
        .await
        .unwrap();
    assert_eq!(
        wait_task(&client, &again).await,
        TaskExit::Failed("VM 101 already running".to_owned())
    );

    let stop = client
        .status_action(
            NODE,
            GuestKind::Qemu,
            STOPPED_VM,
            GuestAction::Stop,
            &Params::new().int("timeout", 5),
        )
        .await
        .unwrap();
    assert_eq!(wait_task(&client, &stop).await, TaskExit::Ok);
    let listed = client
        .tasks(
            NODE,
            &TaskFilter {
                vmid: Some(STOPPED_VM),
                source: Some("all".to_owned()),
                ..TaskFilter::default()
            },
        )
        .await
        .unwrap();
    for upid in [&upid, &again, &stop] {
        assert!(
            listed.iter().any(|task| &task.upid == upid),
            "{upid} not listed"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clone_from_a_template_then_delete_with_query_parameters() {
    let cluster = cluster().await;
    let client = client(&cluster);
    let newid = client.next_id(None).await.unwrap();
    let upid = client
        .clone_guest(
            NODE,
            GuestKind::Qemu,
            TEMPLATE,
            &CloneRequest {
                newid,
                name: Some("web7".to_owned()),
                full: Some(true),
                storage: Some("local-lvm".to_owned()),
                ..CloneRequest::default()
            },
        )
        .await
        .unwrap();
    assert!(upid.contains(&format!(":qmclone:{TEMPLATE}:")), "{upid}");
    assert_eq!(wait_task(&client, &upid).await, TaskExit::Ok);

    let log = client.task_log(NODE, &upid, 0, 0).await.unwrap();
    assert_eq!(log.total, log.lines.len() as u64);
    assert_eq!(log.lines.first().map(|line| line.n), Some(1));
    assert_eq!(
        log.lines.last().map(|line| line.t.as_str()),
        Some("TASK OK")
    );
    let tail = client
        .task_log(NODE, &upid, log.total - 1, 1)
        .await
        .unwrap();
    assert_eq!(tail.lines.len(), 1);
    assert_eq!(tail.lines[0].n, log.total);
    assert_eq!(tail.total, log.total);

    let config = client
        .guest_config(NODE, GuestKind::Qemu, newid)
        .await
        .unwrap();
    assert_eq!(config.get("name"), Some("web7"));
    assert!(
        config
            .get("scsi0")
            .unwrap()
            .starts_with(&format!("local-lvm:vm-{newid}-disk-0"))
    );
    assert_eq!(config.get("lock"), None);

    let destroy = client
        .delete_guest(
            NODE,
            GuestKind::Qemu,
            newid,
            &DeleteOptions {
                purge: Some(true),
                destroy_unreferenced_disks: Some(true),
                ..DeleteOptions::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(wait_task(&client, &destroy).await, TaskExit::Ok);
    let gone = client
        .guest_config(NODE, GuestKind::Qemu, newid)
        .await
        .unwrap_err();
    assert!(matches!(gone, PveError::NotFound { .. }), "{gone:?}");
    assert!(gone.pve_message().unwrap().contains("does not exist"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn create_qemu_and_lxc_guests_and_turn_them_into_templates() {
    let cluster = cluster().await;
    let client = client(&cluster);
    let vmid = client.next_id(Some(4000)).await.unwrap();
    let upid = client
        .create_guest(
            NODE,
            GuestKind::Qemu,
            vmid,
            &Params::new()
                .text("name", "base")
                .int("memory", 1024)
                .int("cores", 2),
        )
        .await
        .unwrap();
    assert_eq!(wait_task(&client, &upid).await, TaskExit::Ok);
    let upid = client
        .make_template(NODE, GuestKind::Qemu, vmid)
        .await
        .unwrap()
        .expect("a qmtemplate UPID");
    assert_eq!(wait_task(&client, &upid).await, TaskExit::Ok);
    let config = client
        .guest_config(NODE, GuestKind::Qemu, vmid)
        .await
        .unwrap();
    assert_eq!(config.get("template"), Some("1"));

    let ct = client.next_id(Some(4001)).await.unwrap();
    let upid = client
        .create_guest(
            NODE,
            GuestKind::Lxc,
            ct,
            &Params::new()
                .text(
                    "ostemplate",
                    "local:vztmpl/debian-12-standard_12.7-1_amd64.tar.zst",
                )
                .text("rootfs", "local-lvm:2")
                .text("hostname", "ct1")
                .flag("unprivileged", true),
        )
        .await
        .unwrap();
    assert_eq!(wait_task(&client, &upid).await, TaskExit::Ok);
    // PVE discards the container's vztemplate task id: `template: 1` shows
    // up when that task is done, so wait for the config to say so.
    assert_eq!(
        client
            .make_template(NODE, GuestKind::Lxc, ct)
            .await
            .unwrap(),
        None
    );
    let deadline = Instant::now() + TASK_DEADLINE;
    loop {
        let config = client.guest_config(NODE, GuestKind::Lxc, ct).await.unwrap();
        if config.get("template") == Some("1") {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "container {ct} never became a template"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stopping_a_running_task_interrupts_the_clone() {
    let cluster = cluster().await;
    cluster
        .add_fault(Fault::SlowClone {
            vmid: Some(TEMPLATE),
            seconds: 100_000.0,
        })
        .unwrap();
    let client = client(&cluster);
    let upid = full_clone_of_template(&client).await;
    assert!(client.task_status(NODE, &upid).await.unwrap().is_running());
    client.stop_task(NODE, &upid).await.unwrap();
    let TaskExit::Failed(message) = wait_task(&client, &upid).await else {
        panic!("the stopped clone should fail");
    };
    assert!(message.contains("interrupted by signal"), "{message}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_from_agent_config_reads_the_token_file_and_the_ca_under_pmxcfs() {
    let cluster = cluster().await;
    let dir = tempfile::tempdir().unwrap();
    let token_file = dir.path().join("pve-api-token");
    let sandbox_token = &cluster.sandbox().token;
    std::fs::write(
        &token_file,
        format!("{}={}\n", sandbox_token.id, sandbox_token.secret),
    )
    .unwrap();
    std::fs::set_permissions(&token_file, std::fs::Permissions::from_mode(0o600)).unwrap();
    let node = &cluster.sandbox().nodes[0];
    let text = format!(
        "pmxcfs_root = \"{}\"\n[pve_api]\nurl = \"{}\"\ntoken_file = \"{}\"\n[timeouts]\napi_request = \"5s\"\n",
        node.pmxcfs.display(),
        cluster.url(NODE).unwrap(),
        token_file.display(),
    );
    let config = AgentConfig::parse(&text, &dir.path().join("agent.toml")).unwrap();
    assert!(
        config.pve_ca_path().exists(),
        "{}",
        config.pve_ca_path().display()
    );
    let client = PveClient::from_config(&config).unwrap();
    assert!(client.version().await.is_ok());
}
