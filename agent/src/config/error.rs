//! Config errors that say where the problem is: the file, the line and the
//! dotted key, so an admin can fix the file without guessing.

use std::io;
use std::ops::Range;
use std::path::PathBuf;

use toml::Spanned;
use toml::de::{DeTable, DeValue};

/// Why the agent's config could not be used.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The config file could not be read.
    #[error("cannot read config {path}: {source}")]
    Read {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    /// The file is not valid TOML, has an unknown key, or a key has a bad value.
    #[error("{}", describe_invalid(.path, *.line, *.column, .key.as_deref(), .message))]
    Invalid {
        path: PathBuf,
        /// 1-based line of the offending text.
        line: usize,
        /// 1-based column of the offending text.
        column: usize,
        /// The dotted key concerned (`timeouts.create`), when the error is
        /// about a key rather than about TOML syntax.
        key: Option<String>,
        /// What is wrong, as serde or the TOML parser put it.
        message: String,
    },
    /// Neither the config, `.members` nor the hostname gave a usable node name.
    #[error("cannot determine this node's name: {0}; set `node_name` in the config")]
    NodeName(String),
}

fn describe_invalid(
    path: &std::path::Path,
    line: usize,
    column: usize,
    key: Option<&str>,
    message: &str,
) -> String {
    match key {
        Some(key) => format!(
            "invalid config {}: line {line}, column {column}: key `{key}`: {message}",
            path.display()
        ),
        None => format!(
            "invalid config {}: line {line}, column {column}: {message}",
            path.display()
        ),
    }
}

impl ConfigError {
    /// Turns a TOML error for `text` (read from `path`) into [`ConfigError::Invalid`],
    /// finding the line and the dotted key the error's span points into.
    pub(crate) fn from_toml(path: PathBuf, text: &str, error: &toml::de::Error) -> Self {
        let start = error.span().map_or(0, |span| span.start);
        let (line, column) = line_and_column(text, start);
        let key = error.span().and_then(|span| {
            DeTable::parse(text)
                .ok()
                .and_then(|doc| key_at(doc.get_ref(), &span))
        });
        ConfigError::Invalid {
            path,
            line,
            column,
            key,
            message: error.message().trim_end().to_owned(),
        }
    }
}

/// 1-based line and column of byte `offset` in `text`.
fn line_and_column(text: &str, offset: usize) -> (usize, usize) {
    let before = text.get(..offset).unwrap_or(text);
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |newline| newline + 1);
    let column = before[line_start..].chars().count() + 1;
    (line, column)
}

/// The dotted path of the deepest key whose name or value covers `span`.
fn key_at(table: &DeTable<'_>, span: &Range<usize>) -> Option<String> {
    for (key, value) in table.iter() {
        let name = key.get_ref().as_ref();
        if let Some(inner) = key_in_value(value, span) {
            return Some(join(name, &inner));
        }
        if covers(&key.span(), span) || covers(&value.span(), span) {
            return Some(quote_if_needed(name));
        }
    }
    None
}

fn key_in_value(value: &Spanned<DeValue<'_>>, span: &Range<usize>) -> Option<String> {
    match value.get_ref() {
        DeValue::Table(table) => key_at(table, span),
        DeValue::Array(items) => items.iter().enumerate().find_map(|(index, item)| {
            key_in_value(item, span)
                .map(|inner| format!("[{index}].{inner}"))
                .or_else(|| covers(&item.span(), span).then(|| format!("[{index}]")))
        }),
        _ => None,
    }
}

fn join(name: &str, inner: &str) -> String {
    let name = quote_if_needed(name);
    if inner.starts_with('[') {
        format!("{name}{inner}")
    } else {
        format!("{name}.{inner}")
    }
}

fn quote_if_needed(name: &str) -> String {
    let bare = !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    if bare {
        name.to_owned()
    } else {
        format!("\"{name}\"")
    }
}

fn covers(outer: &Range<usize>, inner: &Range<usize>) -> bool {
    outer.start <= inner.start && inner.start < outer.end.max(outer.start + 1)
}
