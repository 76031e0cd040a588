//! `pvectl vm|ct update` through the real binaries: changes applied to a
//! stopped VM (config POST and its task) and a running container (PUT),
//! changes a running VM cannot hot-plug reported as pending, dry runs and
//! no-ops that leave the config file byte for byte, concurrent changes
//! refused by the digest and never lost, bad keys and values refused
//! before anything is sent, locked guests refused, and the journal entry.
use std::time::Duration;

use pve_sim::agents::FleetOptions;
use pve_sim::model::flocks::{FlockGuard, guest_lock_path};
use pve_sim::pmxcfs::GuestType;
use pve_sim::{Fault, SimCluster};
use pvectl_e2e::{Run, Sandbox, config_value, wait_for};
use serde_json::Value;

/// How long lining requests up behind a held config lock may take.
const LINE_UP: Duration = Duration::from_secs(8);

/// A guest's config file as its node's pmxcfs view holds it.
fn file(sandbox: &Sandbox, kind: GuestType, vmid: u32) -> String {
    let sim = sandbox.cluster.sim();
    let node = sim.state().guests[&vmid].node.clone();
    let view = &sandbox
        .cluster
        .sandbox()
        .nodes
        .iter()
        .find(|n| n.name == node)
        .expect("the guest's node")
        .pmxcfs;
    let path = format!("nodes/{node}/{}/{vmid}.conf", kind.dir_name());
    std::fs::read_to_string(view.join(path)).expect("the config file")
}

/// The `*.update` entries of `node`'s journal.
fn updates(sandbox: &Sandbox, node: &str) -> Vec<Value> {
    sandbox
        .journal_entries(node)
        .into_iter()
        .filter(|entry| {
            entry["action"]
                .as_str()
                .is_some_and(|a| a.ends_with(".update"))
        })
        .collect()
}

/// A journal entry's detail, parsed.
fn detail(entry: &Value) -> Value {
    serde_json::from_str(entry["detail"].as_str().expect("a detail")).expect("JSON detail")
}

/// `key → (old, new, pending)` of a `-o json` result's changes.
fn changes(run: &Run) -> Vec<(String, Value, Value, bool)> {
    run.json()["changes"]
        .as_array()
        .unwrap_or_else(|| panic!("no changes: {run}"))
        .iter()
        .map(|c| {
            (
                c["key"].as_str().unwrap().to_owned(),
                c["old"].clone(),
                c["new"].clone(),
                c["pending"].as_bool().unwrap(),
            )
        })
        .collect()
}

/// Takes `vmid`'s config flock on `node` as a PVE worker holding it would.
async fn hold_config_lock(sandbox: &Sandbox, kind: GuestType, vmid: u32) -> FlockGuard {
    let sim = sandbox.cluster.sim();
    sim.flocks
        .lock(
            &sim.clock,
            "pve1",
            &guest_lock_path(kind, vmid),
            true,
            Duration::from_secs(1),
        )
        .await
        .expect("the config lock is free")
}

