//! Finding templates (DESIGN "Create a VM from a template", step 1): a VMID
//! on the node owning its range, a name on `--node` or on every node, and
//! when nothing matches an error that lists the templates that do exist.

use pvectl_proto::v1::{ListTemplatesRequest, Template};

use super::Io;
use super::remote::answers;
use crate::Error;
use crate::cluster::routing::{TemplateArg, TemplateRoute, route_template};
use crate::cluster::{Cluster, Target};
use crate::error::CommandError;
use crate::remote::RemoteError;

/// A template and the node whose agent listed it.
#[derive(Debug, Clone)]
pub(super) struct Located {
    pub node: String,
    pub template: Template,
}

/// Whether `template` is what `arg` names: the VMID, or the name within its
/// node's range (templates outside every range are not found by name).
pub(super) fn matches(arg: &TemplateArg, template: &Template) -> bool {
    match arg {
        TemplateArg::Vmid(vmid) => template.vmid == vmid.get(),
        TemplateArg::Name(name) => template.name == *name && template.in_node_range,
    }
}

/// Every template of `nodes`, asked at once; nodes that fail are warned
/// about and returned by name.
pub(super) async fn all_templates(
    cluster: &Cluster,
    nodes: &[String],
    io: &mut Io<'_>,
) -> Result<(Vec<Located>, Vec<String>), Error> {
    let results = cluster
        .fan_out(nodes, "ListTemplates", |target, mut agent| async move {
            agent
                .list_templates(ListTemplatesRequest::default())
                .await
                .map(|response| response.into_inner().templates)
                .map_err(|status| RemoteError::from_status(&target.node, "ListTemplates", &status))
        })
        .await;
    let (answered, failed) = answers(results, io)?;
    let located = answered
        .into_iter()
        .flat_map(|(node, templates)| {
            templates.into_iter().map(move |template| Located {
                node: node.clone(),
                template,
            })
        })
        .collect();
    Ok((located, failed))
}

/// The templates of one node, following an owner hint once.
pub(super) async fn node_templates(
    cluster: &Cluster,
    target: Target,
) -> Result<Vec<Located>, Error> {
    let (answered, templates) = cluster
        .call(target, "ListTemplates", |mut agent| async move {
            agent.list_templates(ListTemplatesRequest::default()).await
        })
        .await?;
    Ok(templates
        .templates
        .into_iter()
        .map(|template| Located {
            node: answered.node.clone(),
            template,
        })
        .collect())
}

/// The templates `arg` names: on the node its route gives, else on every
/// node. None found: [`CommandError::TemplateNotFound`] listing every
/// template of the cluster.
pub(super) async fn find(
    cluster: &Cluster,
    arg: &TemplateArg,
    node: Option<&str>,
    io: &mut Io<'_>,
) -> Result<Vec<Located>, Error> {
    if let Some(node) = node {
        cluster.member(node)?;
    }
    let route = route_template(arg, node, cluster.members())?;
    let (candidates, mut unreachable) = match &route {
        TemplateRoute::Node(node) => {
            let target = cluster.target(node)?;
            (node_templates(cluster, target).await?, Vec::new())
        }
        TemplateRoute::Seed | TemplateRoute::Search => {
            all_templates(cluster, &cluster.member_names(), io).await?
        }
    };
    let found: Vec<Located> = candidates
        .iter()
        .filter(|located| matches(arg, &located.template))
        .cloned()
        .collect();
    if !found.is_empty() {
        return Ok(found);
    }
    let everything = match route {
        TemplateRoute::Node(_) => {
            let (everything, failed) = all_templates(cluster, &cluster.member_names(), io).await?;
            unreachable = failed;
            everything
        }
        TemplateRoute::Seed | TemplateRoute::Search => candidates,
    };
    Err(CommandError::TemplateNotFound {
        template: arg.to_string(),
        node: match arg {
            TemplateArg::Name(_) => node.map(str::to_owned),
            TemplateArg::Vmid(_) => None,
        },
        existing: existing(&everything),
        unreachable,
    }
    .into())
}

/// `name (vmid on node)` for each template, noting those outside their
/// node's range.
pub(super) fn existing(templates: &[Located]) -> Vec<String> {
    templates
        .iter()
        .map(|located| {
            let template = &located.template;
            let outside = if template.in_node_range {
                ""
            } else {
                ", outside its node's range"
            };
            format!(
                "{} ({} on {}{outside})",
                template.name, template.vmid, located.node
            )
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use pvectl_proto::Vmid;
    use pvectl_proto::v1::Template;

    use super::{Located, existing, matches};
    use crate::cluster::routing::TemplateArg;

    fn template(vmid: u32, name: &str, in_node_range: bool) -> Template {
        Template {
            vmid,
            name: name.to_owned(),
            in_node_range,
            ..Template::default()
        }
    }

    #[test]
    fn names_match_only_templates_inside_their_nodes_range_and_vmids_match_any() {
        let inside = template(9100, "ubuntu", true);
        let outside = template(9000, "ubuntu", false);
        let name = TemplateArg::Name("ubuntu".to_owned());
        assert!(matches(&name, &inside));
        assert!(!matches(&name, &outside));
        assert!(matches(
            &TemplateArg::Vmid(Vmid::new(9000).unwrap()),
            &outside
        ));
        assert!(!matches(
            &TemplateArg::Vmid(Vmid::new(9001).unwrap()),
            &outside
        ));
    }

    #[test]
    fn the_listing_of_existing_templates_names_vmid_node_and_range() {
        let templates = [
            Located {
                node: "pve1".to_owned(),
                template: template(9100, "ubuntu", true),
            },
            Located {
                node: "pve2".to_owned(),
                template: template(9000, "old", false),
            },
        ];
        assert_eq!(
            existing(&templates),
            [
                "ubuntu (9100 on pve1)",
                "old (9000 on pve2, outside its node's range)"
            ]
        );
    }
}
