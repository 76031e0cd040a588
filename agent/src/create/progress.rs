//! The clone's overall percentage from its task log: PVE logs
//! `create full clone of drive scsi0 (…)` before each disk and
//! `transferred 1.0 GiB of 4.0 GiB (25.00%)` per disk; weighting each disk
//! by its size gives one number for the whole clone. No IO.
use std::collections::BTreeMap;

/// Follows the clone's log lines.
#[derive(Debug, Clone)]
pub struct CloneProgress {
    sizes: BTreeMap<String, u64>,
    total: u64,
    done: u64,
    current: u64,
    last: Option<u32>,
}

impl CloneProgress {
    /// `disks` are the copied disks with their sizes in bytes.
    pub fn new(disks: impl IntoIterator<Item = (String, u64)>) -> CloneProgress {
        let sizes: BTreeMap<String, u64> = disks.into_iter().collect();
        CloneProgress {
            total: sizes.values().sum(),
            sizes,
            done: 0,
            current: 0,
            last: None,
        }
    }

    /// Reads one log line; the new overall percentage when it changed.
    pub fn line(&mut self, line: &str) -> Option<u32> {
        let overall = if let Some(key) = drive_started(line) {
            self.done += self.current;
            self.current = self.sizes.get(key).copied().unwrap_or_default();
            self.percent_of(0.0)?
        } else {
            let percent = transferred_percent(line)?;
            self.percent_of(percent)?
        };
        (self.last != Some(overall)).then(|| {
            self.last = Some(overall);
            overall
        })
    }

    fn percent_of(&self, disk_percent: f64) -> Option<u32> {
        if self.total == 0 {
            return Some(disk_percent.floor() as u32);
        }
        let bytes = self.done as f64 + self.current as f64 * disk_percent / 100.0;
        Some(((bytes * 100.0 / self.total as f64).floor() as u32).min(100))
    }
}

/// `create full clone of drive scsi0 (…)` / `create linked clone of drive …`.
fn drive_started(line: &str) -> Option<&str> {
    let rest = line
        .strip_prefix("create full clone of drive ")
        .or_else(|| line.strip_prefix("create linked clone of drive "))?;
    rest.split_whitespace().next()
}

/// The `x` of `transferred … (x%)`.
fn transferred_percent(line: &str) -> Option<f64> {
    if !line.contains("transferred ") {
        return None;
    }
    let end = line.find("%)")?;
    let start = line[..end].rfind('(')? + 1;
    line[start..end].trim().parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentages_are_weighted_by_disk_size_and_reported_on_change() {
        let gib = 1u64 << 30;
        let mut progress = CloneProgress::new([("scsi0".into(), 3 * gib), ("scsi1".into(), gib)]);
        assert_eq!(
            progress.line("create full clone of drive scsi0 (local-lvm:base-9100-disk-0)"),
            Some(0)
        );
        assert_eq!(
            progress.line("transferred 1.5 GiB of 3.0 GiB (50.00%)"),
            Some(37)
        );
        assert_eq!(
            progress.line("transferred 1.5 GiB of 3.0 GiB (50.00%)"),
            None
        );
        assert_eq!(
            progress.line("transferred 3.0 GiB of 3.0 GiB (100.00%)"),
            Some(75)
        );
        progress.line("create full clone of drive scsi1 (local-lvm:base-9100-disk-1)");
        assert_eq!(
            progress.line("drive-scsi1: transferred 1.0 GiB of 1.0 GiB (100.00%) in 2s"),
            Some(100)
        );
        assert_eq!(progress.line("some other line"), None);
    }

    #[test]
    fn without_sizes_the_disk_percentage_is_the_overall_one() {
        let mut progress = CloneProgress::new([]);
        assert_eq!(
            progress.line("transferred 1.0 GiB of 4.0 GiB (25.00%)"),
            Some(25)
        );
    }
}
