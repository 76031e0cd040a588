//! `pvectl audit log | verify`: the agents' journals, and checking each one's
//! hash chain from the stored lines plus the head remembered from the last
//! check, which catches a cut-off tail the chain alone cannot show.

#[cfg(test)]
mod tests;

use pvectl_proto::journal::{ChainError, Head, verify_lines};
use pvectl_proto::v1::agent_client::AgentClient;
use pvectl_proto::v1::{GetJournalHeadRequest, JournalEntry, ReadJournalRequest};
use serde::Serialize;
use tonic::transport::Channel;

use super::remote::{Session, answers, complete};
use super::{Io, view};
use crate::Error;
use crate::cli::{AuditCommand, GlobalArgs};
use crate::cluster::Cluster;
use crate::error::CommandError;
use crate::heads::{HEADS_FILE, HeadStore, HeadsError};
use crate::output::{Column, Tabular, render};
use crate::remote::RemoteError;

pub(super) fn run(
    command: AuditCommand,
    global: &GlobalArgs,
    io: &mut Io<'_>,
) -> Result<(), Error> {
    let session = Session::open(global, io)?;
    match command {
        AuditCommand::Log { node, limit } => session.block_on(log(&session, node, limit, io)),
        AuditCommand::Verify => session.block_on(verify(&session, global.dry_run, io)),
    }
}

/// Reads `limit` entries from `from_seq` (0: all) of one agent's journal.
async fn read_journal(
    node: &str,
    agent: &mut AgentClient<Channel>,
    from_seq: u64,
    limit: u32,
) -> Result<Vec<JournalEntry>, RemoteError> {
    let failed = |status: tonic::Status| RemoteError::from_status(node, "ReadJournal", &status);
    let request = ReadJournalRequest {
        from_seq,
        limit,
        follow: false,
    };
    let mut stream = agent
        .read_journal(request)
        .await
        .map_err(failed)?
        .into_inner();
    let mut entries = Vec::new();
    while let Some(entry) = stream.message().await.map_err(failed)? {
        entries.push(entry);
    }
    Ok(entries)
}

async fn log(
    session: &Session,
    node: Option<String>,
    limit: Option<u32>,
    io: &mut Io<'_>,
) -> Result<(), Error> {
    let cluster = session.discover().await?;
    let nodes = match node {
        Some(node) => {
            cluster.member(&node)?;
            vec![node]
        }
        None => cluster.member_names(),
    };
    let results = cluster
        .fan_out(&nodes, "ReadJournal", |target, mut agent| async move {
            let Some(limit) = limit else {
                return read_journal(&target.node, &mut agent, 0, 0).await;
            };
            let head = agent
                .get_journal_head(GetJournalHeadRequest {})
                .await
                .map_err(|status| {
                    RemoteError::from_status(&target.node, "GetJournalHead", &status)
                })?
                .into_inner();
            let from = head.seq.saturating_sub(u64::from(limit) - 1).max(1);
            read_journal(&target.node, &mut agent, from, limit).await
        })
        .await;
    let (answered, failed) = answers(results, io)?;
    let mut rows: Vec<LogRow> = answered
        .into_iter()
        .flat_map(|(node, entries)| {
            entries
                .into_iter()
                .map(move |entry| LogRow::new(&node, entry))
        })
        .collect();
    let order = cluster.member_names();
    let rank = |node: &str| order.iter().position(|name| name == node);
    rows.sort_by(|a, b| {
        (a.time_unix_ms, rank(&a.node), a.seq).cmp(&(b.time_unix_ms, rank(&b.node), b.seq))
    });
    if let Some(limit) = limit {
        let keep = usize::try_from(limit).unwrap_or(usize::MAX);
        rows.drain(..rows.len().saturating_sub(keep));
    }
    render(&rows, session.format, io.terminal_width, io.stdout)?;
    complete(failed)
}

/// The key heads are remembered under: the cluster's name, or for a node
/// without a cluster the seed it was reached through.
fn cluster_key(cluster: &Cluster) -> String {
    if cluster.name().is_empty() {
        format!("standalone {}", cluster.seed().address)
    } else {
        cluster.name().to_owned()
    }
}

