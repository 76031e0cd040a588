//! Guest names and tags checked as PVE checks them (pve-facts §8), before
//! anything is sent: a bad value is a usage error and changes nothing.

/// Why a guest name or tag was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid {what} {value:?}: {reason}")]
pub struct GuestNameError {
    what: &'static str,
    value: String,
    reason: &'static str,
}

/// The longest guest name PVE accepts.
pub const MAX_GUEST_NAME: usize = 255;

/// A VM name or container hostname: PVE's `dns-name` format, labels of
/// letters, digits and inner `-`, separated by dots (no `_`).
pub fn guest_name(text: &str) -> Result<String, GuestNameError> {
    let fail = |reason| GuestNameError {
        what: "guest name",
        value: text.to_owned(),
        reason,
    };
    if text.is_empty() {
        return Err(fail("it is empty"));
    }
    if text.len() > MAX_GUEST_NAME {
        return Err(fail("it is longer than 255 characters"));
    }
    for label in text.split('.') {
        if label.is_empty() {
            return Err(fail("it has an empty label (two dots, or a dot at an end)"));
        }
        if !label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-') {
            return Err(fail(
                "only letters, digits, '-' and '.' are allowed (PVE's dns-name format)",
            ));
        }
        if label.starts_with('-') || label.ends_with('-') {
            return Err(fail("a label cannot start or end with '-'"));
        }
    }
    Ok(text.to_owned())
}

/// A tag: `[a-z0-9_][a-z0-9_-+.]*`, any case, stored lowercased by PVE.
pub fn tag(text: &str) -> Result<String, GuestNameError> {
    let fail = |reason| GuestNameError {
        what: "tag",
        value: text.to_owned(),
        reason,
    };
    let lower = text.to_ascii_lowercase();
    let mut chars = lower.chars();
    match chars.next() {
        None => return Err(fail("it is empty")),
        Some(first) if !(first.is_ascii_alphanumeric() || first == '_') => {
            return Err(fail("it must start with a letter, digit or '_'"));
        }
        Some(_) => {}
    }
    if !chars.all(|c| c.is_ascii_alphanumeric() || "_-+.".contains(c)) {
        return Err(fail(
            "only letters, digits, '_', '-', '+' and '.' are allowed",
        ));
    }
    Ok(lower)
}

#[cfg(test)]
mod tests {
    use super::{guest_name, tag};

    #[test]
    fn dns_names_with_dots_and_inner_dashes_are_guest_names() {
        for good in ["web1", "web-1", "web1.lab.example", "1a", "A-B"] {
            assert_eq!(guest_name(good).unwrap(), good);
        }
        assert!(guest_name(&"a".repeat(255)).is_ok());
    }

    #[test]
    fn underscores_empty_labels_edge_dashes_and_long_names_are_refused() {
        for (bad, reason) in [
            ("web_1", "dns-name"),
            ("", "empty"),
            ("web..1", "empty label"),
            (".web", "empty label"),
            ("web.", "empty label"),
            ("-web", "start or end"),
            ("web-.lab", "start or end"),
            ("web 1", "dns-name"),
            ("wéb", "dns-name"),
        ] {
            let error = guest_name(bad).unwrap_err().to_string();
            assert!(error.contains(reason), "{bad:?}: {error}");
            assert!(error.starts_with("invalid guest name"), "{error}");
        }
        assert!(guest_name(&"a".repeat(256)).is_err());
    }

    #[test]
    fn tags_follow_pves_pattern_and_are_lowercased() {
        assert_eq!(tag("Web").unwrap(), "web");
        assert_eq!(tag("_k8s+prod.v1-2").unwrap(), "_k8s+prod.v1-2");
        for bad in ["", "-web", ".x", "a;b", "a b", "a/b"] {
            assert!(tag(bad).is_err(), "{bad:?}");
        }
    }
}
