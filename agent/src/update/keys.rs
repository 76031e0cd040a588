//! Which config keys an update may set or delete, per guest kind, and the
//! format of each value: PVE's config schema for the keys admins change,
//! written out by hand (the agent carries no copy of PVE's schema). Keys PVE
//! writes itself (`lock`, `digest`, snapshot keys, ...) are refused with the
//! reason; numbered keys (`net0`..`net31`) are families with their limits.

mod lxc;
mod qemu;

use super::value::Format;
use crate::pmxcfs::GuestKind;

/// Keys whose values are secrets: never shown or journaled.
pub const SECRETS: &[&str] = &["cipassword"];

/// The keys of one guest kind.
struct Catalogue {
    /// `a VM`, `a container`.
    article: &'static str,
    keys: &'static [(&'static str, Format)],
    /// `(prefix, how many)`: `("net", 32)` is `net0`..`net31`.
    families: &'static [(&'static str, u32, Format)],
    /// Keys an update must not touch, with the reason.
    refused: &'static [(&'static str, &'static str)],
}

/// Parameters of PVE's config call that are not config keys.
const CALL_PARAMETERS: &[&str] = &[
    "background_delay",
    "delete",
    "digest",
    "force",
    "node",
    "revert",
    "skiplock",
    "vmid",
];

fn catalogue(kind: GuestKind) -> &'static Catalogue {
    match kind {
        GuestKind::Qemu => &qemu::CATALOGUE,
        GuestKind::Lxc => &lxc::CATALOGUE,
    }
}

/// The format of `key` for a guest of `kind`, or why an update may not
/// touch it.
pub fn format(kind: GuestKind, key: &str) -> Result<Format, String> {
    let catalogue = catalogue(kind);
    if let Some((_, why)) = catalogue.refused.iter().find(|(name, _)| *name == key) {
        return Err(format!("{key} cannot be changed by an update: {why}"));
    }
    if CALL_PARAMETERS.contains(&key) {
        return Err(format!(
            "{key} is a parameter of PVE's config call, not a config key"
        ));
    }
    if key.starts_with("lxc.") && kind == GuestKind::Lxc {
        return Err(format!(
            "{key} is a raw LXC key: PVE lets only root edit those, in the config file"
        ));
    }
    if let Some((_, format)) = catalogue.keys.iter().find(|(name, _)| *name == key) {
        return Ok(*format);
    }
    for (prefix, count, format) in catalogue.families {
        let Some(index) = key.strip_prefix(prefix) else {
            continue;
        };
        let Ok(number) = index.parse::<u32>() else {
            continue;
        };
        if number.to_string() != index {
            continue;
        }
        if number < *count {
            return Ok(*format);
        }
        return Err(format!(
            "unknown config key {key} for {}: {prefix} goes from {prefix}0 to {prefix}{}",
            catalogue.article,
            count - 1
        ));
    }
    Err(format!(
        "unknown config key {key} for {}",
        catalogue.article
    ))
}

/// Whether `key`'s values are secrets.
pub fn is_secret(key: &str) -> bool {
    SECRETS.contains(&key)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_keys_have_formats_and_families_have_limits() {
        assert!(matches!(
            format(GuestKind::Qemu, "cores"),
            Ok(Format::Int { min: 1, .. })
        ));
        assert!(format(GuestKind::Qemu, "net31").is_ok());
        assert!(format(GuestKind::Lxc, "mp255").is_ok());
        let err = format(GuestKind::Qemu, "net32").unwrap_err();
        assert_eq!(
            err,
            "unknown config key net32 for a VM: net goes from net0 to net31"
        );
        assert!(format(GuestKind::Qemu, "net01").is_err());
        assert!(format(GuestKind::Qemu, "net").is_err());
    }

    #[test]
    fn unknown_keys_name_themselves_and_the_kind() {
        assert_eq!(
            format(GuestKind::Lxc, "bogus").unwrap_err(),
            "unknown config key bogus for a container"
        );
        // a qemu key is not a container key and the other way round
        assert!(format(GuestKind::Lxc, "sockets").is_err());
        assert!(format(GuestKind::Qemu, "hostname").is_err());
    }

    #[test]
    fn keys_pve_writes_itself_are_refused_with_the_reason() {
        let lock = format(GuestKind::Qemu, "lock").unwrap_err();
        assert!(
            lock.starts_with("lock cannot be changed by an update"),
            "{lock}"
        );
        assert!(format(GuestKind::Lxc, "unprivileged").is_err());
        assert!(
            format(GuestKind::Qemu, "digest")
                .unwrap_err()
                .contains("not a config key")
        );
        assert!(format(GuestKind::Lxc, "lxc.apparmor.profile").is_err());
    }
}
