//! API-only mode: the node's tasks through `GET /nodes/{node}/tasks`
//! (`source=all|active|archive` and PVE's filters) and one task through its
//! status, for agents without the task directory.

use std::time::{SystemTime, UNIX_EPOCH};

use pvectl_proto::Upid;
use pvectl_proto::v1::TaskSource;

use super::records::{Ended, Filter, TaskRecord};
use crate::error::AgentError;
use crate::pve_api::{PveClient, PveError, TaskFilter, TaskListEntry};

/// The node's tasks `filter` asks for (newest first, as PVE sorts them).
pub async fn records(
    pve: &PveClient,
    node: &str,
    filter: &Filter,
) -> Result<Vec<TaskRecord>, AgentError> {
    let source = match filter.source {
        TaskSource::Active => "active",
        TaskSource::Archive => "archive",
        TaskSource::Unspecified => "all",
    };
    let query = TaskFilter {
        limit: Some(u64::try_from(filter.limit).unwrap_or(u64::MAX)),
        source: Some(source.to_string()),
        vmid: filter.vmid,
        typefilter: (!filter.task_type.is_empty()).then(|| filter.task_type.clone()),
        errors: filter.errors_only.then_some(true),
        since: (filter.since_unix_ms > 0).then_some(filter.since_unix_ms / 1000),
        ..TaskFilter::default()
    };
    let entries = pve
        .tasks(node, &query)
        .await
        .map_err(|e| AgentError::pve("listing the node's tasks", &e))?;
    Ok(entries.iter().filter_map(record_of).collect())
}

/// A listed task; entries whose UPID does not parse are skipped.
fn record_of(entry: &TaskListEntry) -> Option<TaskRecord> {
    let upid: Upid = entry.upid.parse().ok()?;
    let status = entry.status.as_deref().unwrap_or_default();
    let end = match entry.endtime {
        Some(endtime) if status != "RUNNING" => Some(Ended {
            unix_ms: endtime.saturating_mul(1000),
            status: status.to_string(),
        }),
        _ => None,
    };
    Some(TaskRecord { upid, end })
}

/// One task of this node; `None` when PVE does not know it.
pub async fn find(pve: &PveClient, upid: &Upid) -> Result<Option<TaskRecord>, AgentError> {
    let status = match pve.task_status(&upid.node, upid.as_str()).await {
        Ok(status) => status,
        Err(PveError::NotFound { .. } | PveError::Parameters { .. }) => return Ok(None),
        Err(error) => return Err(AgentError::pve("reading the task status", &error)),
    };
    if status.is_running() {
        return Ok(Some(TaskRecord {
            upid: upid.clone(),
            end: None,
        }));
    }
    let status_text = status
        .exitstatus
        .unwrap_or_else(|| "unexpected status".to_string());
    Ok(Some(TaskRecord {
        upid: upid.clone(),
        end: Some(Ended {
            unix_ms: end_time(pve, upid).await,
            status: status_text,
        }),
    }))
}

/// When a finished task ended, from the archive (the status has no end
/// time); now when the archive does not list it yet.
async fn end_time(pve: &PveClient, upid: &Upid) -> i64 {
    let query = TaskFilter {
        source: Some("archive".to_string()),
        typefilter: Some(upid.task_type.clone()),
        since: Some(upid.starttime),
        until: Some(upid.starttime),
        limit: Some(1000),
        ..TaskFilter::default()
    };
    let listed = pve
        .tasks(&upid.node, &query)
        .await
        .ok()
        .and_then(|entries| {
            entries
                .into_iter()
                .find(|entry| entry.upid == upid.as_str())
                .and_then(|entry| entry.endtime)
        });
    match listed {
        Some(endtime) => endtime.saturating_mul(1000),
        None => now_unix_ms(),
    }
}

pub fn now_unix_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}
