//! `pvectl template list | show | validate | promote`.

mod promote;
mod views;

use pvectl_proto::v1::{ListTemplatesRequest, TemplateRef, ValidateTemplateRequest, template_ref};

use super::Io;
use super::locate::{Located, find};
use super::remote::{Session, answers, complete};
use crate::Error;
use crate::cli::{GlobalArgs, TemplateCommand, ValidateArgs};
use crate::cluster::Cluster;
use crate::cluster::routing::TemplateArg;
use crate::error::CommandError;
use crate::output::{OutputError, OutputFormat, render};
use crate::remote::RemoteError;
pub(super) use views::Validation;
use views::{FindingView, TemplateView};

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
        TemplateCommand::Promote(args) => {
            session.block_on(promote::promote(&session, args, global.dry_run, io))
        }
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
