//! Text rules of PVE's Perl parsers that several pmxcfs formats share: what counts as
//! whitespace (`\s`), how the value of a `key: value` line is cut out, how lists are split.

/// Perl's `\s` on the bytes of a config file: ASCII whitespace including vertical tab.
pub(crate) fn is_perl_space(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\n' | '\r' | '\x0b' | '\x0c')
}

pub(crate) fn trim_perl(text: &str) -> &str {
    text.trim_matches(is_perl_space)
}

pub(crate) fn is_blank(text: &str) -> bool {
    text.chars().all(is_perl_space)
}

/// The value that PVE's `:\s*(.+?)\s*$` captures from what follows the colon.
///
/// Leading and trailing whitespace is dropped, but the value must keep at least one
/// character: a rest of only whitespace yields its last character (`boot: ` gives `" "`),
/// and an empty rest yields no value at all.
pub(crate) fn line_value(rest: &str) -> Option<&str> {
    let trimmed = trim_perl(rest);
    if !trimmed.is_empty() {
        return Some(trimmed);
    }
    let (last, _) = rest.char_indices().last()?;
    Some(&rest[last..])
}

/// `PVE::Tools::split_list`: NUL-separated if the text has a NUL, otherwise separated by
/// commas, semicolons and whitespace. Empty items are dropped.
pub(crate) fn split_list(text: &str) -> Vec<&str> {
    if text.contains('\0') {
        text.split('\0').filter(|item| !item.is_empty()).collect()
    } else {
        text.split(|c| c == ',' || c == ';' || is_perl_space(c))
            .filter(|item| !item.is_empty())
            .collect()
    }
}

/// Perl truthiness of a config value: present and neither empty nor `"0"`.
pub(crate) fn is_truthy(value: Option<&str>) -> bool {
    value.is_some_and(|v| !v.is_empty() && v != "0")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_value_trims_both_ends() {
        assert_eq!(line_value("  scsi0 \t"), Some("scsi0"));
        assert_eq!(line_value(" a b "), Some("a b"));
    }

    #[test]
    fn line_value_of_only_whitespace_keeps_the_last_character() {
        assert_eq!(line_value(" "), Some(" "));
        assert_eq!(line_value(" \t"), Some("\t"));
        assert_eq!(line_value(""), None);
    }

    #[test]
    fn split_list_accepts_commas_semicolons_and_whitespace() {
        assert_eq!(split_list("a;b, c\td;;"), vec!["a", "b", "c", "d"]);
        assert_eq!(split_list("a b\0c"), vec!["a b", "c"]);
        assert!(split_list(" ").is_empty());
    }

    #[test]
    fn zero_and_empty_values_are_falsy_like_in_perl() {
        assert!(!is_truthy(None));
        assert!(!is_truthy(Some("")));
        assert!(!is_truthy(Some("0")));
        assert!(is_truthy(Some(" ")));
        assert!(is_truthy(Some("00")));
    }
}
