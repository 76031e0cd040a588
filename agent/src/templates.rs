//! This node's templates: the index by name and VMID (qemu `template: 1`),
//! resolving a `TemplateRef` to one template (a name picks the one in the
//! node's range, then the lowest VMID), and node-local validation before a
//! clone (DESIGN, create steps 1–2).

mod convert;
pub mod validate;

use pvectl_proto::routing::{self, Vmid};
use pvectl_proto::v1::{self, template_ref::By};

use crate::cluster::{ClusterView, Source};
use crate::context::AgentCtx;
use crate::error::AgentError;
use crate::guests::{GuestIndex, read_config};
use crate::pmxcfs::{GuestConfig, GuestKind};

pub use convert::to_proto;
pub use validate::{Finding, StorageFacts, refusal};

/// A VM of this node that is (or was named as) a template.
#[derive(Debug, Clone)]
pub struct TemplateInfo {
    pub vmid: u32,
    pub node: String,
    pub config: GuestConfig,
    /// PVE's digest of the config.
    pub digest: String,
    /// Whether the VMID lies in this node's template range.
    pub in_node_range: bool,
}

impl TemplateInfo {
    pub fn name(&self) -> &str {
        self.config.name().unwrap_or_default()
    }

    pub fn is_template(&self) -> bool {
        self.config.is_template().unwrap_or(false)
    }
}

/// Whether `vmid` lies in the range of `node_id`.
fn in_range(node_id: Option<u32>, vmid: u32) -> bool {
    let range = node_id.and_then(|id| routing::template_range(id).ok());
    match (range, Vmid::new(vmid)) {
        (Some(range), Ok(vmid)) => range.contains(vmid),
        _ => false,
    }
}

/// This node's corosync id, if it is a member.
fn own_id(ctx: &AgentCtx, view: &ClusterView) -> Option<u32> {
    view.member(&ctx.node).map(|m| m.id)
}

/// Every template of this node, by VMID.
pub async fn list(ctx: &AgentCtx, view: &ClusterView) -> Result<Vec<TemplateInfo>, AgentError> {
    let own = own_id(ctx, view);
    let vmids: Vec<u32> = match &ctx.source {
        Source::Pmxcfs(_) => GuestIndex::read(ctx)
            .await?
            .on_node(&ctx.node, GuestKind::Qemu)
            .map(|g| g.vmid)
            .collect(),
        Source::ApiOnly => ctx
            .pve
            .node_guests(&ctx.node, GuestKind::Qemu)
            .await
            .map_err(|e| AgentError::pve("listing this node's VMs", &e))?
            .into_iter()
            .filter(|vm| vm.status.template)
            .map(|vm| vm.vmid)
            .collect(),
    };
    let mut templates = Vec::new();
    for vmid in vmids {
        let Some(parsed) = read_config(ctx, &ctx.node, GuestKind::Qemu, vmid).await? else {
            continue; // removed meanwhile
        };
        if parsed.config.is_template().unwrap_or(false) {
            templates.push(TemplateInfo {
                vmid,
                node: ctx.node.clone(),
                config: parsed.config,
                digest: parsed.digest,
                in_node_range: in_range(own, vmid),
            });
        }
    }
    templates.sort_by_key(|t| t.vmid);
    Ok(templates)
}

/// Checks that `node` (empty: this one) is this node.
pub fn check_node(ctx: &AgentCtx, view: &ClusterView, node: &str) -> Result<(), AgentError> {
    if node.is_empty() || node == ctx.node {
        return Ok(());
    }
    if view.member(node).is_none() {
        return Err(AgentError::not_found(format!(
            "node '{node}' is not a member of the cluster"
        )));
    }
    Err(ctx.wrong_node(view, node, &format!("node '{node}'")))
}

/// Routes a template VMID: WRONG_NODE when it lies in another member's
/// range. No IO beyond the view the caller read.
pub fn check_template_vmid(
    ctx: &AgentCtx,
    view: &ClusterView,
    vmid: u32,
) -> Result<(), AgentError> {
    let vmid = Vmid::new(vmid).map_err(|e| AgentError::invalid(e.to_string()))?;
    let owner_id = routing::template_owner(vmid, &view.member_ids());
    match owner_id.and_then(|id| view.members.iter().find(|m| m.id == id)) {
        Some(owner) if owner.name != ctx.node => {
            let owner = owner.name.clone();
            Err(ctx.wrong_node(view, &owner, &format!("template {vmid} (by its range)")))
        }
        _ => Ok(()),
    }
}

/// Resolves `reference` to a VM of this node (it may fail validation).
pub async fn resolve(
    ctx: &AgentCtx,
    view: &ClusterView,
    reference: &v1::TemplateRef,
) -> Result<TemplateInfo, AgentError> {
    match &reference.by {
        None => Err(AgentError::invalid(
            "no template given: name one by VMID or name",
        )),
        Some(By::Vmid(vmid)) => resolve_vmid(ctx, view, *vmid).await,
        Some(By::Name(name)) => resolve_name(ctx, view, name).await,
    }
}

