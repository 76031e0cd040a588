//! A thin HTTPS client for a sandbox: what the simulator's own tests and the
//! `pve-sim fault` command use to talk to its nodes. It trusts only the
//! sandbox's cluster CA and returns raw status, reason and JSON body, so
//! tests can check PVE's wire format exactly.
use std::time::Duration;

use anyhow::{Context, Result, bail};
use serde_json::Value;

use crate::sandbox::Sandbox;

/// An answer as it came over the wire.
#[derive(Debug, Clone)]
pub struct RawResponse {
    pub status: u16,
    /// the reason phrase of the status line
    pub reason: String,
    pub content_type: Option<String>,
    pub body: String,
}

impl RawResponse {
    /// The body as JSON (`Value::Null` when empty).
    pub fn json(&self) -> Value {
        if self.body.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&self.body).unwrap_or(Value::Null)
        }
    }

    /// The envelope's `data`.
    pub fn data(&self) -> Value {
        self.json().get("data").cloned().unwrap_or(Value::Null)
    }
}

/// How a request authenticates.
#[derive(Debug, Clone)]
pub enum Credentials {
    None,
    Token { id: String, secret: String },
    Ticket { ticket: String, csrf: String },
}

#[derive(Debug, Clone)]
pub struct Client {
    http: reqwest::Client,
    base: String,
    pub credentials: Credentials,
}

fn install_ring() {
    // a second install fails harmlessly: the provider is already the default
    let _ = rustls::crypto::ring::default_provider().install_default();
}

impl Client {
    /// A client for `base` (`https://127.0.10.1:8006`) trusting `ca_pem` only.
    pub fn new(base: &str, ca_pem: &[u8], credentials: Credentials) -> Result<Client> {
        install_ring();
        let ca = reqwest::Certificate::from_pem(ca_pem).context("parse the cluster CA")?;
        let http = reqwest::Client::builder()
            .tls_certs_only([ca])
            .timeout(Duration::from_secs(30))
            .build()
            .context("build the HTTPS client")?;
        Ok(Client {
            http,
            base: base.trim_end_matches('/').to_string(),
            credentials,
        })
    }

    /// A token-authenticated client for the sandbox's first node.
    pub fn for_sandbox(sandbox: &Sandbox) -> Result<Client> {
        let node = sandbox.nodes.first().context("sandbox has no nodes")?;
        Self::for_node(sandbox, &node.name)
    }

    pub fn for_node(sandbox: &Sandbox, node: &str) -> Result<Client> {
        let entry = sandbox
            .nodes
            .iter()
            .find(|n| n.name == node)
            .with_context(|| format!("no node {node} in the sandbox"))?;
        let ca =
            std::fs::read(&sandbox.ca).with_context(|| format!("read {}", sandbox.ca.display()))?;
        let credentials = Credentials::Token {
            id: sandbox.token.id.clone(),
            secret: sandbox.token.secret.clone(),
        };
        Self::new(
            &format!("https://{}:{}", entry.address, entry.port),
            &ca,
            credentials,
        )
    }

    fn authorize(
        &self,
        req: reqwest::RequestBuilder,
        method: &reqwest::Method,
    ) -> reqwest::RequestBuilder {
        match &self.credentials {
            Credentials::None => req,
            Credentials::Token { id, secret } => {
                req.header("Authorization", format!("PVEAPIToken={id}={secret}"))
            }
            Credentials::Ticket { ticket, csrf } => {
                let req = req.header("Cookie", format!("PVEAuthCookie={ticket}"));
                if *method == reqwest::Method::GET {
                    req
                } else {
                    req.header("CSRFPreventionToken", csrf)
                }
            }
        }
    }

    /// Sends `method path` (path below `/api2/json`) with form parameters
    /// (query string for GET and DELETE, as PVE clients do).
    pub async fn request(
        &self,
        method: &str,
        path: &str,
        params: &[(&str, &str)],
    ) -> Result<RawResponse> {
        let method: reqwest::Method = method.parse().context("http method")?;
        let url = format!("{}/api2/json{path}", self.base);
        let mut req = self.http.request(method.clone(), &url);
        req = if method == reqwest::Method::GET || method == reqwest::Method::DELETE {
            req.query(params)
        } else {
            req.form(params)
        };
        let req = self.authorize(req, &method);
        Self::raw(
            req.send()
                .await
                .with_context(|| format!("{method} {url}"))?,
        )
        .await
    }

    async fn raw(resp: reqwest::Response) -> Result<RawResponse> {
        let status = resp.status().as_u16();
        let reason = resp
            .status()
            .canonical_reason()
            .unwrap_or_default()
            .to_string();
        let reason = resp
            .extensions()
            .get::<hyper::ext::ReasonPhrase>()
            .map(|r| String::from_utf8_lossy(r.as_bytes()).into_owned())
            .unwrap_or(reason);
        let content_type = resp
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        let body = resp.text().await.context("read the response body")?;
        Ok(RawResponse {
            status,
            reason,
            content_type,
            body,
        })
    }

    /// Logs in with a password and switches to ticket authentication.
    pub async fn login(&mut self, user: &str, password: &str) -> Result<RawResponse> {
        let saved = std::mem::replace(&mut self.credentials, Credentials::None);
        let resp = self
            .request(
                "POST",
                "/access/ticket",
                &[("username", user), ("password", password)],
            )
            .await?;
        let data = resp.data();
        match (
            data.get("ticket").and_then(Value::as_str),
            data.get("CSRFPreventionToken").and_then(Value::as_str),
        ) {
            (Some(ticket), Some(csrf)) => {
                self.credentials = Credentials::Ticket {
                    ticket: ticket.into(),
                    csrf: csrf.into(),
                }
            }
            _ => self.credentials = saved,
        }
        Ok(resp)
    }

    /// Waits for a task to stop (polling its status) and returns the status.
    pub async fn wait_task(&self, node: &str, upid: &str, timeout: Duration) -> Result<Value> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let resp = self
                .request(
                    "GET",
                    &format!("/nodes/{node}/tasks/{}/status", encode(upid)),
                    &[],
                )
                .await?;
            let data = resp.data();
            if data.get("status").and_then(Value::as_str) == Some("stopped") {
                return Ok(data);
            }
            if tokio::time::Instant::now() > deadline {
                bail!("task {upid} still running after {timeout:?}: {}", resp.body);
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// The simulator's control endpoint.
    pub async fn control(&self, method: &str, body: Option<Value>) -> Result<String> {
        let method: reqwest::Method = method.parse().context("http method")?;
        let mut req = self
            .http
            .request(method.clone(), format!("{}/_sim/v1/faults", self.base));
        if let Some(body) = body {
            req = req.json(&body);
        }
        let resp = self
            .authorize(req, &reqwest::Method::GET)
            .send()
            .await
            .context("call the control endpoint")?;
        let status = resp.status();
        let text = resp.text().await.unwrap_or_default();
        if !status.is_success() {
            bail!("control endpoint answered {status}: {}", text.trim());
        }
        Ok(text)
    }
}

/// Percent-encodes one path segment (UPIDs contain `:` and `@`, which are
/// fine, and `!` for token users, also fine; only reserved characters change).
pub fn encode(segment: &str) -> String {
    percent_encoding::utf8_percent_encode(segment, percent_encoding::NON_ALPHANUMERIC)
        .to_string()
        .replace("%3A", ":")
        .replace("%40", "@")
        .replace("%2D", "-")
        .replace("%2E", ".")
        .replace("%5F", "_")
        .replace("%21", "!")
}
