//! What every command that talks to agents starts from: the context and its
//! certificates, the output format, the cluster as the seed describes it, and
//! a runtime to run the calls on. `pvectl` never reads /etc/pve: everything
//! it knows about a cluster comes from the agents.

use super::{Io, config_path};
use crate::channel::Connector;
use crate::cli::GlobalArgs;
use crate::cluster::{Cluster, DEFAULT_CALL_TIMEOUT};
use crate::config::{Config, Context};
use crate::error::{CommandError, Error};
use crate::output::{OutputError, OutputFormat};
use crate::remote::RemoteError;
use std::future::Future;

/// A context ready to dial its agents.
pub(super) struct Session {
    pub context: Context,
    pub connector: Connector,
    pub format: OutputFormat,
}

impl Session {
    /// Loads the configuration and the context's certificates.
    pub fn open(global: &GlobalArgs, io: &Io<'_>) -> Result<Session, Error> {
        let config = Config::load(&config_path(global, io)?)?;
        let context = config.context(global.context.as_deref())?;
        let connector = Connector::for_context(&context)?;
        let format = global
            .output
            .or(context.output)
            .unwrap_or(OutputFormat::Table);
        Ok(Session {
            context,
            connector,
            format,
        })
    }

    /// The members and their agents, from the seed.
    pub async fn discover(&self) -> Result<Cluster, RemoteError> {
        Cluster::discover(
            self.connector.clone(),
            self.context.seed.clone(),
            self.context.server_name.clone(),
            DEFAULT_CALL_TIMEOUT,
        )
        .await
    }

    /// Runs `work` to completion on a runtime of its own.
    pub fn block_on<T>(&self, work: impl Future<Output = Result<T, Error>>) -> Result<T, Error> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(Error::Runtime)?;
        runtime.block_on(work)
    }
}

/// A fan-out's answers by node, and the nodes that failed.
pub(super) type Answers<T> = (Vec<(String, T)>, Vec<String>);

/// Splits a fan-out's results into answers and failures, printing each
/// failure as a warning naming its node.
pub(super) fn answers<T>(
    results: Vec<(String, Result<T, RemoteError>)>,
    io: &mut Io<'_>,
) -> Result<Answers<T>, Error> {
    let mut answered = Vec::new();
    let mut failed = Vec::new();
    for (node, result) in results {
        match result {
            Ok(value) => answered.push((node, value)),
            Err(error) => {
                writeln!(io.stderr, "warning: {error}").map_err(OutputError::from)?;
                failed.push(node);
            }
        }
    }
    Ok((answered, failed))
}

/// Success, or a partial failure naming the nodes that did not answer.
pub(super) fn complete(failed: Vec<String>) -> Result<(), Error> {
    if failed.is_empty() {
        Ok(())
    } else {
        Err(CommandError::Partial { nodes: failed }.into())
    }
}
