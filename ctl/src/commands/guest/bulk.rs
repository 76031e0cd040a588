//! `vm|ct start|stop|shutdown|reboot|suspend|resume|delete`: the guests
//! selected (VMIDs, `--selector`, `--all`), each node's share sent to its
//! agent in one call, every node at once; a guest that moved is followed to
//! the node its agent names, once. One line per guest, and the exit code
//! they give together. A delete lists what goes and asks first.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use pvectl_proto::bulk::{DELETE_WAIT, action_wait, node_answer_within};
use pvectl_proto::v1::{
    DeleteGuestsRequest, ErrorKind, Guest, GuestAction, GuestActionRequest, GuestResult,
    GuestStatus,
};
use tonic::transport::Channel;

use super::Resource;
use super::results::{ResultRow, outcome};
use super::select::{Selected, select};
use crate::Error;
use crate::cli::{
    GlobalArgs, GuestActionArgs, GuestDeleteArgs, GuestSelectArgs, GuestShutdownArgs,
    GuestStateArgs, GuestStopArgs,
};
use crate::cluster::{Cluster, Target};
use crate::commands::Io;
use crate::commands::remote::Session;
use crate::commands::view;
use crate::confirm::confirm;
use crate::output::{OutputError, render};
use crate::remote::{RemoteError, describe_detail};

/// What every node's agent is asked to do.
#[derive(Debug, Clone, Copy)]
pub(in crate::commands) enum Request {
    Action {
        action: GuestAction,
        force: bool,
        timeout_seconds: u32,
        no_wait: bool,
    },
    Delete {
        purge: bool,
        force: bool,
    },
}

/// A bulk command: which guests, and what to do to them.
#[derive(Debug, Clone)]
pub(in crate::commands) struct BulkArgs {
    pub guests: GuestSelectArgs,
    pub request: Request,
}

fn seconds(timeout: Option<Duration>) -> u32 {
    timeout.map_or(0, |timeout| {
        u32::try_from(timeout.as_secs().max(1)).unwrap_or(u32::MAX)
    })
}

impl BulkArgs {
    fn action(
        guests: GuestSelectArgs,
        action: GuestAction,
        force: bool,
        timeout: Option<Duration>,
        no_wait: bool,
    ) -> BulkArgs {
        BulkArgs {
            guests,
            request: Request::Action {
                action,
                force,
                timeout_seconds: seconds(timeout),
                no_wait,
            },
        }
    }

    pub fn start(args: GuestActionArgs) -> BulkArgs {
        Self::action(
            args.guests,
            GuestAction::Start,
            false,
            args.timeout,
            args.no_wait,
        )
    }

    pub fn reboot(args: GuestActionArgs) -> BulkArgs {
        Self::action(
            args.guests,
            GuestAction::Reboot,
            false,
            args.timeout,
            args.no_wait,
        )
    }

    pub fn stop(args: GuestStopArgs) -> BulkArgs {
        Self::action(
            args.guests,
            GuestAction::Stop,
            args.force,
            args.timeout,
            args.no_wait,
        )
    }

    pub fn shutdown(args: GuestShutdownArgs) -> BulkArgs {
        Self::action(
            args.guests,
            GuestAction::Shutdown,
            args.force,
            args.timeout,
            args.no_wait,
        )
    }

    pub fn suspend(args: GuestStateArgs) -> BulkArgs {
        Self::action(args.guests, GuestAction::Suspend, false, None, args.no_wait)
    }

    pub fn resume(args: GuestStateArgs) -> BulkArgs {
        Self::action(args.guests, GuestAction::Resume, false, None, args.no_wait)
    }

    pub fn delete(args: GuestDeleteArgs) -> BulkArgs {
        BulkArgs {
            guests: args.guests,
            request: Request::Delete {
                purge: args.purge,
                force: args.force,
            },
        }
    }
}

