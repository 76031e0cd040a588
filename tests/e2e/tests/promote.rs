//! `pvectl template promote` through the real binaries: a VM is copied
//! into a node's template range as a template (on its own node, and to
//! another node through shared storage) and the new template can be
//! cloned; a full range, a running VM and a template already in the range
//! are refused with exit 5, leaving nothing behind.
use pve_sim::ops::foreign::take_vmid;
use pvectl_e2e::{Run, Sandbox, config_value};
use serde_json::Value;

/// The seeded stopped VM `db1` on pve1.
const DB1: u32 = 101;
/// The seeded stopped VM `db2` on pve2.
const DB2: u32 = 111;
/// The seeded running VM `web1` on pve1.
const WEB1: u32 = 100;

async fn promoted(sandbox: &Sandbox, args: &[&str]) -> (Value, u32) {
    let mut args = [&["template", "promote"][..], args].concat();
    args.extend(["-o", "json"]);
    let run = sandbox.pvectl(&args).await;
    assert_eq!(run.code, 0, "{run}");
    let result = run.json();
    let vmid = u32::try_from(result["vmid"].as_u64().expect("a vmid")).unwrap();
    (result, vmid)
}

async fn refused(sandbox: &Sandbox, args: &[&str]) -> Run {
    let before = sandbox.vmids();
    let run = sandbox
        .pvectl(&[&["template", "promote"][..], args].concat())
        .await;
    assert_eq!(sandbox.vmids(), before, "something was created: {run}");
    assert!(run.stdout.is_empty(), "{run}");
    run
}

#[tokio::test(flavor = "multi_thread")]
async fn a_vm_is_promoted_into_its_nodes_range_as_a_template_and_can_be_cloned() {
    let sandbox = Sandbox::three_nodes().await.unwrap();
    let source_before = sandbox.config_text("pve2", DB2).unwrap();
    // asked of the seed (pve1's agent), which names pve2 as the VM's home;
    // without --node the template goes into its own node's range
    let (result, vmid) = promoted(&sandbox, &[&DB2.to_string()]).await;
    // 9200 and 9201 hold the seeded templates
    assert_eq!(vmid, 9202, "{result}");
    assert_eq!(result["node"], "pve2");
    assert_eq!(result["name"], "db2");
    let text = sandbox.config_text("pve2", vmid).expect("the template");
    assert_eq!(
        config_value(&text, "template").as_deref(),
        Some("1"),
        "{text}"
    );
    assert_eq!(config_value(&text, "lock"), None, "{text}");
    assert_eq!(
        config_value(&text, "scsi0"),
        Some(format!("local-lvm:base-{vmid}-disk-0,iothread=1,size=16G")),
        "{text}"
    );
    assert_eq!(
        sandbox.config_text("pve2", DB2).unwrap(),
        source_before,
        "the source changed"
    );
    let validated = sandbox
        .pvectl(&["template", "validate", &vmid.to_string()])
        .await;
    assert_eq!(validated.code, 0, "{validated}");
    let clone = sandbox
        .pvectl(&[
            "vm",
            "create",
            "db3",
            "--template",
            "db2",
            "--node",
            "pve2",
            "-o",
            "json",
        ])
        .await;
    assert_eq!(clone.code, 0, "{clone}");
    let log = sandbox
        .task_log(clone.json()["upid"].as_str().unwrap())
        .unwrap();
    assert!(
        log.iter()
            .any(|line| line.contains(&format!("base-{vmid}-disk-0"))),
        "the clone did not use the promoted template: {log:#?}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_vm_on_shared_storage_is_promoted_into_another_nodes_range() {
    let sandbox = Sandbox::three_nodes().await.unwrap();
    let made = sandbox
        .pvectl(&[
            "vm", "create", "golden", "--node", "pve1", "--disk", "shared:2", "-o", "json",
        ])
        .await;
    assert_eq!(made.code, 0, "{made}");
    let source = made.json()["vmid"].as_u64().unwrap().to_string();
    let (result, vmid) = promoted(
        &sandbox,
        &[&source, "--node", "pve2", "--name", "golden-tmpl"],
    )
    .await;
    assert_eq!(vmid, 9202, "{result}");
    assert_eq!(result["node"], "pve2");
    let text = sandbox
        .config_text("pve2", vmid)
        .expect("the template on pve2");
    assert_eq!(
        config_value(&text, "template").as_deref(),
        Some("1"),
        "{text}"
    );
    assert_eq!(config_value(&text, "name").as_deref(), Some("golden-tmpl"));
    let scsi0 = config_value(&text, "scsi0").unwrap();
    assert!(
        scsi0.starts_with(&format!("shared:{vmid}/base-{vmid}-disk-0")),
        "{scsi0}"
    );
    assert!(sandbox.config_text("pve1", vmid).is_none());
}

#[tokio::test(flavor = "multi_thread")]
async fn promotions_pve_would_refuse_or_that_find_no_room_exit_5_and_change_nothing() {
    let sandbox = Sandbox::three_nodes().await.unwrap();
    let running = refused(&sandbox, &[&WEB1.to_string(), "--node", "pve1"]).await;
    assert_eq!(running.code, 5, "{running}");
    assert!(running.stderr.contains("VM 100 is running"), "{running}");

    let template = refused(&sandbox, &["9100", "--node", "pve1"]).await;
    assert_eq!(template.code, 5, "{template}");
    assert!(
        template
            .stderr
            .contains("template 9100 already lies in node pve1's template range 9100-9199"),
        "{template}"
    );

    let local = refused(&sandbox, &[&DB1.to_string(), "--node", "pve3"]).await;
    assert_eq!(local.code, 5, "{local}");
    assert!(
        local
            .stderr
            .contains("uses local storage (scsi0 on local-lvm)"),
        "{local}"
    );

    // another admin fills the rest of pve2's range
    for vmid in 9202..=9299 {
        take_vmid(sandbox.cluster.sim(), "pve2", vmid);
    }
    let made = sandbox
        .pvectl(&[
            "vm",
            "create",
            "spare",
            "--node",
            "pve2",
            "--disk",
            "local-lvm:1",
            "-o",
            "json",
        ])
        .await;
    assert_eq!(made.code, 0, "{made}");
    let source = made.json()["vmid"].as_u64().unwrap().to_string();
    let full = refused(&sandbox, &[&source]).await;
    assert_eq!(full.code, 5, "{full}");
    assert!(
        full.stderr
            .contains("node pve2's template range 9200-9299 is full"),
        "{full}"
    );
}
