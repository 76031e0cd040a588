//! 50 `pvectl vm create` processes at once over 3 nodes while foreign
//! creates take VMIDs from under them, in both of PVE's collision shapes:
//! every create succeeds, with its own VMID, outside every template range.
use std::collections::BTreeSet;
use std::sync::Arc;

use pve_sim::{Fault, RaceShape};
use pvectl_e2e::{Run, Sandbox, config_value};
use pvectl_proto::routing::{Vmid, in_any_template_range};

const CREATES: usize = 50;
const NODES: [&str; 3] = ["pve1", "pve2", "pve3"];

/// Runs the creates at once; returns each run with its name and node.
async fn create_all(sandbox: &Arc<Sandbox>) -> Vec<(String, &'static str, Run)> {
    let mut creates = tokio::task::JoinSet::new();
    for i in 0..CREATES {
        let sandbox = Arc::clone(sandbox);
        let name = format!("race{i}");
        let node = NODES[i % NODES.len()];
        creates.spawn(async move {
            let run = sandbox
                .pvectl(&[
                    "vm",
                    "create",
                    &name,
                    "--template",
                    "ubuntu-24.04",
                    "--node",
                    node,
                    "-o",
                    "json",
                ])
                .await;
            (name, node, run)
        });
    }
    creates.join_all().await
}

async fn concurrent_creates_all_succeed(shape: RaceShape) -> Vec<Run> {
    let sandbox = Sandbox::start(Sandbox::fast().fault(Fault::RaceCreates {
        node: "pve2".into(),
        shape,
        every: 3,
    }))
    .await
    .map(Arc::new)
    .unwrap();
    let before = sandbox.vmids();
    let mut vmids = BTreeSet::new();
    let mut runs = Vec::new();
    for (name, node, run) in create_all(&sandbox).await {
        assert_eq!(run.code, 0, "{name} on {node}: {run}");
        let result = run.json();
        assert_eq!(result["node"], node, "{run}");
        let vmid = u32::try_from(result["vmid"].as_u64().expect("a vmid")).unwrap();
        assert!(
            !in_any_template_range(Vmid::new(vmid).unwrap(), &[1, 2, 3]),
            "{vmid} lies in a template range"
        );
        assert!(!before.contains(&vmid), "{vmid} existed before: {run}");
        assert!(vmids.insert(vmid), "{vmid} was handed out twice");
        let text = sandbox
            .config_text(node, vmid)
            .unwrap_or_else(|| panic!("no config of {vmid} on {node}"));
        assert_eq!(config_value(&text, "name"), Some(name));
        runs.push(run);
    }
    assert_eq!(vmids.len(), CREATES);
    runs
}

/// How many progress lines say a VMID was lost and retried because of
/// PVE's `message`.
fn retries(runs: &[Run], message: &str) -> usize {
    runs.iter()
        .flat_map(|run| run.stderr.lines())
        .filter(|line| line.contains(message) && line.contains("retrying with"))
        .count()
}

#[tokio::test(flavor = "multi_thread")]
async fn fifty_concurrent_creates_survive_ids_taken_before_the_clone_request() {
    let runs = concurrent_creates_all_succeed(RaceShape::BeforeRequest).await;
    let retried = retries(&runs, "already exists");
    assert!(retried > 0, "no create lost its VMID to a foreign create");
}

#[tokio::test(flavor = "multi_thread")]
async fn fifty_concurrent_creates_survive_ids_taken_inside_the_clone_task() {
    let runs = concurrent_creates_all_succeed(RaceShape::InsideTask).await;
    let retried = retries(&runs, "File exists");
    assert!(
        retried > 0,
        "no clone task lost its VMID to a foreign create"
    );
}