impl Request {
    /// The command's verb (`start`, `delete`).
    fn verb(self) -> &'static str {
        match self {
            Request::Action { action, .. } => match action {
                GuestAction::Start => "start",
                GuestAction::Stop => "stop",
                GuestAction::Shutdown => "shutdown",
                GuestAction::Reboot => "reboot",
                GuestAction::Suspend => "suspend",
                GuestAction::Resume => "resume",
                GuestAction::Unspecified => "act on",
            },
            Request::Delete { .. } => "delete",
        }
    }

    fn call(self) -> &'static str {
        match self {
            Request::Action { .. } => "RunGuestAction",
            Request::Delete { .. } => "DeleteGuests",
        }
    }

    /// How long the agent may wait for one guest (the rule it follows).
    fn per_guest(self) -> Duration {
        match self {
            Request::Action { no_wait: true, .. } => Duration::ZERO,
            Request::Action {
                timeout_seconds, ..
            } => action_wait(timeout_seconds),
            Request::Delete { .. } => DELETE_WAIT,
        }
    }

    /// Asks `agent` to act on `vmids`.
    async fn send(
        self,
        node: &str,
        mut agent: pvectl_proto::v1::agent_client::AgentClient<Channel>,
        vmids: Vec<u32>,
    ) -> Result<Vec<GuestResult>, RemoteError> {
        let answer = match self {
            Request::Action {
                action,
                force,
                timeout_seconds,
                no_wait,
            } => {
                let mut request = GuestActionRequest {
                    vmids,
                    force,
                    timeout_seconds,
                    no_wait,
                    ..GuestActionRequest::default()
                };
                request.set_action(action);
                agent
                    .run_guest_action(request)
                    .await
                    .map(|response| response.into_inner().results)
            }
            Request::Delete { purge, force } => agent
                .delete_guests(DeleteGuestsRequest {
                    vmids,
                    purge,
                    force,
                })
                .await
                .map(|response| response.into_inner().results),
        };
        answer.map_err(|status| RemoteError::from_status(node, self.call(), &status))
    }
}

/// Runs a bulk command to its end on the session's runtime.
pub(in crate::commands) fn run_blocking(
    session: &Session,
    resource: Resource,
    args: BulkArgs,
    global: &GlobalArgs,
    io: &mut Io<'_>,
) -> Result<(), Error> {
    session.block_on(run(session, resource, args, global, io))
}

/// Runs a bulk command.
async fn run(
    session: &Session,
    resource: Resource,
    args: BulkArgs,
    global: &GlobalArgs,
    io: &mut Io<'_>,
) -> Result<(), Error> {
    let request = args.request;
    let verb = request.verb();
    let cluster = session.discover().await?;
    let selected = select(&cluster, resource, verb, &args.guests, io).await?;
    if selected.count() == 0 && selected.unresolved.is_empty() {
        writeln!(io.stderr, "no {} matches: nothing to {verb}", resource.noun)
            .map_err(OutputError::from)?;
        return outcome(resource, &[], selected.unreachable);
    }
    if global.dry_run {
        let rows = planned(resource, &selected, verb);
        render(&rows, session.format, io.terminal_width, io.stdout)?;
        return outcome(resource, &rows, selected.unreachable);
    }
    if let Request::Delete { force, .. } = request {
        ask(resource, &selected, force, global.yes, io)?;
    }
    let rows = carry_out(&cluster, resource, request, &selected, io).await?;
    render(&rows, session.format, io.terminal_width, io.stdout)?;
    outcome(resource, &rows, selected.unreachable)
}

/// The lines of a dry run: what would be acted on, as it is now.
fn planned(resource: Resource, selected: &Selected, verb: &str) -> Vec<ResultRow> {
    let mut rows: Vec<ResultRow> = selected
        .by_node
        .values()
        .flatten()
        .map(|guest| ResultRow::dry_run(resource, guest, verb))
        .collect();
    rows.extend(unresolved_rows(resource, selected));
    rows.sort_by_key(|row| row.vmid);
    rows
}

/// Lists what a delete removes and asks; `--yes` skips the question, no
/// terminal to ask on refuses.
fn ask(
    resource: Resource,
    selected: &Selected,
    force: bool,
    yes: bool,
    io: &mut Io<'_>,
) -> Result<(), Error> {
    let count = selected.count();
    if !yes {
        writeln!(io.stderr, "to delete ({count}):").map_err(OutputError::from)?;
        for guest in selected.by_node.values().flatten() {
            let status = guest.status();
            let note = match status {
                GuestStatus::Stopped => "",
                _ if force => " (stopped first: --force)",
                _ => " (refused unless --force)",
            };
            writeln!(
                io.stderr,
                "  {} {}  {}  on {}  {}{note}",
                resource.noun,
                guest.vmid,
                view::or_dash(&guest.name),
                guest.node,
                view::status(status),
            )
            .map_err(OutputError::from)?;
        }
    }
    let what = if count == 1 {
        format!("delete this {}", resource.noun)
    } else {
        format!("delete these {count} {}s", resource.noun)
    };
    confirm(&what, yes, io.prompt)?;
    Ok(())
}

