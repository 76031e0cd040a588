//! The per-storage clone queue (DESIGN, create step 4): at most
//! `clones_per_storage` clones (or disk allocations of creates from
//! scratch) run against one target storage at once, since PVE's storage
//! lock times out after 10 s and more parallel allocations fail rather than
//! go faster. Permits are taken in storage order, so creates that need
//! several storages cannot deadlock.
use std::collections::{BTreeSet, HashMap};
use std::num::NonZeroUsize;
use std::sync::{Arc, Mutex, PoisonError};

use pvectl_proto::v1::CreatePhase;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use super::Run;
use super::failure::step_timed_out;
use super::record::Request;
use crate::error::AgentError;

/// One semaphore per storage id, made on first use.
pub struct CloneQueue {
    per_storage: usize,
    semaphores: Mutex<HashMap<String, Arc<Semaphore>>>,
}

/// Slots held on every storage a clone writes to; released when dropped.
#[derive(Debug)]
pub struct ClonePermits {
    _permits: Vec<OwnedSemaphorePermit>,
}

impl CloneQueue {
    pub fn new(per_storage: NonZeroUsize) -> CloneQueue {
        CloneQueue {
            per_storage: per_storage.get(),
            semaphores: Mutex::new(HashMap::new()),
        }
    }

    /// Clones at once per storage.
    pub fn per_storage(&self) -> usize {
        self.per_storage
    }

    fn semaphore(&self, storage: &str) -> Arc<Semaphore> {
        let mut semaphores = self
            .semaphores
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        Arc::clone(
            semaphores
                .entry(storage.to_string())
                .or_insert_with(|| Arc::new(Semaphore::new(self.per_storage))),
        )
    }

    /// Takes a slot on each of `storages`, waiting where all are busy;
    /// `on_wait` hears of the first storage it has to wait for.
    pub async fn acquire(
        &self,
        storages: &BTreeSet<String>,
        on_wait: impl FnOnce(&str),
    ) -> ClonePermits {
        let mut on_wait = Some(on_wait);
        let mut permits = Vec::with_capacity(storages.len());
        for storage in storages {
            let semaphore = self.semaphore(storage);
            let permit = match Arc::clone(&semaphore).try_acquire_owned() {
                Ok(permit) => permit,
                Err(_) => {
                    if let Some(on_wait) = on_wait.take() {
                        on_wait(storage);
                    }
                    match semaphore.acquire_owned().await {
                        Ok(permit) => permit,
                        // never closed: this arm cannot happen
                        Err(_) => continue,
                    }
                }
            };
            permits.push(permit);
        }
        ClonePermits { _permits: permits }
    }
}

/// Waits (until the operation's deadline, or until it is stopped) for a
/// slot on each storage the operation allocates on, saying so while it
/// waits; `what` is the kind of work (`clone`, `disk allocation`).
pub async fn wait_for_slots<R: Request>(
    run: &Run<R>,
    storages: &BTreeSet<String>,
    what: &str,
) -> Result<ClonePermits, AgentError> {
    let queue = &run.ctx.clone_queue;
    let per_storage = queue.per_storage();
    let queued = queue.acquire(storages, |storage| {
        run.op.emit(
            CreatePhase::Queued,
            None,
            format!(
                "waiting for a {what} slot on storage '{storage}' ({per_storage} {what}s at once)"
            ),
        );
    });
    let waiting = format!("waiting for a {what} slot");
    tokio::select! {
        permits = tokio::time::timeout_at(run.deadline, queued) => permits
            .map_err(|_| step_timed_out(run.timeout, &waiting)),
        () = run.op.cancelled() => Err(super::stopped(&waiting)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn storages(ids: &[&str]) -> BTreeSet<String> {
        ids.iter().map(|s| s.to_string()).collect()
    }

    #[tokio::test]
    async fn a_third_clone_on_one_storage_waits_for_a_slot() {
        let queue = Arc::new(CloneQueue::new(NonZeroUsize::new(2).unwrap()));
        let mut waited = Vec::new();
        let a = queue
            .acquire(&storages(&["local-lvm"]), |s| waited.push(s.to_string()))
            .await;
        let _b = queue
            .acquire(&storages(&["local-lvm"]), |s| waited.push(s.to_string()))
            .await;
        let _other = queue
            .acquire(&storages(&["shared"]), |s| waited.push(s.to_string()))
            .await;
        assert!(waited.is_empty());
        let (tx, rx) = tokio::sync::oneshot::channel();
        let third = tokio::spawn({
            let queue = Arc::clone(&queue);
            async move {
                queue
                    .acquire(&storages(&["local-lvm"]), |s| {
                        let _ = tx.send(s.to_string());
                    })
                    .await
            }
        });
        assert_eq!(rx.await.unwrap(), "local-lvm");
        drop(a);
        third.await.unwrap();
    }
}
