//! Renders what a command found: one [`Tabular`] trait for every resource, one
//! renderer for every `-o` format, so all commands print alike.

mod table;
#[cfg(test)]
mod tests;

use std::io::Write;

use serde::{Deserialize, Serialize};

/// The `-o/--output` formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum OutputFormat {
    // Aligned columns, fitted to the terminal's width. (Plain comments on
    // the variants keep `--help` to one line of possible values.)
    Table,
    // The table with its extra columns.
    Wide,
    // A JSON array of the items.
    Json,
    // A YAML sequence of the items.
    Yaml,
    // One `kind/name` line per item.
    Name,
}

/// One column of a resource's table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Column {
    /// The header, upper case by convention (`NAME`, `STATUS`).
    pub header: &'static str,
    /// Shown only with `-o wide`.
    pub wide_only: bool,
}

impl Column {
    /// A column shown in every table.
    pub const fn always(header: &'static str) -> Column {
        Column {
            header,
            wide_only: false,
        }
    }

    /// A column shown only with `-o wide`.
    pub const fn wide(header: &'static str) -> Column {
        Column {
            header,
            wide_only: true,
        }
    }
}

/// Something `pvectl` lists: serialisable for `-o json|yaml`, a row for the
/// table, a name for `-o name`.
pub trait Tabular: Serialize {
    /// The resource kind in `-o name` (`vm` in `vm/101`).
    const KIND: &'static str;
    /// Every column, wide-only ones included, in display order.
    const COLUMNS: &'static [Column];

    /// One cell per entry of [`Self::COLUMNS`], in the same order.
    fn cells(&self) -> Vec<String>;

    /// The item's name in `-o name` (`101` in `vm/101`).
    fn name(&self) -> String;

    /// The kind in `-o name` for this item: [`Self::KIND`] unless one type
    /// serves several resources (`vm/101`, `ct/200`).
    fn kind_name(&self) -> &'static str {
        Self::KIND
    }
}

/// Why rendering failed.
#[derive(Debug, thiserror::Error)]
pub enum OutputError {
    #[error("cannot write the output: {0}")]
    Write(#[from] std::io::Error),
    #[error("cannot encode the output as json: {0}")]
    Json(#[from] serde_json::Error),
    #[error("cannot encode the output as yaml: {0}")]
    Yaml(#[from] serde_norway::Error),
}

/// Writes `items` to `out` in `format`. `width` is the terminal's width when
/// the output goes to a terminal; tables are fitted to it, otherwise never cut.
pub fn render<T: Tabular>(
    items: &[T],
    format: OutputFormat,
    width: Option<usize>,
    out: &mut dyn Write,
) -> Result<(), OutputError> {
    match format {
        OutputFormat::Table | OutputFormat::Wide => {
            let wide = format == OutputFormat::Wide;
            let shown: Vec<usize> = T::COLUMNS
                .iter()
                .enumerate()
                .filter(|(_, column)| wide || !column.wide_only)
                .map(|(index, _)| index)
                .collect();
            let headers: Vec<String> = shown
                .iter()
                .map(|&index| T::COLUMNS[index].header.to_owned())
                .collect();
            let rows: Vec<Vec<String>> = items
                .iter()
                .map(|item| {
                    let mut cells = item.cells();
                    cells.resize(T::COLUMNS.len(), String::new());
                    shown.iter().map(|&index| cells[index].clone()).collect()
                })
                .collect();
            out.write_all(table::layout(&headers, &rows, width).as_bytes())?;
        }
        OutputFormat::Json => {
            serde_json::to_writer_pretty(&mut *out, items)?;
            out.write_all(b"\n")?;
        }
        OutputFormat::Yaml => {
            out.write_all(serde_norway::to_string(items)?.as_bytes())?;
        }
        OutputFormat::Name => {
            for item in items {
                writeln!(out, "{}/{}", item.kind_name(), item.name())?;
            }
        }
    }
    Ok(())
}

/// Writes one item: a JSON or YAML object (not a list of one), else as
/// [`render`] writes a list.
pub fn render_one<T: Tabular>(
    item: &T,
    format: OutputFormat,
    width: Option<usize>,
    out: &mut dyn Write,
) -> Result<(), OutputError> {
    match format {
        OutputFormat::Json => {
            serde_json::to_writer_pretty(&mut *out, item)?;
            out.write_all(b"\n")?;
        }
        OutputFormat::Yaml => out.write_all(serde_norway::to_string(item)?.as_bytes())?,
        _ => render(std::slice::from_ref(item), format, width, out)?,
    }
    Ok(())
}
