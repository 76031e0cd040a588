//! Operations outlive their first client: re-attaching, listing, and the
//! journal records of a create.
use futures::StreamExt;
use pve_sim::Fault;
use pvectl_agent::journal;
use pvectl_proto::v1::agent_server::Agent;
use pvectl_proto::v1::{
    CreateEvent, ErrorDetail, ErrorKind, ListOperationsRequest, WatchOperationRequest,
};

use crate::support::*;

async fn watch(h: &Harness, id: &str, from_start: bool) -> Vec<CreateEvent> {
    let request = WatchOperationRequest {
        operation_id: id.into(),
        from_start,
    };
    let stream = h.service.watch_operation(as_admin(request)).await.unwrap();
    stream
        .into_inner()
        .map(|event| event.unwrap())
        .collect()
        .await
}

#[tokio::test(flavor = "multi_thread")]
async fn a_client_going_away_does_not_stop_the_create_and_a_watcher_sees_the_same_end() {
    let h = harness(sim().fault(Fault::SlowClone {
        vmid: Some(UBUNTU),
        seconds: 20.0,
    }))
    .await;
    let mut stream = h
        .service
        .create_vm_from_template(as_admin(create_request("web9")))
        .await
        .unwrap()
        .into_inner();
    let first = stream.next().await.unwrap().unwrap();
    drop(stream);
    let id = first.operation_id.clone();

    let listed = h
        .service
        .list_operations(as_admin(ListOperationsRequest { active_only: false }))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(listed.operations[0].operation_id, id);
    assert_eq!(listed.operations[0].actor, ACTOR);
    assert_eq!(listed.operations[0].name, "web9");

    let (a, b) = tokio::join!(watch(&h, &id, true), watch(&h, &id, true));
    assert_eq!(a, b);
    assert_eq!(a[0], first);
    let vmid = result(&a).vmid;
    assert!(h.config_text(vmid).is_some());

    let latest = watch(&h, &id, false).await;
    assert_eq!(latest, [a.last().unwrap().clone()]);
    let active = h
        .service
        .list_operations(as_admin(ListOperationsRequest { active_only: true }))
        .await
        .unwrap()
        .into_inner();
    assert!(active.operations.is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn an_unknown_operation_is_not_found() {
    let h = harness(sim()).await;
    let request = WatchOperationRequest {
        operation_id: "pve1-1-1".into(),
        from_start: true,
    };
    let status = match h.service.watch_operation(as_admin(request)).await {
        Ok(_) => panic!("an unknown operation was watched"),
        Err(status) => status,
    };
    let detail = ErrorDetail::from_status(&status).unwrap();
    assert_eq!(detail.kind(), ErrorKind::NotFound);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_create_journals_its_start_vmid_clone_task_and_end_with_the_caller() {
    let h = harness(sim()).await;
    let events = h.create(create_request("web9")).await.unwrap();
    let result = result(&events);
    let id = &events[0].operation_id;
    let lines: Vec<serde_json::Value> = h
        .journal_lines()
        .into_iter()
        .filter(|l| l["operation"]["id"] == id.as_str())
        .collect();
    let actions: Vec<&str> = lines
        .iter()
        .map(|l| l["action"].as_str().unwrap())
        .collect();
    assert_eq!(
        actions,
        [
            "vm.create",
            "vm.create.vmid",
            "vm.create.clone",
            "vm.create"
        ]
    );
    assert!(lines.iter().all(|l| l["actor"] == ACTOR));
    let request: serde_json::Value =
        serde_json::from_str(lines[0]["detail"].as_str().unwrap()).unwrap();
    assert_eq!(request["name"], "web9");
    assert_eq!(request["template"]["name"], "ubuntu-24.04");
    let clone: serde_json::Value =
        serde_json::from_str(lines[2]["detail"].as_str().unwrap()).unwrap();
    assert_eq!(clone["vmid"], result.vmid);
    assert_eq!(clone["upid"], result.upid.as_str());
    assert_eq!(lines[3]["outcome"], "ok");
    assert_eq!(lines[3]["target"], format!("vm/{}", result.vmid));
    assert!(h.ctx.journal.in_flight().is_empty());
    journal::verify(&h.dir.path().join("journal.jsonl")).unwrap();
}
