//! `vm|ct update`: read the config (and its digest) from the guest's node,
//! have that agent compute the diff (a dry run: it checks every key and
//! value), show it, ask on a terminal unless `--yes`, then send the update
//! with the digest the diff was computed on. A change made by someone else
//! in between is refused by the agent or PVE (CONFLICT); the config is read
//! again to name what changed, and nothing is lost. Off a terminal the
//! update goes ahead without asking (like `qm set` or `kubectl apply`),
//! except removing a disk key, which needs `--yes` as `delete` does.

mod render;

use std::collections::BTreeSet;

use pvectl_proto::v1::{
    ConfigChange, ErrorKind, GetGuestConfigRequest, GuestConfig, UpdateGuestConfigRequest,
    UpdateGuestConfigResponse,
};

use super::Io;
use super::guest::{CT, Resource};
use super::remote::Session;
use crate::Error;
use crate::cli::{GlobalArgs, GuestUpdateArgs};
use crate::cluster::{Cluster, Target};
use crate::confirm::{ConfirmError, confirm};
use crate::error::CommandError;
use crate::output::OutputError;
use crate::remote::RemoteError;
use render::{Report, Styles};

/// Runs `vm|ct update`.
pub(super) async fn update(
    session: &Session,
    resource: Resource,
    args: GuestUpdateArgs,
    global: &GlobalArgs,
    io: &mut Io<'_>,
) -> Result<(), Error> {
    let vmid = args.vmid.get();
    let (changes, deletes) = request(resource, args);
    if changes.is_empty() && deletes.is_empty() {
        return Err(CommandError::NothingToUpdate {
            command: resource.command,
        }
        .into());
    }
    let cluster = session.discover().await?;
    let (target, seen) = cluster
        .call(
            cluster.seed().clone(),
            "GetGuestConfig",
            |mut agent| async move { agent.get_guest_config(GetGuestConfigRequest { vmid }).await },
        )
        .await?;
    resource.check_kind(seen.vmid, seen.kind(), "update")?;
    let mut request = UpdateGuestConfigRequest {
        vmid,
        changes,
        deletes,
        expected_digest: seen.digest.clone(),
        dry_run: true,
    };
    let preview = send(&cluster, &target, &request, resource, &seen).await?;
    let report = Report::new(resource, &seen, session.format);
    let styles = Styles::detect(io);
    if preview.diff.is_empty() || global.dry_run {
        return report.finish(&preview, global.dry_run, styles, io);
    }
    report.preview(&preview.diff, styles, io)?;
    let disks = removed_disks(resource, &request.deletes);
    ask(resource, vmid, &disks, global.yes, io)?;
    request.dry_run = false;
    let done = send(&cluster, &target, &request, resource, &seen).await?;
    report.finish(&done, false, styles, io)
}

/// The request's changes and deletes from the flags.
fn request(resource: Resource, args: GuestUpdateArgs) -> (Vec<ConfigChange>, Vec<String>) {
    let name_key = if resource == CT { "hostname" } else { "name" };
    let tags = (!args.tags.is_empty()).then(|| args.tags.join(";"));
    let named = [
        ("cores", args.cores.map(|n| n.to_string())),
        ("memory", args.memory.map(|n| n.to_string())),
        (name_key, args.name),
        ("tags", tags),
        ("description", args.description),
    ];
    let changes = named
        .into_iter()
        .filter_map(|(key, value)| Some((key.to_owned(), value?)))
        .chain(args.set)
        .map(|(key, value)| ConfigChange { key, value })
        .collect();
    (changes, args.delete)
}

/// The deleted keys that hold a disk: qemu drives (detached, then
/// destroyed once `unusedN`), container mount points and unused volumes.
fn removed_disks(resource: Resource, deletes: &[String]) -> Vec<String> {
    let families: &[&str] = if resource == CT {
        &["mp", "unused"]
    } else {
        &["ide", "sata", "scsi", "virtio", "unused"]
    };
    let singles: &[&str] = if resource == CT {
        &["rootfs"]
    } else {
        &["efidisk0", "tpmstate0"]
    };
    deletes
        .iter()
        .filter(|key| {
            singles.contains(&key.as_str())
                || families.iter().any(|family| {
                    key.strip_prefix(family)
                        .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
                })
        })
        .cloned()
        .collect()
}

