//! Who may do what: the role each client certificate CN is given, with
//! everything not listed refused.

use std::collections::BTreeMap;

use serde::Deserialize;

/// A caller's role. Each role includes the ones before it
/// (`Viewer < Operator < Admin`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Read: list, get, watch, audit.
    Viewer,
    /// Lifecycle: start, stop, shutdown, reboot, suspend, resume.
    Operator,
    /// Changes: create, update, delete, apply.
    Admin,
}

impl Role {
    /// True when this role may do what `required` may.
    pub fn permits(self, required: Role) -> bool {
        self >= required
    }

    /// The role's name as written in the config.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Viewer => "viewer",
            Role::Operator => "operator",
            Role::Admin => "admin",
        }
    }
}

/// Client certificate CN → role (`[roles]` in the config).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(transparent)]
pub struct RoleMap(BTreeMap<String, Role>);

impl RoleMap {
    /// The role of the client whose certificate has common name `cn`;
    /// `None` (refuse) when the CN is not listed.
    pub fn role_for(&self, cn: &str) -> Option<Role> {
        self.0.get(cn).copied()
    }

    /// Every configured CN and its role, in CN order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, Role)> {
        self.0.iter().map(|(cn, role)| (cn.as_str(), *role))
    }
}

impl FromIterator<(String, Role)> for RoleMap {
    fn from_iter<I: IntoIterator<Item = (String, Role)>>(iter: I) -> Self {
        RoleMap(iter.into_iter().collect())
    }
}
