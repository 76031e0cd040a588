//! The client's routing decisions as pure functions: where a template
//! reference goes, which node a placement picks, which node an operation id
//! or a task id names. No IO, so every rule is tested on its own.

use std::fmt;
use std::str::FromStr;

use pvectl_proto::v1::{Member, TaskRef, TemplateRef, task_ref, template_ref};
use pvectl_proto::{Upid, UpidError, Vmid, VmidError};

/// A template as the command line names it: a VMID (all digits) or a name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TemplateArg {
    Vmid(Vmid),
    Name(String),
}

impl FromStr for TemplateArg {
    type Err = VmidError;

    fn from_str(text: &str) -> Result<TemplateArg, VmidError> {
        if !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit()) {
            return text.parse().map(TemplateArg::Vmid);
        }
        if text.is_empty() {
            return Err(VmidError::NotANumber(String::new()));
        }
        Ok(TemplateArg::Name(text.to_owned()))
    }
}

impl fmt::Display for TemplateArg {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TemplateArg::Vmid(vmid) => vmid.fmt(f),
            TemplateArg::Name(name) => f.write_str(name),
        }
    }
}

impl TemplateArg {
    /// The contract's reference.
    pub fn to_ref(&self) -> TemplateRef {
        let by = match self {
            TemplateArg::Vmid(vmid) => template_ref::By::Vmid(vmid.get()),
            TemplateArg::Name(name) => template_ref::By::Name(name.clone()),
        };
        TemplateRef { by: Some(by) }
    }
}

/// Where a request about a template goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TemplateRoute {
    /// To this node's agent.
    Node(String),
    /// A VMID in no member's range: to the seed, which names the owner.
    Seed,
    /// A name without a node: every node is asked which holds it.
    Search,
}

/// Why a template reference cannot be routed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RouteError {
    #[error(
        "template {vmid} lies in the template range of node {owner}, not {node}: \
         clones run on the template's node, so drop --node or use --node {owner}"
    )]
    NotOwner {
        vmid: Vmid,
        owner: String,
        node: String,
    },
}

/// DESIGN step 1: a VMID goes to the node owning its range (a different
/// `--node` is refused); a name goes to `--node`, or is searched for.
pub fn route_template(
    template: &TemplateArg,
    node: Option<&str>,
    members: &[Member],
) -> Result<TemplateRoute, RouteError> {
    match template {
        TemplateArg::Vmid(vmid) => match (range_owner(*vmid, members), node) {
            (Some(owner), Some(node)) if owner.name != node => Err(RouteError::NotOwner {
                vmid: *vmid,
                owner: owner.name.clone(),
                node: node.to_owned(),
            }),
            (Some(owner), _) => Ok(TemplateRoute::Node(owner.name.clone())),
            (None, Some(node)) => Ok(TemplateRoute::Node(node.to_owned())),
            (None, None) => Ok(TemplateRoute::Seed),
        },
        TemplateArg::Name(_) => Ok(match node {
            Some(node) => TemplateRoute::Node(node.to_owned()),
            None => TemplateRoute::Search,
        }),
    }
}

fn range_owner(vmid: Vmid, members: &[Member]) -> Option<&Member> {
    let ids: Vec<u32> = members.iter().map(|m| m.node_id).collect();
    let owner = pvectl_proto::template_owner(vmid, &ids)?;
    members.iter().find(|member| member.node_id == owner)
}

/// A node holding the wanted template, with what placement weighs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Candidate {
    pub node: String,
    pub node_id: u32,
    /// Free memory; `None` when the node did not say.
    pub free_memory_bytes: Option<u64>,
}

/// The candidate with the most free memory; nodes that did not say come
/// last, ties go to the lowest node id.
pub fn most_free_memory(candidates: &[Candidate]) -> Option<&Candidate> {
    candidates.iter().max_by(|a, b| {
        a.free_memory_bytes
            .cmp(&b.free_memory_bytes)
            .then(b.node_id.cmp(&a.node_id))
    })
}

/// The member an operation id names in its prefix (`pve2-…`, `pve2:…`): the
/// longest member name the id starts with, followed by a character that is
/// not a letter or digit.
pub fn operation_node<'a>(operation_id: &str, members: &'a [Member]) -> Option<&'a Member> {
    members
        .iter()
        .filter(|member| {
            !member.name.is_empty()
                && operation_id
                    .strip_prefix(member.name.as_str())
                    .and_then(|rest| rest.chars().next())
                    .is_some_and(|next| !next.is_ascii_alphanumeric())
        })
        .max_by_key(|member| member.name.len())
}

/// A task as the command line names it: a PVE UPID (its node is in it) or
/// a pvectl operation id (its node is the prefix, else searched for).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TaskId {
    Upid(Upid),
    Operation(String),
}

/// Why a task id is refused before anything is sent.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TaskIdError {
    #[error(transparent)]
    Upid(#[from] UpidError),
    #[error("an operation id is a word without spaces (e.g. pve1-1735689599500-3), not {0:?}")]
    Operation(String),
}

impl FromStr for TaskId {
    type Err = TaskIdError;

    /// Text starting with `UPID:` must be a whole UPID; anything else is an
    /// operation id.
    fn from_str(text: &str) -> Result<TaskId, TaskIdError> {
        if text.starts_with("UPID:") {
            return Ok(TaskId::Upid(text.parse()?));
        }
        if text.is_empty() || text.chars().any(char::is_whitespace) {
            return Err(TaskIdError::Operation(text.to_owned()));
        }
        Ok(TaskId::Operation(text.to_owned()))
    }
}

impl fmt::Display for TaskId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TaskId::Upid(upid) => upid.fmt(f),
            TaskId::Operation(id) => f.write_str(id),
        }
    }
}

impl TaskId {
    /// The contract's reference.
    pub fn to_ref(&self) -> TaskRef {
        let by = match self {
            TaskId::Upid(upid) => task_ref::By::Upid(upid.to_string()),
            TaskId::Operation(id) => task_ref::By::OperationId(id.clone()),
        };
        TaskRef { by: Some(by) }
    }
}
