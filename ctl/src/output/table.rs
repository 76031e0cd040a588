//! Lays out a table the kubectl way: no borders, columns three spaces apart,
//! widest columns cut first when the terminal is too narrow.

/// Spaces between two columns.
const GAP: usize = 3;

/// A column is never cut below this many characters (or its natural width).
const NARROWEST: usize = 4;

/// The whole table, one line per row after the header line. With a `width`,
/// the widest columns are cut (ending in `…`) until every line fits.
pub(super) fn layout(headers: &[String], rows: &[Vec<String>], width: Option<usize>) -> String {
    let natural: Vec<usize> = (0..headers.len())
        .map(|column| {
            rows.iter()
                .map(|row| chars(&row[column]))
                .chain([chars(&headers[column])])
                .max()
                .unwrap_or(0)
        })
        .collect();
    let widths = match width {
        Some(width) => fit(&natural, width),
        None => natural,
    };
    let mut text = String::new();
    for row in [headers].into_iter().chain(rows.iter().map(Vec::as_slice)) {
        let mut line = String::new();
        for (column, cell) in row.iter().enumerate() {
            if column > 0 {
                line.push_str(&" ".repeat(GAP));
            }
            let cell = cut(cell, widths[column]);
            let padding = widths[column] - chars(&cell);
            line.push_str(&cell);
            line.push_str(&" ".repeat(padding));
        }
        text.push_str(line.trim_end());
        text.push('\n');
    }
    text
}

/// Narrows the widest columns, one character at a time, until the line fits
/// `width` or no column can give more.
fn fit(natural: &[usize], width: usize) -> Vec<usize> {
    let mut widths = natural.to_vec();
    let floor: Vec<usize> = natural.iter().map(|&w| w.min(NARROWEST)).collect();
    let gaps = GAP * natural.len().saturating_sub(1);
    while widths.iter().sum::<usize>() + gaps > width {
        let widest = (0..widths.len())
            .filter(|&column| widths[column] > floor[column])
            .max_by_key(|&column| (widths[column], std::cmp::Reverse(column)));
        match widest {
            Some(column) => widths[column] -= 1,
            None => break,
        }
    }
    widths
}

/// `cell` cut to `width` characters, its last one replaced by `…` when cut.
fn cut(cell: &str, width: usize) -> String {
    if chars(cell) <= width {
        return cell.to_owned();
    }
    let mut kept: String = cell.chars().take(width.saturating_sub(1)).collect();
    kept.push('…');
    kept
}

fn chars(text: &str) -> usize {
    text.chars().count()
}
