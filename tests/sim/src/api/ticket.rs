//! The login endpoints, built into every simulated node: `POST /access/ticket`
//! hands out tickets and CSRF tokens as `PVE::API2::AccessControl` does, and
//! `GET /access/ticket` answers `null`.

use http::{Method, StatusCode};
use serde_json::{Map, Value, json};

use super::auth::AuthStore;
use super::{ApiError, ApiRequest, HttpOptions, Reply};

/// Privileges by `cap` group, as `compute_api_permission` groups them. The
/// simulator has no ACLs: every user holds every privilege.
const CAPABILITIES: &[(&str, &[&str])] = &[
    (
        "vms",
        &[
            "VM.Allocate",
            "VM.Audit",
            "VM.Backup",
            "VM.Clone",
            "VM.Config.CDROM",
            "VM.Config.CPU",
            "VM.Config.Cloudinit",
            "VM.Config.Disk",
            "VM.Config.HWType",
            "VM.Config.Memory",
            "VM.Config.Network",
            "VM.Config.Options",
            "VM.Console",
            "VM.Migrate",
            "VM.PowerMgmt",
            "VM.Replicate",
            "VM.Snapshot",
            "VM.Snapshot.Rollback",
            "Permissions.Modify",
        ],
    ),
    (
        "storage",
        &[
            "Datastore.Allocate",
            "Datastore.AllocateSpace",
            "Datastore.AllocateTemplate",
            "Datastore.Audit",
            "Permissions.Modify",
        ],
    ),
    (
        "access",
        &["User.Modify", "Group.Allocate", "Permissions.Modify"],
    ),
    (
        "nodes",
        &[
            "Sys.Audit",
            "Sys.Console",
            "Sys.Incoming",
            "Sys.Modify",
            "Sys.PowerMgmt",
            "Sys.Syslog",
            "Permissions.Modify",
        ],
    ),
    (
        "sdn",
        &["SDN.Allocate", "SDN.Audit", "SDN.Use", "Permissions.Modify"],
    ),
    (
        "dc",
        &[
            "Sys.Audit",
            "Sys.Modify",
            "SDN.Allocate",
            "SDN.Audit",
            "SDN.Use",
        ],
    ),
    (
        "mapping",
        &[
            "Mapping.Audit",
            "Mapping.Modify",
            "Mapping.Use",
            "Permissions.Modify",
        ],
    ),
];

/// An endpoint the dispatcher answers itself when no handler is registered for it.
#[derive(Clone, Copy, Debug)]
pub(super) enum Builtin {
    Login,
    LoginPage,
}

impl Builtin {
    pub fn for_endpoint(method: &Method, template: &str) -> Option<Self> {
        match (method.as_str(), template) {
            ("POST", "/access/ticket") => Some(Self::Login),
            ("GET", "/access/ticket") => Some(Self::LoginPage),
            _ => None,
        }
    }

    pub fn run(
        self,
        auth: &AuthStore,
        options: &HttpOptions,
        request: &ApiRequest,
    ) -> Result<Reply, ApiError> {
        match self {
            Self::LoginPage => Ok(Value::Null.into()),
            Self::Login => login(auth, options, request),
        }
    }
}

fn login(auth: &AuthStore, options: &HttpOptions, request: &ApiRequest) -> Result<Reply, ApiError> {
    let text = |name: &str| request.params.get(name).and_then(Value::as_str);
    let mut username = text("username").unwrap_or_default().to_string();
    if let Some(realm) = text("realm").filter(|realm| !realm.is_empty() && *realm != "0") {
        username = format!("{username}@{realm}");
    }
    auth.authenticate(&username, text("password").unwrap_or_default())
        .map_err(|_| ApiError::custom(StatusCode::UNAUTHORIZED, "authentication failure"))?;

    let mut data = Map::new();
    data.insert("username".into(), Value::from(username.as_str()));
    if text("path").is_none() || text("privs").is_none() {
        data.insert("ticket".into(), auth.issue_ticket(&username).into());
        data.insert(
            "CSRFPreventionToken".into(),
            auth.csrf_token(&username).into(),
        );
    }
    let cap: Map<String, Value> = CAPABILITIES
        .iter()
        .map(|(group, privileges)| {
            let granted: Map<String, Value> = privileges
                .iter()
                .map(|privilege| (privilege.to_string(), json!(1)))
                .collect();
            (group.to_string(), Value::Object(granted))
        })
        .collect();
    data.insert("cap".into(), Value::Object(cap));
    if !options.cluster_name.is_empty() {
        data.insert("clustername".into(), options.cluster_name.clone().into());
    }
    Ok(Value::Object(data).into())
}
