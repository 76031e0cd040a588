//! `pvectl config view | use-context | set-context`.

use std::path::PathBuf;

use serde::Serialize;

use super::{Io, absolute, config_path};
use crate::Error;
use crate::cli::{ConfigCommand, GlobalArgs, SetContextArgs};
use crate::config::{Config, Context, ContextUpdate, SetContextOutcome};
use crate::output::{Column, OutputError, OutputFormat, Tabular, render};

pub(super) fn run(
    command: ConfigCommand,
    global: &GlobalArgs,
    io: &mut Io<'_>,
) -> Result<(), Error> {
    let path = config_path(global, io)?;
    match command {
        ConfigCommand::View => view(&Config::load(&path)?, global, io),
        ConfigCommand::UseContext { name } => {
            let mut config = Config::load(&path)?;
            config.use_context(&name)?;
            if global.dry_run {
                say(io, format_args!("would switch to context {name:?}"))
            } else {
                config.save()?;
                say(io, format_args!("switched to context {name:?}"))
            }
        }
        ConfigCommand::SetContext(args) => {
            set_context(Config::load_or_empty(&path)?, args, global, io)
        }
    }
}

fn say(io: &mut Io<'_>, message: std::fmt::Arguments<'_>) -> Result<(), Error> {
    writeln!(io.stdout, "{message}").map_err(OutputError::from)?;
    Ok(())
}

fn view(config: &Config, global: &GlobalArgs, io: &mut Io<'_>) -> Result<(), Error> {
    let contexts = match &global.context {
        Some(name) => vec![config.context(Some(name))?],
        None => config.contexts()?,
    };
    let current = config.current_context_name();
    let rows: Vec<ContextRow> = contexts
        .into_iter()
        .map(|context| ContextRow::new(context, current))
        .collect();
    let format = global.output.unwrap_or(OutputFormat::Table);
    render(&rows, format, io.terminal_width, io.stdout)?;
    Ok(())
}

fn set_context(
    mut config: Config,
    args: SetContextArgs,
    global: &GlobalArgs,
    io: &mut Io<'_>,
) -> Result<(), Error> {
    let was_current = config.current_context_name() == Some(args.name.as_str());
    let update = ContextUpdate {
        seed: args.seed,
        ca: args.ca.as_deref().map(absolute),
        cert: args.cert.as_deref().map(absolute),
        key: args.key.as_deref().map(absolute),
        server_name: args.server_name,
        output: args.default_output,
        timeout: args.timeout,
    };
    let outcome = config.set_context(&args.name, update)?;
    let verb = match (outcome, global.dry_run) {
        (SetContextOutcome::Created, false) => "created",
        (SetContextOutcome::Modified, false) => "modified",
        (SetContextOutcome::Created, true) => "would be created",
        (SetContextOutcome::Modified, true) => "would be modified",
    };
    if !global.dry_run {
        config.save()?;
    }
    let became_current = !was_current && config.current_context_name() == Some(args.name.as_str());
    let note = if became_current {
        " as the current context"
    } else {
        ""
    };
    say(
        io,
        format_args!(
            "context {:?} {verb}{note} in {}",
            args.name,
            config.path().display()
        ),
    )
}

/// A context as `config view` shows it.
#[derive(Debug, Serialize)]
struct ContextRow {
    name: String,
    current: bool,
    seed: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    server_name: Option<String>,
    ca: PathBuf,
    cert: PathBuf,
    key: PathBuf,
    #[serde(skip_serializing_if = "Option::is_none")]
    output: Option<OutputFormat>,
    #[serde(skip_serializing_if = "Option::is_none")]
    timeout: Option<String>,
}

impl ContextRow {
    fn new(context: Context, current: Option<&str>) -> ContextRow {
        ContextRow {
            current: current == Some(context.name.as_str()),
            name: context.name,
            seed: context.seed.to_string(),
            server_name: context.server_name,
            ca: context.ca,
            cert: context.cert,
            key: context.key,
            output: context.output,
            timeout: context.timeout.map(|timeout| format!("{timeout:?}")),
        }
    }
}

impl Tabular for ContextRow {
    const KIND: &'static str = "context";
    const COLUMNS: &'static [Column] = &[
        Column::always("CURRENT"),
        Column::always("NAME"),
        Column::always("SEED"),
        Column::wide("SERVER-NAME"),
        Column::wide("CA"),
        Column::wide("CERT"),
        Column::wide("KEY"),
        Column::wide("OUTPUT"),
        Column::wide("TIMEOUT"),
    ];

    fn cells(&self) -> Vec<String> {
        let optional = |value: Option<String>| value.unwrap_or_else(|| "-".to_owned());
        vec![
            if self.current { "*" } else { "" }.to_owned(),
            self.name.clone(),
            self.seed.clone(),
            optional(self.server_name.clone()),
            self.ca.display().to_string(),
            self.cert.display().to_string(),
            self.key.display().to_string(),
            optional(
                self.output
                    .map(|output| format!("{output:?}").to_lowercase()),
            ),
            optional(self.timeout.clone()),
        ]
    }

    fn name(&self) -> String {
        self.name.clone()
    }
}
