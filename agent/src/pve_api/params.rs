//! Request parameters as PVE takes them: strings in order, booleans as
//! `1`/`0` (PVE refuses `true` in a form), sent in the query string for
//! GET and DELETE and form-encoded for POST and PUT.

/// Ordered `key=value` parameters for one API call.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Params(Vec<(String, String)>);

impl Params {
    /// No parameters.
    pub fn new() -> Params {
        Params::default()
    }

    /// Adds `key=value`.
    pub fn text(mut self, key: &str, value: impl Into<String>) -> Params {
        self.0.push((key.to_owned(), value.into()));
        self
    }

    /// Adds an integer.
    pub fn int(self, key: &str, value: impl Into<i128>) -> Params {
        let value: i128 = value.into();
        self.text(key, value.to_string())
    }

    /// Adds a boolean as `1` or `0`.
    pub fn flag(self, key: &str, value: bool) -> Params {
        self.text(key, if value { "1" } else { "0" })
    }

    /// Adds `key=value` when `value` is set.
    pub fn opt_text(self, key: &str, value: Option<impl Into<String>>) -> Params {
        match value {
            Some(value) => self.text(key, value),
            None => self,
        }
    }

    /// Adds an integer when set.
    pub fn opt_int(self, key: &str, value: Option<impl Into<i128>>) -> Params {
        match value {
            Some(value) => self.int(key, value),
            None => self,
        }
    }

    /// Adds a boolean (`1`/`0`) when set.
    pub fn opt_flag(self, key: &str, value: Option<bool>) -> Params {
        match value {
            Some(value) => self.flag(key, value),
            None => self,
        }
    }

    /// The pairs, in the order added.
    pub fn pairs(&self) -> &[(String, String)] {
        &self.0
    }

    /// The pairs as string slices, to compare in tests.
    #[cfg(test)]
    pub fn as_strs(&self) -> Vec<(&str, &str)> {
        self.0
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect()
    }

    /// True when there are none.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}
