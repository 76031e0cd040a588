//! The agents' other ways of seeing PVE: polling instead of inotify, and
//! API-only mode without a pmxcfs tree. Creates still succeed, and still
//! report their progress.
use pve_sim::Fault;
use pve_sim::agents::FleetOptions;
use pvectl_e2e::{Run, Sandbox, config_value};

async fn create_on(sandbox: &Sandbox, name: &str, node: &str) -> Run {
    let run = sandbox
        .pvectl(&[
            "vm",
            "create",
            name,
            "--template",
            "ubuntu-24.04",
            "--node",
            node,
            "--memory",
            "1536",
            "-o",
            "json",
        ])
        .await;
    assert_eq!(run.code, 0, "{run}");
    assert_eq!(run.json()["node"], node, "{run}");
    run
}

fn vmid(run: &Run) -> u32 {
    u32::try_from(run.json()["vmid"].as_u64().expect("a vmid")).unwrap()
}

/// Progress lines on stderr (not a terminal): the phases, and the clone's
/// percentages read from the task log.
fn assert_progress_reported(run: &Run) {
    for phase in ["validating", "allocating", "cloning", "configuring"] {
        assert!(
            run.stderr.lines().any(|line| line.starts_with(phase)),
            "no {phase} line: {run}"
        );
    }
    let percent = run.stderr.lines().any(|line| {
        line.strip_prefix("cloning ")
            .and_then(|rest| rest.split_once("% "))
            .is_some_and(|(percent, message)| {
                percent.parse::<u32>().is_ok() && message.contains("transferred")
            })
    });
    assert!(percent, "no clone percentage: {run}");
}

#[tokio::test(flavor = "multi_thread")]
async fn with_the_polling_watcher_creates_succeed_and_report_progress() {
    let options = FleetOptions {
        watcher: Some("poll".into()),
        ..FleetOptions::default()
    };
    // a clone long enough to be seen in progress by a poller
    let builder = Sandbox::fast().fault(Fault::SlowClone {
        vmid: Some(9200),
        seconds: 50.0,
    });
    let sandbox = Sandbox::start_with(builder, options).await.unwrap();
    let run = create_on(&sandbox, "app1", "pve2").await;
    assert_progress_reported(&run);
    let text = sandbox.config_text("pve2", vmid(&run)).expect("the config");
    assert_eq!(config_value(&text, "name").as_deref(), Some("app1"));
    assert_eq!(config_value(&text, "memory").as_deref(), Some("1536"));
    assert_eq!(config_value(&text, "lock"), None);
    let second = create_on(&sandbox, "app2", "pve2").await;
    assert_ne!(vmid(&second), vmid(&run));
}

#[tokio::test(flavor = "multi_thread")]
async fn in_api_only_mode_creates_succeed_and_report_progress() {
    let options = FleetOptions {
        api_only: true,
        ..FleetOptions::default()
    };
    let builder = Sandbox::fast().fault(Fault::SlowClone {
        vmid: Some(9300),
        seconds: 50.0,
    });
    let sandbox = Sandbox::start_with(builder, options).await.unwrap();
    let run = create_on(&sandbox, "app1", "pve3").await;
    assert_progress_reported(&run);
    let text = sandbox.config_text("pve3", vmid(&run)).expect("the config");
    assert_eq!(config_value(&text, "name").as_deref(), Some("app1"));
    assert_eq!(config_value(&text, "memory").as_deref(), Some("1536"));
    let second = create_on(&sandbox, "app2", "pve1").await;
    assert_ne!(vmid(&second), vmid(&run));
    let templates = sandbox.pvectl(&["template", "list"]).await;
    assert_eq!(templates.code, 0, "{templates}");
    assert!(templates.stdout.contains("9300"), "{templates}");
}
