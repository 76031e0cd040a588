//! The one place agent errors become gRPC statuses: every failure carries an
//! [`ErrorDetail`] (kind, message, hint, PVE's own text, task log tail) in
//! the status details, where `pvectl` reads it back.
use pvectl_proto::v1::{ErrorDetail, ErrorKind};

use crate::pve_api::PveError;

/// What went wrong inside the agent, typed by how the client should react.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{message}")]
pub struct AgentError {
    /// Boxed: errors travel through many `Result`s and should stay small.
    pub detail: Box<ErrorDetail>,
    pub message: String,
}

impl AgentError {
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        let message = message.into();
        let detail = Box::new(ErrorDetail {
            kind: kind as i32,
            message: message.clone(),
            ..ErrorDetail::default()
        });
        Self { detail, message }
    }

    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::NotFound, message)
    }

    pub fn invalid(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::InvalidArgument, message)
    }

    pub fn refused(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::RefusedBySafety, message)
    }

    pub fn internal(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Internal, message)
    }

    pub fn unavailable(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Unavailable, message)
    }

    pub fn timeout(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Timeout, message)
    }

    pub fn conflict(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Conflict, message)
    }

    /// The request concerns `owner`; `address` is its agent (`ip:port`),
    /// empty when unknown.
    pub fn wrong_node(owner: &str, address: &str, message: impl Into<String>) -> Self {
        let mut err = Self::new(ErrorKind::WrongNode, message);
        err.detail.owner_node = owner.to_string();
        err.detail.owner_address = address.to_string();
        err
    }

    /// Adds the way out ("recreate the template", "run qm unlock 101").
    pub fn with_hint(mut self, hint: impl Into<String>) -> Self {
        self.detail.hint = hint.into();
        self
    }

    pub fn kind(&self) -> ErrorKind {
        ErrorKind::try_from(self.detail.kind).unwrap_or(ErrorKind::Internal)
    }

    /// A PVE API failure, with `context` saying what the agent was doing.
    pub fn pve(context: &str, err: &PveError) -> Self {
        let kind = match err.status() {
            Some(401) | Some(403) => ErrorKind::PermissionDenied,
            None => ErrorKind::Unavailable,
            Some(_) => ErrorKind::PveApiError,
        };
        let mut agent = Self::new(kind, format!("{context}: {err}"));
        agent.detail.pve_message = err.pve_message().unwrap_or_default().to_string();
        agent.detail.retryable = err.is_retryable();
        agent
    }

    pub fn into_status(self) -> tonic::Status {
        self.detail.into_status()
    }
}

impl From<AgentError> for tonic::Status {
    fn from(err: AgentError) -> Self {
        err.into_status()
    }
}
