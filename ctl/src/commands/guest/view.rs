//! How guests and configs read: the `vm|ct list/get` row and the `config`
//! table (key, value, pending value) or document (json/yaml).

use std::collections::BTreeMap;

use pvectl_proto::v1::{Guest, GuestConfig};
use serde::Serialize;

use super::Resource;
use crate::Error;
use crate::commands::{Io, view};
use crate::output::{Column, OutputFormat, Tabular, render};

/// A guest as `list` and `get` show it.
#[derive(Debug, Serialize)]
pub(super) struct GuestView {
    #[serde(skip)]
    resource: &'static str,
    vmid: u32,
    name: String,
    node: String,
    kind: &'static str,
    status: &'static str,
    template: bool,
    lock: String,
    tags: Vec<String>,
    protected: bool,
    ha_state: String,
    config_version: u64,
    cpus: f64,
    cpu_usage: f64,
    memory_bytes: u64,
    memory_max_bytes: u64,
    disk_bytes: u64,
    disk_max_bytes: u64,
    uptime_seconds: u64,
}

impl GuestView {
    pub(super) fn new(resource: Resource, guest: Guest) -> GuestView {
        let resources = guest.resources.unwrap_or_default();
        GuestView {
            resource: resource.command,
            kind: view::kind(guest.kind()),
            status: view::status(guest.status()),
            vmid: guest.vmid,
            name: guest.name,
            node: guest.node,
            template: guest.template,
            lock: guest.lock,
            tags: guest.tags,
            protected: guest.protected,
            ha_state: guest.ha_state,
            config_version: guest.config_version,
            cpus: resources.cpus,
            cpu_usage: resources.cpu_usage,
            memory_bytes: resources.memory_bytes,
            memory_max_bytes: resources.memory_max_bytes,
            disk_bytes: resources.disk_bytes,
            disk_max_bytes: resources.disk_max_bytes,
            uptime_seconds: resources.uptime_seconds,
        }
    }
}

impl Tabular for GuestView {
    const KIND: &'static str = "vm";
    const COLUMNS: &'static [Column] = &[
        Column::always("VMID"),
        Column::always("NAME"),
        Column::always("NODE"),
        Column::always("STATUS"),
        Column::always("LOCK"),
        Column::always("TAGS"),
        Column::wide("CPUS"),
        Column::wide("CPU"),
        Column::wide("MEMORY"),
        Column::wide("DISK"),
        Column::wide("UPTIME"),
        Column::wide("HA"),
        Column::wide("PROTECTED"),
        Column::wide("TEMPLATE"),
    ];

    fn cells(&self) -> Vec<String> {
        let yes_no = |value: bool| if value { "yes" } else { "no" }.to_owned();
        vec![
            self.vmid.to_string(),
            view::or_dash(&self.name),
            self.node.clone(),
            self.status.to_owned(),
            view::or_dash(&self.lock),
            view::or_dash(&self.tags.join(";")),
            format!("{}", self.cpus),
            format!("{:.1}%", self.cpu_usage * 100.0),
            format!(
                "{} / {}",
                view::bytes(self.memory_bytes),
                view::bytes(self.memory_max_bytes)
            ),
            view::bytes(self.disk_max_bytes),
            view::uptime(self.uptime_seconds),
            view::or_dash(&self.ha_state),
            yes_no(self.protected),
            yes_no(self.template),
        ]
    }

    fn name(&self) -> String {
        self.vmid.to_string()
    }

    fn kind_name(&self) -> &'static str {
        self.resource
    }
}

/// One key of a config table.
#[derive(Debug, Serialize)]
pub(super) struct ConfigRow {
    key: String,
    value: Option<String>,
    pending: Option<String>,
}

impl ConfigRow {
    /// The rows of `config`: each key with its pending value, then the
    /// keys the pending section deletes.
    pub(super) fn rows(config: &GuestConfig) -> Vec<ConfigRow> {
        let mut rows: Vec<ConfigRow> = config
            .entries
            .iter()
            .map(|entry| ConfigRow {
                key: entry.key.clone(),
                value: entry.value.clone(),
                pending: entry.pending_value.clone(),
            })
            .collect();
        for delete in &config.pending_deletes {
            let marker = if delete.force {
                "(delete!)"
            } else {
                "(delete)"
            };
            match rows.iter_mut().find(|row| row.key == delete.key) {
                Some(row) => row.pending = Some(marker.to_owned()),
                None => rows.push(ConfigRow {
                    key: delete.key.clone(),
                    value: None,
                    pending: Some(marker.to_owned()),
                }),
            }
        }
        rows
    }
}

impl Tabular for ConfigRow {
    const KIND: &'static str = "key";
    const COLUMNS: &'static [Column] = &[
        Column::always("KEY"),
        Column::always("VALUE"),
        Column::always("PENDING"),
    ];

    fn cells(&self) -> Vec<String> {
        vec![
            self.key.clone(),
            view::or_dash(self.value.as_deref().unwrap_or_default()),
            self.pending.clone().unwrap_or_default(),
        ]
    }

    fn name(&self) -> String {
        self.key.clone()
    }
}

/// A config as json/yaml show it: current and pending values as maps.
#[derive(Debug, Serialize)]
struct ConfigDoc<'a> {
    vmid: u32,
    kind: &'static str,
    node: &'a str,
    digest: &'a str,
    config: BTreeMap<&'a str, &'a str>,
    pending: BTreeMap<&'a str, &'a str>,
    pending_deletes: Vec<&'a str>,
}

/// Writes a config: a table of rows, or the whole document.
pub(super) fn render_config(
    rows: &[ConfigRow],
    config: &GuestConfig,
    format: OutputFormat,
    io: &mut Io<'_>,
) -> Result<(), Error> {
    let doc = || ConfigDoc {
        vmid: config.vmid,
        kind: view::kind(config.kind()),
        node: &config.node,
        digest: &config.digest,
        config: config
            .entries
            .iter()
            .filter_map(|e| Some((e.key.as_str(), e.value.as_deref()?)))
            .collect(),
        pending: config
            .entries
            .iter()
            .filter_map(|e| Some((e.key.as_str(), e.pending_value.as_deref()?)))
            .collect(),
        pending_deletes: config
            .pending_deletes
            .iter()
            .map(|d| d.key.as_str())
            .collect(),
    };
    match format {
        OutputFormat::Json => {
            serde_json::to_writer_pretty(&mut *io.stdout, &doc())
                .map_err(crate::output::OutputError::from)?;
            writeln!(io.stdout).map_err(crate::output::OutputError::from)?;
        }
        OutputFormat::Yaml => {
            let text = serde_norway::to_string(&doc()).map_err(crate::output::OutputError::from)?;
            io.stdout
                .write_all(text.as_bytes())
                .map_err(crate::output::OutputError::from)?;
        }
        _ => render(rows, format, io.terminal_width, io.stdout)?,
    }
    Ok(())
}
