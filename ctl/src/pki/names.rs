//! The names certificates carry, checked before anything is signed: they end
//! up in file names, in subjects, and in the names TLS clients verify.

/// Why a name was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid {what} {name:?}: {reason}")]
pub struct NameError {
    what: &'static str,
    name: String,
    reason: &'static str,
}

fn check_label(what: &'static str, whole: &str, label: &str) -> Result<(), NameError> {
    let fail = |reason| NameError {
        what,
        name: whole.to_owned(),
        reason,
    };
    if label.is_empty() {
        return Err(fail("it has an empty label"));
    }
    if label.len() > 63 {
        return Err(fail("a label is longer than 63 characters"));
    }
    if !label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-') {
        return Err(fail("only letters, digits and '-' are allowed"));
    }
    if label.starts_with('-') || label.ends_with('-') {
        return Err(fail("a label cannot start or end with '-'"));
    }
    Ok(())
}

/// A PVE node name: one host name label.
pub fn node_name(name: &str) -> Result<String, NameError> {
    check_label("node name", name, name)?;
    Ok(name.to_owned())
}

/// A DNS name of dot-separated host name labels.
pub fn dns_name(name: &str) -> Result<String, NameError> {
    if name.len() > 253 {
        return Err(NameError {
            what: "DNS name",
            name: name.to_owned(),
            reason: "it is longer than 253 characters",
        });
    }
    for label in name.split('.') {
        check_label("DNS name", name, label)?;
    }
    Ok(name.to_owned())
}

/// A client name: the certificate's CN and part of its file names.
pub fn client_name(name: &str) -> Result<String, NameError> {
    let fail = |reason| NameError {
        what: "client name",
        name: name.to_owned(),
        reason,
    };
    if name.is_empty() || name.len() > 64 {
        return Err(fail("it must have 1 to 64 characters"));
    }
    if !name
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || "._@-".contains(c))
    {
        return Err(fail(
            "only letters, digits, '.', '_', '@' and '-' are allowed",
        ));
    }
    if !name.starts_with(|c: char| c.is_ascii_alphanumeric()) {
        return Err(fail("it must start with a letter or digit"));
    }
    Ok(name.to_owned())
}

#[cfg(test)]
mod tests {
    use super::{client_name, dns_name, node_name};

    #[test]
    fn node_names_are_single_host_labels() {
        assert_eq!(node_name("pve-2").unwrap(), "pve-2");
        for bad in ["", "pve.lab", "-pve", "pve_2", &"a".repeat(64)] {
            assert!(node_name(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn dns_names_are_dotted_labels() {
        assert_eq!(dns_name("pve2.lab.example").unwrap(), "pve2.lab.example");
        for bad in ["", "pve2..lab", "pve2.lab.", "*.lab", "pve 2"] {
            assert!(dns_name(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn client_names_are_safe_in_file_names() {
        assert_eq!(client_name("ci-bot@lab").unwrap(), "ci-bot@lab");
        for bad in ["", ".hidden", "../x", "a/b", "al ice", &"a".repeat(65)] {
            let error = client_name(bad).unwrap_err().to_string();
            assert!(error.starts_with("invalid client name"), "{error}");
        }
    }
}
