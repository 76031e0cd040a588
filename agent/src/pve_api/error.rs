//! What can go wrong talking to the PVE API, decoded from PVE's own error
//! envelope, with a documented answer per variant to "may I retry?".

use std::collections::BTreeMap;
use std::error::Error as _;
use std::fmt;
use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde::Deserialize;

/// Which request failed: method and path below `/api2/json`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestName {
    /// HTTP method.
    pub method: Method,
    /// Path below `/api2/json` (`/nodes/pve1/qemu/100/config`).
    pub path: String,
}

impl fmt::Display for RequestName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.method, self.path)
    }
}

/// A failed PVE API call.
///
/// Retry rules ([`PveError::is_retryable`]) follow what reached PVE: a
/// request that never arrived or was turned away by the proxy is safe to
/// repeat; a refusal by a PVE handler is a real answer and repeating it
/// changes nothing.
#[derive(Debug, thiserror::Error)]
pub enum PveError {
    /// No connection could be made (refused, unreachable, connect timeout).
    /// Nothing reached PVE: retryable with backoff.
    #[error("cannot connect to the PVE API for {request}: {message}")]
    Connect {
        request: RequestName,
        message: String,
    },
    /// The TLS handshake failed: the API's certificate is not signed by the
    /// configured CA, or names another host. Not retryable: fix the CA.
    #[error(
        "TLS with the PVE API failed for {request}: {message}; check that the configured CA signed pveproxy's certificate"
    )]
    Tls {
        request: RequestName,
        message: String,
    },
    /// Connected, but no complete answer within the request timeout.
    /// Retryable for GET only: a POST, PUT or DELETE may have taken effect.
    #[error("the PVE API did not answer {request} within {after:?}")]
    Timeout {
        request: RequestName,
        after: Duration,
    },
    /// The connection broke after the request was sent. Retryable for GET
    /// only, as for [`PveError::Timeout`].
    #[error("the connection to the PVE API broke during {request}: {message}")]
    Transport {
        request: RequestName,
        message: String,
    },
    /// 401: the token was refused (unknown, expired, wrong secret). Not
    /// retryable: fix the token file.
    #[error("the PVE API refused the API token for {request} ({message}); check the token file")]
    Auth {
        request: RequestName,
        message: String,
    },
    /// 403: the token lacks a privilege. Not retryable: grant it.
    #[error("the PVE API denied {request}: {message}")]
    Permission {
        request: RequestName,
        message: String,
    },
    /// The guest, task, storage or config does not exist (PVE's "does not
    /// exist" 500s, and 404). Not retryable.
    #[error("{request}: {message}")]
    NotFound {
        request: RequestName,
        message: String,
    },
    /// 400 with per-parameter messages (`Parameter verification failed.`).
    /// Not retryable: the request is wrong.
    #[error("{request}: {message}: {}", describe_fields(.errors))]
    Parameters {
        request: RequestName,
        message: String,
        errors: BTreeMap<String, String>,
    },
    /// Any other error status, with PVE's message (or the reason phrase).
    /// Retryable only for statuses from the proxy path that mean "not
    /// handled": 502, 503 and 595 (pveproxy could not reach the worker) for
    /// any method, plus 504 and 596–599 for GET. A 500 is a PVE handler's
    /// refusal ("VM is locked (clone)") and is not retryable as such.
    #[error("{request} failed: {status} {message}")]
    Status {
        request: RequestName,
        status: u16,
        message: String,
    },
    /// The answer was not the JSON expected. Not retryable.
    #[error("cannot decode the PVE API's answer to {request}: {message}")]
    Decode {
        request: RequestName,
        message: String,
    },
}

fn describe_fields(errors: &BTreeMap<String, String>) -> String {
    errors
        .iter()
        .map(|(field, message)| format!("{field}: {}", message.trim_end()))
        .collect::<Vec<_>>()
        .join("; ")
}

impl PveError {
    /// True when repeating the same request unchanged (after a backoff) is
    /// safe and may succeed. See each variant.
    pub fn is_retryable(&self) -> bool {
        match self {
            PveError::Connect { .. } => true,
            PveError::Timeout { request, .. } | PveError::Transport { request, .. } => {
                request.method == Method::GET
            }
            PveError::Status {
                request, status, ..
            } => match status {
                502 | 503 | 595 => true,
                504 | 596..=599 => request.method == Method::GET,
                _ => false,
            },
            PveError::Tls { .. }
            | PveError::Auth { .. }
            | PveError::Permission { .. }
            | PveError::NotFound { .. }
            | PveError::Parameters { .. }
            | PveError::Decode { .. } => false,
        }
    }

    /// The request that failed.
    pub fn request(&self) -> &RequestName {
        match self {
            PveError::Connect { request, .. }
            | PveError::Tls { request, .. }
            | PveError::Timeout { request, .. }
            | PveError::Transport { request, .. }
            | PveError::Auth { request, .. }
            | PveError::Permission { request, .. }
            | PveError::NotFound { request, .. }
            | PveError::Parameters { request, .. }
            | PveError::Status { request, .. }
            | PveError::Decode { request, .. } => request,
        }
    }

