//! `--selector tag=web,status=running`: which guests a bulk command acts on,
//! parsed on the command line so a typo is a usage error before anything is
//! sent. Every term must hold (AND); `tag` may repeat.

use std::fmt;
use std::str::FromStr;

use pvectl_proto::v1::{Guest, GuestStatus};

use crate::guest_names::{self, GuestNameError};

/// A parsed selector.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Selector {
    /// Tags the guest must all carry (lowercase).
    pub tags: Vec<String>,
    pub status: Option<GuestStatus>,
    pub node: Option<String>,
    pub name: Option<String>,
}

/// Why a selector was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SelectorError {
    #[error("the selector is empty: give terms like tag=web,status=running")]
    Empty,
    #[error("selector term '{0}' is not key=value")]
    NotKeyValue(String),
    #[error("unknown selector key '{0}': use tag, status, node or name")]
    UnknownKey(String),
    #[error("selector key '{0}' is given twice")]
    Repeated(&'static str),
    #[error("selector status '{0}' is unknown: use running, stopped, paused or suspended")]
    Status(String),
    #[error("selector: {0}")]
    Tag(#[from] GuestNameError),
}

impl FromStr for Selector {
    type Err = SelectorError;

    fn from_str(text: &str) -> Result<Selector, SelectorError> {
        let mut selector = Selector::default();
        for term in text.split(',').map(str::trim) {
            if term.is_empty() {
                continue;
            }
            let (key, value) = term
                .split_once('=')
                .map(|(k, v)| (k.trim(), v.trim()))
                .filter(|(k, v)| !k.is_empty() && !v.is_empty())
                .ok_or_else(|| SelectorError::NotKeyValue(term.to_owned()))?;
            match key {
                "tag" => selector.tags.push(guest_names::tag(value)?),
                "status" => set_once(&mut selector.status, "status", parse_status(value)?)?,
                "node" => set_once(&mut selector.node, "node", value.to_owned())?,
                "name" => set_once(&mut selector.name, "name", value.to_owned())?,
                other => return Err(SelectorError::UnknownKey(other.to_owned())),
            }
        }
        if selector == Selector::default() {
            return Err(SelectorError::Empty);
        }
        Ok(selector)
    }
}

fn set_once<T>(slot: &mut Option<T>, key: &'static str, value: T) -> Result<(), SelectorError> {
    if slot.replace(value).is_some() {
        return Err(SelectorError::Repeated(key));
    }
    Ok(())
}

/// A run state by the name `vm list` shows.
pub fn parse_status(text: &str) -> Result<GuestStatus, SelectorError> {
    match text.to_ascii_lowercase().as_str() {
        "running" => Ok(GuestStatus::Running),
        "stopped" => Ok(GuestStatus::Stopped),
        "paused" => Ok(GuestStatus::Paused),
        "suspended" => Ok(GuestStatus::Suspended),
        _ => Err(SelectorError::Status(text.to_owned())),
    }
}

impl Selector {
    /// Whether `guest` matches every term.
    pub fn matches(&self, guest: &Guest) -> bool {
        self.tags
            .iter()
            .all(|tag| guest.tags.iter().any(|t| t.eq_ignore_ascii_case(tag)))
            && self.status.is_none_or(|status| guest.status() == status)
            && self.node.as_ref().is_none_or(|node| guest.node == *node)
            && self.name.as_ref().is_none_or(|name| guest.name == *name)
    }
}

impl fmt::Display for Selector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut terms: Vec<String> = self.tags.iter().map(|t| format!("tag={t}")).collect();
        if let Some(status) = self.status {
            terms.push(format!(
                "status={}",
                status
                    .as_str_name()
                    .trim_start_matches("GUEST_STATUS_")
                    .to_lowercase()
            ));
        }
        if let Some(node) = &self.node {
            terms.push(format!("node={node}"));
        }
        if let Some(name) = &self.name {
            terms.push(format!("name={name}"));
        }
        f.write_str(&terms.join(","))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn terms_combine_and_tags_repeat() {
        let selector: Selector = "tag=web, tag=prod,status=running,node=pve2"
            .parse()
            .unwrap();
        assert_eq!(selector.tags, ["web", "prod"]);
        assert_eq!(selector.status, Some(GuestStatus::Running));
        assert_eq!(selector.node.as_deref(), Some("pve2"));
        assert_eq!(
            selector.to_string(),
            "tag=web,tag=prod,status=running,node=pve2"
        );
    }

    #[test]
    fn bad_selectors_say_what_is_wrong() {
        assert_eq!("".parse::<Selector>(), Err(SelectorError::Empty));
        assert_eq!(
            "tag".parse::<Selector>(),
            Err(SelectorError::NotKeyValue("tag".into()))
        );
        assert_eq!(
            "colour=red".parse::<Selector>(),
            Err(SelectorError::UnknownKey("colour".into()))
        );
        assert_eq!(
            "status=running,status=stopped".parse::<Selector>(),
            Err(SelectorError::Repeated("status"))
        );
        assert_eq!(
            "status=asleep".parse::<Selector>(),
            Err(SelectorError::Status("asleep".into()))
        );
        assert!(matches!(
            "tag=no spaces".parse::<Selector>(),
            Err(SelectorError::Tag(_))
        ));
    }

    #[test]
    fn a_guest_matches_only_when_every_term_holds() {
        let guest = Guest {
            vmid: 101,
            name: "web1".into(),
            node: "pve2".into(),
            status: GuestStatus::Running as i32,
            tags: vec!["prod".into(), "web".into()],
            ..Guest::default()
        };
        assert!(
            "tag=web,status=running"
                .parse::<Selector>()
                .unwrap()
                .matches(&guest)
        );
        assert!(
            "name=web1,node=pve2"
                .parse::<Selector>()
                .unwrap()
                .matches(&guest)
        );
        assert!(
            !"tag=web,tag=db"
                .parse::<Selector>()
                .unwrap()
                .matches(&guest)
        );
        assert!(
            !"status=stopped"
                .parse::<Selector>()
                .unwrap()
                .matches(&guest)
        );
    }
}
