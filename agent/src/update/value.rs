//! The value formats of config keys, checked the way PVE's schema checks
//! them (`PVE::JSONSchema`), and normalised to what PVE stores, so a bad
//! value is refused with a precise message before anything is sent and the
//! diff compares like with like. Formats PVE knows in more detail than
//! this table (drives, PCI devices, ...) are [`Format::Text`]: PVE's own
//! check refuses them, and the agent reports its per-key message.

use std::net::{Ipv4Addr, Ipv6Addr};

use crate::create::request::{check_dns_name, normalize_tags};
use crate::pmxcfs::{PropertyString, property_string::PropertyStringFormat};

/// How a value is written.
#[derive(Debug, Clone, Copy)]
pub enum Format {
    /// `1`/`0`; `yes/no`, `on/off`, `true/false` are accepted and stored as `1`/`0`.
    Bool,
    /// An integer within `min..=max`.
    Int { min: i64, max: i64 },
    /// A decimal number within `min..=max`.
    Number { min: f64, max: f64 },
    /// One of these words.
    Enum(&'static [&'static str]),
    /// PVE's `dns-name` (VM names, container hostnames).
    DnsName,
    /// PVE's `pve-tag-list`, stored lowercased, deduplicated and sorted with `;`.
    Tags,
    /// Free text of up to 8 KiB that may span lines.
    Description,
    /// One line of text that PVE checks itself.
    Text,
    /// A MAC address `XX:XX:XX:XX:XX:XX`.
    Mac,
    /// An IPv4 address.
    Ipv4,
    /// An IPv6 address.
    Ipv6,
    /// A container's `ip=`: `dhcp`, `manual` or an IPv4 CIDR.
    Ipv4Config,
    /// A container's `ip6=`: `auto`, `dhcp`, `manual` or an IPv6 CIDR.
    Ipv6Config,
    /// A word of letters, digits, `_`, `-` and `.` (bridges, interface names).
    Word,
    /// VLAN ids `a;b-c;...` (`trunks`).
    Vlans,
    /// A property string `[default=]v,k=v,...` with these keys.
    Props(&'static Props),
}

/// The keys of a property string.
#[derive(Debug)]
pub struct Props {
    /// The key a bare value belongs to.
    pub default_key: Option<&'static str>,
    /// Every key with its format.
    pub keys: &'static [(&'static str, Format)],
    /// Keys that must be given.
    pub required: &'static [&'static str],
    /// Keys that stand for `default_key=<key>` plus `value_key=<value>`:
    /// qemu's `virtio=<mac>` means `model=virtio,macaddr=<mac>`.
    pub key_aliases: &'static [&'static str],
    /// The key a key alias's value belongs to (`macaddr`).
    pub alias_value_key: &'static str,
}

/// Checks `value` for config key `key` and returns it as PVE stores it;
/// the error is a sentence naming the key, the value and what it needs.
pub fn check(key: &str, format: Format, value: &str) -> Result<String, String> {
    let invalid = |needs: &str| format!("invalid value '{value}' for {key}: {needs}");
    if value.is_empty() {
        return Err(format!(
            "{key} cannot be empty: remove it with --delete {key}"
        ));
    }
    match format {
        Format::Description => {
            if value.chars().count() > 8192 {
                return Err(format!("{key} is longer than 8192 characters"));
            }
            Ok(value.trim_end().to_string())
        }
        Format::Tags => {
            let tags = normalize_tags(&[value.to_string()]).map_err(|e| e.message)?;
            Ok(tags.join(";"))
        }
        _ if value.contains(['\n', '\r']) => Err(format!("{key} cannot span lines")),
        Format::Props(props) => check_props(key, props, value),
        simple => check_simple(simple, value).map_err(|needs| invalid(&needs)),
    }
}

