//! mTLS gRPC channels to agents: the context's CA, client certificate and key
//! on every connection, the server's name checked against its certificate.

mod address;

use std::path::{Path, PathBuf};
use std::time::Duration;

use pvectl_proto::v1::agent_client::AgentClient;
use tonic::transport::{Certificate, Channel, ClientTlsConfig, Identity};

pub use address::{AddressError, AgentAddress};

use crate::config::Context;

/// How long to wait for an agent to accept a connection when the context
/// sets no timeout.
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// Why no channel to an agent could be built.
#[derive(Debug, thiserror::Error)]
pub enum ChannelError {
    #[error("cannot read the {what} {}: {source}", path.display())]
    Read {
        what: &'static str,
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("the {what} {} holds no PEM {label}", path.display())]
    NotPem {
        what: &'static str,
        path: PathBuf,
        label: &'static str,
    },
    #[error("invalid tls settings for agent {address}: {reason}")]
    Tls { address: String, reason: String },
    #[error("cannot connect to agent {address}: {reason}")]
    Connect { address: String, reason: String },
}

/// The client side of mTLS: the CA that signed the agents' certificates, and
/// this client's certificate and key.
#[derive(Debug, Clone)]
pub struct ClientIdentity {
    ca: Certificate,
    identity: Identity,
}

impl ClientIdentity {
    /// From PEM texts; each must hold the PEM block its role needs.
    pub fn from_pem(
        ca_pem: impl AsRef<[u8]>,
        cert_pem: impl AsRef<[u8]>,
        key_pem: impl AsRef<[u8]>,
    ) -> ClientIdentity {
        ClientIdentity {
            ca: Certificate::from_pem(ca_pem),
            identity: Identity::from_pem(cert_pem, key_pem),
        }
    }

    /// Reads the three PEM files, checking each holds the right kind of block.
    pub fn load(ca: &Path, cert: &Path, key: &Path) -> Result<ClientIdentity, ChannelError> {
        let ca_pem = read_pem("CA certificate", ca, "CERTIFICATE-----")?;
        let cert_pem = read_pem("client certificate", cert, "CERTIFICATE-----")?;
        let key_pem = read_pem("client key", key, "PRIVATE KEY-----")?;
        Ok(ClientIdentity::from_pem(ca_pem, cert_pem, key_pem))
    }
}

fn read_pem(what: &'static str, path: &Path, label: &'static str) -> Result<Vec<u8>, ChannelError> {
    let pem = std::fs::read(path).map_err(|source| ChannelError::Read {
        what,
        path: path.to_path_buf(),
        source,
    })?;
    let text = String::from_utf8_lossy(&pem);
    if !text.contains("-----BEGIN ") || !text.contains(label) {
        return Err(ChannelError::NotPem {
            what,
            path: path.to_path_buf(),
            label: label.trim_end_matches('-'),
        });
    }
    Ok(pem)
}

/// Dials agents with one client identity.
#[derive(Debug, Clone)]
pub struct Connector {
    identity: ClientIdentity,
    connect_timeout: Duration,
}

impl Connector {
    pub fn new(identity: ClientIdentity, connect_timeout: Duration) -> Connector {
        Connector {
            identity,
            connect_timeout,
        }
    }

    /// The context's certificates and timeout (or [`DEFAULT_CONNECT_TIMEOUT`]).
    pub fn for_context(context: &Context) -> Result<Connector, ChannelError> {
        let identity = ClientIdentity::load(&context.ca, &context.cert, &context.key)?;
        Ok(Connector::new(
            identity,
            context.timeout.unwrap_or(DEFAULT_CONNECT_TIMEOUT),
        ))
    }

    /// A connected channel to the agent at `address`. Its certificate must
    /// name `server_name`, or the address's host when none is given. With
    /// TLS 1.3 a refused client certificate shows on the first call, not here.
    pub async fn channel(
        &self,
        address: &AgentAddress,
        server_name: Option<&str>,
    ) -> Result<Channel, ChannelError> {
        let tls = ClientTlsConfig::new()
            .ca_certificate(self.identity.ca.clone())
            .identity(self.identity.identity.clone())
            .domain_name(server_name.unwrap_or(address.host()));
        let tls_error = |reason: String| ChannelError::Tls {
            address: address.to_string(),
            reason,
        };
        let endpoint = Channel::from_shared(address.uri())
            .map_err(|error| tls_error(error_chain(&error)))?
            .tls_config(tls)
            .map_err(|error| tls_error(error_chain(&error)))?
            .connect_timeout(self.connect_timeout);
        endpoint
            .connect()
            .await
            .map_err(|error| ChannelError::Connect {
                address: address.to_string(),
                reason: error_chain(&error),
            })
    }

    /// The generated `Agent` client over [`Connector::channel`].
    pub async fn agent(
        &self,
        address: &AgentAddress,
        server_name: Option<&str>,
    ) -> Result<AgentClient<Channel>, ChannelError> {
        Ok(AgentClient::new(self.channel(address, server_name).await?))
    }
}

/// An error and its sources joined with `: `, since tonic's own message
/// ("transport error") hides the cause.
pub fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.ends_with(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text
}