/// Asks on a terminal unless `--yes`. Without a terminal the update goes
/// ahead, unless it removes a disk: that needs `--yes`.
fn ask(
    resource: Resource,
    vmid: u32,
    disks: &[String],
    yes: bool,
    io: &mut Io<'_>,
) -> Result<(), Error> {
    let guest = format!("{} {vmid}", resource.noun);
    if !disks.is_empty() {
        let action = format!("remove {} from {guest}", disks.join(", "));
        return Ok(confirm(&action, yes, io.prompt)?);
    }
    if yes {
        return Ok(());
    }
    let action = format!("apply these changes to {guest}");
    match io
        .prompt
        .ask(&format!("{action}?"))
        .map_err(ConfirmError::Io)?
    {
        Some(false) => Err(ConfirmError::Declined { action }.into()),
        Some(true) | None => Ok(()),
    }
}

/// One `UpdateGuestConfig` call; a CONFLICT becomes the keys that changed
/// since `seen` was read.
async fn send(
    cluster: &Cluster,
    target: &Target,
    request: &UpdateGuestConfigRequest,
    resource: Resource,
    seen: &GuestConfig,
) -> Result<UpdateGuestConfigResponse, Error> {
    let answer = cluster
        .call(target.clone(), "UpdateGuestConfig", |mut agent| {
            let request = request.clone();
            async move { agent.update_guest_config(request).await }
        })
        .await;
    match answer {
        Ok((_, response)) => Ok(response),
        Err(error) if is_conflict(&error) => {
            Err(changed_meanwhile(cluster, target, resource, seen).await)
        }
        Err(error) => Err(error.into()),
    }
}

fn is_conflict(error: &RemoteError) -> bool {
    error
        .detail()
        .is_some_and(|detail| detail.kind() == ErrorKind::Conflict)
}

/// The refusal naming what changed between `seen` and the config now (no
/// names when it cannot be read again).
async fn changed_meanwhile(
    cluster: &Cluster,
    target: &Target,
    resource: Resource,
    seen: &GuestConfig,
) -> Error {
    let vmid = seen.vmid;
    let now = cluster
        .call(target.clone(), "GetGuestConfig", |mut agent| async move {
            agent.get_guest_config(GetGuestConfigRequest { vmid }).await
        })
        .await;
    let changes = match now {
        Ok((_, now)) => differences(seen, &now),
        Err(_) => Vec::new(),
    };
    CommandError::ConfigChanged {
        guest: format!("{} {vmid}", resource.noun),
        changes,
    }
    .into()
}

/// `key: old → new` for every key whose value (pending included) differs.
fn differences(before: &GuestConfig, after: &GuestConfig) -> Vec<String> {
    let keys: BTreeSet<&str> = before
        .entries
        .iter()
        .chain(&after.entries)
        .map(|entry| entry.key.as_str())
        .collect();
    keys.into_iter()
        .filter_map(|key| {
            let (old, new) = (effective(before, key), effective(after, key));
            (old != new).then(|| render::change_line(key, old, new))
        })
        .collect()
}

/// `key`'s value as the guest will have it: pending, else current.
fn effective<'a>(config: &'a GuestConfig, key: &str) -> Option<&'a str> {
    if config.pending_deletes.iter().any(|d| d.key == key) {
        return None;
    }
    let entry = config.entries.iter().find(|entry| entry.key == key)?;
    entry.pending_value.as_deref().or(entry.value.as_deref())
}

/// `write!` for the command's output.
fn out(result: std::io::Result<()>) -> Result<(), Error> {
    result.map_err(|e| OutputError::from(e).into())
}

#[cfg(test)]
mod tests;
