//! Creates that succeed: by name and by VMID, full and linked, with
//! cores, memory and tags, started.
use pvectl_proto::routing::{Vmid, in_any_template_range};
use pvectl_proto::v1::CreatePhase;

use crate::support::*;

#[tokio::test(flavor = "multi_thread")]
async fn a_create_by_name_clones_the_template_and_streams_every_phase_to_done() {
    let h = harness(sim()).await;
    let events = h.create(create_request("web9")).await.unwrap();
    let result = result(&events);
    assert_eq!((result.node.as_str(), result.name.as_str()), (NODE, "web9"));
    assert!(!result.started);
    assert!(result.upid.contains(":qmclone:9100:"), "{}", result.upid);
    let vmid = result.vmid;
    assert!(!in_any_template_range(Vmid::new(vmid).unwrap(), &[1, 2, 3]));

    let phases: Vec<i32> = events.iter().map(|e| e.phase).collect();
    assert!(phases.windows(2).all(|w| w[0] <= w[1]), "{phases:?}");
    for phase in [
        CreatePhase::Resolving,
        CreatePhase::Validating,
        CreatePhase::Allocating,
        CreatePhase::Cloning,
        CreatePhase::Waiting,
        CreatePhase::Done,
    ] {
        assert!(
            phases.contains(&(phase as i32)),
            "no {phase:?} in {phases:?}"
        );
    }
    assert!(events.iter().any(|e| e.percent == Some(100)));
    assert!(
        events
            .iter()
            .all(|e| e.operation_id == events[0].operation_id)
    );
    let last = events.last().unwrap();
    assert_eq!(
        (last.vmid, last.upid.as_str()),
        (vmid, result.upid.as_str())
    );

    let text = h.config_text(vmid).expect("the new config exists");
    assert_eq!(config_value(&text, "name").as_deref(), Some("web9"));
    assert_eq!(config_value(&text, "lock"), None);
    let disk = config_value(&text, "scsi0").unwrap();
    assert!(
        disk.starts_with(&format!("local-lvm:vm-{vmid}-disk-")),
        "{disk}"
    );
    assert_eq!(
        result.config_digest,
        pvectl_agent::pmxcfs::guest_config::digest(text.as_bytes())
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_create_by_vmid_with_settings_applies_cores_memory_tags_and_starts() {
    let h = harness(sim()).await;
    let mut request = create_request("db9");
    request.template = by_vmid(DEBIAN);
    request.cores = Some(4);
    request.memory_mib = Some(8192);
    request.tags = vec!["Prod".into(), "db;web".into()];
    request.start = true;
    let events = h.create(request).await.unwrap();
    let result = result(&events);
    assert!(result.started);
    assert!(result.upid.contains(":qmclone:9101:"), "{}", result.upid);
    let phases: Vec<i32> = events.iter().map(|e| e.phase).collect();
    assert!(phases.contains(&(CreatePhase::Configuring as i32)));
    assert!(phases.contains(&(CreatePhase::Starting as i32)));

    let text = h.config_text(result.vmid).unwrap();
    assert_eq!(config_value(&text, "cores").as_deref(), Some("4"));
    assert_eq!(config_value(&text, "memory").as_deref(), Some("8192"));
    assert_eq!(config_value(&text, "tags").as_deref(), Some("db;prod;web"));
    let status = h
        .ctx
        .pve
        .status_current(NODE, pvectl_agent::pmxcfs::GuestKind::Qemu, result.vmid)
        .await
        .unwrap();
    assert_eq!(status.status, "running");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_linked_clone_shares_the_template_base_volume() {
    let h = harness(sim()).await;
    let mut request = create_request("thin1");
    request.linked = true;
    let events = h.create(request).await.unwrap();
    let vmid = result(&events).vmid;
    let text = h.config_text(vmid).unwrap();
    let disk = config_value(&text, "scsi0").unwrap();
    assert!(
        disk.starts_with(&format!("local-lvm:vm-{vmid}-disk-")),
        "{disk}"
    );
    let linked_line = events
        .iter()
        .any(|e| e.message.starts_with("linked clone of template 9100"));
    assert!(linked_line, "{events:#?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn an_explicit_vmid_is_used_as_given() {
    let h = harness(sim()).await;
    let mut request = create_request("fixed");
    request.vmid = Some(4242);
    let events = h.create(request).await.unwrap();
    assert_eq!(result(&events).vmid, 4242);
    assert!(h.vmlist().contains(4242));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_full_clone_onto_another_storage_puts_the_disks_there() {
    let h = harness(sim()).await;
    let mut request = create_request("onlocal");
    request.storage = "local".into();
    let events = h.create(request).await.unwrap();
    let vmid = result(&events).vmid;
    let disk = config_value(&h.config_text(vmid).unwrap(), "scsi0").unwrap();
    assert!(
        disk.starts_with(&format!("local:{vmid}/vm-{vmid}-disk-")),
        "{disk}"
    );
}
