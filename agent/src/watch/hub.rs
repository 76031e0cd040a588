//! One watcher, many waiters: the hub owns the watcher and routes each event to the
//! subscriptions whose target wants it. A subscription unsubscribes when dropped.

use std::sync::{Arc, Mutex, MutexGuard, PoisonError, Weak};

use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use super::event::{Backend, WatchEvent, WatchTarget};
use super::{EventReceiver, PollConfig, WatchError, Watcher, WatcherMode, start_watcher};

/// Shares one [`Watcher`] among any number of [`Subscription`]s.
pub struct WatchHub {
    shared: Arc<Mutex<Shared>>,
    router: JoinHandle<()>,
}

struct Shared {
    watcher: Box<dyn Watcher>,
    listeners: Vec<Listener>,
    next_id: u64,
}

struct Listener {
    id: u64,
    target: WatchTarget,
    events: mpsc::UnboundedSender<WatchEvent>,
}

impl WatchHub {
    /// Starts the watcher `mode` asks for and a hub around it.
    pub fn start(mode: WatcherMode, poll: PollConfig) -> Result<Self, WatchError> {
        let (watcher, events) = start_watcher(mode, poll)?;
        Ok(Self::new(watcher, events))
    }

    /// A hub around `watcher`, whose events arrive on `events`. Spawns the routing task on
    /// the current tokio runtime; it ends when the hub is dropped.
    pub fn new(watcher: Box<dyn Watcher>, events: EventReceiver) -> Self {
        let shared = Arc::new(Mutex::new(Shared {
            watcher,
            listeners: Vec::new(),
            next_id: 0,
        }));
        let router = tokio::spawn(route(Arc::downgrade(&shared), events));
        Self { shared, router }
    }

    /// Subscribes to `target`; events for it arrive on the returned subscription until it is
    /// dropped.
    pub fn subscribe(&self, target: WatchTarget) -> Result<Subscription, WatchError> {
        let mut shared = lock(&self.shared);
        let backend = shared.watcher.subscribe(&target)?;
        let (sender, events) = mpsc::unbounded_channel();
        let id = shared.next_id;
        shared.next_id += 1;
        shared.listeners.push(Listener {
            id,
            target: target.clone(),
            events: sender,
        });
        Ok(Subscription {
            id,
            target,
            backend,
            events,
            hub: Arc::downgrade(&self.shared),
        })
    }
}

impl Drop for WatchHub {
    fn drop(&mut self) {
        self.router.abort();
    }
}

/// The events of one target. Unsubscribes when dropped.
pub struct Subscription {
    id: u64,
    target: WatchTarget,
    backend: Backend,
    events: mpsc::UnboundedReceiver<WatchEvent>,
    hub: Weak<Mutex<Shared>>,
}

impl Subscription {
    pub fn target(&self) -> &WatchTarget {
        &self.target
    }

    /// Which mechanism serves this subscription.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// The next event; `None` once the hub is gone.
    pub async fn next(&mut self) -> Option<WatchEvent> {
        self.events.recv().await
    }

    /// Drops the events already queued; for a reader about to look at the file anyway.
    pub fn discard_pending(&mut self) {
        while self.events.try_recv().is_ok() {}
    }
}

impl Drop for Subscription {
    fn drop(&mut self) {
        let Some(shared) = self.hub.upgrade() else {
            return;
        };
        let mut shared = lock(&shared);
        shared.listeners.retain(|listener| listener.id != self.id);
        if let Err(error) = shared.watcher.unsubscribe(&self.target) {
            tracing::warn!("dropping a subscription: {error}");
        }
    }
}

/// Routes each event to the listeners that want it, until the watcher or the hub is gone.
async fn route(shared: Weak<Mutex<Shared>>, mut events: EventReceiver) {
    while let Some(event) = events.recv().await {
        let Some(shared) = shared.upgrade() else {
            return;
        };
        let shared = lock(&shared);
        for listener in shared.listeners.iter().filter(|l| l.target.wants(&event)) {
            // A closed receiver belongs to a subscription being dropped right now.
            let _ = listener.events.send(event.clone());
        }
    }
}

fn lock(shared: &Mutex<Shared>) -> MutexGuard<'_, Shared> {
    shared.lock().unwrap_or_else(PoisonError::into_inner)
}
