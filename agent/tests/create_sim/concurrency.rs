//! Many creates at once while foreign creates take VMIDs from under them,
//! in both of PVE's collision shapes: all succeed with distinct ids outside
//! every template range.
use std::collections::BTreeSet;

use pve_sim::{Fault, RaceShape};
use pvectl_proto::routing::{Vmid, in_any_template_range};

use crate::support::*;

const CREATES: usize = 20;

async fn concurrent_creates_survive(race_node: &str, shape: RaceShape) -> Vec<String> {
    let h = harness(sim().fault(Fault::RaceCreates {
        node: race_node.into(),
        shape,
        every: 3,
    }))
    .await;
    let h = std::sync::Arc::new(h);
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..CREATES {
        let h = std::sync::Arc::clone(&h);
        tasks.spawn(async move { h.create(create_request(&format!("vm{i}"))).await });
    }
    let mut vmids = BTreeSet::new();
    let mut messages = Vec::new();
    while let Some(joined) = tasks.join_next().await {
        let events = joined.unwrap().unwrap();
        let result = result(&events);
        assert!(
            !in_any_template_range(Vmid::new(result.vmid).unwrap(), &[1, 2, 3]),
            "{} is in a template range",
            result.vmid
        );
        assert!(
            vmids.insert(result.vmid),
            "{} handed out twice",
            result.vmid
        );
        let text = h.config_text(result.vmid).expect("config of the new VM");
        assert_eq!(config_value(&text, "name"), Some(result.name.clone()));
        messages.extend(events.into_iter().map(|e| e.message));
    }
    assert_eq!(vmids.len(), CREATES);
    let queued = messages
        .iter()
        .any(|m| m.starts_with("waiting for a clone slot on storage 'local-lvm'"));
    assert!(queued, "no create waited in the clone queue");
    assert!(h.ctx.reservations.held().is_empty());
    messages
}

#[tokio::test(flavor = "multi_thread")]
async fn concurrent_creates_retry_when_the_clone_request_finds_the_id_taken() {
    // a foreign create on pve1 itself: `config file already exists` at once
    let messages = concurrent_creates_survive("pve1", RaceShape::BeforeRequest).await;
    let retried = messages
        .iter()
        .filter(|m| m.contains("config file already exists") && m.contains("retrying with"))
        .count();
    assert!(retried > 0, "no synchronous collision happened");
}

#[tokio::test(flavor = "multi_thread")]
async fn concurrent_creates_retry_when_the_clone_task_loses_the_id() {
    // a foreign create on pve2 right after the UPID: the task's first write fails
    let messages = concurrent_creates_survive("pve2", RaceShape::InsideTask).await;
    let retried = messages
        .iter()
        .filter(|m| m.contains("File exists") && m.contains("retrying with"))
        .count();
    assert!(retried > 0, "no in-task collision happened");
}
