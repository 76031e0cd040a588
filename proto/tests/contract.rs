//! The generated contract works end to end: messages round-trip through prost,
//! error details survive a gRPC status, and the generated client talks to the
//! generated server over loopback.

use std::net::SocketAddr;

use prost::Message;
use pvectl_proto::v1::agent_client::AgentClient;
use pvectl_proto::v1::agent_server::{self, Agent, AgentServer};
use pvectl_proto::v1::{
    CreateEvent, CreatePhase, CreateResult, ErrorDetail, ErrorKind, GetGuestRequest,
    GetNodeInfoRequest, GuestKind, ListGuestsRequest, ListGuestsResponse, Member, NodeInfo,
    WatchOperationRequest, create_event,
};
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio_stream::StreamExt;
use tokio_stream::wrappers::TcpListenerStream;
use tonic::codegen::BoxStream;
use tonic::{Request, Response, Status};

fn done_event() -> CreateEvent {
    CreateEvent {
        operation_id: "op-1".to_owned(),
        phase: CreatePhase::Done as i32,
        percent: Some(100),
        elapsed_ms: 1234,
        message: "created web1".to_owned(),
        vmid: 104,
        upid: "UPID:pve2:0003A1B2:01C2D3E4:66A0B1C2:qmclone:9200:root@pam:".to_owned(),
        outcome: Some(create_event::Outcome::Result(CreateResult {
            vmid: 104,
            kind: GuestKind::Qemu as i32,
            node: "pve2".to_owned(),
            name: "web1".to_owned(),
            upid: "UPID:pve2:0003A1B2:01C2D3E4:66A0B1C2:qmclone:9200:root@pam:".to_owned(),
            config_digest: "3f2a".to_owned(),
            started: false,
        })),
    }
}

fn wrong_node() -> ErrorDetail {
    ErrorDetail {
        kind: ErrorKind::WrongNode as i32,
        message: "guest 104 lives on node pve2".to_owned(),
        hint: "ask pve2's agent".to_owned(),
        owner_node: "pve2".to_owned(),
        owner_address: "10.0.0.2:7443".to_owned(),
        ..ErrorDetail::default()
    }
}

#[test]
fn generated_service_is_named_pvectl_v1_agent() {
    assert_eq!(agent_server::SERVICE_NAME, "pvectl.v1.Agent");
}

#[test]
fn a_final_create_event_round_trips_through_prost() {
    let event = done_event();
    let decoded = CreateEvent::decode(event.encode_to_vec().as_slice()).unwrap();
    assert_eq!(decoded, event);
    assert_eq!(decoded.phase(), CreatePhase::Done);
}

#[test]
fn an_absent_percent_stays_distinct_from_zero_percent() {
    let unknown = CreateEvent {
        phase: CreatePhase::Allocating as i32,
        ..CreateEvent::default()
    };
    let zero = CreateEvent {
        percent: Some(0),
        ..unknown.clone()
    };
    let unknown = CreateEvent::decode(unknown.encode_to_vec().as_slice()).unwrap();
    let zero = CreateEvent::decode(zero.encode_to_vec().as_slice()).unwrap();
    assert_eq!(unknown.percent, None);
    assert_eq!(zero.percent, Some(0));
}

#[test]
fn error_detail_round_trips_through_a_grpc_status() {
    let status = wrong_node().into_status();
    assert_eq!(status.code(), tonic::Code::FailedPrecondition);
    assert_eq!(status.message(), "guest 104 lives on node pve2");
    assert_eq!(ErrorDetail::from_status(&status), Some(wrong_node()));
}

#[test]
fn a_status_without_details_carries_no_error_detail() {
    assert_eq!(
        ErrorDetail::from_status(&Status::unavailable("connection refused")),
        None
    );
}

#[test]
fn error_kinds_map_to_the_documented_grpc_codes() {
    assert_eq!(ErrorKind::NotFound.grpc_code(), tonic::Code::NotFound);
    assert_eq!(ErrorKind::Conflict.grpc_code(), tonic::Code::Aborted);
    assert_eq!(
        ErrorKind::RefusedBySafety.grpc_code(),
        tonic::Code::FailedPrecondition
    );
    assert_eq!(
        ErrorKind::Timeout.grpc_code(),
        tonic::Code::DeadlineExceeded
    );
    assert_eq!(
        ErrorKind::PermissionDenied.grpc_code(),
        tonic::Code::PermissionDenied
    );
}

