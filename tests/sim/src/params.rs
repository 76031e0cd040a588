//! Typed access to a request's validated parameters (the dispatcher has
//! already checked them against PVE's schema; this only reads them).
use serde_json::{Map, Value};

/// Reads parameters leniently: numbers may arrive as strings, booleans as 0/1.
#[derive(Debug, Clone, Copy)]
pub struct Params<'a>(pub &'a Map<String, Value>);

impl<'a> Params<'a> {
    pub fn str(&self, key: &str) -> Option<&'a str> {
        self.0.get(key).and_then(Value::as_str)
    }

    pub fn string(&self, key: &str) -> Option<String> {
        match self.0.get(key)? {
            Value::String(s) => Some(s.clone()),
            Value::Number(n) => Some(n.to_string()),
            Value::Bool(b) => Some(if *b { "1" } else { "0" }.to_string()),
            _ => None,
        }
    }

    pub fn u64(&self, key: &str) -> Option<u64> {
        match self.0.get(key)? {
            Value::Number(n) => n.as_u64(),
            Value::String(s) => s.parse().ok(),
            _ => None,
        }
    }

    pub fn u32(&self, key: &str) -> Option<u32> {
        self.u64(key).and_then(|v| u32::try_from(v).ok())
    }

    pub fn bool(&self, key: &str) -> Option<bool> {
        match self.0.get(key)? {
            Value::Bool(b) => Some(*b),
            Value::Number(n) => Some(n.as_u64() != Some(0)),
            Value::String(s) => Some(!matches!(s.as_str(), "0" | "" | "false" | "no" | "off")),
            _ => None,
        }
    }

    /// Every parameter that is not in `skip`, as config strings.
    pub fn config_values(&self, skip: &[&str]) -> Vec<(String, String)> {
        self.0
            .keys()
            .filter(|k| !skip.contains(&k.as_str()))
            .filter_map(|k| Some((k.clone(), self.string(k)?)))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_and_booleans_are_read_leniently() {
        let map: Map<String, Value> =
            serde_json::from_str(r#"{"newid":"101","full":1,"start":false,"name":"web1"}"#)
                .unwrap();
        let p = Params(&map);
        assert_eq!(p.u32("newid"), Some(101));
        assert_eq!(p.bool("full"), Some(true));
        assert_eq!(p.bool("start"), Some(false));
        assert_eq!(p.str("name"), Some("web1"));
        assert_eq!(p.u32("missing"), None);
    }
}
