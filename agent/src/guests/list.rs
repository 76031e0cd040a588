//! `ListGuests`: this node's guests from the live view (config facts) and
//! the node's own guest lists (`GET /nodes/{node}/qemu` and `/lxc`, which
//! read the node's state directly and so show a fresh guest at once, unlike
//! `/cluster/resources`), with each guest's HA state. At most two API calls
//! (three in API-only mode), whatever the guest count.
use std::collections::BTreeMap;

use pvectl_proto::v1;

use super::convert::{ConfigFacts, guest};
use super::ha::{fill, ha_states};
use super::locate::{GuestIndex, Located};
use crate::cluster::Source;
use crate::context::AgentCtx;
use crate::error::AgentError;
use crate::pmxcfs::GuestKind;
use crate::pve_api::{GuestCurrentStatus, NodeGuest};
use crate::templates::check_node;

/// `ListGuests` for this node.
pub async fn list_guests(
    ctx: &AgentCtx,
    request: &v1::ListGuestsRequest,
) -> Result<v1::ListGuestsResponse, AgentError> {
    if !request.node.is_empty() && request.node != ctx.node {
        let view = ctx.cluster().await?;
        check_node(ctx, &view, &request.node)?;
    }
    let kinds = kinds(request.kind());
    let (facts, states, ha) = tokio::try_join!(
        config_facts(ctx, &kinds),
        run_states(ctx, &kinds),
        ha_states(ctx)
    )?;
    let mut guests = merge(&ctx.node, facts, states);
    fill(&mut guests, &ha);
    let mut guests: Vec<v1::Guest> = guests.into_iter().filter(|g| wanted(request, g)).collect();
    guests.sort_by_key(|g| g.vmid);
    Ok(v1::ListGuestsResponse {
        node: ctx.node.clone(),
        guests,
    })
}

fn kinds(kind: v1::GuestKind) -> Vec<GuestKind> {
    match kind {
        v1::GuestKind::Qemu => vec![GuestKind::Qemu],
        v1::GuestKind::Lxc => vec![GuestKind::Lxc],
        v1::GuestKind::Unspecified => vec![GuestKind::Qemu, GuestKind::Lxc],
    }
}

/// Config facts by VMID from the live view; empty in API-only mode, where
/// the node's guest list carries the facts.
async fn config_facts(
    ctx: &AgentCtx,
    kinds: &[GuestKind],
) -> Result<BTreeMap<u32, (Located, ConfigFacts)>, AgentError> {
    let Source::Pmxcfs(root) = &ctx.source else {
        return Ok(BTreeMap::new());
    };
    let index = GuestIndex::read(ctx).await?;
    Ok(ctx
        .live
        .local_guests(ctx, root, &index)
        .await?
        .into_iter()
        .filter(|(located, _)| kinds.contains(&located.kind))
        .map(|entry| (entry.0.vmid, entry))
        .collect())
}

/// The node's guests of `kinds` with their run state, by VMID.
async fn run_states(
    ctx: &AgentCtx,
    kinds: &[GuestKind],
) -> Result<BTreeMap<u32, (GuestKind, GuestCurrentStatus)>, AgentError> {
    let lists = futures::future::try_join_all(kinds.iter().map(|&kind| async move {
        ctx.pve
            .node_guests(&ctx.node, kind)
            .await
            .map(|list| (kind, list))
            .map_err(|e| AgentError::pve("listing this node's guests", &e))
    }))
    .await?;
    Ok(lists
        .into_iter()
        .flat_map(|(kind, list)| {
            list.into_iter()
                .map(move |NodeGuest { vmid, status }| (vmid, (kind, status)))
        })
        .collect())
}

/// One guest per VMID known to either source: config facts where the live
/// view has them (else the list's own), the run state where the list has
/// it (else unknown: created or removed between the two reads).
fn merge(
    node: &str,
    mut facts: BTreeMap<u32, (Located, ConfigFacts)>,
    states: BTreeMap<u32, (GuestKind, GuestCurrentStatus)>,
) -> Vec<v1::Guest> {
    let mut guests = Vec::with_capacity(facts.len().max(states.len()));
    for (vmid, (kind, status)) in states {
        let (located, facts) = facts.remove(&vmid).unwrap_or_else(|| {
            let located = Located {
                vmid,
                node: node.to_string(),
                kind,
                version: 0,
            };
            (located, ConfigFacts::of_status(&status))
        });
        guests.push(guest(&located, &facts, &status));
    }
    let unknown = GuestCurrentStatus::default();
    for (located, facts) in facts.into_values() {
        guests.push(guest(&located, &facts, &unknown));
    }
    guests
}

