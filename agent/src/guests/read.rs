//! Reading one guest's config: the pmxcfs file when the tree is there (its
//! bytes give PVE's digest), the config GET otherwise (pending changes via
//! `GET .../pending` where they matter).
use std::path::PathBuf;

use crate::cluster::Source;
use crate::context::AgentCtx;
use crate::error::AgentError;
use crate::pmxcfs::{GuestConfig, GuestKind, ParsedGuestConfig, PendingDelete};
use crate::pve_api::{ApiGuestConfig, PendingEntry, PveError};

/// `<root>/nodes/<node>/<qemu-server|lxc>/<vmid>.conf`.
pub fn config_path(root: &std::path::Path, node: &str, kind: GuestKind, vmid: u32) -> PathBuf {
    root.join("nodes")
        .join(node)
        .join(config_dir(kind))
        .join(format!("{vmid}.conf"))
}

/// The directory name of a kind's configs.
pub fn config_dir(kind: GuestKind) -> &'static str {
    match kind {
        GuestKind::Qemu => "qemu-server",
        GuestKind::Lxc => "lxc",
    }
}

/// Guest `vmid`'s config on `node`; `None` when it does not exist.
pub async fn read_config(
    ctx: &AgentCtx,
    node: &str,
    kind: GuestKind,
    vmid: u32,
) -> Result<Option<ParsedGuestConfig>, AgentError> {
    match &ctx.source {
        Source::Pmxcfs(root) => read_file(&config_path(root, node, kind, vmid), kind).await,
        Source::ApiOnly => {
            let config = match ctx.pve.guest_config(node, kind, vmid).await {
                Ok(config) => config,
                Err(PveError::NotFound { .. }) => return Ok(None),
                Err(e) => return Err(AgentError::pve(&format!("reading config {vmid}"), &e)),
            };
            Ok(Some(from_api(kind, config, &[])))
        }
    }
}

/// Like [`read_config`], with the pending section filled in API-only mode
/// too (one more call).
pub async fn read_config_with_pending(
    ctx: &AgentCtx,
    node: &str,
    kind: GuestKind,
    vmid: u32,
) -> Result<Option<ParsedGuestConfig>, AgentError> {
    if let Source::Pmxcfs(_) = ctx.source {
        return read_config(ctx, node, kind, vmid).await;
    }
    let Some(parsed) = read_config(ctx, node, kind, vmid).await? else {
        return Ok(None);
    };
    let pending = match ctx.pve.pending(node, kind, vmid).await {
        Ok(pending) => pending,
        Err(PveError::NotFound { .. }) => return Ok(None),
        Err(e) => return Err(AgentError::pve(&format!("reading pending {vmid}"), &e)),
    };
    let mut config = parsed.config;
    apply_pending(&mut config, &pending);
    Ok(Some(ParsedGuestConfig {
        config,
        digest: parsed.digest,
        issues: parsed.issues,
    }))
}

/// Reads and parses one config file; `None` when it does not exist.
pub async fn read_file(
    path: &std::path::Path,
    kind: GuestKind,
) -> Result<Option<ParsedGuestConfig>, AgentError> {
    let bytes = match tokio::fs::read(path).await {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => {
            return Err(AgentError::unavailable(format!(
                "cannot read {}: {e}",
                path.display()
            )));
        }
    };
    GuestConfig::parse(kind, &bytes)
        .map(Some)
        .map_err(|e| AgentError::internal(format!("{}: {e}", path.display())))
}

/// A config as the API returns it (pending values applied, `digest` beside
/// the keys), in the parsed form.
pub fn from_api(
    kind: GuestKind,
    api: ApiGuestConfig,
    pending: &[PendingEntry],
) -> ParsedGuestConfig {
    let mut map = api.0;
    let digest = map.remove("digest").unwrap_or_default();
    let mut config = GuestConfig::new(kind);
    config.main.description = map.remove("description");
    config.main.options = map;
    apply_pending(&mut config, pending);
    ParsedGuestConfig {
        config,
        digest,
        issues: Vec::new(),
    }
}

/// Puts `GET .../pending`'s current and pending values into `config`.
fn apply_pending(config: &mut GuestConfig, pending: &[PendingEntry]) {
    for entry in pending {
        if entry.key == "digest" {
            continue;
        }
        if let Some(value) = &entry.value {
            if entry.key == "description" {
                config.main.description = Some(value.clone());
            } else {
                config.main.options.insert(entry.key.clone(), value.clone());
            }
        } else if entry.key != "description" {
            config.main.options.remove(&entry.key);
        }
        if let Some(value) = &entry.pending {
            config
                .pending
                .values
                .options
                .insert(entry.key.clone(), value.clone());
        }
        if let Some(delete) = entry.delete.filter(|d| *d > 0) {
            config.pending.delete.push(PendingDelete {
                key: entry.key.clone(),
                force: delete == 2,
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn api_configs_keep_description_apart_and_pending_values_beside_current_ones() {
        let api = ApiGuestConfig(
            [
                ("digest", "abc"),
                ("description", "web server"),
                ("cores", "2"),
                ("memory", "4096"),
            ]
            .into_iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        );
        let pending = [
            PendingEntry {
                key: "cores".into(),
                value: Some("2".into()),
                pending: Some("4".into()),
                delete: None,
            },
            PendingEntry {
                key: "memory".into(),
                value: Some("4096".into()),
                pending: None,
                delete: Some(2),
            },
        ];
        let parsed = from_api(GuestKind::Qemu, api, &pending);
        assert_eq!(parsed.digest, "abc");
        assert_eq!(
            parsed.config.main.description.as_deref(),
            Some("web server")
        );
        assert_eq!(parsed.config.get("cores"), Some("2"));
        assert_eq!(parsed.config.pending.values.get("cores"), Some("4"));
        assert!(parsed.config.pending.deletes("memory"));
        assert!(parsed.config.pending.delete[0].force);
        assert!(!parsed.config.main.options.contains_key("digest"));
    }
}
