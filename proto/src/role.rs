//! The roles a client certificate carries (DESIGN "Security"): what
//! `pvectl pki issue-client --role` writes into the certificate's OU and what
//! the agent's `[roles]` table maps a certificate's CN to.

use serde::{Deserialize, Serialize};

/// What a caller may do. Each role includes the ones before it
/// (`Viewer < Operator < Admin`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Read only: list, get, watch, audit
    Viewer,
    /// Lifecycle actions: start, stop, shutdown, reboot, suspend, resume
    Operator,
    /// Changes: create, update, delete, apply
    Admin,
}

impl Role {
    /// True when this role may do what `required` may.
    pub fn permits(self, required: Role) -> bool {
        self >= required
    }

    /// The role's name, as in configs and certificates.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Viewer => "viewer",
            Role::Operator => "operator",
            Role::Admin => "admin",
        }
    }
}

impl std::fmt::Display for Role {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::Role;

    #[test]
    fn each_role_includes_the_ones_before_it() {
        assert!(Role::Admin.permits(Role::Operator));
        assert!(Role::Admin.permits(Role::Viewer));
        assert!(Role::Operator.permits(Role::Viewer));
        assert!(Role::Operator.permits(Role::Operator));
        assert!(!Role::Operator.permits(Role::Admin));
        assert!(!Role::Viewer.permits(Role::Operator));
        assert_eq!(Role::Operator.as_str(), "operator");
    }

    #[test]
    fn names_round_trip_through_serde() {
        for role in [Role::Viewer, Role::Operator, Role::Admin] {
            let json = serde_json::to_string(&role).unwrap();
            assert_eq!(json, format!("\"{}\"", role.as_str()));
            assert_eq!(serde_json::from_str::<Role>(&json).unwrap(), role);
        }
        assert!(serde_json::from_str::<Role>("\"root\"").is_err());
    }
}
