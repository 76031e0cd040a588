//! What can go wrong talking to an agent, named by node: the one place that
//! turns a gRPC status (and the agent's `ErrorDetail` in it) into an error a
//! person can act on, and into DESIGN's exit codes.

use std::fmt::Write as _;
use std::time::Duration;

use pvectl_proto::v1::{ErrorDetail, ErrorKind, FindingSeverity};

use crate::channel::ChannelError;
use crate::error::ExitStatus;

/// Why a request to an agent failed.
#[derive(Debug, thiserror::Error)]
pub enum RemoteError {
    /// The agent could not be dialled.
    #[error("node {node}: {source}")]
    Connect {
        node: String,
        #[source]
        source: ChannelError,
    },
    /// The agent took longer than the per-node timeout.
    #[error("node {node}: {call} got no answer within {}s", after.as_secs())]
    Timeout {
        node: String,
        call: &'static str,
        after: Duration,
    },
    /// The agent answered with an error.
    #[error("node {node}: {}", describe_status(call, *code, message, detail.as_deref()))]
    Rpc {
        node: String,
        call: &'static str,
        code: tonic::Code,
        message: String,
        detail: Option<Box<ErrorDetail>>,
    },
    /// An operation ended in its FAILED event.
    #[error(
        "node {node}: operation {operation_id} failed: {}",
        describe_detail(detail)
    )]
    OperationFailed {
        node: String,
        operation_id: String,
        detail: Box<ErrorDetail>,
    },
    /// A node name that is not a cluster member.
    #[error("no node {name:?} in the cluster; nodes: {}", list(known))]
    UnknownNode { name: String, known: Vec<String> },
    /// A member whose agent address nobody knows.
    #[error("node {node}: its agent address is unknown (the seed agent reports none)")]
    NoAddress { node: String },
    /// An agent reported an address that does not parse.
    #[error("node {node}: the agent address {address:?} it was given is invalid: {reason}")]
    BadAddress {
        node: String,
        address: String,
        reason: String,
    },
}

impl RemoteError {
    /// A failed call's status, with the detail the agent attached if any.
    pub fn from_status(node: &str, call: &'static str, status: &tonic::Status) -> RemoteError {
        // transport failures (a refused client certificate with TLS 1.3) say
        // what happened only in their source chain
        let message = match std::error::Error::source(status) {
            Some(source) => format!(
                "{}: {}",
                status.message(),
                crate::channel::error_chain(source)
            ),
            None => status.message().to_owned(),
        };
        RemoteError::Rpc {
            node: node.to_owned(),
            call,
            code: status.code(),
            message,
            detail: ErrorDetail::from_status(status).map(Box::new),
        }
    }

    /// The agent's detail, when it sent one.
    pub fn detail(&self) -> Option<&ErrorDetail> {
        match self {
            RemoteError::Rpc { detail, .. } => detail.as_deref(),
            RemoteError::OperationFailed { detail, .. } => Some(detail),
            _ => None,
        }
    }

    /// The node the failure concerns, when it is one.
    pub fn node(&self) -> Option<&str> {
        match self {
            RemoteError::Connect { node, .. }
            | RemoteError::Timeout { node, .. }
            | RemoteError::Rpc { node, .. }
            | RemoteError::OperationFailed { node, .. }
            | RemoteError::NoAddress { node }
            | RemoteError::BadAddress { node, .. } => Some(node),
            RemoteError::UnknownNode { .. } => None,
        }
    }

    /// The exit code: by the agent's error kind when it sent one, else by
    /// the gRPC code.
    pub fn exit_status(&self) -> ExitStatus {
        match self {
            RemoteError::Rpc { code, detail, .. } => match detail {
                Some(detail) => kind_exit_status(detail.kind()),
                None => code_exit_status(*code),
            },
            RemoteError::OperationFailed { detail, .. } => kind_exit_status(detail.kind()),
            RemoteError::UnknownNode { .. } => ExitStatus::NotFound,
            _ => ExitStatus::Failed,
        }
    }
}

/// DESIGN's exit code for an agent's error kind. A lock and a stale digest
/// are refusals that protect the guest (PVE's own safety checks): exit 5.
pub fn kind_exit_status(kind: ErrorKind) -> ExitStatus {
    match kind {
        ErrorKind::NotFound => ExitStatus::NotFound,
        // a lock or a stale digest refuses the change as a safety check does:
        // nothing changed
        ErrorKind::RefusedBySafety | ErrorKind::Locked | ErrorKind::Conflict => ExitStatus::Refused,
        ErrorKind::InvalidArgument => ExitStatus::Usage,
        _ => ExitStatus::Failed,
    }
}

fn code_exit_status(code: tonic::Code) -> ExitStatus {
    match code {
        tonic::Code::NotFound => ExitStatus::NotFound,
        tonic::Code::InvalidArgument => ExitStatus::Usage,
        _ => ExitStatus::Failed,
    }
}

fn describe_status(
    call: &str,
    code: tonic::Code,
    message: &str,
    detail: Option<&ErrorDetail>,
) -> String {
    match detail {
        Some(detail) => describe_detail(detail),
        None if code == tonic::Code::Unimplemented => {
            format!("the agent does not serve {call} yet: update it")
        }
        None if message.is_empty() => format!("{call} failed: {}", code.description()),
        None => format!("{call} failed: {message}"),
    }
}

/// An agent's error detail as lines for a person: the message, then what to
/// do, PVE's own words, the task and its log's tail, and blocking findings.
pub fn describe_detail(detail: &ErrorDetail) -> String {
    let mut text = detail.message.clone();
    if text.is_empty() {
        text = format!("{:?}", detail.kind()).to_lowercase();
    }
    for finding in &detail.findings {
        let severity = match finding.severity() {
            FindingSeverity::Warning => "warning",
            _ => "error",
        };
        let _ = write!(text, "\n  {severity}: {}", finding.cause);
        if !finding.fix.is_empty() {
            let _ = write!(text, " (fix: {})", finding.fix);
        }
    }
    if !detail.hint.is_empty() {
        let _ = write!(text, "\n  hint: {}", detail.hint);
    }
    if !detail.pve_message.is_empty() {
        let _ = write!(text, "\n  pve said: {}", detail.pve_message.trim_end());
    }
    if !detail.upid.is_empty() {
        let _ = write!(text, "\n  task: {}", detail.upid);
    }
    if !detail.task_log_tail.is_empty() {
        text.push_str("\n  task log (last lines):");
        for line in &detail.task_log_tail {
            let _ = write!(text, "\n    {line}");
        }
    }
    text
}

pub(crate) fn list(names: &[String]) -> String {
    if names.is_empty() {
        "(none)".to_owned()
    } else {
        names.join(", ")
    }
}

#[cfg(test)]
mod tests;
