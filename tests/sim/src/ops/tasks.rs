//! Tasks over the API: list (archive / active / all, with PVE's filters),
//! status, log pages read from the node's task log file, and stop.
use serde_json::{Value, json};

use crate::api::{ApiError, ApiRequest, Reply};
use crate::model::{SimRef, TaskRecord};
use crate::ops::path_node;
use crate::params::Params;
use crate::tasks::Upid;

/// The `{upid}` path parameter, parsed (PVE's `upid_decode` with `noerr`).
fn parse_upid(req: &ApiRequest) -> Result<Upid, ApiError> {
    let text = req.path.get("upid").cloned().unwrap_or_default();
    text.parse()
        .map_err(|_| ApiError::param("upid", "unable to parse worker upid"))
}

/// A parsed UPID whose log file exists on `node` (a task of another node has none here).
fn upid_param(req: &ApiRequest, node: &str) -> Result<Upid, ApiError> {
    let upid = parse_upid(req)?;
    if upid.node != node {
        return Err(ApiError::param("upid", "no such task"));
    }
    Ok(upid)
}

fn record(sim: &SimRef, upid: &Upid) -> Result<TaskRecord, ApiError> {
    sim.state()
        .tasks
        .get(&upid.to_string())
        .cloned()
        .ok_or_else(|| ApiError::param("upid", "no such task"))
}

/// The UPID's fields; a token's task (`root@pam!ci` in the UPID) shows
/// `user: root@pam` and `tokenid: ci`, as PVE's `convert_token_task` splits it.
fn base_fields(upid: &Upid) -> Value {
    let mut out = json!({
        "upid": upid.to_string(), "node": upid.node, "pid": upid.pid, "pstart": upid.pstart,
        "starttime": upid.starttime, "type": upid.task_type, "id": upid.id, "user": upid.user,
    });
    if let Some((user, token)) = upid.user.split_once('!') {
        out["user"] = json!(user);
        out["tokenid"] = json!(token);
    }
    out
}

/// `GET /nodes/{node}/tasks/{upid}/status`.
pub async fn status(sim: SimRef, req: ApiRequest) -> Result<Reply, ApiError> {
    let node = path_node(&req)?;
    let upid = upid_param(&req, &node)?;
    let task = record(&sim, &upid)?;
    let mut out = base_fields(&upid);
    match &task.end {
        None => out["status"] = json!("running"),
        Some((end, _)) => {
            out["status"] = json!("stopped");
            out["exitstatus"] = json!(end.exitstatus());
        }
    }
    Ok(out.into())
}

/// `GET /nodes/{node}/tasks/{upid}/log`. A log this node does not have is
/// one line saying so (PVE's `dump_logfile`), not an error.
pub async fn log(sim: SimRef, req: ApiRequest) -> Result<Reply, ApiError> {
    let node = path_node(&req)?;
    let upid = parse_upid(&req)?;
    let lines = sim
        .tasklogs
        .get(&node)
        .filter(|_| upid.node == node)
        .map(|logs| logs.read_log(&upid));
    let lines = match lines {
        Some(Ok(lines)) => lines,
        Some(Err(err)) if err.kind() != std::io::ErrorKind::NotFound => {
            return Err(ApiError::internal(format!(
                "unable to read task log: {err}"
            )));
        }
        _ => {
            return Ok(Reply {
                data: json!([{"n": 1, "t": "unable to open file - No such file or directory"}]),
                total: Some(1),
            });
        }
    };
    let p = Params(&req.params);
    let start = p.u64("start").unwrap_or(0) as usize;
    let limit = p.u64("limit").unwrap_or(50) as usize;
    let total = lines.len();
    if total == 0 {
        return Ok(Reply {
            data: json!([{"n": 1, "t": "no content"}]),
            total: Some(1),
        });
    }
    let take = if limit == 0 { usize::MAX } else { limit };
    let page: Vec<Value> = lines
        .iter()
        .enumerate()
        .skip(start)
        .take(take)
        .map(|(i, t)| json!({"n": i + 1, "t": t}))
        .collect();
    Ok(Reply {
        data: Value::Array(page),
        total: Some(total as u64),
    })
}

/// `DELETE /nodes/{node}/tasks/{upid}`: SIGTERM to the worker.
pub async fn stop(sim: SimRef, req: ApiRequest) -> Result<Reply, ApiError> {
    let node = path_node(&req)?;
    let upid = upid_param(&req, &node)?;
    let task = record(&sim, &upid)?;
    task.stop.send_replace(true);
    Ok(Value::Null.into())
}

/// `GET /nodes/{node}/tasks`.
pub async fn list(sim: SimRef, req: ApiRequest) -> Result<Reply, ApiError> {
    let node = path_node(&req)?;
    sim.check_node(&node)?;
    let p = Params(&req.params);
    let source = p.str("source").unwrap_or("archive");
    let start = p.u64("start").unwrap_or(0) as usize;
    let limit = p.u64("limit").unwrap_or(50) as usize;
    let errors_only = p.bool("errors").unwrap_or(false);
    let vmid = p.string("vmid");
    let typefilter = p.str("typefilter");
    let userfilter = p.str("userfilter");
    let statusfilter: Option<Vec<String>> = p
        .string("statusfilter")
        .map(|s| s.split(',').map(|x| x.trim().to_lowercase()).collect());
    let since = p.u64("since").map(|v| v as i64);
    let until = p.u64("until").map(|v| v as i64);
    let mut tasks: Vec<TaskRecord> = sim
        .state()
        .tasks
        .values()
        .filter(|t| t.upid.node == node)
        .cloned()
        .collect();
    tasks.sort_by(|a, b| {
        b.upid
            .starttime
            .cmp(&a.upid.starttime)
            .then(b.upid.pid.cmp(&a.upid.pid))
    });
    let selected: Vec<Value> = tasks
        .iter()
        .filter(|t| match source {
            "active" => t.running(),
            "all" => true,
            _ => !t.running(),
        })
        .filter(|t| vmid.as_deref().is_none_or(|v| t.upid.id == v))
        .filter(|t| typefilter.is_none_or(|f| t.upid.task_type == f))
        .filter(|t| {
            // matched case-insensitively against the user without the token name
            let user = t.upid.user.split('!').next().unwrap_or_default();
            userfilter.is_none_or(|f| user.to_lowercase().contains(&f.to_lowercase()))
        })
        .filter(|t| since.is_none_or(|s| t.upid.starttime >= s))
        .filter(|t| until.is_none_or(|u| t.upid.starttime <= u))
        .filter(|t| !errors_only || t.end.as_ref().is_some_and(|(e, _)| e.exitstatus() != "OK"))
        .filter_map(|t| {
            let mut entry = base_fields(&t.upid);
            let status = match &t.end {
                None => "RUNNING".to_string(),
                Some((end, endtime)) => {
                    entry["endtime"] = json!(endtime);
                    end.exitstatus()
                }
            };
            let class = match status.as_str() {
                "RUNNING" => "running",
                "OK" => "ok",
                s if s.starts_with("WARNINGS") => "warning",
                _ => "error",
            };
            if statusfilter
                .as_ref()
                .is_some_and(|f| !f.iter().any(|x| x == class))
            {
                return None;
            }
            entry["status"] = json!(status);
            Some(entry)
        })
        .collect();
    let total = selected.len() as u64;
    let page: Vec<Value> = selected.into_iter().skip(start).take(limit).collect();
    Ok(Reply {
        data: Value::Array(page),
        total: Some(total),
    })
}
