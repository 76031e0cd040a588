//! Creates refused before any clone: an unknown template (exit 4) and a
//! template failing validation (exit 5). Nothing is created, and stderr
//! says the cause and the fix.
use pve_sim::Fault;
use pvectl_e2e::{Run, Sandbox};

/// Runs `vm create app9 --template TEMPLATE EXTRA…` and checks that
/// `.vmlist` is unchanged.
async fn refused_create(sandbox: &Sandbox, template: &str, extra: &[&str]) -> Run {
    let before = sandbox.vmids();
    let mut args = vec!["vm", "create", "app9", "--template", template];
    args.extend_from_slice(extra);
    let run = sandbox.pvectl(&args).await;
    assert_eq!(sandbox.vmids(), before, "something was created: {run}");
    assert!(run.stdout.is_empty(), "{run}");
    run
}

#[tokio::test(flavor = "multi_thread")]
async fn an_unknown_template_exits_4_listing_the_templates_that_exist() {
    let sandbox = Sandbox::three_nodes().await.unwrap();
    let run = refused_create(&sandbox, "centos-7", &[]).await;
    assert_eq!(run.code, 4, "{run}");
    assert!(run.stderr.contains("no template \"centos-7\""), "{run}");
    for existing in ["ubuntu-24.04", "debian-12", "9100", "9201", "9301"] {
        assert!(run.stderr.contains(existing), "{existing} missing: {run}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn an_unknown_template_on_a_named_node_exits_4_too() {
    let sandbox = Sandbox::three_nodes().await.unwrap();
    let run = refused_create(&sandbox, "centos-7", &["--node", "pve2"]).await;
    assert_eq!(run.code, 4, "{run}");
    assert!(run.stderr.contains("node pve2"), "{run}");
    assert!(run.stderr.contains("ubuntu-24.04"), "{run}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_template_without_a_boot_disk_is_refused_with_exit_5() {
    let sandbox = Sandbox::start(Sandbox::fast().fault(Fault::TemplateWithoutDisk { vmid: 9100 }))
        .await
        .unwrap();
    let run = refused_create(&sandbox, "ubuntu-24.04", &["--node", "pve1"]).await;
    assert_eq!(run.code, 5, "{run}");
    assert!(
        run.stderr
            .contains("template 9100 has no boot disk: recreate it"),
        "{run}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_locked_template_is_refused_with_exit_5_naming_qm_unlock() {
    let sandbox = Sandbox::start(Sandbox::fast().fault(Fault::SetLock {
        vmid: 9200,
        lock: "backup".into(),
    }))
    .await
    .unwrap();
    let run = refused_create(&sandbox, "9200", &[]).await;
    assert_eq!(run.code, 5, "{run}");
    assert!(
        run.stderr.contains("template 9200 is locked (backup)"),
        "{run}"
    );
    assert!(run.stderr.contains("qm unlock 9200"), "{run}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_storage_without_room_for_a_full_clone_is_refused_with_exit_5() {
    // each node's seeded volumes take ~48 GiB of its local-lvm: 50 GiB
    // leaves less than the template's 4 GiB disk
    let sandbox = Sandbox::start(Sandbox::fast().storage_capacity("local-lvm", 50 << 30))
        .await
        .unwrap();
    let run = refused_create(&sandbox, "ubuntu-24.04", &["--node", "pve3"]).await;
    assert_eq!(run.code, 5, "{run}");
    assert!(run.stderr.contains("storage 'local-lvm' has"), "{run}");
    assert!(
        run.stderr.contains("needs 4.0 GiB"),
        "the need is not said: {run}"
    );
    assert!(
        run.stderr
            .contains("free space on 'local-lvm', choose another storage, or clone linked"),
        "no fix: {run}"
    );
}
