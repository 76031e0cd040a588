//! Who may do what: the role each client certificate CN is given, with
//! everything not listed refused.

use std::collections::BTreeMap;

pub use pvectl_proto::Role;
use serde::Deserialize;

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
