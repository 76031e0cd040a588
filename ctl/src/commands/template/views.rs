//! How templates, their disks and validation findings are listed and shown.

use pvectl_proto::v1::{FindingSeverity, Template, ValidationFinding};
use serde::Serialize;

use super::super::{Io, view};
use crate::Error;
use crate::output::{Column, OutputError, OutputFormat, Tabular, render};

/// A template as listed and shown.
#[derive(Debug, Clone, Serialize)]
pub(in crate::commands) struct TemplateView {
    pub name: String,
    pub vmid: u32,
    pub node: String,
    kind: &'static str,
    os_type: String,
    cores: u32,
    memory_mib: u64,
    disks: Vec<DiskView>,
    tags: Vec<String>,
    lock: String,
    in_node_range: bool,
}

#[derive(Debug, Clone, Serialize)]
struct DiskView {
    key: String,
    volume: String,
    storage: String,
    size_bytes: u64,
    boot: bool,
    cdrom: bool,
}

impl TemplateView {
    pub fn new(node: &str, template: Template) -> TemplateView {
        TemplateView {
            kind: view::kind(template.kind()),
            name: template.name,
            vmid: template.vmid,
            node: if template.node.is_empty() {
                node.to_owned()
            } else {
                template.node
            },
            os_type: template.os_type,
            cores: template.cores,
            memory_mib: template.memory_mib,
            disks: template
                .disks
                .into_iter()
                .map(|disk| DiskView {
                    key: disk.key,
                    volume: disk.volume,
                    storage: disk.storage,
                    size_bytes: disk.size_bytes,
                    boot: disk.boot,
                    cdrom: disk.cdrom,
                })
                .collect(),
            tags: template.tags,
            lock: template.lock,
            in_node_range: template.in_node_range,
        }
    }

    fn disks_cell(&self) -> String {
        let disks: Vec<String> = self
            .disks
            .iter()
            .filter(|disk| !disk.cdrom)
            .map(|disk| format!("{} {}", disk.key, view::bytes(disk.size_bytes)))
            .collect();
        if disks.is_empty() {
            "-".to_owned()
        } else {
            disks.join(", ")
        }
    }

    pub fn describe(&self, io: &mut Io<'_>) -> Result<(), Error> {
        let lines = [
            ("Name", self.name.clone()),
            ("VMID", self.vmid.to_string()),
            ("Node", self.node.clone()),
            ("Kind", self.kind.to_owned()),
            ("OS type", view::or_dash(&self.os_type)),
            ("Cores", self.cores.to_string()),
            ("Memory", format!("{} MiB", self.memory_mib)),
            ("Tags", view::or_dash(&self.tags.join(";"))),
            ("Lock", view::or_dash(&self.lock)),
            (
                "In range",
                if self.in_node_range {
                    "yes"
                } else {
                    "no: not found by name"
                }
                .to_owned(),
            ),
        ];
        for (label, value) in lines {
            writeln!(io.stdout, "{:<10}{value}", format!("{label}:")).map_err(OutputError::from)?;
        }
        writeln!(io.stdout, "Disks:").map_err(OutputError::from)?;
        render(
            &self.disks,
            OutputFormat::Table,
            io.terminal_width,
            io.stdout,
        )?;
        Ok(())
    }
}

impl Tabular for TemplateView {
    const KIND: &'static str = "template";
    const COLUMNS: &'static [Column] = &[
        Column::always("NAME"),
        Column::always("VMID"),
        Column::always("NODE"),
        Column::always("DISKS"),
        Column::always("LOCK"),
        Column::wide("KIND"),
        Column::wide("OSTYPE"),
        Column::wide("CORES"),
        Column::wide("MEMORY"),
        Column::wide("TAGS"),
        Column::wide("IN-RANGE"),
    ];

    fn cells(&self) -> Vec<String> {
        vec![
            self.name.clone(),
            self.vmid.to_string(),
            self.node.clone(),
            self.disks_cell(),
            view::or_dash(&self.lock),
            self.kind.to_owned(),
            view::or_dash(&self.os_type),
            self.cores.to_string(),
            format!("{} MiB", self.memory_mib),
            view::or_dash(&self.tags.join(";")),
            if self.in_node_range { "yes" } else { "no" }.to_owned(),
        ]
    }

    fn name(&self) -> String {
        self.vmid.to_string()
    }
}

impl Tabular for DiskView {
    const KIND: &'static str = "disk";
    const COLUMNS: &'static [Column] = &[
        Column::always("KEY"),
        Column::always("VOLUME"),
        Column::always("STORAGE"),
        Column::always("SIZE"),
        Column::always("BOOT"),
    ];

    fn cells(&self) -> Vec<String> {
        let boot = match (self.boot, self.cdrom) {
            (_, true) => "cdrom",
            (true, false) => "yes",
            (false, false) => "",
        };
        vec![
            self.key.clone(),
            self.volume.clone(),
            self.storage.clone(),
            view::bytes(self.size_bytes),
            boot.to_owned(),
        ]
    }

    fn name(&self) -> String {
        self.key.clone()
    }
}

/// One template's validation.
#[derive(Debug, Serialize)]
pub(in crate::commands) struct Validation {
    pub template: TemplateView,
    pub ok: bool,
    pub findings: Vec<FindingView>,
}

impl Validation {
    /// Findings that would make a clone fail.
    pub fn errors(&self) -> usize {
        self.findings
            .iter()
            .filter(|finding| finding.severity == "error")
            .count()
    }

    pub fn summary(&self) -> String {
        let errors = self.errors();
        let warnings = self.findings.len() - errors;
        let verdict = match (errors, warnings) {
            (0, 0) => "ok".to_owned(),
            (0, w) => format!("ok with {w} warning(s)"),
            (e, 0) => format!("{e} error(s)"),
            (e, w) => format!("{e} error(s), {w} warning(s)"),
        };
        format!(
            "template {} ({}) on {}: {verdict}",
            self.template.name, self.template.vmid, self.template.node
        )
    }
}

/// A validation finding with its cause and fix.
#[derive(Debug, Serialize)]
pub(in crate::commands) struct FindingView {
    severity: &'static str,
    code: String,
    key: String,
    cause: String,
    fix: String,
}

impl FindingView {
    pub fn new(finding: &ValidationFinding) -> FindingView {
        FindingView {
            severity: match finding.severity() {
                FindingSeverity::Warning => "warning",
                _ => "error",
            },
            code: finding
                .code()
                .as_str_name()
                .trim_start_matches("FINDING_CODE_")
                .to_ascii_lowercase()
                .replace('_', "-"),
            key: finding.key.clone(),
            cause: finding.cause.clone(),
            fix: finding.fix.clone(),
        }
    }
}

impl Tabular for FindingView {
    const KIND: &'static str = "finding";
    const COLUMNS: &'static [Column] = &[
        Column::always("SEVERITY"),
        Column::wide("CODE"),
        Column::always("KEY"),
        Column::always("CAUSE"),
        Column::always("FIX"),
    ];

    fn cells(&self) -> Vec<String> {
        vec![
            self.severity.to_owned(),
            self.code.clone(),
            view::or_dash(&self.key),
            self.cause.clone(),
            view::or_dash(&self.fix),
        ]
    }

    fn name(&self) -> String {
        self.code.clone()
    }
}
