//! The client for the node's own PVE API (pveproxy): the only code that
//! speaks HTTP to PVE.
//!
//! It authenticates with an API token (`Authorization: PVEAPIToken=…`),
//! trusts only the configured CA (PVE's `pve-root-ca.pem`) and never skips
//! certificate verification. Errors are decoded from PVE's envelope into
//! [`PveError`], which says per variant whether a retry is safe. Answers are
//! read leniently, because PVE's output types are loose ([`lenient`]).
//! GET and DELETE send their parameters in the query string (PVE refuses a
//! body there), POST and PUT form-encoded, booleans as `1`/`0` ([`Params`]).

mod calls;
mod error;
pub mod lenient;
mod params;
mod token;
mod types;

use std::path::{Path, PathBuf};
use std::time::Duration;

use reqwest::header::{AUTHORIZATION, HeaderValue};
use reqwest::{Method, Url};
use serde::Deserialize;
use serde::de::DeserializeOwned;

use crate::config::AgentConfig;

pub use calls::{CloneRequest, DeleteOptions, GuestAction, TaskFilter};
pub use error::{PveError, RequestName};
pub use params::Params;
pub use token::{ApiToken, TokenError};
pub use types::{
    ApiGuestConfig, ClusterResource, ClusterStatusEntry, GuestCurrentStatus, GuestHaStatus,
    NetworkInterface, NodeCpuInfo, NodeGuest, NodeMemory, NodeStatus, PendingEntry, StorageContent,
    StorageStatus, TaskExit, TaskListEntry, TaskLog, TaskLogLine, TaskStatus, Version,
};

