//! The polling adapter, for where inotify is missing or blind: it re-reads `.vmlist` and
//! compares each guest's version (the cluster-wide change feed, so it also sees other nodes'
//! writes) and stats subscribed task logs for growth.
//!
//! Interval: [`PollConfig::min_interval`] after a change or a new subscription, multiplied by
//! [`PollConfig::backoff_factor`] after every poll that found nothing, up to
//! [`PollConfig::max_interval`]. With nothing subscribed the task waits for a subscription
//! and sets no timer, so an idle agent does not wake up.

mod state;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use tokio::sync::Notify;
use tokio::task::JoinHandle;

use self::state::PollState;
use super::backoff::Backoff;
use super::event::{Backend, WatchTarget};
use super::{EventSender, WatchError, Watcher};

/// How often the poller looks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PollConfig {
    /// The interval after a change or a new subscription. Default 250 ms.
    pub min_interval: Duration,
    /// The longest interval, reached after polls that found nothing. Default 2 s, which
    /// keeps an idle agent within one wake-up per second.
    pub max_interval: Duration,
    /// How much the interval grows after a poll that found nothing. Default 2.
    pub backoff_factor: u32,
}

impl Default for PollConfig {
    fn default() -> Self {
        Self {
            min_interval: Duration::from_millis(250),
            max_interval: Duration::from_secs(2),
            backoff_factor: 2,
        }
    }
}

/// Polls `.vmlist` and task logs from a tokio task; the task ends when this is dropped.
pub struct PollWatcher {
    state: Arc<Mutex<PollState>>,
    /// Tells the task that a subscription arrived.
    wake: Arc<Notify>,
    wakeups: Arc<AtomicU64>,
    task: JoinHandle<()>,
}

impl PollWatcher {
    /// Spawns the polling task on the current tokio runtime; events go to `events`.
    pub fn start(config: PollConfig, events: EventSender) -> Self {
        let state = Arc::new(Mutex::new(PollState::default()));
        let wake = Arc::new(Notify::new());
        let wakeups = Arc::new(AtomicU64::new(0));
        let task = tokio::spawn(run(
            config,
            Arc::clone(&state),
            Arc::clone(&wake),
            Arc::clone(&wakeups),
            events,
        ));
        Self {
            state,
            wake,
            wakeups,
            task,
        }
    }

    /// How often the polling task has woken up on its timer (each time it polls, unless
    /// the last subscription went away meanwhile). Idle, this stays within one a second.
    pub fn wakeups(&self) -> u64 {
        self.wakeups.load(Ordering::Relaxed)
    }
}

impl Drop for PollWatcher {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Watcher for PollWatcher {
    /// Takes the baseline at once (reads `.vmlist`, stats the task log), so only later
    /// changes are reported. This blocks briefly on the file system.
    fn subscribe(&mut self, target: &WatchTarget) -> Result<Backend, WatchError> {
        lock(&self.state).subscribe(target)?;
        self.wake.notify_one();
        Ok(Backend::Poll)
    }

    fn unsubscribe(&mut self, target: &WatchTarget) -> Result<(), WatchError> {
        let mut state = lock(&self.state);
        state.unsubscribe(target)?;
        if state.is_empty() {
            // Lets the task drop its timer now instead of waking once more.
            self.wake.notify_one();
        }
        Ok(())
    }
}

/// The polling loop.
async fn run(
    config: PollConfig,
    state: Arc<Mutex<PollState>>,
    wake: Arc<Notify>,
    wakeups: Arc<AtomicU64>,
    events: EventSender,
) {
    let mut backoff = Backoff::new(
        config.min_interval,
        config.max_interval,
        config.backoff_factor,
    );
    loop {
        if lock(&state).is_empty() {
            wake.notified().await;
            backoff.reset();
            continue;
        }
        tokio::select! {
            () = tokio::time::sleep(backoff.current()) => {}
            () = wake.notified() => {
                backoff.reset();
                continue;
            }
        }
        wakeups.fetch_add(1, Ordering::Relaxed);
        if lock(&state).is_empty() {
            continue;
        }
        let poll_state = Arc::clone(&state);
        let found = match tokio::task::spawn_blocking(move || lock(&poll_state).poll()).await {
            Ok(found) => found,
            Err(error) => {
                tracing::error!("the watcher's poller stopped: {error}");
                return;
            }
        };
        if found.is_empty() {
            backoff.grow();
            continue;
        }
        backoff.reset();
        for event in found {
            if events.send(event).is_err() {
                return;
            }
        }
    }
}

fn lock(state: &Mutex<PollState>) -> MutexGuard<'_, PollState> {
    state.lock().unwrap_or_else(PoisonError::into_inner)
}
