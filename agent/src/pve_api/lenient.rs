//! Reading PVE's loosely typed JSON: Perl hands out numbers as strings
//! (`"data":"100"`), booleans as `0`/`1`/`"1"`, and integers as floats, and
//! nothing validates the output. Use these with `#[serde(deserialize_with)]`
//! (plus `#[serde(default)]` for the `_opt` forms).

use serde::de::Error as _;
use serde::{Deserialize, Deserializer};
use serde_json::Value;

/// A value that can be read from PVE's loose JSON.
pub trait Loose: Sized {
    /// Converts one JSON value, or says what was expected.
    fn from_loose(value: &Value) -> Result<Self, String>;
}

fn describe(value: &Value) -> String {
    let text = value.to_string();
    if text.chars().count() > 40 {
        format!("{}…", text.chars().take(40).collect::<String>())
    } else {
        text
    }
}

impl Loose for i64 {
    fn from_loose(value: &Value) -> Result<Self, String> {
        let parsed = match value {
            Value::Number(number) => number.as_i64().or_else(|| {
                number
                    .as_f64()
                    .filter(|f| f.fract() == 0.0 && f.abs() < 9.0e15)
                    .map(|f| f as i64)
            }),
            Value::String(text) => {
                let text = text.trim();
                text.parse::<i64>().ok().or_else(|| {
                    text.parse::<f64>()
                        .ok()
                        .filter(|f| f.fract() == 0.0 && f.abs() < 9.0e15)
                        .map(|f| f as i64)
                })
            }
            Value::Bool(flag) => Some(i64::from(*flag)),
            _ => None,
        };
        parsed.ok_or_else(|| format!("expected an integer, got {}", describe(value)))
    }
}

impl Loose for u64 {
    fn from_loose(value: &Value) -> Result<Self, String> {
        if let Some(big) = value.as_u64() {
            return Ok(big);
        }
        if let Value::String(text) = value
            && let Ok(big) = text.trim().parse::<u64>()
        {
            return Ok(big);
        }
        let signed = i64::from_loose(value)?;
        u64::try_from(signed)
            .map_err(|_| format!("expected an integer >= 0, got {}", describe(value)))
    }
}

impl Loose for u32 {
    fn from_loose(value: &Value) -> Result<Self, String> {
        let wide = u64::from_loose(value)?;
        u32::try_from(wide).map_err(|_| format!("integer {wide} is out of range"))
    }
}

impl Loose for f64 {
    fn from_loose(value: &Value) -> Result<Self, String> {
        match value {
            Value::Number(number) => number.as_f64(),
            Value::String(text) => text.trim().parse::<f64>().ok().filter(|f| f.is_finite()),
            _ => None,
        }
        .ok_or_else(|| format!("expected a number, got {}", describe(value)))
    }
}

impl Loose for bool {
    fn from_loose(value: &Value) -> Result<Self, String> {
        match value {
            Value::Bool(flag) => Some(*flag),
            Value::Number(number) => match number.as_f64() {
                Some(0.0) => Some(false),
                Some(1.0) => Some(true),
                _ => None,
            },
            Value::String(text) => match text.trim() {
                "1" | "true" | "yes" | "on" => Some(true),
                "0" | "" | "false" | "no" | "off" => Some(false),
                _ => None,
            },
            Value::Null => Some(false),
            _ => None,
        }
        .ok_or_else(|| format!("expected a boolean (0/1), got {}", describe(value)))
    }
}

impl Loose for String {
    fn from_loose(value: &Value) -> Result<Self, String> {
        match value {
            Value::String(text) => Ok(text.clone()),
            Value::Number(number) => Ok(number.to_string()),
            Value::Bool(flag) => Ok(u8::from(*flag).to_string()),
            _ => Err(format!("expected a string, got {}", describe(value))),
        }
    }
}

/// A required loose field.
pub fn loose<'de, D: Deserializer<'de>, T: Loose>(deserializer: D) -> Result<T, D::Error> {
    let value = Value::deserialize(deserializer)?;
    T::from_loose(&value).map_err(D::Error::custom)
}

/// An optional loose field: missing or `null` is `None`. Pair with
/// `#[serde(default)]`.
pub fn loose_opt<'de, D: Deserializer<'de>, T: Loose>(
    deserializer: D,
) -> Result<Option<T>, D::Error> {
    match Value::deserialize(deserializer)? {
        Value::Null => Ok(None),
        value => T::from_loose(&value).map(Some).map_err(D::Error::custom),
    }
}

/// A boolean that PVE leaves out when false (`template`, `shared`). Pair
/// with `#[serde(default)]`.
pub fn flag<'de, D: Deserializer<'de>>(deserializer: D) -> Result<bool, D::Error> {
    loose_opt(deserializer).map(Option::unwrap_or_default)
}

/// A JSON object whose values are strings, numbers or booleans (a guest
/// config), with every value as PVE's text.
pub fn string_map<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<std::collections::BTreeMap<String, String>, D::Error> {
    let map = serde_json::Map::<String, Value>::deserialize(deserializer)?;
    map.into_iter()
        .filter(|(_, value)| !value.is_null())
        .map(|(key, value)| {
            String::from_loose(&value)
                .map(|text| (key.clone(), text))
                .map_err(|problem| D::Error::custom(format!("key {key}: {problem}")))
        })
        .collect()
}
