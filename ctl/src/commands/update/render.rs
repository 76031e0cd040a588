//! How `vm|ct update` reads: the diff as `key: old → new` lines (colored
//! only on a terminal, never with `NO_COLOR`), the outcome with the keys
//! that wait for a restart, and for `-o json|yaml|name` one document at the
//! end (the diff preview then goes to stderr).

use std::io::Write;

use pvectl_proto::v1::{ConfigDiffEntry, GuestConfig, UpdateGuestConfigResponse};
use serde::Serialize;

use super::out;
use crate::Error;
use crate::commands::Io;
use crate::commands::guest::{CT, Resource};
use crate::commands::view;
use crate::output::{OutputError, OutputFormat};

/// Keys whose values are never shown.
const SECRETS: &[&str] = &["cipassword"];

/// Whether each stream gets colors.
#[derive(Debug, Clone, Copy)]
pub(super) struct Styles {
    stdout: bool,
    stderr: bool,
}

impl Styles {
    /// Colors on the streams that are terminals, unless `NO_COLOR` is set.
    pub(super) fn detect(io: &Io<'_>) -> Styles {
        let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
        Styles {
            stdout: io.terminal_width.is_some() && !no_color,
            stderr: io.stderr_is_terminal && !no_color,
        }
    }
}

fn paint(color: bool, code: &str, text: &str) -> String {
    if color {
        format!("\x1b[{code}m{text}\x1b[0m")
    } else {
        text.to_owned()
    }
}

/// A value as one line: unset, hidden, or with its newlines shown as `\n`.
fn shown(key: &str, value: Option<&str>, absent: &str) -> String {
    match value {
        None => absent.to_owned(),
        Some(_) if SECRETS.contains(&key) => "(hidden)".to_owned(),
        Some(text) => text.replace('\n', "\\n"),
    }
}

/// `key: old → new`, plain.
pub(super) fn change_line(key: &str, old: Option<&str>, new: Option<&str>) -> String {
    format!(
        "{key}: {} → {}",
        shown(key, old, "(unset)"),
        shown(key, new, "(removed)")
    )
}

/// One diff line, indented, colored when `color`.
fn diff_line(entry: &ConfigDiffEntry, color: bool) -> String {
    let key = entry.key.as_str();
    format!(
        "  {key}: {} → {}",
        paint(
            color,
            "31",
            &shown(key, entry.old_value.as_deref(), "(unset)")
        ),
        paint(
            color,
            "32",
            &shown(key, entry.new_value.as_deref(), "(removed)")
        )
    )
}

/// One change in `-o json|yaml`.
#[derive(Debug, Serialize)]
struct DocChange<'a> {
    key: &'a str,
    old: Option<&'a str>,
    new: Option<&'a str>,
    pending: bool,
}

/// The outcome in `-o json|yaml`.
#[derive(Debug, Serialize)]
struct Doc<'a> {
    vmid: u32,
    kind: &'static str,
    node: &'a str,
    dry_run: bool,
    applied: bool,
    digest: &'a str,
    changes: Vec<DocChange<'a>>,
}

/// What the command prints, for one guest.
pub(super) struct Report {
    resource: Resource,
    config: GuestConfig,
    format: OutputFormat,
}

impl Report {
    pub(super) fn new(resource: Resource, config: &GuestConfig, format: OutputFormat) -> Report {
        Report {
            resource,
            config: config.clone(),
            format,
        }
    }

    fn human(&self) -> bool {
        matches!(self.format, OutputFormat::Table | OutputFormat::Wide)
    }

    /// `VM 101 (web1) on pve1`.
    fn title(&self) -> String {
        let name_key = if self.resource == CT {
            "hostname"
        } else {
            "name"
        };
        let name = self
            .config
            .entries
            .iter()
            .find(|entry| entry.key == name_key)
            .and_then(|entry| entry.value.as_deref())
            .map(|name| format!(" ({name})"))
            .unwrap_or_default();
        format!(
            "{} {}{name} on {}",
            self.resource.noun, self.config.vmid, self.config.node
        )
    }

    fn diff(&self, diff: &[ConfigDiffEntry], color: bool, to: &mut dyn Write) -> Result<(), Error> {
        out(writeln!(to, "{}:", self.title()))?;
        for entry in diff {
            out(writeln!(to, "{}", diff_line(entry, color)))?;
        }
        Ok(())
    }

    /// The diff about to be applied: on stdout for people, on stderr beside
    /// a document.
    pub(super) fn preview(
        &self,
        diff: &[ConfigDiffEntry],
        styles: Styles,
        io: &mut Io<'_>,
    ) -> Result<(), Error> {
        if self.human() {
            self.diff(diff, styles.stdout, io.stdout)
        } else {
            self.diff(diff, styles.stderr, io.stderr)
        }
    }

    /// The outcome: nothing to change, the dry run's diff, or what was
    /// applied and what waits for a restart.
    pub(super) fn finish(
        &self,
        response: &UpdateGuestConfigResponse,
        dry_run: bool,
        styles: Styles,
        io: &mut Io<'_>,
    ) -> Result<(), Error> {
        if !self.human() {
            return self.document(response, dry_run, io);
        }
        let title = self.title();
        if response.diff.is_empty() {
            return out(writeln!(
                io.stdout,
                "{title}: nothing to change, the config already says so"
            ));
        }
        if !response.applied {
            self.diff(&response.diff, styles.stdout, io.stdout)?;
            return out(writeln!(io.stdout, "dry run: nothing was changed"));
        }
        let keys = |pending: bool| -> Vec<&str> {
            let matching = response.diff.iter().filter(|e| e.pending == pending);
            matching.map(|e| e.key.as_str()).collect()
        };
        let (applied, pending) = (keys(false), keys(true));
        if !applied.is_empty() {
            out(writeln!(
                io.stdout,
                "{title}: updated {}",
                applied.join(", ")
            ))?;
        }
        if !pending.is_empty() {
            let note = format!(
                "{title}: pending until the {} restarts: {}",
                self.resource.noun,
                pending.join(", ")
            );
            out(writeln!(io.stdout, "{}", paint(styles.stdout, "33", &note)))?;
        }
        Ok(())
    }

    fn document(
        &self,
        response: &UpdateGuestConfigResponse,
        dry_run: bool,
        io: &mut Io<'_>,
    ) -> Result<(), Error> {
        let doc = Doc {
            vmid: self.config.vmid,
            kind: view::kind(self.config.kind()),
            node: &self.config.node,
            dry_run,
            applied: response.applied,
            digest: &response.digest,
            changes: response
                .diff
                .iter()
                .map(|entry| DocChange {
                    key: &entry.key,
                    old: entry.old_value.as_deref(),
                    new: entry.new_value.as_deref(),
                    pending: entry.pending,
                })
                .collect(),
        };
        match self.format {
            OutputFormat::Json => {
                serde_json::to_writer_pretty(&mut *io.stdout, &doc).map_err(OutputError::from)?;
                out(writeln!(io.stdout))
            }
            OutputFormat::Yaml => {
                let text = serde_norway::to_string(&doc).map_err(OutputError::from)?;
                out(io.stdout.write_all(text.as_bytes()))
            }
            _ => out(writeln!(
                io.stdout,
                "{}/{}",
                self.resource.command, self.config.vmid
            )),
        }
    }
}

#[cfg(test)]
mod tests;
