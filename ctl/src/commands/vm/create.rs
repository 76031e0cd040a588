//! `pvectl vm create NAME --template T`: resolve the template and its node
//! (DESIGN step 1), then stream the create operation from that node's agent.

use pvectl_proto::v1::{
    CreateEvent, CreateVmFromTemplateRequest, ErrorKind, GetNodeInfoRequest, create_event,
};
use tonic::Streaming;

use super::super::locate::{Located, find};
use super::super::operation::{AGENT_DEFAULT_TIMEOUT, DEADLINE_GRACE, follow, print_finished};
use super::super::remote::{Session, answers};
use super::super::template::validate_one;
use super::super::{Io, view};
use crate::Error;
use crate::cli::{ValidateArgs, VmCreateArgs};
use crate::cluster::routing::{
    Candidate, TemplateArg, TemplateRoute, most_free_memory, route_template,
};
use crate::cluster::{Cluster, Target};
use crate::error::CommandError;
use crate::output::{OutputError, OutputFormat};
use crate::remote::RemoteError;

pub(super) async fn create(
    session: &Session,
    args: VmCreateArgs,
    dry_run: bool,
    io: &mut Io<'_>,
) -> Result<(), Error> {
    let cluster = session.discover().await?;
    if let Some(node) = &args.node {
        cluster.member(node)?;
    }
    let route = route_template(&args.template, args.node.as_deref(), cluster.members())?;
    let node = match (&route, &args.template) {
        (TemplateRoute::Node(node), TemplateArg::Name(_)) => {
            find(&cluster, &args.template, Some(node), io).await?;
            Some(node.clone())
        }
        (TemplateRoute::Node(node), TemplateArg::Vmid(_)) => Some(node.clone()),
        (TemplateRoute::Seed, _) => None,
        (TemplateRoute::Search, _) => {
            let holders = find(&cluster, &args.template, None, io).await?;
            Some(place(&cluster, &args.template, holders, io).await?)
        }
    };
    if dry_run {
        return dry_run_create(&cluster, &args, node, session.format, io).await;
    }
    let request = CreateVmFromTemplateRequest {
        name: args.name.clone(),
        template: Some(args.template.to_ref()),
        node: node.clone().unwrap_or_default(),
        vmid: args.vmid.map(|vmid| vmid.get()),
        linked: args.linked,
        storage: args.storage.clone().unwrap_or_default(),
        cores: args.cores,
        memory_mib: args.memory,
        tags: args.tags.clone(),
        start: args.start,
        timeout_seconds: args.timeout.map_or(0, |timeout| {
            u32::try_from(timeout.as_secs().max(1)).unwrap_or(u32::MAX)
        }),
    };
    let target = match &node {
        Some(node) => cluster.target(node)?,
        None => cluster.seed().clone(),
    };
    let (answered, first, mut stream) = open(&cluster, target, &request).await?;
    if args.no_wait {
        if let Some(create_event::Outcome::Error(detail)) = first.outcome {
            return Err(RemoteError::OperationFailed {
                node: answered.node,
                operation_id: first.operation_id,
                detail: Box::new(detail),
            }
            .into());
        }
        return print_operation_id(&first.operation_id, &answered.node, session.format, io);
    }
    let wait = args.timeout.unwrap_or(AGENT_DEFAULT_TIMEOUT) + DEADLINE_GRACE;
    let finished = follow(&answered.node, Some(first), &mut stream, Some(wait), io).await?;
    print_finished(finished, session.format, io)
}

