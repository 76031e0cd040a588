//! `pvectl template list | show | validate`.

use pvectl_proto::v1::{
    FindingSeverity, ListTemplatesRequest, Template, TemplateRef, ValidateTemplateRequest,
    ValidationFinding, template_ref,
};
use serde::Serialize;

use super::locate::{Located, find};
use super::remote::{Session, answers, complete};
use super::{Io, view};
use crate::Error;
use crate::cli::{GlobalArgs, TemplateCommand, ValidateArgs};
use crate::cluster::Cluster;
use crate::cluster::routing::TemplateArg;
use crate::error::CommandError;
use crate::output::{Column, OutputError, OutputFormat, Tabular, render};
use crate::remote::RemoteError;

pub(super) fn run(
    command: TemplateCommand,
    global: &GlobalArgs,
    io: &mut Io<'_>,
) -> Result<(), Error> {
    let session = Session::open(global, io)?;
    match command {
        TemplateCommand::List { node } => session.block_on(list(&session, node, io)),
        TemplateCommand::Show { template, node } => {
            session.block_on(show(&session, template, node, io))
        }
        TemplateCommand::Validate(args) => session.block_on(validate(&session, args, io)),
    }
}

async fn list(session: &Session, node: Option<String>, io: &mut Io<'_>) -> Result<(), Error> {
    let cluster = session.discover().await?;
    let nodes = match node {
        Some(node) => {
            cluster.member(&node)?;
            vec![node]
        }
        None => cluster.member_names(),
    };
    let results = cluster
        .fan_out(&nodes, "ListTemplates", |target, mut agent| async move {
            agent
                .list_templates(ListTemplatesRequest::default())
                .await
                .map(|response| response.into_inner().templates)
                .map_err(|status| RemoteError::from_status(&target.node, "ListTemplates", &status))
        })
        .await;
    let (answered, failed) = answers(results, io)?;
    let rows: Vec<TemplateView> = answered
        .into_iter()
        .flat_map(|(node, templates)| {
            templates
                .into_iter()
                .map(move |template| TemplateView::new(&node, template))
        })
        .collect();
    render(&rows, session.format, io.terminal_width, io.stdout)?;
    complete(failed)
}

async fn show(
    session: &Session,
    template: TemplateArg,
    node: Option<String>,
    io: &mut Io<'_>,
) -> Result<(), Error> {
    let cluster = session.discover().await?;
    let found = find(&cluster, &template, node.as_deref(), io).await?;
    let views: Vec<TemplateView> = found
        .into_iter()
        .map(|located| TemplateView::new(&located.node, located.template))
        .collect();
    match session.format {
        OutputFormat::Table | OutputFormat::Wide => {
            for (index, view) in views.iter().enumerate() {
                if index > 0 {
                    writeln!(io.stdout).map_err(OutputError::from)?;
                }
                view.describe(io)?;
            }
        }
        format => render(&views, format, io.terminal_width, io.stdout)?,
    }
    Ok(())
}

async fn validate(session: &Session, args: ValidateArgs, io: &mut Io<'_>) -> Result<(), Error> {
    let cluster = session.discover().await?;
    let found = find(&cluster, &args.template, args.node.as_deref(), io).await?;
    let mut results = Vec::new();
    for located in found {
        results.push(validate_one(&cluster, &args, located).await?);
    }
    match session.format {
        OutputFormat::Table | OutputFormat::Wide => {
            for result in &results {
                writeln!(io.stdout, "{}", result.summary()).map_err(OutputError::from)?;
                if !result.findings.is_empty() {
                    render(
                        &result.findings,
                        session.format,
                        io.terminal_width,
                        io.stdout,
                    )?;
                }
            }
        }
        OutputFormat::Name => {
            let views: Vec<&TemplateView> = results.iter().map(|r| &r.template).collect();
            for view in views {
                writeln!(io.stdout, "template/{}", view.vmid).map_err(OutputError::from)?;
            }
        }
        OutputFormat::Json => {
            serde_json::to_writer_pretty(&mut *io.stdout, &results).map_err(OutputError::from)?;
            writeln!(io.stdout).map_err(OutputError::from)?;
        }
        OutputFormat::Yaml => {
            let text = serde_norway::to_string(&results).map_err(OutputError::from)?;
            io.stdout
                .write_all(text.as_bytes())
                .map_err(OutputError::from)?;
        }
    }
    match results.iter().find(|result| result.errors() > 0) {
        Some(failed) => Err(CommandError::ValidationFailed {
            template: failed.template.vmid.to_string(),
            node: failed.template.node.clone(),
            errors: failed.errors(),
        }
        .into()),
        None => Ok(()),
    }
}

/// Validates one template on its own node.
pub(super) async fn validate_one(
    cluster: &Cluster,
    args: &ValidateArgs,
    located: Located,
) -> Result<Validation, Error> {
    let request = ValidateTemplateRequest {
        template: Some(TemplateRef {
            by: Some(template_ref::By::Vmid(located.template.vmid)),
        }),
        node: String::new(),
        storage: args.storage.clone().unwrap_or_default(),
        linked: args.linked,
    };
    let target = cluster.target(&located.node)?;
    let (answered, response) = cluster
        .call(target, "ValidateTemplate", |mut agent| {
            let request = request.clone();
            async move { agent.validate_template(request).await }
        })
        .await?;
    let template = response.template.unwrap_or(located.template);
    Ok(Validation {
        template: TemplateView::new(&answered.node, template),
        ok: response.ok,
        findings: response.findings.iter().map(FindingView::new).collect(),
    })
}

/// A template as listed and shown.
#[derive(Debug, Clone, Serialize)]
pub(super) struct TemplateView {
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

    fn describe(&self, io: &mut Io<'_>) -> Result<(), Error> {
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
pub(super) struct Validation {
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
pub(super) struct FindingView {
    severity: &'static str,
    code: String,
    key: String,
    cause: String,
    fix: String,
}

impl FindingView {
    fn new(finding: &ValidationFinding) -> FindingView {
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
