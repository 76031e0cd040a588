//! What wakes a waiting create: changes of its task log and of the guest
//! config directory of its node. [`WakeupSource`] is the seam the watcher
//! plugs into; [`PollingWakeups`] wakes on a backoff timer instead (the
//! fallback where nothing better is available, and API-only mode).
use std::path::PathBuf;
use std::time::Duration;

use futures::future::BoxFuture;

use crate::pmxcfs::GuestKind;

/// Why a waiter woke.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Wake {
    /// The task log changed.
    TaskLog,
    /// A config in the guest's directory changed.
    Guest,
    /// Anything may have changed (a timer, lost events).
    Any,
}

/// A node's config directory of one kind:
/// `<pmxcfs_root>/nodes/<node>/<qemu-server|lxc>/`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GuestDir {
    pub pmxcfs_root: PathBuf,
    pub node: String,
    pub kind: GuestKind,
}

/// What one waiter wants to be woken for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WakeTargets {
    pub guest_dir: Option<GuestDir>,
    /// The task's log file (it may not exist yet).
    pub task_log: Option<PathBuf>,
}

/// One waiter's wake-ups; dropping it ends them.
pub trait Wakeups: Send {
    /// Resolves at the next change (or timer).
    fn next(&mut self) -> BoxFuture<'_, Wake>;
}

/// Opens wake-ups for waiters. Changes made before `open` returns are not
/// reported: waiters read the current state after opening.
pub trait WakeupSource: Send + Sync {
    fn open(&self, targets: &WakeTargets) -> Box<dyn Wakeups>;
}

/// Wakes on a timer whose interval grows from `first` by `factor` up to
/// `max`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PollingWakeups {
    pub first: Duration,
    pub max: Duration,
    pub factor: f64,
    next: Duration,
}

impl PollingWakeups {
    pub fn new(first: Duration, max: Duration, factor: f64) -> PollingWakeups {
        PollingWakeups {
            first,
            max,
            factor,
            next: first,
        }
    }

    /// For reading a task log through the API: 100 ms, growing to 2 s.
    pub fn api() -> PollingWakeups {
        PollingWakeups::new(Duration::from_millis(100), Duration::from_secs(2), 1.5)
    }
}

impl Default for PollingWakeups {
    /// For local files: 20 ms, growing to 500 ms.
    fn default() -> Self {
        PollingWakeups::new(Duration::from_millis(20), Duration::from_millis(500), 1.5)
    }
}

impl Wakeups for PollingWakeups {
    fn next(&mut self) -> BoxFuture<'_, Wake> {
        let wait = self.next;
        self.next = self.next.mul_f64(self.factor).min(self.max);
        Box::pin(async move {
            tokio::time::sleep(wait).await;
            Wake::Any
        })
    }
}

impl WakeupSource for PollingWakeups {
    fn open(&self, _targets: &WakeTargets) -> Box<dyn Wakeups> {
        Box::new(PollingWakeups::new(self.first, self.max, self.factor))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn polling_backs_off_up_to_its_maximum() {
        let mut wake =
            PollingWakeups::new(Duration::from_millis(10), Duration::from_millis(40), 2.0);
        let mut gaps = Vec::new();
        for _ in 0..4 {
            let before = tokio::time::Instant::now();
            assert_eq!(wake.next().await, Wake::Any);
            gaps.push(before.elapsed().as_millis());
        }
        assert_eq!(gaps, [10, 20, 40, 40]);
    }
}
