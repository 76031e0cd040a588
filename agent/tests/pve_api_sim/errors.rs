//! Failures: PVE's refusals, bad credentials or CA, network trouble, and
//! whether each is retryable.

use std::time::Duration;

use pve_sim::Fault;
use pvectl_agent::pmxcfs::GuestKind;
use pvectl_agent::pve_api::{
    ApiToken, CloneRequest, GuestAction, Params, PveClient, PveError, TaskExit,
};

use super::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clone_failing_inside_its_task_reports_pves_error_text() {
    let cluster = cluster().await;
    cluster
        .add_fault(Fault::CloneFails {
            vmid: Some(TEMPLATE),
            percent: 50,
            message: "disk copy exploded".to_owned(),
        })
        .unwrap();
    let client = client(&cluster);
    let upid = full_clone_of_template(&client).await;
    let TaskExit::Failed(message) = wait_task(&client, &upid).await else {
        panic!("the clone should fail");
    };
    assert!(message.contains("disk copy exploded"), "{message}");
    let log = client.task_log(NODE, &upid, 0, 0).await.unwrap();
    assert!(log.lines.last().unwrap().t.starts_with("TASK ERROR:"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn locked_template_refusal_is_a_non_retryable_500_with_pves_message() {
    let cluster = cluster().await;
    cluster
        .add_fault(Fault::SetLock {
            vmid: TEMPLATE,
            lock: "backup".to_owned(),
        })
        .unwrap();
    let client = client(&cluster);
    let error = client
        .clone_guest(
            NODE,
            GuestKind::Qemu,
            TEMPLATE,
            &CloneRequest {
                newid: 4500,
                ..CloneRequest::default()
            },
        )
        .await
        .unwrap_err();
    assert!(
        matches!(&error, PveError::Status { status: 500, .. }),
        "{error:?}"
    );
    assert_eq!(error.pve_message(), Some("VM is locked (backup)"));
    assert!(!error.is_retryable());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn parameter_errors_name_the_field() {
    let cluster = cluster().await;
    let client = client(&cluster);
    let error = client
        .clone_guest(
            NODE,
            GuestKind::Qemu,
            TEMPLATE,
            &CloneRequest {
                newid: 5,
                ..CloneRequest::default()
            },
        )
        .await
        .unwrap_err();
    let errors = error.field_errors().unwrap_or_else(|| panic!("{error:?}"));
    assert!(errors.contains_key("newid"), "{errors:?}");
    assert_eq!(error.status(), Some(400));

    let unknown_task = client
        .task_status(
            NODE,
            "UPID:pve1:00000001:00000002:00000003:qmstart:1:root@pam:",
        )
        .await
        .unwrap_err();
    assert_eq!(unknown_task.field_errors().unwrap()["upid"], "no such task");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_secret_is_an_auth_error() {
    let cluster = cluster().await;
    let wrong = ApiToken::parse(&format!(
        "{}=00000000-0000-0000-0000-000000000000",
        cluster.sandbox().token.id
    ))
    .unwrap();
    let error = client_with(&cluster, &wrong, Duration::from_secs(10))
        .version()
        .await
        .unwrap_err();
    assert!(matches!(error, PveError::Auth { .. }), "{error:?}");
    assert_eq!(error.status(), Some(401));
    assert!(!error.is_retryable());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_certificate_from_another_ca_is_refused() {
    let cluster = cluster().await;
    let other = pve_sim::pki::ClusterCa::generate("elsewhere").unwrap();
    let client = PveClient::new(
        &cluster.url(NODE).unwrap(),
        &token(&cluster),
        other.cert_pem.as_bytes(),
        Duration::from_secs(10),
    )
    .unwrap();
    let error = client.version().await.unwrap_err();
    assert!(matches!(error, PveError::Tls { .. }), "{error:?}");
    assert!(!error.is_retryable());
    assert!(
        error.to_string().to_lowercase().contains("certificate"),
        "{error}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_closed_port_is_a_retryable_connect_error() {
    let cluster = cluster().await;
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let ca = std::fs::read(&cluster.sandbox().ca).unwrap();
    let client = PveClient::new(
        &format!("https://127.0.0.1:{port}"),
        &token(&cluster),
        &ca,
        Duration::from_secs(5),
    )
    .unwrap();
    let error = client.version().await.unwrap_err();
    assert!(matches!(error, PveError::Connect { .. }), "{error:?}");
    assert!(error.is_retryable());
    assert!(error.to_string().contains("GET /version"), "{error}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_api_times_out_with_the_configured_limit() {
    let cluster = cluster().await;
    cluster
        .add_fault(Fault::ApiLatency {
            node: Some(NODE.to_owned()),
            millis: 60_000,
        })
        .unwrap();
    let client = client_with(&cluster, &token(&cluster), Duration::from_millis(300));
    let read = client.version().await.unwrap_err();
    assert!(
        matches!(read, PveError::Timeout { after, .. } if after == Duration::from_millis(300)),
        "{read:?}"
    );
    assert!(read.is_retryable());
    let write = client
        .status_action(
            NODE,
            GuestKind::Qemu,
            STOPPED_VM,
            GuestAction::Start,
            &Params::new(),
        )
        .await
        .unwrap_err();
    assert!(matches!(write, PveError::Timeout { .. }), "{write:?}");
    assert!(
        !write.is_retryable(),
        "a timed-out POST may have started the guest"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn injected_service_unavailable_is_retryable() {
    let cluster = cluster().await;
    cluster
        .add_fault(Fault::ServerErrors {
            node: Some(NODE.to_owned()),
            probability: 1.0,
        })
        .unwrap();
    let error = client(&cluster).version().await.unwrap_err();
    assert!(
        matches!(error, PveError::Status { status: 503, .. }),
        "{error:?}"
    );
    assert!(error.is_retryable());
    assert_eq!(error.pve_message(), Some("injected server error (pve-sim)"));
}
