//! What `vm` and `ct` share: listing guests across the fleet, reading one
//! guest or its config from the node it lives on, (`select`) turning
//! VMIDs, a selector or `--all` into the guests each node must act on, and
//! (`bulk`, `results`) the lifecycle actions and deletes on them.

pub(super) mod bulk;
mod results;
pub(super) mod select;
mod view;

use pvectl_proto::Vmid;
use pvectl_proto::v1::{
    GetGuestConfigRequest, GetGuestRequest, GuestKind, ListGuestsRequest, TemplateFilter,
};

use super::Io;
use super::remote::{Session, answers, complete};
use crate::Error;
use crate::cli::GuestListArgs;
use crate::cluster::Cluster;
use crate::error::CommandError;
use crate::output::{render, render_one};
use crate::remote::RemoteError;
use view::{ConfigRow, GuestView};

/// What a resource command (`vm`, `ct`) acts on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Resource {
    pub kind: GuestKind,
    /// The command's name: `vm`, `ct`.
    pub command: &'static str,
    /// `VM`, `container`.
    pub noun: &'static str,
    /// `a VM`, `a container`.
    pub article: &'static str,
}

pub(super) const VM: Resource = Resource {
    kind: GuestKind::Qemu,
    command: "vm",
    noun: "VM",
    article: "a VM",
};

pub(super) const CT: Resource = Resource {
    kind: GuestKind::Lxc,
    command: "ct",
    noun: "container",
    article: "a container",
};

impl Resource {
    fn of(kind: GuestKind) -> Resource {
        if kind == GuestKind::Lxc { CT } else { VM }
    }

    /// Refuses a guest of the other kind, naming the command that fits it.
    pub fn check_kind(self, vmid: u32, kind: GuestKind, verb: &'static str) -> Result<(), Error> {
        if kind == self.kind {
            return Ok(());
        }
        let actual = Resource::of(kind);
        Err(CommandError::WrongKind {
            vmid,
            actual: actual.article,
            wanted: self.article,
            resource: actual.command,
            verb,
        }
        .into())
    }
}

/// `vm|ct list`: every node asked at once (or `--node` only), merged by
/// VMID. Nodes that do not answer are warned about and make it exit 3.
pub(super) async fn list(
    session: &Session,
    resource: Resource,
    args: GuestListArgs,
    io: &mut Io<'_>,
) -> Result<(), Error> {
    let cluster = session.discover().await?;
    let nodes = match &args.node {
        Some(node) => vec![cluster.member(node)?.name.clone()],
        None => cluster.member_names(),
    };
    let mut request = ListGuestsRequest {
        tags: args.tags.clone(),
        ..ListGuestsRequest::default()
    };
    request.set_kind(resource.kind);
    if let Some(status) = args.status {
        request.set_status(status);
    }
    if args.template {
        request.set_templates(TemplateFilter::Only);
    }
    let (guests, failed) = list_nodes(&cluster, &nodes, &request, io).await?;
    let rows: Vec<GuestView> = guests
        .into_iter()
        .map(|guest| GuestView::new(resource, guest))
        .collect();
    render(&rows, session.format, io.terminal_width, io.stdout)?;
    complete(failed)
}

/// The guests `request` matches on `nodes`, sorted by VMID, and the nodes
/// that did not answer (each warned about on stderr).
pub(super) async fn list_nodes(
    cluster: &Cluster,
    nodes: &[String],
    request: &ListGuestsRequest,
    io: &mut Io<'_>,
) -> Result<(Vec<pvectl_proto::v1::Guest>, Vec<String>), Error> {
    let results = cluster
        .fan_out(nodes, "ListGuests", |target, mut agent| {
            let request = ListGuestsRequest {
                node: target.node.clone(),
                ..request.clone()
            };
            async move {
                agent
                    .list_guests(request)
                    .await
                    .map(|response| response.into_inner().guests)
                    .map_err(|status| RemoteError::from_status(&target.node, "ListGuests", &status))
            }
        })
        .await;
    let (answered, failed) = answers(results, io)?;
    let mut guests: Vec<_> = answered.into_iter().flat_map(|(_, list)| list).collect();
    guests.sort_by_key(|guest| guest.vmid);
    Ok((guests, failed))
}

/// `vm|ct get`: asks the seed, which names the guest's node when it lives
/// elsewhere.
pub(super) async fn get(
    session: &Session,
    resource: Resource,
    vmid: Vmid,
    io: &mut Io<'_>,
) -> Result<(), Error> {
    let cluster = session.discover().await?;
    let (_, guest) = cluster
        .call(cluster.seed().clone(), "GetGuest", |mut agent| async move {
            agent.get_guest(GetGuestRequest { vmid: vmid.get() }).await
        })
        .await?;
    resource.check_kind(guest.vmid, guest.kind(), "get")?;
    render_one(
        &GuestView::new(resource, guest),
        session.format,
        io.terminal_width,
        io.stdout,
    )?;
    Ok(())
}

/// `vm|ct config`: the stored config, one row per key with its pending
/// value; json/yaml give the whole config with its digest.
pub(super) async fn config(
    session: &Session,
    resource: Resource,
    vmid: Vmid,
    io: &mut Io<'_>,
) -> Result<(), Error> {
    let cluster = session.discover().await?;
    let (_, config) = cluster
        .call(
            cluster.seed().clone(),
            "GetGuestConfig",
            |mut agent| async move {
                agent
                    .get_guest_config(GetGuestConfigRequest { vmid: vmid.get() })
                    .await
            },
        )
        .await?;
    resource.check_kind(config.vmid, config.kind(), "config")?;
    view::render_config(&ConfigRow::rows(&config), &config, session.format, io)?;
    Ok(())
}
