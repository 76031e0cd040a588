//! The fixed layout of the backing tree: member validation, directories with pmxcfs's modes,
//! and the `local` / `qemu-server` / `lxc` symlinks.

use std::fs;
use std::os::unix::fs::symlink;
use std::path::Path;

use super::{FsError, Member, files};

/// Creates `nodes/<n>/{qemu-server,lxc,priv}` for every member, `priv/`, and the symlinks to
/// the first member's directories.
pub(super) fn build(backing: &Path, members: &[Member]) -> Result<(), FsError> {
    files::ensure_dir(backing, "priv")?;
    for m in members {
        for sub in ["qemu-server", "lxc", "priv"] {
            files::ensure_dir(backing, &format!("nodes/{}/{sub}", m.name))?;
        }
    }
    let Some(first) = members.first().map(|m| &m.name) else {
        return Ok(());
    };
    for (link, target) in [
        ("local", format!("nodes/{first}")),
        ("qemu-server", format!("nodes/{first}/qemu-server")),
        ("lxc", format!("nodes/{first}/lxc")),
    ] {
        replace_symlink(&target, &backing.join(link))?;
    }
    Ok(())
}

fn replace_symlink(target: &str, link: &Path) -> Result<(), FsError> {
    if fs::read_link(link).is_ok_and(|t| t == Path::new(target)) {
        return Ok(());
    }
    if fs::symlink_metadata(link).is_ok() {
        fs::remove_file(link).map_err(files::io_error("unlink", link))?;
    }
    symlink(target, link).map_err(files::io_error("symlink", link))
}

pub(super) fn validate_members(cluster_name: &str, members: &[Member]) -> Result<(), FsError> {
    let invalid = |what, name: &str, reason: &str| FsError::InvalidName {
        what,
        name: name.to_string(),
        reason: reason.to_string(),
    };
    if cluster_name.is_empty()
        || !cluster_name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    {
        return Err(invalid(
            "cluster name",
            cluster_name,
            "use letters, digits, '-' and '_'",
        ));
    }
    if members.is_empty() {
        return Err(invalid(
            "member list",
            "",
            "a cluster needs at least one node",
        ));
    }
    for (i, m) in members.iter().enumerate() {
        let bytes = m.name.as_bytes();
        let valid = !bytes.is_empty()
            && bytes
                .iter()
                .all(|b| b.is_ascii_alphanumeric() || *b == b'-')
            && bytes[0] != b'-'
            && bytes[bytes.len() - 1] != b'-';
        if !valid {
            return Err(invalid(
                "node name",
                &m.name,
                "use letters, digits and inner '-'",
            ));
        }
        if members[..i].iter().any(|o| o.name == m.name) {
            return Err(invalid("node name", &m.name, "the name is used twice"));
        }
        if members[..i].iter().any(|o| o.id == m.id) {
            return Err(invalid("node name", &m.name, "its node id is used twice"));
        }
    }
    Ok(())
}
