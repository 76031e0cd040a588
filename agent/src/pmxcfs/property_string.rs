//! PVE property strings (`[default=]value,key=value,...`): the value format of drives,
//! `boot`, `memory`, `next-id` and many other options, split the way
//! `PVE::JSONSchema::parse_property_string` splits them. Schemas (which keys exist, their
//! types) stay with the callers; this module only does the syntax.

/// Why a property string could not be split into keys and values.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PropertyStringError {
    #[error("duplicate key `{key}` in property string")]
    DuplicateKey { key: String },
    #[error("`{part}` in property string has an empty key or value")]
    MissingKeyOrValue { part: String },
    #[error("`{part}` in property string has no key, and this option has no default key")]
    NoDefaultKey { part: String },
}

/// How one kind of property string is read: the key a bare value belongs to, and key aliases.
#[derive(Debug, Clone, Copy)]
pub struct PropertyStringFormat {
    /// The key of a value written without `key=` (`file` for drives).
    pub default_key: Option<&'static str>,
    /// `(alias, key)` pairs: `volume=x` on a drive means `file=x`.
    pub aliases: &'static [(&'static str, &'static str)],
}

impl PropertyStringFormat {
    /// A format without default key or aliases.
    pub const PLAIN: Self = Self {
        default_key: None,
        aliases: &[],
    };
}

/// The keys and values of one property string, in their written order.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PropertyString {
    entries: Vec<(String, String)>,
}

impl PropertyString {
    /// Splits `text` on commas. Blank parts are skipped; `key=value` needs a non-empty key
    /// and value; a part without `=` is the value of the default key. A key may appear once.
    pub fn parse(text: &str, format: PropertyStringFormat) -> Result<Self, PropertyStringError> {
        let mut entries: Vec<(String, String)> = Vec::new();
        for part in text.split(',') {
            if super::text::is_blank(part) {
                continue;
            }
            let (key, value) = match part.split_once('=') {
                Some((key, value)) if !key.is_empty() && !value.is_empty() => (key, value),
                Some(_) => {
                    return Err(PropertyStringError::MissingKeyOrValue {
                        part: part.to_owned(),
                    });
                }
                None => match format.default_key {
                    Some(key) => (key, part),
                    None => {
                        return Err(PropertyStringError::NoDefaultKey {
                            part: part.to_owned(),
                        });
                    }
                },
            };
            let key = format
                .aliases
                .iter()
                .find(|(alias, _)| *alias == key)
                .map_or(key, |(_, target)| *target);
            if entries.iter().any(|(existing, _)| existing == key) {
                return Err(PropertyStringError::DuplicateKey {
                    key: key.to_owned(),
                });
            }
            entries.push((key.to_owned(), value.to_owned()));
        }
        Ok(Self { entries })
    }

    /// The value of `key`, if present.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.entries
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// All keys and values in written order.
    pub fn entries(&self) -> &[(String, String)] {
        &self.entries
    }

    /// Takes the keys and values out, in written order.
    pub fn into_entries(self) -> Vec<(String, String)> {
        self.entries
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DRIVE: PropertyStringFormat = PropertyStringFormat {
        default_key: Some("file"),
        aliases: &[("volume", "file")],
    };

    #[test]
    fn a_bare_value_belongs_to_the_default_key() {
        let parsed = PropertyString::parse("local:vm-1-disk-0,size=4G", DRIVE).unwrap();
        assert_eq!(parsed.get("file"), Some("local:vm-1-disk-0"));
        assert_eq!(parsed.get("size"), Some("4G"));
    }

    #[test]
    fn values_may_contain_equals_signs_and_blank_parts_are_skipped() {
        let parsed = PropertyString::parse("a=b=c,, ,d=e", PropertyStringFormat::PLAIN).unwrap();
        assert_eq!(parsed.entries().len(), 2);
        assert_eq!(parsed.get("a"), Some("b=c"));
    }

    #[test]
    fn an_alias_counts_as_its_key_for_duplicates() {
        let err = PropertyString::parse("volume=a:b,file=a:c", DRIVE).unwrap_err();
        assert_eq!(
            err,
            PropertyStringError::DuplicateKey { key: "file".into() }
        );
        let err = PropertyString::parse("a:b,file=a:c", DRIVE).unwrap_err();
        assert_eq!(
            err,
            PropertyStringError::DuplicateKey { key: "file".into() }
        );
    }

    #[test]
    fn empty_keys_values_and_keyless_parts_are_errors() {
        let plain = PropertyStringFormat::PLAIN;
        assert!(matches!(
            PropertyString::parse("size=", plain),
            Err(PropertyStringError::MissingKeyOrValue { .. })
        ));
        assert!(matches!(
            PropertyString::parse("=4G", plain),
            Err(PropertyStringError::MissingKeyOrValue { .. })
        ));
        assert_eq!(
            PropertyString::parse("lower=1,oops", plain),
            Err(PropertyStringError::NoDefaultKey {
                part: "oops".into()
            })
        );
    }
}
