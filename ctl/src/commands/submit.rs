//! Sending a request that starts an operation on an agent (`vm create`,
//! `ct create`, `template promote`) and seeing it through: a WRONG_NODE
//! answer — as a status or as a first FAILED event — is followed once to
//! the owner; then either the operation id is printed (`--no-wait`) or its
//! events are followed to the end and the result printed. With
//! `--dry-run` nothing is sent.

use std::future::Future;
use std::time::Duration;

use pvectl_proto::v1::agent_client::AgentClient;
use pvectl_proto::v1::{CreateEvent, ErrorKind, create_event};
use tonic::Streaming;
use tonic::transport::Channel;

use super::Io;
use super::operation::{AGENT_DEFAULT_TIMEOUT, DEADLINE_GRACE, follow, print_finished};
use crate::Error;
use crate::cluster::{Cluster, Target};
use crate::error::CommandError;
use crate::output::{OutputError, OutputFormat};
use crate::remote::RemoteError;

/// Where and how an operation is started.
pub(super) struct Submit<'a> {
    pub cluster: &'a Cluster,
    /// The agent asked first.
    pub target: Target,
    /// The RPC's name, for errors.
    pub call: &'static str,
    /// Print the operation id instead of following it.
    pub no_wait: bool,
    /// The operation's own timeout, when one was asked for.
    pub timeout: Option<Duration>,
    pub format: OutputFormat,
    /// `--dry-run`: what would be done ("create vm web1 on pve2"), said
    /// instead of doing it.
    pub dry_run: Option<String>,
}

/// Starts the operation with `send(agent, request)` and sees it through.
pub(super) async fn submit<Req, F, Fut>(
    submit: Submit<'_>,
    request: Req,
    send: F,
    io: &mut Io<'_>,
) -> Result<(), Error>
where
    Req: Clone,
    F: Fn(AgentClient<Channel>, Req) -> Fut,
    Fut: Future<Output = Result<tonic::Response<Streaming<CreateEvent>>, tonic::Status>>,
{
    if let Some(would) = &submit.dry_run {
        writeln!(io.stderr, "would {would}; nothing was changed").map_err(OutputError::from)?;
        return Ok(());
    }
    let (answered, first, mut stream) = open(&submit, &request, &send).await?;
    if submit.no_wait {
        if let Some(create_event::Outcome::Error(detail)) = first.outcome {
            return Err(RemoteError::OperationFailed {
                node: answered.node,
                operation_id: first.operation_id,
                detail: Box::new(detail),
            }
            .into());
        }
        return print_operation_id(&first.operation_id, &answered.node, submit.format, io);
    }
    let wait = submit.timeout.unwrap_or(AGENT_DEFAULT_TIMEOUT) + DEADLINE_GRACE;
    let finished = follow(&answered.node, Some(first), &mut stream, Some(wait), io).await?;
    print_finished(finished, submit.format, io)
}

/// Sends the request and reads its first event.
async fn open<Req, F, Fut>(
    submit: &Submit<'_>,
    request: &Req,
    send: &F,
) -> Result<(Target, CreateEvent, Streaming<CreateEvent>), Error>
where
    Req: Clone,
    F: Fn(AgentClient<Channel>, Req) -> Fut,
    Fut: Future<Output = Result<tonic::Response<Streaming<CreateEvent>>, tonic::Status>>,
{
    let call = |agent| send(agent, request.clone());
    let cluster = submit.cluster;
    let (answered, mut stream) = cluster
        .call(submit.target.clone(), submit.call, call)
        .await?;
    let first = first_event(&answered, submit.call, &mut stream).await?;
    let hint = match &first.outcome {
        Some(create_event::Outcome::Error(detail))
            if detail.kind() == ErrorKind::WrongNode && answered == submit.target =>
        {
            Some(detail.clone())
        }
        _ => None,
    };
    let Some(hint) = hint else {
        return Ok((answered, first, stream));
    };
    let owner = cluster.owner_target(&hint)?;
    let mut stream = cluster.call_at(&owner, submit.call, call).await?;
    let first = first_event(&owner, submit.call, &mut stream).await?;
    Ok((owner, first, stream))
}

async fn first_event(
    answered: &Target,
    call: &'static str,
    stream: &mut Streaming<CreateEvent>,
) -> Result<CreateEvent, Error> {
    match stream.message().await {
        Ok(Some(event)) => Ok(event),
        Ok(None) => Err(CommandError::NoEvents {
            node: answered.node.clone(),
        }
        .into()),
        Err(status) => Err(RemoteError::from_status(&answered.node, call, &status).into()),
    }
}

fn print_operation_id(
    operation_id: &str,
    node: &str,
    format: OutputFormat,
    io: &mut Io<'_>,
) -> Result<(), Error> {
    #[derive(serde::Serialize)]
    struct Started<'a> {
        operation_id: &'a str,
        node: &'a str,
    }
    let started = Started { operation_id, node };
    match format {
        OutputFormat::Json => {
            serde_json::to_writer_pretty(&mut *io.stdout, &started).map_err(OutputError::from)?;
            writeln!(io.stdout).map_err(OutputError::from)?;
        }
        OutputFormat::Yaml => {
            let text = serde_norway::to_string(&started).map_err(OutputError::from)?;
            io.stdout
                .write_all(text.as_bytes())
                .map_err(OutputError::from)?;
        }
        _ => {
            writeln!(io.stdout, "{operation_id}").map_err(OutputError::from)?;
            writeln!(
                io.stderr,
                "operation {operation_id} runs on {node}; follow it with `pvectl task watch {operation_id}`"
            )
            .map_err(OutputError::from)?;
        }
    }
    Ok(())
}
