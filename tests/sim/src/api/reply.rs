//! What handlers return and how it goes on the wire: PVE's JSON envelope, its
//! error bodies, the first line of the message as the HTTP reason phrase, and
//! the headers pveproxy adds to every answer.

use std::collections::BTreeMap;
use std::io::Write;

use axum::body::Body;
use axum::response::{IntoResponse, Response};
use http::StatusCode;
use http::header::{self, HeaderValue};
use serde_json::{Map, Value};

const JSON_CONTENT_TYPE: &str = "application/json;charset=UTF-8";
/// pveproxy gzips bodies above this size when the client accepts gzip.
const GZIP_THRESHOLD: usize = 1024;

/// A successful answer: `{"data": ..., "total": n}`.
#[derive(Clone, Debug, PartialEq)]
pub struct Reply {
    pub data: Value,
    /// Sent as `total` (task lists, task logs); PVE leaves out a total of 0.
    pub total: Option<u64>,
}

impl Reply {
    pub fn with_total(data: Value, total: u64) -> Self {
        Self {
            data,
            total: Some(total),
        }
    }
}

impl From<Value> for Reply {
    fn from(data: Value) -> Self {
        Self { data, total: None }
    }
}

impl IntoResponse for Reply {
    fn into_response(self) -> Response {
        let mut body = Map::new();
        body.insert("data".into(), self.data);
        if let Some(total) = self.total.filter(|total| *total != 0) {
            body.insert("total".into(), total.into());
        }
        json_response(StatusCode::OK, None, &Value::Object(body))
    }
}

/// An error as a PVE handler raises it. The message keeps PVE's trailing newline
/// (the constructors add one where a Perl `die "...\n"` would have it).
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
#[error("{status}: {message}")]
pub struct ApiError {
    pub status: StatusCode,
    pub message: String,
    /// Per-parameter messages (400 `Parameter verification failed.`).
    pub errors: Option<BTreeMap<String, String>>,
}

impl ApiError {
    /// A plain `die` in a handler: 500.
    pub fn internal(message: impl Into<String>) -> Self {
        Self::custom(StatusCode::INTERNAL_SERVER_ERROR, message)
    }

    /// `raise_param_exc`: 400 `Parameter verification failed.` with per-field messages.
    pub fn params(errors: BTreeMap<String, String>) -> Self {
        Self {
            status: StatusCode::BAD_REQUEST,
            message: "Parameter verification failed.\n".into(),
            errors: Some(errors),
        }
    }

    /// `raise_param_exc({field => message})`, e.g. `("upid", "no such task")`.
    pub fn param(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self::params(BTreeMap::from([(field.into(), message.into())]))
    }

    /// `raise_perm_exc(what)`: 403 `Permission check failed (what)`, e.g. with
    /// `what` = `/vms/100, VM.Allocate`; an empty `what` gives the bare sentence.
    pub fn forbidden(what: impl Into<String>) -> Self {
        let what = what.into();
        let message = if what.is_empty() {
            "Permission check failed".to_string()
        } else {
            format!("Permission check failed ({what})")
        };
        Self::custom(StatusCode::FORBIDDEN, message)
    }

    /// 501 `Method 'GET /x' not implemented` (no trailing newline, as in PVE);
    /// `path` is relative to `/api2/json`.
    pub fn not_implemented(method: &http::Method, path: &str) -> Self {
        Self {
            status: StatusCode::NOT_IMPLEMENTED,
            message: format!("Method '{method} {path}' not implemented"),
            errors: None,
        }
    }

    /// Any status with a message (a newline is appended if missing).
    pub fn custom(status: StatusCode, message: impl Into<String>) -> Self {
        let mut message = message.into();
        if !message.ends_with('\n') {
            message.push('\n');
        }
        Self {
            status,
            message,
            errors: None,
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut body = Map::new();
        body.insert("data".into(), Value::Null);
        if let Some(errors) = self.errors.filter(|errors| !errors.is_empty()) {
            let errors = errors
                .into_iter()
                .map(|(k, v)| (k, Value::from(v)))
                .collect();
            body.insert("errors".into(), Value::Object(errors));
        }
        body.insert("message".into(), Value::from(self.message.clone()));
        json_response(self.status, Some(&self.message), &Value::Object(body))
    }
}

fn json_response(status: StatusCode, message: Option<&str>, body: &Value) -> Response {
    let mut response = (
        status,
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static(JSON_CONTENT_TYPE),
        )],
        body.to_string(),
    )
        .into_response();
    if let Some(message) = message {
        set_reason(&mut response, message);
    }
    response
}

/// An answer without a body whose reason phrase carries the message, the way
/// pveproxy reports authentication failures and request-level errors.
pub(crate) fn bare(status: StatusCode, message: &str) -> Response {
    let mut response = Response::new(Body::empty());
    *response.status_mut() = status;
    set_reason(&mut response, message);
    response
}

/// Puts the first line of `message` on the status line, if it is a valid reason phrase.
fn set_reason(response: &mut Response, message: &str) {
    let first_line = message.lines().next().unwrap_or_default();
    if first_line.is_empty() {
        return;
    }
    if let Ok(reason) = hyper::ext::ReasonPhrase::try_from(first_line.as_bytes().to_vec()) {
        response.extensions_mut().insert(reason);
    }
}

/// The headers pveproxy adds to every response, `Connection: close` after an
/// error, and gzip for larger bodies when the client accepts it.
pub(crate) async fn finish(response: Response, accept_gzip: bool) -> Response {
    let (mut parts, body) = response.into_parts();
    let headers = &mut parts.headers;
    headers.insert(
        header::SERVER,
        HeaderValue::from_static("pve-api-daemon/3.0"),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("max-age=0"));
    headers.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    if parts.status.as_u16() >= 400 {
        headers.insert(header::CONNECTION, HeaderValue::from_static("close"));
    }
    if !accept_gzip || headers.contains_key(header::CONTENT_ENCODING) {
        return Response::from_parts(parts, body);
    }
    let bytes = match axum::body::to_bytes(body, usize::MAX).await {
        Ok(bytes) => bytes,
        Err(err) => {
            tracing::warn!(%err, "reading a response body for compression failed");
            return Response::from_parts(parts, Body::empty());
        }
    };
    if bytes.len() <= GZIP_THRESHOLD {
        return Response::from_parts(parts, Body::from(bytes));
    }
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    match encoder.write_all(&bytes).and_then(|()| encoder.finish()) {
        Ok(compressed) => {
            parts
                .headers
                .insert(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
            parts.headers.remove(header::CONTENT_LENGTH);
            Response::from_parts(parts, Body::from(compressed))
        }
        Err(err) => {
            tracing::warn!(%err, "compressing a response failed");
            Response::from_parts(parts, Body::from(bytes))
        }
    }
}
