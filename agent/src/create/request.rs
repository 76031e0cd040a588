//! A create request checked before anything happens (bad input gets a
//! precise error and changes nothing), in the form the journal keeps and a
//! restarted agent reads back.
use std::collections::BTreeSet;

use pvectl_proto::guest_values;
use pvectl_proto::routing::Vmid;
use pvectl_proto::v1::{self, OperationKind, template_ref::By};
use serde::{Deserialize, Serialize};

use super::record::Request;
use crate::error::AgentError;
use crate::pmxcfs::GuestKind;
use crate::pve_api::Params;

/// Which template, as the caller named it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TemplateChoice {
    Vmid(u32),
    Name(String),
}

impl TemplateChoice {
    pub fn to_proto(&self) -> v1::TemplateRef {
        v1::TemplateRef {
            by: Some(match self {
                TemplateChoice::Vmid(vmid) => By::Vmid(*vmid),
                TemplateChoice::Name(name) => By::Name(name.clone()),
            }),
        }
    }
}

impl std::fmt::Display for TemplateChoice {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            TemplateChoice::Vmid(vmid) => write!(f, "template {vmid}"),
            TemplateChoice::Name(name) => write!(f, "template '{name}'"),
        }
    }
}

/// A checked `CreateVmFromTemplateRequest`; the journal's `vm.create`
/// detail.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CreateRecord {
    pub name: String,
    pub template: TemplateChoice,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub node: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vmid: Option<u32>,
    #[serde(default)]
    pub linked: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub storage: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cores: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub memory_mib: Option<u64>,
    /// Lowercased, deduplicated, sorted.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<String>,
    #[serde(default)]
    pub start: bool,
    /// 0: the agent's default.
    #[serde(default)]
    pub timeout_seconds: u32,
}

impl Request for CreateRecord {
    const ACTION: &'static str = "vm.create";
    const KIND: OperationKind = OperationKind::CreateFromTemplate;
    const TARGET: &'static str = "vm";
    const GUEST: GuestKind = GuestKind::Qemu;
    const MAIN_TASK: &'static str = "clone";

    fn name(&self) -> &str {
        &self.name
    }

    fn vmid(&self) -> Option<u32> {
        self.vmid
    }

    fn timeout_seconds(&self) -> u32 {
        self.timeout_seconds
    }
}

impl CreateRecord {
    /// The `PUT .../config` parameters applying cores, memory and tags;
    /// `None` when the request changes none of them.
    pub fn config_params(&self) -> Option<Params> {
        let params = Params::new()
            .opt_int("cores", self.cores)
            .opt_int("memory", self.memory_mib)
            .opt_text(
                "tags",
                Some(self.tags.join(";")).filter(|_| !self.tags.is_empty()),
            );
        (!params.is_empty()).then_some(params)
    }

    /// What the configure step says it does.
    pub fn describe_config(&self) -> String {
        let mut parts = Vec::new();
        if let Some(cores) = self.cores {
            parts.push(format!("cores {cores}"));
        }
        if let Some(memory) = self.memory_mib {
            parts.push(format!("memory {memory} MiB"));
        }
        if !self.tags.is_empty() {
            parts.push(format!("tags {}", self.tags.join(";")));
        }
        parts.join(", ")
    }
}

/// Checks a request.
pub fn check(request: v1::CreateVmFromTemplateRequest) -> Result<CreateRecord, AgentError> {
    check_dns_name(&request.name, "VM name")?;
    let template = match request.template.and_then(|t| t.by) {
        Some(By::Vmid(vmid)) => {
            Vmid::new(vmid).map_err(|e| AgentError::invalid(format!("template {e}")))?;
            TemplateChoice::Vmid(vmid)
        }
        Some(By::Name(name)) if !name.trim().is_empty() => TemplateChoice::Name(name),
        _ => {
            return Err(AgentError::invalid(
                "no template given: name one by VMID or name",
            ));
        }
    };
    if let Some(vmid) = request.vmid {
        Vmid::new(vmid).map_err(|e| AgentError::invalid(e.to_string()))?;
    }
    let storage = Some(request.storage).filter(|s| !s.is_empty());
    if request.linked && storage.is_some() {
        return Err(AgentError::invalid(
            "a linked clone stays on the template's storage: drop the storage or clone in full",
        ));
    }
    if let Some(storage) = &storage {
        check_storage_id(storage)?;
    }
    if request.cores == Some(0) {
        return Err(AgentError::invalid("cores must be at least 1"));
    }
    if request.memory_mib.is_some_and(|m| m < 16) {
        return Err(AgentError::invalid("memory must be at least 16 MiB"));
    }
    Ok(CreateRecord {
        name: request.name,
        template,
        node: request.node,
        vmid: request.vmid,
        linked: request.linked,
        storage,
        cores: request.cores,
        memory_mib: request.memory_mib,
        tags: normalize_tags(&request.tags)?,
        start: request.start,
        timeout_seconds: request.timeout_seconds,
    })
}