/// Sends the create and reads its first event. A WRONG_NODE answer, as a
/// status or as a first FAILED event, is followed once to the owner.
async fn open(
    cluster: &Cluster,
    target: Target,
    request: &CreateVmFromTemplateRequest,
) -> Result<(Target, CreateEvent, Streaming<CreateEvent>), Error> {
    let send = |mut agent: pvectl_proto::v1::agent_client::AgentClient<_>| {
        let request = request.clone();
        async move { agent.create_vm_from_template(request).await }
    };
    let first_target = target.clone();
    let (answered, mut stream) = cluster.call(target, "CreateVmFromTemplate", send).await?;
    let first = first_event(&answered, &mut stream).await?;
    let hint = match &first.outcome {
        Some(create_event::Outcome::Error(detail))
            if detail.kind() == ErrorKind::WrongNode && answered == first_target =>
        {
            Some(detail.clone())
        }
        _ => None,
    };
    let Some(hint) = hint else {
        return Ok((answered, first, stream));
    };
    let owner = cluster.owner_target(&hint)?;
    let mut stream = cluster
        .call_at(&owner, "CreateVmFromTemplate", send)
        .await?;
    let first = first_event(&owner, &mut stream).await?;
    Ok((owner, first, stream))
}

async fn first_event(
    answered: &Target,
    stream: &mut Streaming<CreateEvent>,
) -> Result<CreateEvent, Error> {
    match stream.message().await {
        Ok(Some(event)) => Ok(event),
        Ok(None) => Err(CommandError::NoEvents {
            node: answered.node.clone(),
        }
        .into()),
        Err(status) => {
            Err(RemoteError::from_status(&answered.node, "CreateVmFromTemplate", &status).into())
        }
    }
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
    let results = cluster
        .fan_out(&nodes, "GetNodeInfo", |target, mut agent| async move {
            agent
                .get_node_info(GetNodeInfoRequest::default())
                .await
                .map(|response| response.into_inner())
                .map_err(|status| RemoteError::from_status(&target.node, "GetNodeInfo", &status))
        })
        .await;
    let (answered, _) = answers(results, io)?;
    let candidates: Vec<Candidate> = nodes
        .iter()
        .map(|node| Candidate {
            node: node.clone(),
            node_id: cluster
                .member(node)
                .map_or(u32::MAX, |member| member.node_id),
            free_memory_bytes: answered
                .iter()
                .find(|(name, _)| name == node)
                .and_then(|(_, info)| info.resources)
                .map(|resources| resources.memory_free_bytes),
        })
        .collect();
    let chosen =
        most_free_memory(&candidates)
            .cloned()
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
    let why = match (candidates.len(), chosen.free_memory_bytes) {
        (1, _) => "the only node holding it".to_owned(),
        (_, Some(free)) => format!("most free memory, {}", view::bytes(free)),
        (_, None) => "no node reported its free memory".to_owned(),
    };
    writeln!(
        io.stderr,
        "template {template} is on {}; creating on {} ({why})",
        holders_text.join(", "),
        chosen.node
    )
    .map_err(OutputError::from)?;
    Ok(chosen.node)
}

/// `--dry-run`: validates on the chosen node and says what would happen.
async fn dry_run_create(
    cluster: &Cluster,
    args: &VmCreateArgs,
    node: Option<String>,
    format: OutputFormat,
    io: &mut Io<'_>,
) -> Result<(), Error> {
    let validate = ValidateArgs {
        template: args.template.clone(),
        node: node.clone(),
        storage: args.storage.clone(),
        linked: args.linked,
    };
    let found = find(cluster, &args.template, node.as_deref(), io).await?;
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

fn print_operation_id(
    operation_id: &str,
    node: &str,
    format: OutputFormat,
    io: &mut Io<'_>,
) -> Result<(), Error> {
    #[derive(serde::Serialize)]
    struct Started<'a> {
        operation_id: &'a str,
        node: &'a str,
    }
    let started = Started { operation_id, node };
    match format {
        OutputFormat::Json => {
            serde_json::to_writer_pretty(&mut *io.stdout, &started).map_err(OutputError::from)?;
            writeln!(io.stdout).map_err(OutputError::from)?;
        }
        OutputFormat::Yaml => {
            let text = serde_norway::to_string(&started).map_err(OutputError::from)?;
            io.stdout
                .write_all(text.as_bytes())
                .map_err(OutputError::from)?;
        }
        _ => {
            writeln!(io.stdout, "{operation_id}").map_err(OutputError::from)?;
            writeln!(
                io.stderr,
                "operation {operation_id} runs on {node}; follow it with `pvectl task watch {operation_id}`"
            )
            .map_err(OutputError::from)?;
        }
    }
    Ok(())
}
