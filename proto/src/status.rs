//! One encoding of [`ErrorDetail`] in gRPC statuses, so the agent's errors and
//! the client's decoding of them cannot drift apart.

use prost::Message;

use crate::v1::{ErrorDetail, ErrorKind};

impl ErrorKind {
    /// The gRPC status code the agent answers with for this kind.
    pub fn grpc_code(self) -> tonic::Code {
        match self {
            ErrorKind::Unspecified => tonic::Code::Unknown,
            ErrorKind::NotFound => tonic::Code::NotFound,
            ErrorKind::RefusedBySafety => tonic::Code::FailedPrecondition,
            ErrorKind::Conflict => tonic::Code::Aborted,
            ErrorKind::Locked => tonic::Code::FailedPrecondition,
            ErrorKind::Timeout => tonic::Code::DeadlineExceeded,
            ErrorKind::PveApiError => tonic::Code::Unknown,
            ErrorKind::InvalidArgument => tonic::Code::InvalidArgument,
            ErrorKind::WrongNode => tonic::Code::FailedPrecondition,
            ErrorKind::PermissionDenied => tonic::Code::PermissionDenied,
            ErrorKind::Unavailable => tonic::Code::Unavailable,
            ErrorKind::Internal => tonic::Code::Internal,
        }
    }
}

impl ErrorDetail {
    /// A status with the kind's code, the detail's message, and the whole
    /// detail prost-encoded in the status details.
    pub fn into_status(self) -> tonic::Status {
        let code = self.kind().grpc_code();
        let message = self.message.clone();
        tonic::Status::with_details(code, message, self.encode_to_vec().into())
    }

    /// The detail an agent attached to `status`; `None` when the status
    /// carries none (e.g. a transport error) or something else.
    pub fn from_status(status: &tonic::Status) -> Option<ErrorDetail> {
        if status.details().is_empty() {
            return None;
        }
        ErrorDetail::decode(status.details()).ok()
    }
}
