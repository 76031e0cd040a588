//! The client's configuration: named contexts, each a seed agent with the CA,
//! client certificate and key to reach it, and which one is current.
//!
//! ```toml
//! current-context = "lab"
//!
//! [contexts.lab]
//! seed = "10.0.0.1:7443"          # any agent of the cluster
//! ca = "pki/ca.pem"               # relative paths start at this file's directory
//! cert = "pki/client-alice.pem"
//! key = "pki/client-alice.key"
//! server-name = "pve1"            # optional: the name the seed's certificate must hold
//! output = "wide"                 # optional: default for -o
//! timeout = "10s"                 # optional: how long to wait for an agent to connect
//! ```

mod file;
#[cfg(test)]
mod tests;

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::channel::{AddressError, AgentAddress};
use crate::duration::{DurationError, parse_duration};
use crate::files::{self, FileError, Overwrite};
use crate::output::OutputFormat;

pub use file::{ConfigFile, ContextEntry};

/// Why the configuration could not be used.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("no config file at {}: create one with `pvectl config set-context`", path.display())]
    Missing { path: PathBuf },
    #[error("cannot read {}: {source}", path.display())]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("invalid config {}: {message}", path.display())]
    Syntax { path: PathBuf, message: String },
    #[error("invalid config {}: {key}: {reason}", path.display())]
    Invalid {
        path: PathBuf,
        key: String,
        reason: String,
    },
    #[error("no context {name:?} in {}; known contexts: {}", path.display(), list(known))]
    UnknownContext {
        path: PathBuf,
        name: String,
        known: Vec<String>,
    },
    #[error("no current context in {}: choose one with --context or `pvectl config use-context NAME`", path.display())]
    NoCurrentContext { path: PathBuf },
    #[error("context {name:?} is new and needs {}", list(missing))]
    Incomplete {
        name: String,
        missing: Vec<&'static str>,
    },
    #[error("cannot find the config directory: neither XDG_CONFIG_HOME nor HOME is set")]
    NoHome,
    #[error("cannot encode the config: {0}")]
    Encode(#[from] toml::ser::Error),
    #[error(transparent)]
    Write(#[from] FileError),
}

fn list(names: &[impl AsRef<str>]) -> String {
    if names.is_empty() {
        return "(none)".to_owned();
    }
    names
        .iter()
        .map(AsRef::as_ref)
        .collect::<Vec<_>>()
        .join(", ")
}

/// `pvectl`'s directory of user configuration: `$XDG_CONFIG_HOME/pvectl`, else
/// `$HOME/.config/pvectl` (given the two variables, for tests).
pub fn user_config_dir(
    xdg_config_home: Option<OsString>,
    home: Option<OsString>,
) -> Result<PathBuf, ConfigError> {
    let base = match (xdg_config_home, home) {
        (Some(xdg), _) if !xdg.is_empty() => PathBuf::from(xdg),
        (_, Some(home)) if !home.is_empty() => PathBuf::from(home).join(".config"),
        _ => return Err(ConfigError::NoHome),
    };
    Ok(base.join("pvectl"))
}

/// A context with its paths made absolute and its values parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Context {
    pub name: String,
    pub seed: AgentAddress,
    pub ca: PathBuf,
    pub cert: PathBuf,
    pub key: PathBuf,
    pub server_name: Option<String>,
    pub output: Option<OutputFormat>,
    pub timeout: Option<Duration>,
}

/// Values for `set-context`; `None` keeps what the context has.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ContextUpdate {
    pub seed: Option<AgentAddress>,
    pub ca: Option<PathBuf>,
    pub cert: Option<PathBuf>,
    pub key: Option<PathBuf>,
    pub server_name: Option<String>,
    pub output: Option<OutputFormat>,
    /// As written (`30s`); parsed when the config is loaded.
    pub timeout: Option<String>,
}

/// What `set-context` did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SetContextOutcome {
    Created,
    Modified,
}

/// A configuration file, loaded and checked, or about to be created.
#[derive(Debug, Clone)]
pub struct Config {
    path: PathBuf,
    file: ConfigFile,
}