    /// The HTTP status PVE answered with; `None` when no answer came.
    pub fn status(&self) -> Option<u16> {
        match self {
            PveError::Auth { .. } => Some(401),
            PveError::Permission { .. } => Some(403),
            PveError::Parameters { .. } => Some(400),
            PveError::Status { status, .. } => Some(*status),
            PveError::NotFound { .. }
            | PveError::Connect { .. }
            | PveError::Tls { .. }
            | PveError::Timeout { .. }
            | PveError::Transport { .. }
            | PveError::Decode { .. } => None,
        }
    }

    /// PVE's own text (its `message`, or the reason phrase), for showing to
    /// users as PVE said it; `None` when PVE said nothing.
    pub fn pve_message(&self) -> Option<&str> {
        match self {
            PveError::Auth { message, .. }
            | PveError::Permission { message, .. }
            | PveError::NotFound { message, .. }
            | PveError::Parameters { message, .. }
            | PveError::Status { message, .. } => Some(message),
            PveError::Connect { .. }
            | PveError::Tls { .. }
            | PveError::Timeout { .. }
            | PveError::Transport { .. }
            | PveError::Decode { .. } => None,
        }
    }

    /// Per-parameter messages of a 400; empty otherwise.
    pub fn field_errors(&self) -> Option<&BTreeMap<String, String>> {
        match self {
            PveError::Parameters { errors, .. } => Some(errors),
            _ => None,
        }
    }

    /// Decodes an error answer: PVE's `message` (trailing newline trimmed),
    /// else the reason phrase, else the status's canonical reason.
    pub(crate) fn from_answer(
        request: RequestName,
        status: StatusCode,
        reason: Option<&str>,
        body: &[u8],
    ) -> PveError {
        #[derive(Deserialize)]
        struct ErrorBody {
            #[serde(default)]
            message: Option<String>,
            #[serde(default)]
            errors: Option<BTreeMap<String, serde_json::Value>>,
        }
        let parsed: Option<ErrorBody> = serde_json::from_slice(body).ok();
        let errors: BTreeMap<String, String> = parsed
            .as_ref()
            .and_then(|body| body.errors.as_ref())
            .map(|errors| {
                errors
                    .iter()
                    .map(|(field, value)| {
                        let text = value
                            .as_str()
                            .map_or_else(|| value.to_string(), str::to_owned);
                        (field.clone(), text.trim_end().to_owned())
                    })
                    .collect()
            })
            .unwrap_or_default();
        let message = parsed
            .and_then(|body| body.message)
            .map(|message| message.trim_end().to_owned())
            .filter(|message| !message.is_empty())
            .or_else(|| {
                reason
                    .map(|reason| reason.trim_end().to_owned())
                    .filter(|r| !r.is_empty())
            })
            .or_else(|| status.canonical_reason().map(str::to_owned))
            .unwrap_or_else(|| format!("HTTP {}", status.as_u16()));

        match status.as_u16() {
            401 => PveError::Auth { request, message },
            403 => PveError::Permission { request, message },
            404 => PveError::NotFound { request, message },
            400 if !errors.is_empty() => PveError::Parameters {
                request,
                message,
                errors,
            },
            500 if message.contains("does not exist") => PveError::NotFound { request, message },
            code => PveError::Status {
                request,
                status: code,
                message,
            },
        }
    }

    /// Classifies a transport failure from reqwest.
    pub(crate) fn from_transport(
        request: RequestName,
        error: reqwest::Error,
        timeout: Duration,
    ) -> PveError {
        let tls = has_tls_error(&error);
        let (connect, timed_out, decode) =
            (error.is_connect(), error.is_timeout(), error.is_decode());
        let message = error_chain(&error.without_url());
        if tls {
            PveError::Tls { request, message }
        } else if connect {
            PveError::Connect { request, message }
        } else if timed_out {
            PveError::Timeout {
                request,
                after: timeout,
            }
        } else if decode {
            PveError::Decode { request, message }
        } else {
            PveError::Transport { request, message }
        }
    }
}

/// The error and its sources as one line, skipping repeats.
fn error_chain(error: &reqwest::Error) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut current: Option<&dyn std::error::Error> = Some(error);
    while let Some(error) = current {
        let text = error.to_string();
        if !parts.iter().any(|part| part.contains(&text)) {
            parts.push(text);
        }
        current = error.source();
    }
    parts.join(": ")
}

/// True when a rustls error (bad certificate, handshake failure) caused it.
fn has_tls_error(error: &reqwest::Error) -> bool {
    let mut current = error.source();
    while let Some(error) = current {
        if is_rustls_error(error) {
            return true;
        }
        current = error.source();
    }
    false
}

/// rustls errors reach us wrapped in `io::Error`s, whose `source()` skips
/// the wrapped error itself, so look inside each one.
fn is_rustls_error(error: &(dyn std::error::Error + 'static)) -> bool {
    if error.downcast_ref::<rustls::Error>().is_some() {
        return true;
    }
    error
        .downcast_ref::<std::io::Error>()
        .and_then(std::io::Error::get_ref)
        .is_some_and(|inner| is_rustls_error(inner))
}
