//! Small renderings shared by the resource commands: sizes, kinds, states
//! and times as people read them.

use pvectl_proto::v1::{GuestKind, GuestStatus};
use time::OffsetDateTime;
use time::macros::format_description;

/// Binary units with one decimal (`12.0 GiB`), bytes below 1 KiB.
pub(super) fn bytes(value: u64) -> String {
    const UNITS: [&str; 5] = ["KiB", "MiB", "GiB", "TiB", "PiB"];
    if value < 1024 {
        return format!("{value} B");
    }
    let mut size = value as f64 / 1024.0;
    let mut unit = 0;
    while size >= 1024.0 && unit + 1 < UNITS.len() {
        size /= 1024.0;
        unit += 1;
    }
    format!("{size:.1} {}", UNITS[unit])
}

pub(super) fn kind(kind: GuestKind) -> &'static str {
    match kind {
        GuestKind::Qemu => "qemu",
        GuestKind::Lxc => "lxc",
        GuestKind::Unspecified => "unknown",
    }
}

pub(super) fn status(status: GuestStatus) -> &'static str {
    match status {
        GuestStatus::Running => "running",
        GuestStatus::Stopped => "stopped",
        GuestStatus::Paused => "paused",
        GuestStatus::Suspended => "suspended",
        GuestStatus::Unknown | GuestStatus::Unspecified => "unknown",
    }
}

/// Unix milliseconds as RFC 3339 UTC with milliseconds.
pub(super) fn unix_ms(ms: i64) -> String {
    let format =
        format_description!("[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]Z");
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .ok()
        .and_then(|time| time.format(&format).ok())
        .unwrap_or_else(|| ms.to_string())
}

/// `-` for an empty cell.
pub(super) fn or_dash(text: &str) -> String {
    if text.is_empty() {
        "-".to_owned()
    } else {
        text.to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::{bytes, unix_ms};

    #[test]
    fn sizes_read_in_binary_units() {
        assert_eq!(bytes(512), "512 B");
        assert_eq!(bytes(32 << 30), "32.0 GiB");
        assert_eq!(bytes(1536 << 20), "1.5 GiB");
    }

    #[test]
    fn unix_milliseconds_read_as_utc_times() {
        assert_eq!(unix_ms(1_735_689_599_500), "2024-12-31T23:59:59.500Z");
    }
}
