//! Clones that go wrong inside PVE: a task that fails (exit 1 with PVE's
//! words and the log's tail, nothing left behind) and a lock that is never
//! released (a timeout that shows the config's last state and the log).
use pve_sim::Fault;
use pve_sim::agents::FleetOptions;
use pvectl_e2e::{Run, Sandbox};

/// The VMID a failed create names in "clone of template T to VMID …".
fn vmid_in(run: &Run, template: u32) -> u32 {
    let marker = format!("clone of template {template} to ");
    let at = run.stderr.find(&marker).expect("the clone is named") + marker.len();
    let digits: String = run.stderr[at..]
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    digits.parse().unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_clone_failing_in_its_task_exits_1_with_pves_message_and_leaves_nothing() {
    let sandbox = Sandbox::start(Sandbox::fast().fault(Fault::CloneFails {
        vmid: Some(9100),
        percent: 50,
        message: "disk I/O error".into(),
    }))
    .await
    .unwrap();
    let before = sandbox.vmids();
    let run = sandbox
        .pvectl(&[
            "vm",
            "create",
            "app1",
            "--template",
            "ubuntu-24.04",
            "--node",
            "pve1",
        ])
        .await;
    assert_eq!(run.code, 1, "{run}");
    assert!(
        run.stderr
            .contains("pve said: clone failed: disk I/O error"),
        "{run}"
    );
    assert!(run.stderr.contains("task log (last lines):"), "{run}");
    assert!(run.stderr.contains("transferred"), "no log tail: {run}");
    assert!(run.stderr.contains("TASK ERROR"), "no log tail: {run}");
    let vmid = vmid_in(&run, 9100);
    assert!(
        run.stderr
            .contains(&format!("PVE removed the partial VM {vmid}")),
        "{run}"
    );
    assert_eq!(sandbox.config_text("pve1", vmid), None);
    assert_eq!(sandbox.vmids(), before);
}

/// What a create against a hung clone must report when its time is up.
fn assert_timed_out_with_diagnostics(run: &Run, limit: &str) {
    assert_eq!(run.code, 1, "{run}");
    let vmid = vmid_in(run, 9200);
    assert!(
        run.stderr.contains(&format!(
            "clone of template 9200 to {vmid} did not finish within {limit}"
        )),
        "{run}"
    );
    // the config's last state: still locked by the clone, its disks added
    assert!(
        run.stderr
            .contains(&format!("VM {vmid}'s config: lock clone, disks")),
        "{run}"
    );
    assert!(run.stderr.contains("has not ended"), "{run}");
    assert!(run.stderr.contains("task log (last lines):"), "{run}");
    assert!(
        run.stderr.contains("create full clone of drive"),
        "no log tail: {run}"
    );
    assert!(run.stderr.contains(&format!("qm unlock {vmid}")), "{run}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_lock_never_released_times_out_after_the_asked_timeout_with_diagnostics() {
    let sandbox =
        Sandbox::start(Sandbox::fast().fault(Fault::LockNeverReleased { vmid: Some(9200) }))
            .await
            .unwrap();
    let run = sandbox
        .pvectl(&[
            "vm",
            "create",
            "app2",
            "--template",
            "9200",
            "--timeout",
            "2s",
        ])
        .await;
    assert_timed_out_with_diagnostics(&run, "2s");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_lock_never_released_times_out_after_the_agents_create_timeout() {
    let options = FleetOptions {
        create_timeout: Some("2s".into()),
        ..FleetOptions::default()
    };
    let builder = Sandbox::fast().fault(Fault::LockNeverReleased { vmid: Some(9200) });
    let sandbox = Sandbox::start_with(builder, options).await.unwrap();
    let run = sandbox
        .pvectl(&["vm", "create", "app3", "--template", "9200"])
        .await;
    assert_timed_out_with_diagnostics(&run, "2s");
}