async fn resolve_vmid(
    ctx: &AgentCtx,
    view: &ClusterView,
    vmid: u32,
) -> Result<TemplateInfo, AgentError> {
    check_template_vmid(ctx, view, vmid)?;
    let index = GuestIndex::read(ctx).await?;
    let located = match index.get(vmid) {
        Some(located) => located,
        None => return Err(not_found(ctx, view, &format!("template {vmid}")).await),
    };
    if located.node != ctx.node {
        let owner = located.node.clone();
        return Err(ctx.wrong_node(view, &owner, &format!("template {vmid}")));
    }
    if located.kind != GuestKind::Qemu {
        return Err(AgentError::invalid(format!(
            "guest {vmid} is a container: only VM templates can be cloned into VMs"
        )));
    }
    let parsed = read_config(ctx, &ctx.node, GuestKind::Qemu, vmid)
        .await?
        .ok_or_else(|| AgentError::not_found(format!("template {vmid} does not exist")))?;
    Ok(TemplateInfo {
        vmid,
        node: ctx.node.clone(),
        config: parsed.config,
        digest: parsed.digest,
        in_node_range: in_range(own_id(ctx, view), vmid),
    })
}

async fn resolve_name(
    ctx: &AgentCtx,
    view: &ClusterView,
    name: &str,
) -> Result<TemplateInfo, AgentError> {
    let templates = list(ctx, view).await?;
    let listing = describe(&templates);
    templates
        .into_iter()
        .filter(|t| t.name() == name)
        .min_by_key(|t| (!t.in_node_range, t.vmid))
        .ok_or_else(|| not_found_in(ctx, &format!("template '{name}'"), &listing))
}

/// NOT_FOUND for `what`, listing the templates this node has.
async fn not_found(ctx: &AgentCtx, view: &ClusterView, what: &str) -> AgentError {
    match list(ctx, view).await {
        Ok(templates) => not_found_in(ctx, what, &describe(&templates)),
        Err(err) => err,
    }
}

fn not_found_in(ctx: &AgentCtx, what: &str, listing: &str) -> AgentError {
    let node = &ctx.node;
    if listing.is_empty() {
        AgentError::not_found(format!(
            "{what} not found on node '{node}': it has no templates"
        ))
    } else {
        AgentError::not_found(format!(
            "{what} not found on node '{node}'; its templates: {listing}"
        ))
        .with_hint("name one of these templates by name or VMID")
    }
}

/// `ubuntu-24.04 (9100), debian-12 (9101)`.
fn describe(templates: &[TemplateInfo]) -> String {
    templates
        .iter()
        .map(|t| format!("{} ({})", t.name(), t.vmid))
        .collect::<Vec<_>>()
        .join(", ")
}

/// `ListTemplates`.
pub async fn list_templates(
    ctx: &AgentCtx,
    request: &v1::ListTemplatesRequest,
) -> Result<v1::ListTemplatesResponse, AgentError> {
    let view = ctx.cluster().await?;
    check_node(ctx, &view, &request.node)?;
    let by = request.template.as_ref().and_then(|t| t.by.as_ref());
    if let Some(By::Vmid(vmid)) = by {
        check_template_vmid(ctx, &view, *vmid)?;
    }
    let templates = list(ctx, &view)
        .await?
        .into_iter()
        .filter(|t| match by {
            None => true,
            Some(By::Vmid(vmid)) => t.vmid == *vmid,
            Some(By::Name(name)) => t.name() == name,
        })
        .map(|t| to_proto(&t))
        .collect();
    Ok(v1::ListTemplatesResponse {
        node: ctx.node.clone(),
        templates,
    })
}

/// `ValidateTemplate`.
pub async fn validate_template(
    ctx: &AgentCtx,
    request: &v1::ValidateTemplateRequest,
) -> Result<v1::ValidateTemplateResponse, AgentError> {
    let view = ctx.cluster().await?;
    check_node(ctx, &view, &request.node)?;
    let reference = request
        .template
        .as_ref()
        .ok_or_else(|| AgentError::invalid("no template given: name one by VMID or name"))?;
    let template = resolve(ctx, &view, reference).await?;
    let storage = Some(request.storage.as_str()).filter(|s| !s.is_empty());
    let findings = validate::check(ctx, &template, storage, request.linked).await?;
    let ok = !findings.iter().any(Finding::is_error);
    Ok(v1::ValidateTemplateResponse {
        template: Some(to_proto(&template)),
        ok,
        findings: findings.into_iter().map(Finding::into_proto).collect(),
    })
}
