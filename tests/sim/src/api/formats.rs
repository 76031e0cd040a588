//! The named string formats of `PVE::JSONSchema` (`pve-vmid`, `pve-node`, `dns-name`,
//! ... and their `-list` / `-opt` variants) with PVE's error texts. Formats the
//! simulator has no use for, and property-string formats, are accepted as they come.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::sync::LazyLock;

use regex::Regex;
use serde_json::Value;

/// Checks `value` against a schema `format`. The error is PVE's complete message,
/// e.g. `invalid format - value does not look like a valid VM ID\n`.
pub(crate) fn check_format(format: &Value, value: &str) -> Result<(), String> {
    let Value::String(name) = format else {
        // A hash format is a property string (`net0`, `scsi0`, ...): accepted leniently.
        return Ok(());
    };
    let result = if let Some(base) = name
        .strip_suffix("-alist")
        .or_else(|| name.strip_suffix("-list"))
    {
        split_list(value).try_for_each(|item| check_named(base, item))
    } else if let Some(base) = name.strip_suffix("-opt") {
        if value.is_empty() {
            Ok(())
        } else {
            check_named(base, value)
        }
    } else {
        check_named(name, value)
    };
    result.map_err(|message| format!("invalid format - {message}\n"))
}

/// `PVE::Tools::split_list`: NUL-separated if there is a NUL, else on commas,
/// semicolons and whitespace.
pub(crate) fn split_list(value: &str) -> Box<dyn Iterator<Item = &str> + '_> {
    if value.contains('\0') {
        Box::new(value.split('\0'))
    } else {
        Box::new(
            value
                .split(|c: char| c == ',' || c == ';' || c.is_whitespace())
                .filter(|item| !item.is_empty()),
        )
    }
}

macro_rules! regex {
    ($pattern:expr) => {{
        static RE: LazyLock<Regex> =
            LazyLock::new(|| Regex::new($pattern).expect("format regex compiles"));
        &*RE
    }};
}

const DNS_LABEL: &str = "[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?";
const REALM: &str = r"[A-Za-z][A-Za-z0-9.\-_]+";

fn check_named(name: &str, value: &str) -> Result<(), String> {
    let ok = |valid: bool, message: String| if valid { Ok(()) } else { Err(message) };
    match name {
        "pve-vmid" => ok(
            regex!(r"^[1-9][0-9]{2,8}$").is_match(value),
            "value does not look like a valid VM ID".into(),
        ),
        "pve-node" => ok(
            regex!(r"^(?i:[a-z0-9](?:[a-z0-9\-]*[a-z0-9])?)$").is_match(value),
            "value does not look like a valid node name".into(),
        ),
        "pve-storage-id" => ok(
            regex!(r"^(?i:[a-z][a-z0-9\-_.]*[a-z0-9])$").is_match(value),
            format!("storage ID '{value}' contains illegal characters"),
        ),
        "pve-configid" => ok(
            regex!(r"^(?i:[a-z][a-z0-9_-]+)$").is_match(value),
            format!("invalid configuration ID '{value}'"),
        ),
        "dns-name" => ok(
            is_dns_name(value),
            "value does not look like a valid DNS name".into(),
        ),
        "pve-tag" => ok(
            regex!(r"^(?i:[a-z0-9_][a-z0-9_\-+.]*)$").is_match(value),
            "invalid characters in tag".into(),
        ),
        "pve-poolid" => ok(
            regex!(r"^[A-Za-z0-9.\-_]+$").is_match(value),
            format!("pool name '{value}' contains invalid characters"),
        ),
        "pve-realm" => ok(
            regex!(&format!("^{REALM}$")).is_match(value),
            format!("value '{value}' does not look like a valid realm"),
        ),
        "pve-userid" => ok(
            regex!(&format!(r"^[^\s:/]+@{REALM}$")).is_match(value),
            format!("value '{value}' does not look like a valid user name"),
        ),
        "pve-tokenid" => ok(
            regex!(&format!(r"^[^\s:/]+@{REALM}!{REALM}$")).is_match(value),
            format!("value '{value}' does not look like a valid token ID"),
        ),
        "pve-volume-id" => ok(
            regex!(r"^(?i:[a-z][a-z0-9\-_.]*[a-z0-9]):.+$").is_match(value),
            format!("unable to parse volume ID '{value}'"),
        ),
        "pve-qm-bootdisk" => ok(
            regex!(r"^(?:ide|sata|scsi|virtio|efidisk|tpmstate)\d+$").is_match(value),
            format!("invalid boot disk '{value}'"),
        ),
        "pve-iface" => ok(
            regex!(r"^(?i:[a-z][a-z0-9_]{1,20}(?:[:.]\d+)?)$").is_match(value),
            format!("invalid network interface name '{value}'"),
        ),
        "mac-addr" => ok(
            regex!(r"^(?i:[a-f0-9][02468ace](?::[a-f0-9]{2}){5})$").is_match(value),
            "value does not look like a valid unicast MAC address".into(),
        ),
        "email" => ok(
            regex!(r"^\w+(?:[\-+.]\w+)*@(?:\w[\-\w]*\.){1,5}[A-Za-z]{2,63}$").is_match(value),
            "value does not look like a valid email address".into(),
        ),
        "urlencoded" => ok(
            regex!(r"^[-%a-zA-Z0-9_.!~*'()]*$").is_match(value),
            format!("invalid urlencoded string: {value}"),
        ),
        "disk-size" => ok(
            regex!(r"^\d+(?:\.\d+)?[KMGT]?$").is_match(value),
            format!("value does not look like a valid disk size: {value}"),
        ),
        "pve-startup-order" => ok(
            is_startup_order(value),
            "unable to parse startup options".into(),
        ),
        "ipv4" => ok(
            value.parse::<Ipv4Addr>().is_ok(),
            "value does not look like a valid IPv4 address".into(),
        ),
        "ipv6" => ok(
            value.parse::<Ipv6Addr>().is_ok(),
            "value does not look like a valid IPv6 address".into(),
        ),
        "ip" => ok(
            value.parse::<IpAddr>().is_ok(),
            "value does not look like a valid IP address".into(),
        ),
        "address" => ok(
            value.parse::<IpAddr>().is_ok() || is_dns_name(value),
            format!("value does not look like a valid address: {value}"),
        ),
        "CIDRv4" => ok(
            is_cidr(value, false),
            "value does not look like a valid IPv4 CIDR network".into(),
        ),
        "CIDRv6" => ok(
            is_cidr(value, true),
            "value does not look like a valid IPv6 CIDR network".into(),
        ),
        "CIDR" => ok(
            is_cidr(value, false) || is_cidr(value, true),
            "value does not look like a valid CIDR network".into(),
        ),
        _ => Ok(()),
    }
}