/// Sends each node its guests, all nodes at once, follows guests that
/// moved once, and makes one line per guest in VMID order.
async fn carry_out(
    cluster: &Cluster,
    resource: Resource,
    request: Request,
    selected: &Selected,
    io: &mut Io<'_>,
) -> Result<Vec<ResultRow>, Error> {
    let guests: BTreeMap<u32, &Guest> = selected
        .by_node
        .values()
        .flatten()
        .map(|guest| (guest.vmid, guest))
        .collect();
    let shares: BTreeMap<String, Vec<u32>> = selected
        .by_node
        .iter()
        .map(|(node, guests)| (node.clone(), guests.iter().map(|g| g.vmid).collect()))
        .collect();
    let mut answers = send_all(cluster, request, &shares, io).await?;
    let moved = moved(&answers);
    if !moved.is_empty() {
        let followed: BTreeSet<u32> = moved.values().flatten().copied().collect();
        answers.retain(|(_, vmid, _)| !followed.contains(vmid));
        answers.extend(send_all(cluster, request, &moved, io).await?);
    }
    let deleting = matches!(request, Request::Delete { .. });
    let mut rows = Vec::new();
    for (node, vmid, answer) in answers {
        let name = guests.get(&vmid).map_or("", |guest| guest.name.as_str());
        match answer {
            Ok(result) => {
                if let Some(error) = &result.error {
                    writeln!(
                        io.stderr,
                        "error: {} {vmid} on {node}: {}",
                        resource.noun,
                        describe_detail(error)
                    )
                    .map_err(OutputError::from)?;
                }
                rows.push(ResultRow::of(resource, &node, &result, name, deleting));
            }
            Err(reason) => rows.push(ResultRow::not_done(resource, vmid, name, &node, reason)),
        }
    }
    rows.extend(unresolved_rows(resource, selected));
    rows.sort_by_key(|row| row.vmid);
    Ok(rows)
}

/// One answer per guest: (node asked, VMID, its result or why its node
/// gave none).
type Answer = (String, u32, Result<GuestResult, String>);

/// Sends every node in `shares` its VMIDs at once, within the time the
/// agent may take for as many guests; a node that fails is warned about
/// once and its guests are not done.
async fn send_all(
    cluster: &Cluster,
    request: Request,
    shares: &BTreeMap<String, Vec<u32>>,
    io: &mut Io<'_>,
) -> Result<Vec<Answer>, Error> {
    let most = shares.values().map(Vec::len).max().unwrap_or(0);
    let cluster = cluster.with_call_timeout(node_answer_within(request.per_guest(), most));
    let nodes: Vec<String> = shares.keys().cloned().collect();
    let results = cluster
        .fan_out(&nodes, request.call(), |target: Target, agent| {
            let vmids = shares.get(&target.node).cloned().unwrap_or_default();
            async move { request.send(&target.node, agent, vmids).await }
        })
        .await;
    let mut answers = Vec::new();
    for (node, result) in results {
        match result {
            Ok(results) => answers.extend(
                results
                    .into_iter()
                    .map(|result| (node.clone(), result.vmid, Ok(result))),
            ),
            Err(error) => {
                writeln!(io.stderr, "warning: {error}").map_err(OutputError::from)?;
                let reason = format!("not done: {error}");
                for vmid in shares.get(&node).into_iter().flatten() {
                    answers.push((node.clone(), *vmid, Err(reason.clone())));
                }
            }
        }
    }
    Ok(answers)
}

/// The guests whose agent said they live on another node, by that node.
fn moved(answers: &[Answer]) -> BTreeMap<String, Vec<u32>> {
    let mut moved: BTreeMap<String, Vec<u32>> = BTreeMap::new();
    for (_, vmid, answer) in answers {
        let owner = answer
            .as_ref()
            .ok()
            .and_then(|result| result.error.as_ref())
            .filter(|error| error.kind() == ErrorKind::WrongNode && !error.owner_node.is_empty());
        if let Some(error) = owner {
            moved
                .entry(error.owner_node.clone())
                .or_default()
                .push(*vmid);
        }
    }
    moved
}

/// Lines for VMIDs no answering node had while some node was silent.
fn unresolved_rows(resource: Resource, selected: &Selected) -> Vec<ResultRow> {
    let silent = selected.unreachable.join(", ");
    selected
        .unresolved
        .iter()
        .map(|vmid| {
            ResultRow::not_done(
                resource,
                *vmid,
                "",
                "",
                format!("not found on the nodes that answered; no answer from {silent}"),
            )
        })
        .collect()
}
