//! How Perl sees the JSON values PVE handles: stringification of scalars, the
//! reference types of arrays, hashes and JSON booleans, truthiness, and the
//! `is_integer` / `is_number` tests of `PVE::JSONSchema`.

use std::sync::LazyLock;

use regex::Regex;
use serde_json::{Number, Value};

/// Perl truthiness of a JSON schema attribute (`1`, `"1"`, `true`).
pub(crate) fn truthy(value: &Value) -> bool {
    match value {
        Value::Null => false,
        Value::Bool(b) => *b,
        Value::Number(n) => n.as_f64().is_some_and(|f| f != 0.0),
        Value::String(s) => !s.is_empty() && s != "0",
        Value::Array(_) | Value::Object(_) => true,
    }
}

/// The Perl reference type a JSON value decodes to, if it is not a plain scalar.
pub(crate) fn perl_ref(value: &Value) -> Option<&'static str> {
    match value {
        Value::Array(_) => Some("ARRAY"),
        Value::Object(_) => Some("HASH"),
        Value::Bool(_) => Some("JSON::PP::Boolean"),
        Value::Null | Value::Number(_) | Value::String(_) => None,
    }
}

/// How Perl stringifies a scalar; `None` for undef, arrays and hashes.
pub(crate) fn perl_string(value: &Value) -> Option<String> {
    match value {
        Value::String(text) => Some(text.clone()),
        Value::Number(number) => Some(perl_number(number)),
        Value::Bool(flag) => Some(if *flag { "1" } else { "0" }.to_string()),
        Value::Null | Value::Array(_) | Value::Object(_) => None,
    }
}

/// Perl prints integral floats without a fraction (`1.0` is `1`).
fn perl_number(number: &Number) -> String {
    if number.is_f64() {
        let float = number.as_f64().unwrap_or(0.0);
        if float.fract() == 0.0 && float.abs() < 1e15 {
            return format!("{}", float as i64);
        }
    }
    number.to_string()
}

/// `is_integer`: an optional sign and digits.
pub(crate) fn is_integer(text: &str) -> bool {
    let digits = text.strip_prefix(['+', '-']).unwrap_or(text);
    !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit())
}

/// `is_number`: Perl's decimal number syntax, exponent included.
pub(crate) fn is_number(text: &str) -> bool {
    static NUMBER: LazyLock<Regex> = LazyLock::new(|| {
        Regex::new(r"^[+-]?(?:\d+\.\d+|\d+\.|\.\d+|\d+)(?:[eE][+-]?\d+)?$")
            .expect("number regex compiles")
    });
    NUMBER.is_match(text)
}