/// A value of a format that has no keys of its own.
fn check_simple(format: Format, value: &str) -> Result<String, String> {
    match format {
        Format::Bool => match value.to_ascii_lowercase().as_str() {
            "1" | "yes" | "on" | "true" => Ok("1".into()),
            "0" | "no" | "off" | "false" => Ok("0".into()),
            _ => Err("expected 1 or 0".into()),
        },
        Format::Int { min, max } => match value.parse::<i64>() {
            Ok(n) if (min..=max).contains(&n) => Ok(n.to_string()),
            Ok(_) => Err(range("an integer", min, max)),
            Err(_) => Err("expected an integer".into()),
        },
        Format::Number { min, max } => match value.parse::<f64>() {
            Ok(n) if n.is_finite() && n >= min && n <= max => Ok(value.to_string()),
            Ok(_) => Err(format!("expected a number from {min} to {max}")),
            Err(_) => Err("expected a number".into()),
        },
        Format::Enum(words) if words.contains(&value) => Ok(value.to_string()),
        Format::Enum(words) => Err(format!("expected one of {}", words.join(", "))),
        Format::DnsName => check_dns_name(value, "name")
            .map(|()| value.to_string())
            .map_err(|_| {
                "expected a DNS name (letters, digits and inner dashes, labels separated by dots)"
                    .into()
            }),
        Format::Mac => {
            let parts: Vec<&str> = value.split(':').collect();
            let ok = parts.len() == 6
                && parts
                    .iter()
                    .all(|p| p.len() == 2 && p.bytes().all(|b| b.is_ascii_hexdigit()));
            ok.then(|| value.to_string())
                .ok_or_else(|| "expected a MAC address XX:XX:XX:XX:XX:XX".into())
        }
        Format::Ipv4 => value
            .parse::<Ipv4Addr>()
            .map(|_| value.to_string())
            .map_err(|_| "expected an IPv4 address".into()),
        Format::Ipv6 => value
            .parse::<Ipv6Addr>()
            .map(|_| value.to_string())
            .map_err(|_| "expected an IPv6 address".into()),
        Format::Ipv4Config => match value {
            "dhcp" | "manual" => Ok(value.to_string()),
            _ if cidr::<Ipv4Addr>(value, 32) => Ok(value.to_string()),
            _ => Err("expected dhcp, manual or an IPv4 address with prefix (10.0.0.5/24)".into()),
        },
        Format::Ipv6Config => match value {
            "auto" | "dhcp" | "manual" => Ok(value.to_string()),
            _ if cidr::<Ipv6Addr>(value, 128) => Ok(value.to_string()),
            _ => Err("expected auto, dhcp, manual or an IPv6 address with prefix".into()),
        },
        Format::Word => value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"_-.".contains(&b))
            .then(|| value.to_string())
            .ok_or_else(|| "expected letters, digits, '_', '-' and '.'".into()),
        Format::Vlans => value
            .split(';')
            .all(|part| {
                let mut ends = part.splitn(2, '-');
                ends.all(|id| id.parse::<u16>().is_ok_and(|id| (1..=4094).contains(&id)))
            })
            .then(|| value.to_string())
            .ok_or_else(|| "expected VLAN ids 1-4094 separated by ';' (ranges a-b)".into()),
        Format::Text => Ok(value.to_string()),
        Format::Description | Format::Tags | Format::Props(_) => Ok(value.to_string()),
    }
}

fn range(what: &str, min: i64, max: i64) -> String {
    if max == i64::MAX {
        format!("expected {what} of at least {min}")
    } else {
        format!("expected {what} from {min} to {max}")
    }
}

/// `addr/prefix` with a prefix of at most `max`.
fn cidr<A: std::str::FromStr>(value: &str, max: u8) -> bool {
    value.split_once('/').is_some_and(|(addr, prefix)| {
        addr.parse::<A>().is_ok() && prefix.parse::<u8>().is_ok_and(|p| p <= max)
    })
}

/// A property string: known keys, each value in its format, required keys
/// present. Returned as given (PVE prints its own order on write).
fn check_props(key: &str, props: &Props, value: &str) -> Result<String, String> {
    let format = PropertyStringFormat {
        default_key: props.default_key,
        aliases: &[],
    };
    let parsed = PropertyString::parse(value, format)
        .map_err(|e| format!("invalid value '{value}' for {key}: {e}"))?;
    let mut seen: Vec<&str> = Vec::new();
    let mut note = |sub: &'static str| {
        if seen.contains(&sub) {
            return Err(format!(
                "invalid value '{value}' for {key}: '{sub}' is given twice"
            ));
        }
        seen.push(sub);
        Ok(())
    };
    for (sub, sub_value) in parsed.entries() {
        if let (Some(alias), Some(default)) = (
            props.key_aliases.iter().find(|alias| *alias == sub),
            props.default_key,
        ) {
            // `virtio=<mac>`: the model, and the MAC as its value
            note(check_sub(key, props, default, alias)?)?;
            note(check_sub(key, props, props.alias_value_key, sub_value)?)?;
        } else {
            note(check_sub(key, props, sub, sub_value)?)?;
        }
    }
    if let Some(missing) = props.required.iter().find(|req| !seen.contains(*req)) {
        return Err(format!(
            "invalid value '{value}' for {key}: '{missing}' is required"
        ));
    }
    Ok(value.to_string())
}

/// Checks one key of a property string; returns the key as the table names it.
fn check_sub(key: &str, props: &Props, sub: &str, value: &str) -> Result<&'static str, String> {
    let Some((name, format)) = props.keys.iter().find(|(name, _)| *name == sub) else {
        let known: Vec<&str> = props
            .keys
            .iter()
            .map(|(name, _)| *name)
            .chain(props.key_aliases.iter().copied())
            .collect();
        return Err(format!(
            "unknown property '{sub}' in {key}; known: {}",
            known.join(", ")
        ));
    };
    check(&format!("{key} {sub}"), *format, value)?;
    Ok(name)
}

#[cfg(test)]
mod tests;