fn is_dns_name(value: &str) -> bool {
    regex!(&format!(r"^(?:{DNS_LABEL}\.)*{DNS_LABEL}$")).is_match(value)
}

fn is_cidr(value: &str, v6: bool) -> bool {
    let Some((address, prefix)) = value.split_once('/') else {
        return false;
    };
    if prefix.is_empty() || !prefix.bytes().all(|b| b.is_ascii_digit()) {
        return false;
    }
    let Ok(prefix) = prefix.parse::<u32>() else {
        return false;
    };
    if v6 {
        address.parse::<Ipv6Addr>().is_ok() && (8..=128).contains(&prefix)
    } else {
        address.parse::<Ipv4Addr>().is_ok() && (8..=32).contains(&prefix)
    }
}

/// `PVE::JSONSchema::pve_parse_startup_order`: `[[order=]N][,up=N][,down=N]`.
fn is_startup_order(value: &str) -> bool {
    !value.is_empty()
        && value.split(',').all(|part| {
            part.trim().is_empty() || regex!(r"^(?:(?:order=)?\d+|up=\d+|down=\d+)$").is_match(part)
        })
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::check_format;

    #[test]
    fn formats_fail_with_pves_message() {
        let cases = [
            ("pve-vmid", "99", "value does not look like a valid VM ID"),
            (
                "pve-node",
                "-pve",
                "value does not look like a valid node name",
            ),
            (
                "dns-name",
                "web 1",
                "value does not look like a valid DNS name",
            ),
            (
                "pve-storage-id",
                "1local",
                "storage ID '1local' contains illegal characters",
            ),
            ("pve-configid", "9x", "invalid configuration ID '9x'"),
            ("pve-tag-list", "ok;b@d", "invalid characters in tag"),
            (
                "pve-vmid-list",
                "100,12",
                "value does not look like a valid VM ID",
            ),
        ];
        for (format, value, message) in cases {
            assert_eq!(
                check_format(&json!(format), value),
                Err(format!("invalid format - {message}\n")),
                "{format} {value}"
            );
        }
    }

    #[test]
    fn valid_values_and_unknown_or_hash_formats_pass() {
        let cases = [
            ("pve-vmid", "100"),
            ("pve-vmid", "999999999"),
            ("pve-node", "pve1"),
            ("dns-name", "web-1.example.com"),
            ("pve-tag-list", "web;prod,db other"),
            ("pve-configid-list", ""),
            ("pve-startup-order", "order=1,up=30"),
            ("CIDRv4", "10.0.0.0/8"),
            ("some-format-pve-adds-later", "anything"),
        ];
        for (format, value) in cases {
            assert_eq!(
                check_format(&json!(format), value),
                Ok(()),
                "{format} {value}"
            );
        }
        assert_eq!(check_format(&json!({"bridge": {}}), "model=virtio"), Ok(()));
    }
}
