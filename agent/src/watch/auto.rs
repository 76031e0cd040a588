//! `auto` mode: inotify for each target whose directory it can watch, polling for the rest
//! (inotify unavailable, the directory missing, the watch limit reached).

use std::collections::HashMap;

use super::event::{Backend, WatchTarget};
use super::{EventSender, InotifyWatcher, PollConfig, PollWatcher, WatchError, Watcher};

/// Chooses a backend per target; both send to the same channel.
pub struct AutoWatcher {
    /// `None` when inotify could not be initialised.
    inotify: Option<InotifyWatcher>,
    poll: PollWatcher,
    /// The backend each subscribed target uses, and how often it is subscribed.
    backends: HashMap<WatchTarget, (Backend, usize)>,
}

impl AutoWatcher {
    /// Initialises inotify if it can and starts the (idle) poller.
    pub fn start(poll: PollConfig, events: EventSender) -> Self {
        let inotify = match InotifyWatcher::start(events.clone()) {
            Ok(inotify) => Some(inotify),
            Err(error) => {
                tracing::warn!("watching by polling only: {error}");
                None
            }
        };
        Self {
            inotify,
            poll: PollWatcher::start(poll, events),
            backends: HashMap::new(),
        }
    }

    fn backend(&mut self, backend: Backend) -> &mut dyn Watcher {
        match (backend, self.inotify.as_mut()) {
            (Backend::Inotify, Some(inotify)) => inotify,
            _ => &mut self.poll,
        }
    }
}

impl Watcher for AutoWatcher {
    fn subscribe(&mut self, target: &WatchTarget) -> Result<Backend, WatchError> {
        let backend = match self.backends.get(target) {
            Some((backend, _)) => self.backend(*backend).subscribe(target)?,
            None => match self
                .inotify
                .as_mut()
                .map(|inotify| inotify.subscribe(target))
            {
                Some(Ok(backend)) => backend,
                Some(Err(WatchError::Watch { path, source })) => {
                    tracing::debug!(
                        "polling {target}: cannot watch {}: {source}",
                        path.display()
                    );
                    self.poll.subscribe(target)?
                }
                Some(Err(other)) => return Err(other),
                None => self.poll.subscribe(target)?,
            },
        };
        self.backends
            .entry(target.clone())
            .or_insert((backend, 0))
            .1 += 1;
        Ok(backend)
    }

    fn unsubscribe(&mut self, target: &WatchTarget) -> Result<(), WatchError> {
        let (backend, count) = self
            .backends
            .get_mut(target)
            .ok_or_else(|| WatchError::NotSubscribed(target.to_string()))?;
        let backend = *backend;
        *count -= 1;
        if *count == 0 {
            self.backends.remove(target);
        }
        self.backend(backend).unsubscribe(target)
    }
}
