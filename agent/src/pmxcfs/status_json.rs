//! Lenient reading of the JSON status files pmxcfs generates (`.members`, `.vmlist`).
//!
//! PVE's JSON is loosely typed: numbers may arrive as strings and booleans as `0`/`1`,
//! `"1"` or `"true"`. These helpers accept all of those and name the field that did not fit.

use serde_json::{Map, Value};

/// A pmxcfs status file that is not JSON, or a field of it that has the wrong shape.
#[derive(Debug, thiserror::Error)]
pub enum StatusFileError {
    #[error("{file} is not valid json: {source}")]
    Json {
        file: &'static str,
        #[source]
        source: serde_json::Error,
    },
    #[error("{file}: `{path}` must be {expected}, found {found}")]
    Field {
        file: &'static str,
        path: String,
        expected: &'static str,
        found: String,
    },
}

/// One status file being read; carries its name into every error.
pub(crate) struct StatusFile {
    pub(crate) name: &'static str,
}

impl StatusFile {
    /// Parses the bytes as JSON whose top level is an object.
    pub(crate) fn parse_object(&self, bytes: &[u8]) -> Result<Map<String, Value>, StatusFileError> {
        let value: Value =
            serde_json::from_slice(bytes).map_err(|source| StatusFileError::Json {
                file: self.name,
                source,
            })?;
        match value {
            Value::Object(map) => Ok(map),
            other => Err(self.mismatch("", "an object", &other)),
        }
    }

    pub(crate) fn object<'a>(
        &self,
        value: &'a Value,
        path: &str,
    ) -> Result<&'a Map<String, Value>, StatusFileError> {
        value
            .as_object()
            .ok_or_else(|| self.mismatch(path, "an object", value))
    }

    pub(crate) fn string(&self, value: &Value, path: &str) -> Result<String, StatusFileError> {
        match value {
            Value::String(text) => Ok(text.clone()),
            Value::Number(number) => Ok(number.to_string()),
            other => Err(self.mismatch(path, "a string", other)),
        }
    }

    pub(crate) fn u64(&self, value: &Value, path: &str) -> Result<u64, StatusFileError> {
        let parsed = match value {
            Value::Number(number) => number.as_u64().or_else(|| {
                number
                    .as_f64()
                    .filter(|f| f.fract() == 0.0 && *f >= 0.0 && *f <= u64::MAX as f64)
                    .map(|f| f as u64)
            }),
            Value::String(text) => text.trim().parse().ok(),
            _ => None,
        };
        parsed.ok_or_else(|| self.mismatch(path, "a non-negative integer", value))
    }

    pub(crate) fn u32(&self, value: &Value, path: &str) -> Result<u32, StatusFileError> {
        let wide = self.u64(value, path)?;
        u32::try_from(wide).map_err(|_| self.mismatch(path, "an integer below 2^32", value))
    }

    pub(crate) fn bool(&self, value: &Value, path: &str) -> Result<bool, StatusFileError> {
        let parsed = match value {
            Value::Bool(flag) => Some(*flag),
            Value::Number(number) => match number.as_u64() {
                Some(0) => Some(false),
                Some(1) => Some(true),
                _ => None,
            },
            Value::String(text) => match text.trim().to_ascii_lowercase().as_str() {
                "1" | "true" | "yes" | "on" => Some(true),
                "0" | "false" | "no" | "off" => Some(false),
                _ => None,
            },
            _ => None,
        };
        parsed.ok_or_else(|| self.mismatch(path, "a boolean (true/false or 0/1)", value))
    }

    fn mismatch(&self, path: &str, expected: &'static str, found: &Value) -> StatusFileError {
        let mut found = found.to_string();
        if found.len() > 60 {
            let cut = (0..=60)
                .rev()
                .find(|&at| found.is_char_boundary(at))
                .unwrap_or(0);
            found.truncate(cut);
            found.push('…');
        }
        StatusFileError::Field {
            file: self.name,
            path: if path.is_empty() {
                "(top level)".to_owned()
            } else {
                path.to_owned()
            },
            expected,
            found,
        }
    }
}

/// A field of an object, with JSON `null` treated as absent.
pub(crate) fn field<'a>(object: &'a Map<String, Value>, key: &str) -> Option<&'a Value> {
    object.get(key).filter(|value| !value.is_null())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const FILE: StatusFile = StatusFile { name: ".test" };

    #[test]
    fn numbers_may_be_strings() {
        assert_eq!(FILE.u64(&json!(5), "v").unwrap(), 5);
        assert_eq!(FILE.u64(&json!("17"), "v").unwrap(), 17);
        assert_eq!(FILE.u64(&json!(3.0), "v").unwrap(), 3);
        assert!(FILE.u64(&json!(-1), "v").is_err());
        assert!(FILE.u64(&json!("x"), "v").is_err());
    }

    #[test]
    fn booleans_may_be_numbers_or_words() {
        for truthy in [
            json!(true),
            json!(1),
            json!("1"),
            json!("true"),
            json!("Yes"),
        ] {
            assert!(FILE.bool(&truthy, "b").unwrap(), "{truthy}");
        }
        for falsy in [
            json!(false),
            json!(0),
            json!("0"),
            json!("false"),
            json!("off"),
        ] {
            assert!(!FILE.bool(&falsy, "b").unwrap(), "{falsy}");
        }
        assert!(FILE.bool(&json!(2), "b").is_err());
    }

    #[test]
    fn errors_name_the_file_and_the_field() {
        let err = FILE.u64(&json!({"a": 1}), "nodelist.pve1.id").unwrap_err();
        assert_eq!(
            err.to_string(),
            ".test: `nodelist.pve1.id` must be a non-negative integer, found {\"a\":1}"
        );
    }
}