/// A sandbox in real time: PVE's 10 s config lock outlasts lining up.
async fn real_time() -> Sandbox {
    Sandbox::start(SimCluster::builder().nodes(3).time_scale(1.0))
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_stopped_vm_takes_every_change_and_the_journal_records_keys_and_values() {
    let sandbox = Sandbox::three_nodes().await.unwrap();
    let run = sandbox
        .pvectl(&[
            "vm",
            "update",
            "101",
            "--cores",
            "4",
            "--memory",
            "8192",
            "--tag",
            "db",
            "--tag",
            "Prod",
            "--set",
            "onboot=yes",
            "--set",
            "cipassword=s3cret",
            "-o",
            "json",
        ])
        .await;
    assert_eq!(run.code, 0, "{run}");
    assert_eq!(run.json()["applied"], true, "{run}");
    assert_eq!(
        changes(&run),
        [
            ("cipassword".into(), Value::Null, "(hidden)".into(), false),
            ("cores".into(), "2".into(), "4".into(), false),
            ("memory".into(), "4096".into(), "8192".into(), false),
            ("onboot".into(), Value::Null, "1".into(), false),
            ("tags".into(), "db".into(), "db;prod".into(), false),
        ]
    );
    // the preview went to stderr beside the JSON document
    assert!(run.stderr.contains("  cores: 2 → 4"), "{run}");
    let text = file(&sandbox, GuestType::Qemu, 101);
    assert_eq!(config_value(&text, "cores").as_deref(), Some("4"));
    assert_eq!(config_value(&text, "memory").as_deref(), Some("8192"));
    assert_eq!(config_value(&text, "onboot").as_deref(), Some("1"));
    assert_eq!(config_value(&text, "tags").as_deref(), Some("db;prod"));
    assert!(!text.contains("[PENDING]"), "{text}");
    assert_eq!(
        run.json()["digest"].as_str().unwrap().len(),
        40,
        "the new digest: {run}"
    );

    let entries = updates(&sandbox, "pve1");
    assert_eq!(entries.len(), 1, "{entries:#?}");
    let entry = &entries[0];
    assert_eq!(
        (&entry["action"], &entry["target"], &entry["outcome"]),
        (&"vm.update".into(), &"vm/101".into(), &"ok".into())
    );
    assert_eq!(entry["actor"], "admin");
    let logged = detail(entry);
    assert_eq!(logged["changes"][1]["key"], "cores");
    assert_eq!(logged["changes"][1]["old"], "2");
    assert_eq!(logged["changes"][1]["new"], "4");
    assert!(logged["upid"].as_str().unwrap().contains(":qmconfig:101:"));
    let journal = std::fs::read_to_string(sandbox.journal_path("pve1")).unwrap();
    assert!(!journal.contains("s3cret"), "a secret reached the journal");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_running_vm_reports_the_changes_it_cannot_hotplug_as_pending() {
    let sandbox = Sandbox::three_nodes().await.unwrap();
    // VM 100 runs: cores wait for a restart, tags apply at once
    let run = sandbox
        .pvectl(&["vm", "update", "100", "--cores", "4", "--tag", "web"])
        .await;
    assert_eq!(run.code, 0, "{run}");
    assert!(run.stdout.contains("VM 100 (web1) on pve1:\n"), "{run}");
    assert!(run.stdout.contains("  cores: 2 → 4\n"), "{run}");
    assert!(run.stdout.contains("  tags: prod;web → web\n"), "{run}");
    assert!(
        run.stdout.contains("VM 100 (web1) on pve1: updated tags\n"),
        "{run}"
    );
    assert!(
        run.stdout
            .contains("VM 100 (web1) on pve1: pending until the VM restarts: cores\n"),
        "{run}"
    );
    assert!(
        !run.stdout.contains('\x1b'),
        "no colors off a terminal: {run}"
    );
    let text = file(&sandbox, GuestType::Qemu, 100);
    assert_eq!(config_value(&text, "cores").as_deref(), Some("2"));
    let pending = text.split("[PENDING]").nth(1).expect("a pending section");
    assert!(pending.contains("cores: 4"), "{text}");
    let logged = detail(&updates(&sandbox, "pve1")[0]);
    assert_eq!(logged["changes"][0]["pending"], true, "{logged}");
    assert_eq!(logged["changes"][1]["pending"], false, "{logged}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_running_container_takes_hot_pluggable_changes_at_once() {
    let sandbox = Sandbox::three_nodes().await.unwrap();
    let run = sandbox
        .pvectl(&[
            "ct",
            "update",
            "102",
            "--memory",
            "1024",
            "--name",
            "dns-one",
            "--set",
            "net0=name=eth0,bridge=vmbr1,ip=10.0.0.5/24,gw=10.0.0.1",
            "-o",
            "json",
        ])
        .await;
    assert_eq!(run.code, 0, "{run}");
    let keys: Vec<(String, bool)> = changes(&run)
        .into_iter()
        .map(|(key, _, _, pending)| (key, pending))
        .collect();
    assert_eq!(
        keys,
        [
            ("hostname".to_owned(), false),
            ("memory".to_owned(), false),
            ("net0".to_owned(), false),
        ],
        "{run}"
    );
    let text = file(&sandbox, GuestType::Lxc, 102);
    assert_eq!(config_value(&text, "memory").as_deref(), Some("1024"));
    assert_eq!(config_value(&text, "hostname").as_deref(), Some("dns-one"));
    assert_eq!(updates(&sandbox, "pve1")[0]["action"], "ct.update");
    // a container is not updated as a VM
    let wrong = sandbox
        .pvectl(&["vm", "update", "102", "--cores", "2"])
        .await;
    assert_eq!(wrong.code, 4, "{wrong}");
    assert!(
        wrong.stderr.contains("use `pvectl ct update 102`"),
        "{wrong}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_dry_run_and_a_no_op_leave_the_config_file_byte_for_byte() {
    let sandbox = Sandbox::three_nodes().await.unwrap();
    let before = file(&sandbox, GuestType::Qemu, 101);
    let run = sandbox
        .pvectl(&[
            "vm",
            "update",
            "101",
            "--cores",
            "6",
            "--delete",
            "tags",
            "--dry-run",
        ])
        .await;
    assert_eq!(run.code, 0, "{run}");
    assert_eq!(
        run.stdout,
        "VM 101 (db1) on pve1:\n  cores: 2 → 6\n  tags: db → (removed)\ndry run: nothing was changed\n",
        "{run}"
    );
    let json = sandbox
        .pvectl(&[
            "vm",
            "update",
            "101",
            "--cores",
            "6",
            "--dry-run",
            "-o",
            "json",
        ])
        .await;
    assert_eq!(json.code, 0, "{json}");
    assert_eq!(
        (&json.json()["dry_run"], &json.json()["applied"]),
        (&true.into(), &false.into())
    );
    let same = sandbox
        .pvectl(&["vm", "update", "101", "--cores", "2", "--tag", "db"])
        .await;
    assert_eq!(same.code, 0, "{same}");
    assert_eq!(
        same.stdout,
        "VM 101 (db1) on pve1: nothing to change, the config already says so\n"
    );
    assert_eq!(file(&sandbox, GuestType::Qemu, 101), before);
    assert!(updates(&sandbox, "pve1").is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn of_two_concurrent_updates_one_wins_and_the_other_is_refused_by_the_digest() {
    let sandbox = real_time().await;
    let lock = hold_config_lock(&sandbox, GuestType::Qemu, 101).await;
    let sim = sandbox.cluster.sim();
    let path = guest_lock_path(GuestType::Qemu, 101);
    let release = async {
        // both have read the config and sent their change: let them race
        wait_for("both updates wait for the config lock", LINE_UP, || {
            sim.flocks.contenders("pve1", &path) == 3
        })
        .await;
        drop(lock);
    };
    let (three, five, ()) = tokio::join!(
        sandbox.pvectl(&["vm", "update", "101", "--cores", "3"]),
        sandbox.pvectl(&["vm", "update", "101", "--cores", "5"]),
        release,
    );
    let (won, lost, winner, loser) = match (three.code, five.code) {
        (0, _) => (three, five, "3", "5"),
        (_, 0) => (five, three, "5", "3"),
        _ => panic!("neither update won:\n{three}\n{five}"),
    };
    assert!(won.stdout.contains("updated cores"), "{won}");
    assert_eq!(lost.code, 5, "{lost}");
    assert!(
        lost.stderr.contains(&format!(
            "the config of VM 101 changed after it was read (cores: 2 → {winner}); \
             nothing was changed: re-run the command"
        )),
        "{lost}"
    );
    let text = file(&sandbox, GuestType::Qemu, 101);
    assert_eq!(config_value(&text, "cores").as_deref(), Some(winner));
    let outcomes: Vec<(Value, Value)> = updates(&sandbox, "pve1")
        .iter()
        .map(|e| (e["outcome"].clone(), detail(e)["changes"][0]["new"].clone()))
        .collect();
    assert!(
        outcomes.contains(&("ok".into(), winner.into())),
        "{outcomes:?}"
    );
    assert!(
        outcomes.contains(&("refused".into(), loser.into())),
        "{outcomes:?}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_change_written_while_the_update_waits_is_named_and_kept() {
    let sandbox = real_time().await;
    let lock = hold_config_lock(&sandbox, GuestType::Lxc, 102).await;
    let sim = sandbox.cluster.sim();
    let path = guest_lock_path(GuestType::Lxc, 102);
    let other_writer = async {
        wait_for("the update waits for the config lock", LINE_UP, || {
            sim.flocks.contenders("pve1", &path) == 2
        })
        .await;
        // the lock's holder changes the config, as another PVE task would
        let mut config = sim.state().guests[&102].config.clone();
        config.props.insert("swap".into(), "1024".into());
        let pid = sim.state().next_pid();
        sim.write_config("pve1", GuestType::Lxc, 102, &config, pid)
            .unwrap();
        drop(lock);
    };
    let (run, ()) = tokio::join!(
        sandbox.pvectl(&["ct", "update", "102", "--memory", "2048", "--yes"]),
        other_writer,
    );
    assert_eq!(run.code, 5, "{run}");
    assert!(
        run.stderr.contains(
            "the config of container 102 changed after it was read (swap: 512 → 1024); \
             nothing was changed"
        ),
        "{run}"
    );
    let text = file(&sandbox, GuestType::Lxc, 102);
    assert_eq!(config_value(&text, "swap").as_deref(), Some("1024"));
    assert_eq!(config_value(&text, "memory").as_deref(), Some("512"));
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_keys_and_values_are_refused_with_exit_2_and_change_nothing() {
    let sandbox = Sandbox::three_nodes().await.unwrap();
    let before = file(&sandbox, GuestType::Qemu, 101);
    for (args, message) in [
        (&["--set", "foo=bar"][..], "unknown config key foo for a VM"),
        (
            &["--set", "cores=many"],
            "invalid value 'many' for cores: expected an integer",
        ),
        (
            &["--set", "net0=virtio,bridge=vmbr0,bogus=1"],
            "unknown property 'bogus' in net0",
        ),
        (
            &["--set", "lock=backup"],
            "lock cannot be changed by an update",
        ),
        (
            &["--delete", "digest"],
            "digest is a parameter of PVE's config call",
        ),
        (&["--cores", "4", "--set", "cores=5"], "cores is set twice"),
        // the agent leaves this format to PVE, whose refusal names the key
        (
            &["--set", "startup=whenever"],
            "PVE refused the new config of VM 101: startup: invalid format - unable to parse startup options",
        ),
        (&[], "nothing to update: give --cores"),
    ] {
        let mut line = vec!["vm", "update", "101"];
        line.extend_from_slice(args);
        let run = sandbox.pvectl(&line).await;
        assert_eq!(run.code, 2, "{args:?}: {run}");
        assert!(run.stderr.contains(message), "{args:?}: {run}");
    }
    let ct = sandbox
        .pvectl(&["ct", "update", "102", "--set", "sockets=2"])
        .await;
    assert_eq!(ct.code, 2, "{ct}");
    assert!(
        ct.stderr
            .contains("unknown config key sockets for a container"),
        "{ct}"
    );
    assert_eq!(file(&sandbox, GuestType::Qemu, 101), before);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_locked_vm_is_refused_with_exit_5_naming_the_lock_and_qm_unlock() {
    let sandbox = Sandbox::start(Sandbox::fast().fault(Fault::SetLock {
        vmid: 101,
        lock: "backup".into(),
    }))
    .await
    .unwrap();
    let before = file(&sandbox, GuestType::Qemu, 101);
    let run = sandbox
        .pvectl(&["vm", "update", "101", "--cores", "4", "--yes"])
        .await;
    assert_eq!(run.code, 5, "{run}");
    assert!(
        run.stderr.contains(
            "VM 101 is locked (backup): PVE refuses config changes while the lock is held"
        ),
        "{run}"
    );
    assert!(run.stderr.contains("`qm unlock 101` on node pve1"), "{run}");
    assert_eq!(file(&sandbox, GuestType::Qemu, 101), before);
    // refused while the diff was computed: nothing was attempted
    assert!(updates(&sandbox, "pve1").is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn removing_a_disk_off_a_terminal_needs_yes() {
    let sandbox = Sandbox::three_nodes().await.unwrap();
    let before = file(&sandbox, GuestType::Qemu, 101);
    let run = sandbox
        .pvectl(&["vm", "update", "101", "--delete", "ide2"])
        .await;
    assert_eq!(run.code, 5, "{run}");
    assert!(
        run.stderr
            .contains("refusing to remove ide2 from VM 101 without --yes"),
        "{run}"
    );
    assert_eq!(file(&sandbox, GuestType::Qemu, 101), before);
    let yes = sandbox
        .pvectl(&["vm", "update", "101", "--delete", "ide2", "--yes"])
        .await;
    assert_eq!(yes.code, 0, "{yes}");
    let text = file(&sandbox, GuestType::Qemu, 101);
    assert_eq!(config_value(&text, "ide2"), None, "{text}");
}

#[tokio::test(flavor = "multi_thread")]
async fn in_api_only_mode_an_update_reads_digest_and_pending_from_the_api() {
    let options = FleetOptions {
        api_only: true,
        ..FleetOptions::default()
    };
    let sandbox = Sandbox::start_with(Sandbox::fast(), options).await.unwrap();
    let run = sandbox
        .pvectl(&[
            "vm", "update", "100", "--cores", "4", "--memory", "2048", "-o", "json",
        ])
        .await;
    assert_eq!(run.code, 0, "{run}");
    assert_eq!(
        changes(&run),
        [
            ("cores".into(), "2".into(), "4".into(), true),
            ("memory".into(), "4096".into(), "2048".into(), true),
        ]
    );
    let text = file(&sandbox, GuestType::Qemu, 100);
    assert_eq!(
        run.json()["digest"].as_str(),
        Some(pve_sim::guest_config::digest(&text).as_str()),
        "the digest is the config file's"
    );
    // the pending values count: the same update again changes nothing
    let again = sandbox
        .pvectl(&["vm", "update", "100", "--cores", "4"])
        .await;
    assert_eq!(again.code, 0, "{again}");
    assert!(again.stdout.contains("nothing to change"), "{again}");
}