/// Whether `guest` passes the request's filters.
fn wanted(request: &v1::ListGuestsRequest, guest: &v1::Guest) -> bool {
    let status_ok = match request.status() {
        v1::GuestStatus::Unspecified => true,
        status => guest.status() == status,
    };
    let templates_ok = match request.templates() {
        v1::TemplateFilter::Unspecified => true,
        v1::TemplateFilter::Only => guest.template,
        v1::TemplateFilter::Exclude => !guest.template,
    };
    let tags_ok = request
        .tags
        .iter()
        .all(|tag| guest.tags.iter().any(|t| t.eq_ignore_ascii_case(tag)));
    status_ok && templates_ok && tags_ok
}

#[cfg(test)]
mod tests {
    use super::*;

    fn status(json: serde_json::Value) -> GuestCurrentStatus {
        serde_json::from_value(json).unwrap()
    }

    fn located(vmid: u32) -> Located {
        Located {
            vmid,
            node: "pve1".into(),
            kind: GuestKind::Qemu,
            version: 7,
        }
    }

    #[test]
    fn config_facts_win_over_the_lists_and_run_state_comes_from_the_list() {
        let facts = ConfigFacts {
            name: "web1".into(),
            tags: vec!["prod".into()],
            protected: true,
            ..ConfigFacts::default()
        };
        let mut by_vmid = BTreeMap::new();
        by_vmid.insert(100, (located(100), facts));
        let mut states = BTreeMap::new();
        states.insert(
            100,
            (
                GuestKind::Qemu,
                status(serde_json::json!({"status": "running", "name": "VM 100", "maxmem": 1024})),
            ),
        );
        let guests = merge("pve1", by_vmid, states);
        assert_eq!(guests.len(), 1);
        assert_eq!(guests[0].name, "web1");
        assert_eq!(guests[0].status(), v1::GuestStatus::Running);
        assert!(guests[0].protected);
        assert_eq!(guests[0].config_version, 7);
        assert_eq!(guests[0].resources.unwrap().memory_max_bytes, 1024);
    }

    #[test]
    fn a_guest_only_one_source_knows_is_listed_all_the_same() {
        let mut by_vmid = BTreeMap::new();
        by_vmid.insert(101, (located(101), ConfigFacts::default()));
        let mut states = BTreeMap::new();
        states.insert(
            102,
            (
                GuestKind::Lxc,
                status(serde_json::json!({"status": "stopped", "name": "ct2", "tags": "b;A"})),
            ),
        );
        let guests = merge("pve1", by_vmid, states);
        let by_id: BTreeMap<u32, &v1::Guest> = guests.iter().map(|g| (g.vmid, g)).collect();
        assert_eq!(by_id[&101].status(), v1::GuestStatus::Unknown);
        assert_eq!(by_id[&102].name, "ct2");
        assert_eq!(by_id[&102].kind(), v1::GuestKind::Lxc);
        assert_eq!(by_id[&102].tags, ["a", "b"]);
    }

    #[test]
    fn filters_combine_status_templates_and_every_tag() {
        let guest = v1::Guest {
            status: v1::GuestStatus::Running as i32,
            tags: vec!["prod".into(), "web".into()],
            ..v1::Guest::default()
        };
        let mut request = v1::ListGuestsRequest {
            tags: vec!["web".into(), "PROD".into()],
            ..v1::ListGuestsRequest::default()
        };
        assert!(wanted(&request, &guest));
        request.set_status(v1::GuestStatus::Stopped);
        assert!(!wanted(&request, &guest));
        request.set_status(v1::GuestStatus::Running);
        request.set_templates(v1::TemplateFilter::Only);
        assert!(!wanted(&request, &guest));
        request.set_templates(v1::TemplateFilter::Exclude);
        request.tags.push("db".into());
        assert!(!wanted(&request, &guest));
    }
}
