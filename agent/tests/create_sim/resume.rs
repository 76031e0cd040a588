//! A restarted agent takes over the creates its journal shows in flight:
//! resumed when their task runs or ended OK, marked failed otherwise, and
//! watchable under their old id either way.
use std::sync::Arc;

use futures::StreamExt;
use pve_sim::Fault;
use pvectl_agent::context::AgentCtx;
use pvectl_agent::create::record::CreateProgress;
use pvectl_agent::create::request::{CreateRecord, TemplateChoice};
use pvectl_agent::create::resume::resume_in_flight;
use pvectl_agent::journal::{NewEntry, OperationMark, OperationPhase, Outcome};
use pvectl_agent::pmxcfs::GuestKind;
use pvectl_agent::pve_api::CloneRequest;
use pvectl_agent::service::AgentService;
use pvectl_proto::v1::agent_server::Agent;
use pvectl_proto::v1::{CreateEvent, ErrorKind, WatchOperationRequest};

use crate::support::*;

const OP: &str = "pve1-1700000000000-1";

fn record(name: &str) -> CreateRecord {
    CreateRecord {
        name: name.into(),
        template: TemplateChoice::Name("ubuntu-24.04".into()),
        node: String::new(),
        vmid: None,
        linked: false,
        storage: None,
        cores: Some(3),
        memory_mib: None,
        tags: vec![],
        start: false,
        timeout_seconds: 0,
    }
}

fn mark(phase: OperationPhase, action: &str, outcome: Outcome, detail: String) -> NewEntry {
    NewEntry {
        actor: "bob".into(),
        action: action.into(),
        target: "vm/web9".into(),
        outcome,
        detail,
        operation: Some(OperationMark {
            id: OP.into(),
            phase,
        }),
    }
}

/// Journals a create as a crashed agent left it: its start, and its
/// progress if any.
fn journal_in_flight(h: &Harness, progress: Option<&CreateProgress>) {
    let detail = serde_json::to_string(&record("web9")).unwrap();
    h.ctx
        .journal
        .append(mark(
            OperationPhase::Start,
            "vm.create",
            Outcome::Started,
            detail,
        ))
        .unwrap();
    if let Some(progress) = progress {
        let detail = serde_json::to_string(progress).unwrap();
        h.ctx
            .journal
            .append(mark(
                OperationPhase::Progress,
                "vm.create.clone",
                Outcome::Started,
                detail,
            ))
            .unwrap();
    }
}

/// Submits a clone of the ubuntu template to `vmid` as the crashed agent did.
async fn submit_clone(h: &Harness, vmid: u32) -> CreateProgress {
    let request = CloneRequest {
        newid: vmid,
        name: Some("web9".into()),
        full: Some(true),
        ..CloneRequest::default()
    };
    let upid = h
        .ctx
        .pve
        .clone_guest(NODE, GuestKind::Qemu, UBUNTU, &request)
        .await
        .unwrap();
    CreateProgress {
        template: Some(UBUNTU),
        vmid: Some(vmid),
        upid: Some(upid),
        ..CreateProgress::default()
    }
}

/// Stops the agent (drops its context, releasing the journal) and starts
/// a new one on the same files.
fn restart(h: Harness) -> Harness {
    let Harness {
        cluster,
        ctx,
        service,
        dir,
    } = h;
    drop(service);
    drop(ctx);
    let config = agent_config(&cluster, dir.path());
    let ctx = Arc::new(AgentCtx::from_config(config).unwrap());
    let service = AgentService::new(Arc::clone(&ctx));
    Harness {
        cluster,
        ctx,
        service,
        dir,
    }
}

async fn watch(h: &Harness) -> Vec<CreateEvent> {
    let request = WatchOperationRequest {
        operation_id: OP.into(),
        from_start: true,
    };
    let stream = h.service.watch_operation(as_admin(request)).await.unwrap();
    stream.into_inner().map(|e| e.unwrap()).collect().await
}

#[tokio::test(flavor = "multi_thread")]
async fn a_create_whose_clone_was_submitted_is_resumed_and_completed() {
    let h = harness(sim()).await;
    let progress = submit_clone(&h, 777).await;
    journal_in_flight(&h, Some(&progress));
    let h = restart(h);
    assert_eq!(h.ctx.journal.in_flight().len(), 1);

    let reports = resume_in_flight(&h.ctx).await;
    assert_eq!(reports.len(), 1);
    assert!(reports[0].resumed, "{reports:?}");
    let events = watch(&h).await;
    let result = result(&events);
    assert_eq!(result.vmid, 777);
    assert_eq!(Some(result.upid.clone()), progress.upid);
    let text = h.config_text(777).unwrap();
    assert_eq!(
        config_value(&text, "cores").as_deref(),
        Some("3"),
        "the rest of the steps ran"
    );
    assert!(h.ctx.journal.in_flight().is_empty());
    let last = h.journal_lines().pop().unwrap();
    assert_eq!(
        (last["outcome"].as_str(), last["actor"].as_str()),
        (Some("ok"), Some("bob"))
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_create_stopped_before_its_clone_is_marked_failed_and_stays_watchable() {
    let h = harness(sim()).await;
    journal_in_flight(&h, None);
    let h = restart(h);
    let reports = resume_in_flight(&h.ctx).await;
    assert!(!reports[0].resumed);
    assert!(reports[0].reason.contains("before the clone was submitted"));
    let events = watch(&h).await;
    assert_eq!(error(&events).kind(), ErrorKind::Unavailable);
    assert!(h.ctx.journal.in_flight().is_empty());
    assert_eq!(h.journal_lines().pop().unwrap()["outcome"], "failed");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_create_whose_clone_failed_ends_failed_with_pves_message() {
    let h = harness(sim().fault(Fault::CloneFails {
        vmid: Some(UBUNTU),
        percent: 10,
        message: "disk I/O error".into(),
    }))
    .await;
    let progress = submit_clone(&h, 778).await;
    journal_in_flight(&h, Some(&progress));
    let h = restart(h);
    resume_in_flight(&h.ctx).await;
    let events = watch(&h).await;
    let error = error(&events);
    assert_eq!(error.kind(), ErrorKind::PveApiError);
    assert_eq!(error.pve_message, "clone failed: disk I/O error");
    assert!(h.config_text(778).is_none());
    assert!(h.ctx.journal.in_flight().is_empty());
}