async fn verify(session: &Session, dry_run: bool, io: &mut Io<'_>) -> Result<(), Error> {
    let state_dir = io.state_dir.clone().ok_or(HeadsError::NoHome)?;
    let mut store = HeadStore::load(&state_dir.join(HEADS_FILE))?;
    let cluster = session.discover().await?;
    let key = cluster_key(&cluster);
    let results = cluster
        .fan_out(
            &cluster.member_names(),
            "ReadJournal",
            |target, mut agent| async move { read_journal(&target.node, &mut agent, 0, 0).await },
        )
        .await;
    let (answered, failed) = answers(results, io)?;
    let mut rows = Vec::new();
    let mut breaks = Vec::new();
    for (node, entries) in answered {
        let remembered = store.get(&key, &node);
        let outcome = check_journal(&entries, remembered.as_ref());
        match &outcome {
            Ok(head) => store.set(&key, &node, head),
            Err(error) => breaks.push(format!("node {node}: {error}")),
        }
        rows.push(VerifyRow::new(&node, entries.len(), remembered, outcome));
    }
    render(&rows, session.format, io.terminal_width, io.stdout)?;
    if !dry_run && rows.iter().any(|row| row.ok) {
        store.save()?;
    }
    if !breaks.is_empty() {
        return Err(CommandError::JournalBroken { breaks }.into());
    }
    complete(failed)
}

/// Verifies one journal from the lines its agent sent, against the head
/// remembered for it, and returns the head to remember next.
pub(super) fn check_journal(
    entries: &[JournalEntry],
    remembered: Option<&Head>,
) -> Result<Head, ChainError> {
    verify_lines(entries.iter().map(|entry| entry.raw.as_str()), remembered)
}

/// One journal entry as `audit log` shows it.
#[derive(Debug, Serialize)]
struct LogRow {
    node: String,
    seq: u64,
    time: String,
    #[serde(skip)]
    time_unix_ms: i64,
    actor: String,
    action: String,
    target: String,
    outcome: String,
    detail: String,
    operation_id: String,
    hash: String,
}

impl LogRow {
    fn new(node: &str, entry: JournalEntry) -> LogRow {
        LogRow {
            node: node.to_owned(),
            seq: entry.seq,
            time: view::unix_ms(entry.time_unix_ms),
            time_unix_ms: entry.time_unix_ms,
            outcome: entry
                .outcome()
                .as_str_name()
                .trim_start_matches("JOURNAL_OUTCOME_")
                .to_ascii_lowercase(),
            actor: entry.actor,
            action: entry.action,
            target: entry.target,
            detail: entry.detail,
            operation_id: entry.operation_id,
            hash: entry.hash,
        }
    }
}

impl Tabular for LogRow {
    const KIND: &'static str = "entry";
    const COLUMNS: &'static [Column] = &[
        Column::always("TIME"),
        Column::always("NODE"),
        Column::always("SEQ"),
        Column::always("ACTOR"),
        Column::always("ACTION"),
        Column::always("TARGET"),
        Column::always("OUTCOME"),
        Column::always("DETAIL"),
        Column::wide("OPERATION"),
        Column::wide("HASH"),
    ];

    fn cells(&self) -> Vec<String> {
        vec![
            self.time.clone(),
            self.node.clone(),
            self.seq.to_string(),
            self.actor.clone(),
            self.action.clone(),
            self.target.clone(),
            self.outcome.clone(),
            view::or_dash(&self.detail),
            view::or_dash(&self.operation_id),
            self.hash.clone(),
        ]
    }

    fn name(&self) -> String {
        format!("{}/{}", self.node, self.seq)
    }
}

/// One node's verification as `audit verify` shows it.
#[derive(Debug, Serialize)]
struct VerifyRow {
    node: String,
    ok: bool,
    entries: usize,
    head_seq: Option<u64>,
    head_hash: Option<String>,
    remembered_seq: Option<u64>,
    problem: Option<String>,
}

impl VerifyRow {
    fn new(
        node: &str,
        entries: usize,
        remembered: Option<Head>,
        outcome: Result<Head, ChainError>,
    ) -> VerifyRow {
        let (ok, head, problem) = match outcome {
            Ok(head) => (true, Some(head), None),
            Err(error) => (false, None, Some(error.to_string())),
        };
        VerifyRow {
            node: node.to_owned(),
            ok,
            entries,
            head_seq: head.as_ref().map(|head| head.seq),
            head_hash: head.map(|head| head.hash),
            remembered_seq: remembered.map(|head| head.seq),
            problem,
        }
    }
}

impl Tabular for VerifyRow {
    const KIND: &'static str = "journal";
    const COLUMNS: &'static [Column] = &[
        Column::always("NODE"),
        Column::always("ENTRIES"),
        Column::always("HEAD"),
        Column::always("REMEMBERED"),
        Column::always("STATUS"),
        Column::wide("HASH"),
    ];

    fn cells(&self) -> Vec<String> {
        let seq = |seq: Option<u64>| seq.map_or_else(|| "-".to_owned(), |seq| seq.to_string());
        vec![
            self.node.clone(),
            self.entries.to_string(),
            seq(self.head_seq),
            seq(self.remembered_seq),
            match &self.problem {
                None => "ok".to_owned(),
                Some(problem) => format!("broken: {problem}"),
            },
            self.head_hash.clone().unwrap_or_else(|| "-".to_owned()),
        ]
    }

    fn name(&self) -> String {
        self.node.clone()
    }
}
