//! `pvectl vm create NAME --template T`: resolve the template and its node
//! (DESIGN step 1), then stream the create operation from that node's agent.
//! Without `--template` the VM is made from scratch (`scratch`).

use pvectl_proto::v1::CreateVmFromTemplateRequest;

use super::super::Io;
use super::super::locate::{Located, find};
use super::super::placement::most_free;
use super::super::remote::Session;
use super::super::submit::{Submit, submit};
use super::super::template::validate_one;
use crate::Error;
use crate::cli::{ValidateArgs, VmCreateArgs};
use crate::cluster::Cluster;
use crate::cluster::routing::{TemplateArg, TemplateRoute, route_template};
use crate::error::CommandError;
use crate::output::{OutputError, OutputFormat};

pub(super) async fn create(
    session: &Session,
    args: VmCreateArgs,
    dry_run: bool,
    io: &mut Io<'_>,
) -> Result<(), Error> {
    let Some(template) = args.template.clone() else {
        return super::scratch::create(session, args, dry_run, io).await;
    };
    let cluster = session.discover().await?;
    if let Some(node) = &args.node {
        cluster.member(node)?;
    }
    let route = route_template(&template, args.node.as_deref(), cluster.members())?;
    let node = match (&route, &template) {
        (TemplateRoute::Node(node), TemplateArg::Name(_)) => {
            find(&cluster, &template, Some(node), io).await?;
            Some(node.clone())
        }
        (TemplateRoute::Node(node), TemplateArg::Vmid(_)) => Some(node.clone()),
        (TemplateRoute::Seed, _) => None,
        (TemplateRoute::Search, _) => {
            let holders = find(&cluster, &template, None, io).await?;
            Some(place(&cluster, &template, holders, io).await?)
        }
    };
    if dry_run {
        return dry_run_create(&cluster, &args, &template, node, session.format, io).await;
    }
    let request = CreateVmFromTemplateRequest {
        name: args.name.clone(),
        template: Some(template.to_ref()),
        node: node.clone().unwrap_or_default(),
        vmid: args.vmid.map(|vmid| vmid.get()),
        linked: args.linked,
        storage: args.storage.clone().unwrap_or_default(),
        cores: args.cores,
        memory_mib: args.memory,
        tags: args.tags.clone(),
        start: args.start,
        timeout_seconds: timeout_seconds(args.timeout),
    };
    let target = match &node {
        Some(node) => cluster.target(node)?,
        None => cluster.seed().clone(),
    };
    let how = Submit {
        cluster: &cluster,
        target,
        call: "CreateVmFromTemplate",
        no_wait: args.no_wait,
        timeout: args.timeout,
        format: session.format,
        dry_run: None,
    };
    submit(
        how,
        request,
        |mut agent, request| async move { agent.create_vm_from_template(request).await },
        io,
    )
    .await
}

/// The operation timeout the agent is sent: whole seconds, 0 for its own.
pub(in crate::commands) fn timeout_seconds(timeout: Option<std::time::Duration>) -> u32 {
    timeout.map_or(0, |timeout| {
        u32::try_from(timeout.as_secs().max(1)).unwrap_or(u32::MAX)
    })
}

/// Picks the holder with most free memory and says so on stderr.
async fn place(
    cluster: &Cluster,
    template: &TemplateArg,
    holders: Vec<Located>,
    io: &mut Io<'_>,
) -> Result<String, Error> {
    let mut nodes: Vec<String> = holders.iter().map(|h| h.node.clone()).collect();
    nodes.dedup();
    let (chosen, why) = most_free(cluster, &nodes, "the only node holding it", io)
        .await?
        .ok_or_else(|| CommandError::TemplateNotFound {
            template: template.to_string(),
            node: None,
            existing: Vec::new(),
            unreachable: Vec::new(),
        })?;
    let holders_text: Vec<String> = holders
        .iter()
        .map(|h| format!("{} ({})", h.node, h.template.vmid))
        .collect();
    writeln!(
        io.stderr,
        "template {template} is on {}; creating on {chosen} ({why})",
        holders_text.join(", "),
    )
    .map_err(OutputError::from)?;
    Ok(chosen)
}

/// `--dry-run`: validates on the chosen node and says what would happen.
async fn dry_run_create(
    cluster: &Cluster,
    args: &VmCreateArgs,
    template: &TemplateArg,
    node: Option<String>,
    format: OutputFormat,
    io: &mut Io<'_>,
) -> Result<(), Error> {
    let validate = ValidateArgs {
        template: template.clone(),
        node: node.clone(),
        storage: args.storage.clone(),
        linked: args.linked,
    };
    let found = find(cluster, template, node.as_deref(), io).await?;
    for located in found {
        let validation = validate_one(cluster, &validate, located).await?;
        let errors = validation.errors();
        if format == OutputFormat::Json {
            serde_json::to_writer_pretty(&mut *io.stdout, &validation)
                .map_err(OutputError::from)?;
            writeln!(io.stdout).map_err(OutputError::from)?;
        } else {
            writeln!(io.stdout, "{}", validation.summary()).map_err(OutputError::from)?;
        }
        if errors > 0 {
            return Err(CommandError::ValidationFailed {
                template: validation.template.vmid.to_string(),
                node: validation.template.node.clone(),
                errors,
            }
            .into());
        }
        writeln!(
            io.stderr,
            "would create vm {} from template {} ({}) on {}; nothing was changed",
            args.name, validation.template.name, validation.template.vmid, validation.template.node
        )
        .map_err(OutputError::from)?;
    }
    Ok(())
}
