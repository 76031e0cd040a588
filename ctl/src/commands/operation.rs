//! Following a create operation's events to their end, for `vm create` and
//! `task watch` alike: progress on stderr, the result on stdout, a failure as
//! the agent's error detail.

use std::time::Duration;

use pvectl_proto::v1::{CreateEvent, CreatePhase, CreateResult, create_event};
use serde::Serialize;
use tokio::time::Instant;
use tonic::Streaming;

use super::{Io, view};
use crate::Error;
use crate::error::CommandError;
use crate::output::{Column, OutputError, OutputFormat, Tabular, render_one};
use crate::progress::Progress;
use crate::remote::RemoteError;

/// The agent's own timeout of a create when none is asked for (DESIGN).
pub(super) const AGENT_DEFAULT_TIMEOUT: Duration = Duration::from_secs(15 * 60);

/// How much longer than the operation's timeout the client waits for the
/// agent to report the end, before it stops waiting.
pub(super) const DEADLINE_GRACE: Duration = Duration::from_secs(60);

/// What an operation produced.
#[derive(Debug)]
pub(super) struct Finished {
    pub operation_id: String,
    pub result: CreateResult,
}

/// Shows `first` (if given) and every further event of `stream` until the
/// final one, waiting at most `wait` in all when given. `node` names the
/// agent in errors.
pub(super) async fn follow(
    node: &str,
    first: Option<CreateEvent>,
    stream: &mut Streaming<CreateEvent>,
    wait: Option<Duration>,
    io: &mut Io<'_>,
) -> Result<Finished, Error> {
    let mut progress = Progress::new(io.stderr_is_terminal);
    let deadline = wait.map(|wait| (Instant::now() + wait, wait));
    let outcome = follow_events(node, first, stream, deadline, &mut progress, io).await;
    progress.finish();
    outcome
}

async fn follow_events(
    node: &str,
    mut pending: Option<CreateEvent>,
    stream: &mut Streaming<CreateEvent>,
    deadline: Option<(Instant, Duration)>,
    progress: &mut Progress,
    io: &mut Io<'_>,
) -> Result<Finished, Error> {
    let mut operation_id = String::new();
    loop {
        let event = match pending.take() {
            Some(event) => event,
            None => match next(stream, deadline).await {
                Err(waited) => {
                    let reason = format!(
                        "no final event within {}s; it may still be running",
                        waited.as_secs()
                    );
                    return Err(ended(node, operation_id, &reason));
                }
                Ok(Ok(Some(event))) => event,
                Ok(Ok(None)) => {
                    return Err(ended(node, operation_id, "the agent closed the stream"));
                }
                Ok(Err(status)) => {
                    let reason =
                        RemoteError::from_status(node, "the event stream", &status).to_string();
                    let reason = reason
                        .strip_prefix(&format!("node {node}: "))
                        .unwrap_or(&reason)
                        .to_owned();
                    return Err(ended(node, operation_id, &reason));
                }
            },
        };
        operation_id.clone_from(&event.operation_id);
        progress
            .event(&event, io.stderr)
            .map_err(OutputError::from)?;
        let phase = event.phase();
        match (event.outcome, phase) {
            (Some(create_event::Outcome::Result(result)), _) => {
                return Ok(Finished {
                    operation_id,
                    result,
                });
            }
            (Some(create_event::Outcome::Error(detail)), _) => {
                return Err(RemoteError::OperationFailed {
                    node: node.to_owned(),
                    operation_id,
                    detail: Box::new(detail),
                }
                .into());
            }
            (None, CreatePhase::Done) => {
                return Ok(Finished {
                    operation_id,
                    result: CreateResult {
                        vmid: event.vmid,
                        node: node.to_owned(),
                        upid: event.upid,
                        ..CreateResult::default()
                    },
                });
            }
            (None, _) => {}
        }
    }
}

/// The stream's next message, or how long was waited when the deadline
/// passed first.
async fn next(
    stream: &mut Streaming<CreateEvent>,
    deadline: Option<(Instant, Duration)>,
) -> Result<Result<Option<CreateEvent>, tonic::Status>, Duration> {
    match deadline {
        Some((at, waited)) => tokio::time::timeout_at(at, stream.message())
            .await
            .map_err(|_| waited),
        None => Ok(stream.message().await),
    }
}

fn ended(node: &str, operation_id: String, reason: &str) -> Error {
    if operation_id.is_empty() {
        return CommandError::NoEvents {
            node: node.to_owned(),
        }
        .into();
    }
    CommandError::StreamEnded {
        node: node.to_owned(),
        operation_id,
        reason: reason.to_owned(),
    }
    .into()
}

/// Prints what an operation created; `-o name` says `vm/104` or `ct/105`.
pub(super) fn print_finished(
    finished: Finished,
    format: OutputFormat,
    io: &mut Io<'_>,
) -> Result<(), Error> {
    let view = ResultView::new(finished);
    if format == OutputFormat::Name {
        let kind = if view.kind == "lxc" { "ct" } else { "vm" };
        writeln!(io.stdout, "{kind}/{}", view.vmid).map_err(OutputError::from)?;
        return Ok(());
    }
    render_one(&view, format, io.terminal_width, io.stdout)?;
    Ok(())
}

/// A finished create as printed.
#[derive(Debug, Serialize)]
struct ResultView {
    vmid: u32,
    name: String,
    node: String,
    kind: &'static str,
    started: bool,
    upid: String,
    config_digest: String,
    operation_id: String,
}

impl ResultView {
    fn new(finished: Finished) -> ResultView {
        let result = finished.result;
        ResultView {
            kind: view::kind(result.kind()),
            vmid: result.vmid,
            name: result.name,
            node: result.node,
            started: result.started,
            upid: result.upid,
            config_digest: result.config_digest,
            operation_id: finished.operation_id,
        }
    }
}

impl Tabular for ResultView {
    const KIND: &'static str = "vm";
    const COLUMNS: &'static [Column] = &[
        Column::always("VMID"),
        Column::always("NAME"),
        Column::always("NODE"),
        Column::always("STARTED"),
        Column::wide("KIND"),
        Column::wide("OPERATION"),
        Column::wide("UPID"),
        Column::wide("DIGEST"),
    ];

    fn cells(&self) -> Vec<String> {
        vec![
            self.vmid.to_string(),
            view::or_dash(&self.name),
            self.node.clone(),
            if self.started { "yes" } else { "no" }.to_owned(),
            self.kind.to_owned(),
            view::or_dash(&self.operation_id),
            view::or_dash(&self.upid),
            view::or_dash(&self.config_digest),
        ]
    }

    fn name(&self) -> String {
        self.vmid.to_string()
    }
}