/// Why a [`PveClient`] could not be built.
#[derive(Debug, thiserror::Error)]
pub enum ClientSetupError {
    /// The token file is missing, too open or malformed.
    #[error(transparent)]
    Token(#[from] TokenError),
    /// The CA file could not be read.
    #[error("cannot read the PVE CA {path}: {source}")]
    CaRead {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// The CA holds no usable certificate.
    #[error("the PVE CA {}: {problem}", .path.as_deref().map_or_else(|| "given".into(), |p| p.display().to_string()))]
    Ca {
        /// The CA file, when it came from one.
        path: Option<PathBuf>,
        problem: String,
    },
    /// The API URL is not an https URL.
    #[error("invalid PVE API URL {url}: {problem}")]
    Url { url: String, problem: String },
    /// reqwest refused the TLS setup.
    #[error("cannot build the PVE API client: {0}")]
    Build(String),
}

/// A client for one PVE API endpoint. Cheap to clone; clones share the
/// connection pool.
#[derive(Clone)]
pub struct PveClient {
    http: reqwest::Client,
    base: Url,
    authorization: HeaderValue,
    timeout: Duration,
}

impl std::fmt::Debug for PveClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PveClient")
            .field("base", &self.base.as_str())
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

/// A successful answer's `data`, plus `total` where PVE sends one.
#[derive(Debug, Clone, PartialEq)]
pub struct Answer<T> {
    /// The envelope's `data`.
    pub data: T,
    /// The envelope's `total` (task lists and logs).
    pub total: Option<u64>,
}

#[derive(Deserialize)]
struct Envelope<T> {
    data: T,
    #[serde(default, deserialize_with = "lenient::loose_opt")]
    total: Option<u64>,
}

/// Makes ring rustls's process-wide provider; reqwest is built without one.
/// Installing twice is harmless (the first one stays).
fn install_ring_provider() {
    // An Err only says a provider is already installed; ring is the only
    // provider in this build, so that one is ring too.
    let _already_installed = rustls::crypto::ring::default_provider().install_default();
}

impl PveClient {
    /// A client for `base_url` (`https://127.0.0.1:8006`) that trusts only the
    /// certificates in `ca_pem` and gives every request `request_timeout`.
    pub fn new(
        base_url: &str,
        token: &ApiToken,
        ca_pem: &[u8],
        request_timeout: Duration,
    ) -> Result<PveClient, ClientSetupError> {
        let url_error = |problem: &str| ClientSetupError::Url {
            url: base_url.to_owned(),
            problem: problem.to_owned(),
        };
        let base = Url::parse(base_url).map_err(|error| url_error(&error.to_string()))?;
        if base.scheme() != "https" {
            return Err(url_error("must use https"));
        }
        if base.cannot_be_a_base() {
            return Err(url_error("cannot be a base URL"));
        }
        let ca_error = |problem: String| ClientSetupError::Ca {
            path: None,
            problem,
        };
        let certificates = reqwest::Certificate::from_pem_bundle(ca_pem)
            .map_err(|error| ca_error(format!("is not PEM: {error}")))?;
        if certificates.is_empty() {
            return Err(ca_error("holds no PEM certificate".to_owned()));
        }
        let mut authorization = HeaderValue::from_str(&token.authorization()).map_err(|_| {
            ClientSetupError::Build("the API token is not a valid header value".to_owned())
        })?;
        authorization.set_sensitive(true);

        install_ring_provider();
        let http = reqwest::Client::builder()
            .tls_certs_only(certificates)
            .https_only(true)
            .http1_only()
            .no_proxy()
            .timeout(request_timeout)
            .connect_timeout(request_timeout.min(Duration::from_secs(10)))
            .user_agent(concat!("pvectl-agent/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|error| ClientSetupError::Build(error.to_string()))?;
        Ok(PveClient {
            http,
            base,
            authorization,
            timeout: request_timeout,
        })
    }

    /// The client the agent's config describes: reads the token file and the
    /// CA (`pve_api.ca`, default `<pmxcfs_root>/pve-root-ca.pem`).
    pub fn from_config(config: &AgentConfig) -> Result<PveClient, ClientSetupError> {
        let token = ApiToken::from_file(&config.pve_api.token_file)?;
        let ca_path = config.pve_ca_path();
        let ca_pem = read_ca(&ca_path)?;
        PveClient::new(
            &config.pve_api.url,
            &token,
            &ca_pem,
            config.timeouts.api_request,
        )
        .map_err(|error| match error {
            ClientSetupError::Ca { problem, .. } => ClientSetupError::Ca {
                path: Some(ca_path.clone()),
                problem,
            },
            other => other,
        })
    }

    /// The API's base URL.
    pub fn base_url(&self) -> &str {
        self.base.as_str()
    }

    /// `GET` below `/api2/json`, `params` in the query string.
    pub async fn get<T: DeserializeOwned>(
        &self,
        path: &[&str],
        params: &Params,
    ) -> Result<Answer<T>, PveError> {
        self.request(Method::GET, path, params).await
    }

    /// `POST`, `params` form-encoded.
    pub async fn post<T: DeserializeOwned>(
        &self,
        path: &[&str],
        params: &Params,
    ) -> Result<Answer<T>, PveError> {
        self.request(Method::POST, path, params).await
    }

    /// `PUT`, `params` form-encoded.
    pub async fn put<T: DeserializeOwned>(
        &self,
        path: &[&str],
        params: &Params,
    ) -> Result<Answer<T>, PveError> {
        self.request(Method::PUT, path, params).await
    }

    /// `DELETE`, `params` in the query string.
    pub async fn delete<T: DeserializeOwned>(
        &self,
        path: &[&str],
        params: &Params,
    ) -> Result<Answer<T>, PveError> {
        self.request(Method::DELETE, path, params).await
    }

    async fn request<T: DeserializeOwned>(
        &self,
        method: Method,
        path: &[&str],
        params: &Params,
    ) -> Result<Answer<T>, PveError> {
        let request = RequestName {
            method: method.clone(),
            path: format!("/{}", path.join("/")),
        };
        let mut url = self.base.clone();
        if let Ok(mut segments) = url.path_segments_mut() {
            segments
                .pop_if_empty()
                .extend(["api2", "json"])
                .extend(path);
        }
        let in_query = method == Method::GET || method == Method::DELETE;
        let mut builder = self
            .http
            .request(method, url)
            .header(AUTHORIZATION, self.authorization.clone());
        builder = if in_query {
            builder.query(params.pairs())
        } else {
            builder.form(params.pairs())
        };

        let response = builder
            .send()
            .await
            .map_err(|error| PveError::from_transport(request.clone(), error, self.timeout))?;
        let status = response.status();
        let reason = response
            .extensions()
            .get::<hyper::ext::ReasonPhrase>()
            .map(|reason| String::from_utf8_lossy(reason.as_bytes()).into_owned());
        let body = response
            .bytes()
            .await
            .map_err(|error| PveError::from_transport(request.clone(), error, self.timeout))?;
        if !status.is_success() {
            return Err(PveError::from_answer(
                request,
                status,
                reason.as_deref(),
                &body,
            ));
        }
        let envelope: Envelope<T> =
            serde_json::from_slice(&body).map_err(|error| PveError::Decode {
                request,
                message: error.to_string(),
            })?;
        Ok(Answer {
            data: envelope.data,
            total: envelope.total,
        })
    }
}

fn read_ca(path: &Path) -> Result<Vec<u8>, ClientSetupError> {
    std::fs::read(path).map_err(|source| ClientSetupError::CaRead {
        path: path.to_owned(),
        source,
    })
}

#[cfg(test)]
mod tests;
