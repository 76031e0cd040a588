//! The config file exactly as written: kebab-case keys, unknown keys refused,
//! values kept as text until [`super::Config`] checks them.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use super::{ConfigError, ContextUpdate};
use crate::output::OutputFormat;

/// The whole file.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct ConfigFile {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub current_context: Option<String>,
    #[serde(default)]
    pub contexts: BTreeMap<String, ContextEntry>,
}

/// One `[contexts.NAME]` table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct ContextEntry {
    /// Address of any agent of the cluster, `host:port`.
    pub seed: String,
    /// The CA that signed the agents' certificates.
    pub ca: PathBuf,
    /// This client's certificate.
    pub cert: PathBuf,
    /// This client's private key.
    pub key: PathBuf,
    /// The name the seed agent's certificate must hold, when not the seed's host.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server_name: Option<String>,
    /// Default for `-o`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output: Option<OutputFormat>,
    /// How long to wait for an agent to connect (`10s`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout: Option<String>,
}

impl ContextEntry {
    /// A new context from `update`, which must hold every required value.
    pub(super) fn create(name: &str, update: ContextUpdate) -> Result<ContextEntry, ConfigError> {
        match update {
            ContextUpdate {
                seed: Some(seed),
                ca: Some(ca),
                cert: Some(cert),
                key: Some(key),
                server_name,
                output,
                timeout,
            } => Ok(ContextEntry {
                seed: seed.to_string(),
                ca,
                cert,
                key,
                server_name,
                output,
                timeout,
            }),
            update => {
                let missing = [
                    ("--seed", update.seed.is_none()),
                    ("--ca", update.ca.is_none()),
                    ("--cert", update.cert.is_none()),
                    ("--key", update.key.is_none()),
                ]
                .into_iter()
                .filter_map(|(flag, absent)| absent.then_some(flag))
                .collect();
                Err(ConfigError::Incomplete {
                    name: name.to_owned(),
                    missing,
                })
            }
        }
    }

    /// Takes every value `update` holds.
    pub(super) fn apply(&mut self, update: ContextUpdate) {
        if let Some(seed) = update.seed {
            self.seed = seed.to_string();
        }
        if let Some(ca) = update.ca {
            self.ca = ca;
        }
        if let Some(cert) = update.cert {
            self.cert = cert;
        }
        if let Some(key) = update.key {
            self.key = key;
        }
        if update.server_name.is_some() {
            self.server_name = update.server_name;
        }
        if update.output.is_some() {
            self.output = update.output;
        }
        if update.timeout.is_some() {
            self.timeout = update.timeout;
        }
    }
}
