//! Durations as people write them (`30s`, `5m`, `1h30m`, `500ms`), for
//! timeouts in the config file and on the command line, and points in time
//! given as a duration ago or a UTC time (`--since`).

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use time::PrimitiveDateTime;
use time::macros::format_description;

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

/// A point in time on the command line: that long ago, or a UTC time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Since {
    Ago(Duration),
    /// Unix milliseconds.
    At(i64),
}

/// Why a point in time did not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "invalid time {0:?}: write a duration ago (e.g. 30m, 2h) or a UTC time (2025-01-31T12:00:00Z)"
)]
pub struct SinceError(String);

/// `2h` (two hours ago) or `2025-01-31T12:00:00Z`.
pub fn parse_since(text: &str) -> Result<Since, SinceError> {
    if let Ok(ago) = parse_duration(text) {
        return Ok(Since::Ago(ago));
    }
    let format = format_description!("[year]-[month]-[day]T[hour]:[minute]:[second]Z");
    let at = PrimitiveDateTime::parse(text, &format)
        .map_err(|_| SinceError(text.to_owned()))?
        .assume_utc();
    let ms = at.unix_timestamp_nanos() / 1_000_000;
    i64::try_from(ms)
        .map(Since::At)
        .map_err(|_| SinceError(text.to_owned()))
}

impl Since {
    /// Unix milliseconds, durations counted back from `now`.
    pub fn unix_ms(self, now: SystemTime) -> i64 {
        match self {
            Since::At(ms) => ms,
            Since::Ago(ago) => now
                .checked_sub(ago)
                .and_then(|at| at.duration_since(UNIX_EPOCH).ok())
                .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX)),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, UNIX_EPOCH};

    use super::{Since, parse_duration, parse_since};

    #[test]
    fn since_is_a_duration_ago_or_a_utc_time() {
        assert_eq!(parse_since("2h"), Ok(Since::Ago(Duration::from_secs(7200))));
        assert_eq!(
            parse_since("2024-12-31T23:59:59Z"),
            Ok(Since::At(1_735_689_599_000))
        );
        assert!(parse_since("yesterday").is_err());
        let now = UNIX_EPOCH + Duration::from_secs(10_000);
        assert_eq!(Since::Ago(Duration::from_secs(100)).unix_ms(now), 9_900_000);
    }

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