impl Config {
    /// Reads and checks the file at `path`; a missing file is an error.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| {
            if source.kind() == std::io::ErrorKind::NotFound {
                ConfigError::Missing {
                    path: path.to_path_buf(),
                }
            } else {
                ConfigError::Read {
                    path: path.to_path_buf(),
                    source,
                }
            }
        })?;
        Config::parse(path, &text)
    }

    /// Like [`Config::load`], but a missing file is an empty configuration.
    pub fn load_or_empty(path: &Path) -> Result<Config, ConfigError> {
        match Config::load(path) {
            Err(ConfigError::Missing { .. }) => Ok(Config {
                path: path.to_path_buf(),
                file: ConfigFile::default(),
            }),
            other => other,
        }
    }

    /// Checks `text` as the contents of `path`: syntax, unknown keys, every
    /// value, and that the current context exists.
    pub fn parse(path: &Path, text: &str) -> Result<Config, ConfigError> {
        let file: ConfigFile = toml::from_str(text).map_err(|error| ConfigError::Syntax {
            path: path.to_path_buf(),
            message: error.to_string().trim_end().to_owned(),
        })?;
        let config = Config {
            path: path.to_path_buf(),
            file,
        };
        for name in config.file.contexts.keys() {
            config.resolve(name)?;
        }
        if let Some(current) = &config.file.current_context
            && !config.file.contexts.contains_key(current)
        {
            return Err(config.invalid(
                "current-context",
                format!("names {current:?}, which no context has"),
            ));
        }
        Ok(config)
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn current_context_name(&self) -> Option<&str> {
        self.file.current_context.as_deref()
    }

    /// The context `name`, or the current one.
    pub fn context(&self, name: Option<&str>) -> Result<Context, ConfigError> {
        let name = match name.or(self.current_context_name()) {
            Some(name) => name,
            None => {
                return Err(ConfigError::NoCurrentContext {
                    path: self.path.clone(),
                });
            }
        };
        self.resolve(name)
    }

    /// Every context, sorted by name.
    pub fn contexts(&self) -> Result<Vec<Context>, ConfigError> {
        self.file
            .contexts
            .keys()
            .map(|name| self.resolve(name))
            .collect()
    }

    /// Makes `name` the current context.
    pub fn use_context(&mut self, name: &str) -> Result<(), ConfigError> {
        if !self.file.contexts.contains_key(name) {
            return Err(self.unknown_context(name));
        }
        self.file.current_context = Some(name.to_owned());
        Ok(())
    }

    /// Creates or changes the context `name`; a new one needs a seed, CA,
    /// certificate and key. The first context becomes the current one.
    pub fn set_context(
        &mut self,
        name: &str,
        update: ContextUpdate,
    ) -> Result<SetContextOutcome, ConfigError> {
        let mut file = self.file.clone();
        let outcome = match file.contexts.get_mut(name) {
            Some(entry) => {
                entry.apply(update);
                SetContextOutcome::Modified
            }
            None => {
                let entry = ContextEntry::create(name, update)?;
                file.contexts.insert(name.to_owned(), entry);
                SetContextOutcome::Created
            }
        };
        if file.current_context.is_none() {
            file.current_context = Some(name.to_owned());
        }
        let changed = Config {
            path: self.path.clone(),
            file,
        };
        changed.resolve(name)?;
        *self = changed;
        Ok(outcome)
    }

    /// Writes the configuration back, atomically, readable by the owner only.
    /// Comments in the file are not kept.
    pub fn save(&self) -> Result<(), ConfigError> {
        let text = toml::to_string_pretty(&self.file)?;
        if let Some(dir) = self.path.parent().filter(|dir| !dir.as_os_str().is_empty()) {
            files::create_private_dir(dir)?;
        }
        files::write_atomically(&self.path, text.as_bytes(), 0o600, Overwrite::Replace)?;
        Ok(())
    }

    fn resolve(&self, name: &str) -> Result<Context, ConfigError> {
        let entry = self
            .file
            .contexts
            .get(name)
            .ok_or_else(|| self.unknown_context(name))?;
        let key = |field: &str| format!("contexts.{name}.{field}");
        let seed = entry
            .seed
            .parse()
            .map_err(|error: AddressError| self.invalid(&key("seed"), error.to_string()))?;
        let timeout = entry
            .timeout
            .as_deref()
            .map(parse_duration)
            .transpose()
            .map_err(|error: DurationError| self.invalid(&key("timeout"), error.to_string()))?;
        if entry.server_name.as_deref() == Some("") {
            return Err(self.invalid(&key("server-name"), "is empty".to_owned()));
        }
        let base = self.path.parent().unwrap_or(Path::new(""));
        let path = |field: &str, value: &Path| {
            if value.as_os_str().is_empty() {
                return Err(self.invalid(&key(field), "is empty".to_owned()));
            }
            Ok(base.join(value))
        };
        Ok(Context {
            name: name.to_owned(),
            seed,
            ca: path("ca", &entry.ca)?,
            cert: path("cert", &entry.cert)?,
            key: path("key", &entry.key)?,
            server_name: entry.server_name.clone(),
            output: entry.output,
            timeout,
        })
    }

    fn invalid(&self, key: &str, reason: String) -> ConfigError {
        ConfigError::Invalid {
            path: self.path.clone(),
            key: key.to_owned(),
            reason,
        }
    }

    fn unknown_context(&self, name: &str) -> ConfigError {
        ConfigError::UnknownContext {
            path: self.path.clone(),
            name: name.to_owned(),
            known: self.file.contexts.keys().cloned().collect(),
        }
    }
}
