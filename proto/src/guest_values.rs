//! PVE's rules for the values of a guest made from scratch, shared so that
//! `pvectl` refuses a bad value as a usage error and the agent refuses it
//! again with the same judgement: storage ids, interface (bridge) names,
//! IPv4 addresses in CIDR form, volume ids of one content type, OpenSSH
//! public key lines, and the OS types and NIC models PVE knows. Pure
//! functions, no IO.

use std::net::Ipv4Addr;

/// PVE's `ostype` values (qemu-server's schema).
pub const OS_TYPES: &[&str] = &[
    "other", "wxp", "w2k", "w2k3", "w2k8", "wvista", "win7", "win8", "win10", "win11", "l24",
    "l26", "solaris",
];

/// PVE's NIC models (qemu-server's `net[n]` `model`).
pub const NIC_MODELS: &[&str] = &[
    "e1000",
    "e1000-82540em",
    "e1000-82544gc",
    "e1000-82545em",
    "e1000e",
    "i82551",
    "i82557b",
    "i82559er",
    "ne2k_isa",
    "ne2k_pci",
    "pcnet",
    "rtl8139",
    "virtio",
    "vmxnet3",
];

/// A storage id: a letter, then letters, digits, `-`, `_`, `.`.
pub fn is_storage_id(text: &str) -> bool {
    let mut chars = text.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
}

/// A bridge or container interface name: PVE's pattern `[-_.\w\d]+`, at
/// most 15 characters as Linux interface names are.
pub fn is_interface_name(text: &str) -> bool {
    !text.is_empty()
        && text.len() <= 15
        && text
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
}

/// `10.0.0.5/24` as address and prefix length.
pub fn ipv4_cidr(text: &str) -> Option<(Ipv4Addr, u8)> {
    let (address, prefix) = text.split_once('/')?;
    if prefix.is_empty() || !prefix.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let prefix: u8 = prefix.parse().ok().filter(|p| *p <= 32)?;
    Some((address.parse().ok()?, prefix))
}

/// The storage and file of a volume id `STORAGE:<content>/FILE`
/// (`local:iso/debian-12.iso`), or `None` when it is not one.
pub fn volume_file<'a>(volid: &'a str, content: &str) -> Option<(&'a str, &'a str)> {
    let (storage, path) = volid.split_once(':')?;
    let file = path.strip_prefix(content)?.strip_prefix('/')?;
    let file_ok = !file.is_empty() && !file.contains('/') && !file.starts_with('.');
    (is_storage_id(storage) && file_ok).then_some((storage, file))
}

/// Whether `line` is one OpenSSH public key line (`[options] TYPE BASE64
/// [comment]`).
pub fn is_ssh_public_key(line: &str) -> bool {
    if line.contains(['\n', '\r']) {
        return false;
    }
    let words: Vec<&str> = line.split_whitespace().collect();
    words.windows(2).any(|pair| {
        let kind = pair[0];
        (kind.starts_with("ssh-") || kind.starts_with("ecdsa-") || kind.starts_with("sk-"))
            && pair[1].starts_with("AAAA")
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn storage_ids_start_with_a_letter() {
        assert!(is_storage_id("local-lvm"));
        assert!(is_storage_id("nfs_1.a"));
        assert!(!is_storage_id("9local"));
        assert!(!is_storage_id(""));
        assert!(!is_storage_id("lo cal"));
    }

    #[test]
    fn interface_names_follow_pves_pattern_and_linux_length() {
        assert!(is_interface_name("vmbr0"));
        assert!(is_interface_name("vnet_lab.1"));
        for bad in ["", "vmbr 0", "vmbr0;rm", "averyveryverylongbridge"] {
            assert!(!is_interface_name(bad), "{bad:?}");
        }
    }

    #[test]
    fn cidrs_need_an_address_and_a_prefix_up_to_32() {
        assert_eq!(
            ipv4_cidr("10.0.0.5/24"),
            Some((Ipv4Addr::new(10, 0, 0, 5), 24))
        );
        for bad in [
            "10.0.0.5",
            "10.0.0.5/33",
            "10.0.0/24",
            "dhcp",
            "10.0.0.5/+8",
        ] {
            assert_eq!(ipv4_cidr(bad), None, "{bad}");
        }
    }

    #[test]
    fn volumes_need_their_content_directory_and_one_file() {
        assert_eq!(
            volume_file("local:iso/debian-12.iso", "iso"),
            Some(("local", "debian-12.iso"))
        );
        for bad in [
            "local:vztmpl/x.tar.zst",
            "debian-12.iso",
            "local:iso/",
            "local:iso/a/b.iso",
            "9local:iso/a.iso",
            "local:isox/a.iso",
        ] {
            assert_eq!(volume_file(bad, "iso"), None, "{bad}");
        }
    }

    #[test]
    fn ssh_keys_are_a_type_and_base64_on_one_line() {
        assert!(is_ssh_public_key("ssh-ed25519 AAAAC3Nz me@lab"));
        assert!(is_ssh_public_key(
            "from=\"10.0.0.0/8\" ecdsa-sha2-nistp256 AAAAE2 x"
        ));
        assert!(!is_ssh_public_key("ssh-ed25519"));
        assert!(!is_ssh_public_key("hello world"));
        assert!(!is_ssh_public_key("ssh-ed25519 AAAA\nssh-rsa AAAA"));
    }
}
