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

/// Time since start as people read it (`3d 4h`, `2h 5m`, `42s`); `-` when
/// stopped.
pub(super) fn uptime(seconds: u64) -> String {
    let (days, hours, minutes) = (seconds / 86_400, seconds / 3600 % 24, seconds / 60 % 60);
    match (days, hours, minutes) {
        _ if seconds == 0 => "-".to_owned(),
        (0, 0, 0) => format!("{seconds}s"),
        (0, 0, m) => format!("{m}m {}s", seconds % 60),
        (0, h, m) => format!("{h}h {m}m"),
        (d, h, _) => format!("{d}d {h}h"),
    }
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
    fn uptimes_read_in_the_two_largest_units() {
        assert_eq!(super::uptime(0), "-");
        assert_eq!(super::uptime(42), "42s");
        assert_eq!(super::uptime(125), "2m 5s");
        assert_eq!(super::uptime(7500), "2h 5m");
        assert_eq!(super::uptime(3 * 86_400 + 4 * 3600 + 59), "3d 4h");
    }

    #[test]
    fn unix_milliseconds_read_as_utc_times() {
        assert_eq!(unix_ms(1_735_689_599_500), "2024-12-31T23:59:59.500Z");
    }
}