/// PVE's `dns-name`: dot-separated labels of letters, digits and inner
/// dashes (so no `_`); `what` names the value (`VM name`, `hostname`).
pub fn check_dns_name(name: &str, what: &str) -> Result<(), AgentError> {
    let label_ok = |label: &str| {
        !label.is_empty()
            && label.len() <= 63
            && label
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-')
            && !label.starts_with('-')
            && !label.ends_with('-')
    };
    if name.is_empty() {
        return Err(AgentError::invalid(format!("the {what} is empty")));
    }
    if name.len() > 255 || !name.split('.').all(label_ok) {
        return Err(AgentError::invalid(format!(
            "invalid {what} '{name}': use letters, digits and inner dashes, labels separated by dots"
        )));
    }
    Ok(())
}

/// PVE's storage ids: a letter, then letters, digits, `-`, `_`, `.`.
pub fn check_storage_id(storage: &str) -> Result<(), AgentError> {
    if guest_values::is_storage_id(storage) {
        Ok(())
    } else {
        Err(AgentError::invalid(format!(
            "invalid storage id '{storage}'"
        )))
    }
}

/// PVE's tag rules: split on `;`, `,` and spaces, each
/// `^[a-z0-9_][a-z0-9_\-+.]*$` (case-insensitive), stored lowercased,
/// deduplicated and sorted.
pub fn normalize_tags(tags: &[String]) -> Result<Vec<String>, AgentError> {
    let mut out = BTreeSet::new();
    for tag in tags
        .iter()
        .flat_map(|t| t.split(|c: char| c == ';' || c == ',' || c.is_whitespace()))
        .filter(|t| !t.is_empty())
    {
        let lower = tag.to_lowercase();
        let mut chars = lower.chars();
        let ok = chars
            .next()
            .is_some_and(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
            && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "_-+.".contains(c));
        if !ok {
            return Err(AgentError::invalid(format!(
                "invalid tag '{tag}': tags are letters, digits and _ - + . (not starting with - + .)"
            )));
        }
        out.insert(lower);
    }
    Ok(out.into_iter().collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(name: &str) -> v1::CreateVmFromTemplateRequest {
        v1::CreateVmFromTemplateRequest {
            name: name.into(),
            template: Some(v1::TemplateRef {
                by: Some(By::Name("ubuntu-24.04".into())),
            }),
            ..Default::default()
        }
    }

    #[test]
    fn names_follow_pve_dns_rules() {
        assert!(check(request("web-1.example")).is_ok());
        for bad in ["", "web_1", "-web", "web-", "a..b"] {
            let err = check(request(bad)).unwrap_err();
            assert_eq!(err.kind(), v1::ErrorKind::InvalidArgument, "{bad}");
        }
    }

    #[test]
    fn tags_are_lowercased_deduplicated_sorted_and_checked() {
        let tags = ["Web;prod".to_string(), "web".into(), "db, x_1".into()];
        assert_eq!(normalize_tags(&tags).unwrap(), ["db", "prod", "web", "x_1"]);
        assert!(normalize_tags(&["-bad".into()]).is_err());
        assert!(normalize_tags(&["bad!".into()]).is_err());
    }

    #[test]
    fn linked_clones_take_no_storage_and_sizes_must_make_sense() {
        let mut linked = request("web1");
        linked.linked = true;
        linked.storage = "local".into();
        assert!(check(linked).unwrap_err().message.contains("linked clone"));
        let mut zero = request("web1");
        zero.cores = Some(0);
        assert!(check(zero).is_err());
        let mut vmid = request("web1");
        vmid.vmid = Some(42);
        assert!(check(vmid).unwrap_err().message.contains("out of range"));
    }

    #[test]
    fn the_record_round_trips_through_json_and_yields_config_params() {
        let mut req = request("web1");
        req.cores = Some(4);
        req.memory_mib = Some(4096);
        req.tags = vec!["b".into(), "a".into()];
        let record = check(req).unwrap();
        let json = serde_json::to_string(&record).unwrap();
        assert_eq!(serde_json::from_str::<CreateRecord>(&json).unwrap(), record);
        let params = record.config_params().unwrap();
        let pairs = params.as_strs();
        assert_eq!(pairs, [("cores", "4"), ("memory", "4096"), ("tags", "a;b")]);
        assert!(check(request("web1")).unwrap().config_params().is_none());
    }
}
