//! Durations written the way admins write them (`30s`, `15m`, `1h30m`), so the
//! config file needs no unit-suffixed key names.

use std::time::Duration;

use serde::{Deserialize, Deserializer, de};

/// Parses `500ms`, `30s`, `15m`, `2h` or a sum of them such as `1h30m`.
/// Zero is refused: every duration in the config is a limit or a wait that
/// must be able to elapse.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let expected = "expected a duration like \"30s\", \"15m\" or \"1h30m\"";
    let trimmed = text.trim();
    if trimmed.is_empty() {
        return Err(format!("empty duration: {expected}"));
    }
    let mut total = Duration::ZERO;
    let mut rest = trimmed;
    while !rest.is_empty() {
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            return Err(format!("invalid duration \"{text}\": {expected}"));
        }
        let (number, after) = rest.split_at(digits);
        let unit_len = after.bytes().take_while(u8::is_ascii_alphabetic).count();
        let (unit, after) = after.split_at(unit_len);
        let value: u64 = number
            .parse()
            .map_err(|_| format!("invalid duration \"{text}\": number too large"))?;
        let part = match unit {
            "ms" => Some(Duration::from_millis(value)),
            "s" => Some(Duration::from_secs(value)),
            "m" => value.checked_mul(60).map(Duration::from_secs),
            "h" => value.checked_mul(3600).map(Duration::from_secs),
            "" => {
                return Err(format!(
                    "invalid duration \"{text}\": missing unit (ms, s, m, h)"
                ));
            }
            other => {
                return Err(format!(
                    "invalid duration \"{text}\": unknown unit \"{other}\" (use ms, s, m or h)"
                ));
            }
        };
        total = part
            .and_then(|part| total.checked_add(part))
            .ok_or_else(|| format!("invalid duration \"{text}\": too large"))?;
        rest = after;
    }
    if total.is_zero() {
        return Err(format!(
            "invalid duration \"{text}\": must be more than zero"
        ));
    }
    Ok(total)
}

/// `serde(deserialize_with)` adapter for [`parse_duration`].
pub fn deserialize_duration<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Duration, D::Error> {
    let text = String::deserialize(deserializer)?;
    parse_duration(&text).map_err(de::Error::custom)
}
