//! Durations as people write them (`30s`, `5m`, `1h30m`, `500ms`), for
//! timeouts in the config file and on the command line.

use std::time::Duration;

/// Why a duration did not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid duration {text:?}: {reason} (write e.g. 30s, 5m, 1h30m or 500ms)")]
pub struct DurationError {
    text: String,
    reason: &'static str,
}

/// Parses one or more `<number><unit>` parts, unit `ms`, `s`, `m` or `h`.
pub fn parse_duration(text: &str) -> Result<Duration, DurationError> {
    let fail = |reason| DurationError {
        text: text.to_owned(),
        reason,
    };
    if text.is_empty() {
        return Err(fail("it is empty"));
    }
    let mut total = Duration::ZERO;
    let mut rest = text;
    while !rest.is_empty() {
        let digits = rest
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(rest.len());
        if digits == 0 {
            return Err(fail("expected a number"));
        }
        let number: u64 = rest[..digits]
            .parse()
            .map_err(|_| fail("the number is too large"))?;
        rest = &rest[digits..];
        let unit_len = rest
            .find(|c: char| c.is_ascii_digit())
            .unwrap_or(rest.len());
        let unit = match &rest[..unit_len] {
            "ms" => Duration::from_millis(1),
            "s" => Duration::from_secs(1),
            "m" => Duration::from_secs(60),
            "h" => Duration::from_secs(3600),
            "" => return Err(fail("a unit is missing")),
            _ => return Err(fail("unknown unit")),
        };
        rest = &rest[unit_len..];
        let part = u32::try_from(number)
            .ok()
            .and_then(|n| unit.checked_mul(n))
            .ok_or_else(|| fail("the number is too large"))?;
        total = total
            .checked_add(part)
            .ok_or_else(|| fail("the number is too large"))?;
    }
    if total.is_zero() {
        return Err(fail("it must be longer than zero"));
    }
    Ok(total)
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::parse_duration;

    #[test]
    fn single_parts_parse_in_each_unit() {
        assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_duration("30s"), Ok(Duration::from_secs(30)));
        assert_eq!(parse_duration("5m"), Ok(Duration::from_secs(300)));
        assert_eq!(parse_duration("2h"), Ok(Duration::from_secs(7200)));
    }

    #[test]
    fn parts_add_up() {
        assert_eq!(parse_duration("1h30m5s"), Ok(Duration::from_secs(5405)));
    }

    #[test]
    fn a_bare_number_is_refused_for_its_missing_unit() {
        let error = parse_duration("30").unwrap_err().to_string();
        assert!(error.contains("a unit is missing"), "{error}");
    }

    #[test]
    fn unknown_units_empty_text_and_zero_are_refused() {
        assert!(
            parse_duration("3d")
                .unwrap_err()
                .to_string()
                .contains("unknown unit")
        );
        assert!(parse_duration("").is_err());
        assert!(parse_duration("0s").is_err());
        assert!(parse_duration("s").is_err());
        assert!(parse_duration("99999999999h").is_err());
    }
}