/// A fake agent serving three RPCs; every other RPC keeps its generated stub.
struct FakeAgent;

#[tonic::async_trait]
impl Agent for FakeAgent {
    async fn get_node_info(
        &self,
        _request: Request<GetNodeInfoRequest>,
    ) -> Result<Response<NodeInfo>, Status> {
        let member = Member {
            name: "pve1".to_owned(),
            node_id: 1,
            ip: "10.0.0.1".to_owned(),
            online: true,
            template_range: Some(pvectl_proto::template_range(1).unwrap().into()),
            ..Member::default()
        };
        Ok(Response::new(NodeInfo {
            node: Some(member.clone()),
            cluster_name: "c1".to_owned(),
            quorate: true,
            members: vec![member],
            ..NodeInfo::default()
        }))
    }

    async fn list_guests(
        &self,
        request: Request<ListGuestsRequest>,
    ) -> Result<Response<ListGuestsResponse>, Status> {
        if request.into_inner().node == "pve2" {
            return Err(wrong_node().into_status());
        }
        Ok(Response::new(ListGuestsResponse::default()))
    }

    async fn watch_operation(
        &self,
        request: Request<WatchOperationRequest>,
    ) -> Result<Response<BoxStream<CreateEvent>>, Status> {
        let id = request.into_inner().operation_id;
        let cloning = CreateEvent {
            operation_id: id.clone(),
            phase: CreatePhase::Cloning as i32,
            percent: Some(40),
            ..CreateEvent::default()
        };
        let done = CreateEvent {
            operation_id: id,
            ..done_event()
        };
        Ok(Response::new(Box::pin(tokio_stream::iter([
            Ok(cloning),
            Ok(done),
        ]))))
    }
}

/// Serves the fake agent on a free loopback port until the sender fires.
async fn serve_fake_agent() -> (SocketAddr, oneshot::Sender<()>, tokio::task::JoinHandle<()>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let (stop, stopped) = oneshot::channel::<()>();
    let server = tokio::spawn(async move {
        tonic::transport::Server::builder()
            .add_service(AgentServer::new(FakeAgent))
            .serve_with_incoming_shutdown(TcpListenerStream::new(listener), async {
                let _ = stopped.await;
            })
            .await
            .unwrap();
    });
    (address, stop, server)
}

#[tokio::test]
async fn generated_client_talks_to_generated_server_over_loopback() {
    let (address, stop, server) = serve_fake_agent().await;
    let mut client = AgentClient::connect(format!("http://{address}"))
        .await
        .unwrap();

    let info = client
        .get_node_info(GetNodeInfoRequest::default())
        .await
        .unwrap()
        .into_inner();
    assert_eq!(info.members.len(), 1);
    let range = info.members[0].template_range.unwrap();
    assert_eq!((range.first, range.last), (9100, 9199));

    let events: Vec<CreateEvent> = client
        .watch_operation(WatchOperationRequest {
            operation_id: "op-7".to_owned(),
            from_start: true,
        })
        .await
        .unwrap()
        .into_inner()
        .map(Result::unwrap)
        .collect()
        .await;
    let phases: Vec<CreatePhase> = events.iter().map(CreateEvent::phase).collect();
    assert_eq!(phases, [CreatePhase::Cloning, CreatePhase::Done]);
    assert!(events.iter().all(|event| event.operation_id == "op-7"));

    let refused = client
        .list_guests(ListGuestsRequest {
            node: "pve2".to_owned(),
            ..ListGuestsRequest::default()
        })
        .await
        .unwrap_err();
    assert_eq!(refused.code(), tonic::Code::FailedPrecondition);
    let detail = ErrorDetail::from_status(&refused).unwrap();
    assert_eq!(detail.kind(), ErrorKind::WrongNode);
    assert_eq!(detail.owner_address, "10.0.0.2:7443");

    let unimplemented = client
        .get_guest(GetGuestRequest { vmid: 104 })
        .await
        .unwrap_err();
    assert_eq!(unimplemented.code(), tonic::Code::Unimplemented);

    stop.send(()).unwrap();
    server.await.unwrap();
}
