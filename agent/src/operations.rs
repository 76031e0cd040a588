//! Long operations (creates) as the agent runs them: each has an id, its
//! event history and a change signal, so any number of clients can watch
//! it, re-attach later, and see the same final event. The operation runs in
//! its own task: a client going away does not cancel it.
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use futures::Stream;
use pvectl_proto::v1::{
    CreateEvent, CreatePhase, CreateResult, ErrorDetail, OperationKind, OperationSummary,
    create_event::Outcome,
};
use tokio::sync::watch;
use tokio::time::Instant;

/// Finished operations kept for re-attaching; older ones are forgotten.
const KEEP_FINISHED: usize = 1000;

/// The registry of this agent's operations.
pub struct Operations {
    node: String,
    counter: AtomicU64,
    all: Mutex<BTreeMap<String, Arc<Operation>>>,
}

/// Who started an operation, and what for.
#[derive(Debug, Clone)]
pub struct OperationInfo {
    pub kind: OperationKind,
    /// The caller's certificate name.
    pub actor: String,
    /// The guest name it creates.
    pub name: String,
}

/// One operation: its events so far and a signal for new ones.
pub struct Operation {
    id: String,
    info: OperationInfo,
    started_unix_ms: i64,
    started: Instant,
    state: Mutex<State>,
    changes: watch::Sender<usize>,
    /// Set once `pvectl task stop` asks the operation to end.
    cancel: watch::Sender<bool>,
}

#[derive(Default)]
struct State {
    events: Vec<CreateEvent>,
    phase: CreatePhase,
    vmid: u32,
    upid: String,
    /// Every PVE task it started, oldest first.
    upids: Vec<String>,
    finished: bool,
}

fn unix_ms(time: SystemTime) -> i64 {
    time.duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

impl Operations {
    pub fn new(node: &str) -> Operations {
        Operations {
            node: node.to_string(),
            counter: AtomicU64::new(0),
            all: Mutex::new(BTreeMap::new()),
        }
    }

    /// A new operation with a fresh id (`<node>-<unix ms>-<counter>`).
    pub fn start(&self, info: OperationInfo) -> Arc<Operation> {
        let now = unix_ms(SystemTime::now());
        let count = self.counter.fetch_add(1, Ordering::Relaxed) + 1;
        let id = format!("{}-{now}-{count}", self.node);
        self.insert(id, info, now)
    }

    /// An operation with a known id that started at `started_unix_ms` (one
    /// taken over from the journal after a restart).
    pub fn adopt(&self, id: &str, info: OperationInfo, started_unix_ms: i64) -> Arc<Operation> {
        self.insert(id.to_string(), info, started_unix_ms)
    }

    fn insert(&self, id: String, info: OperationInfo, started_unix_ms: i64) -> Arc<Operation> {
        let age_ms = unix_ms(SystemTime::now()).saturating_sub(started_unix_ms);
        let age = Duration::from_millis(u64::try_from(age_ms).unwrap_or(0));
        let now = Instant::now();
        let operation = Arc::new(Operation {
            id: id.clone(),
            info,
            started_unix_ms,
            started: now.checked_sub(age).unwrap_or(now),
            state: Mutex::new(State::default()),
            changes: watch::Sender::new(0),
            cancel: watch::Sender::new(false),
        });
        let mut all = lock(&self.all);
        all.insert(id, Arc::clone(&operation));
        prune(&mut all);
        operation
    }

    pub fn get(&self, id: &str) -> Option<Arc<Operation>> {
        lock(&self.all).get(id).cloned()
    }

    /// Every operation, newest first; only unfinished ones when `active_only`.
    pub fn list(&self, active_only: bool) -> Vec<Arc<Operation>> {
        let mut list: Vec<Arc<Operation>> = lock(&self.all)
            .values()
            .filter(|op| !active_only || !op.is_finished())
            .cloned()
            .collect();
        list.sort_by_key(|op| std::cmp::Reverse((op.started_unix_ms, op.id.clone())));
        list
    }
}

/// Forgets the oldest finished operations beyond [`KEEP_FINISHED`].
fn prune(all: &mut BTreeMap<String, Arc<Operation>>) {
    let mut finished: Vec<(i64, String)> = all
        .values()
        .filter(|op| op.is_finished())
        .map(|op| (op.started_unix_ms, op.id.clone()))
        .collect();
    if finished.len() <= KEEP_FINISHED {
        return;
    }
    finished.sort();
    let excess = finished.len() - KEEP_FINISHED;
    for (_, id) in finished.into_iter().take(excess) {
        all.remove(&id);
    }
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // state changes are single assignments and pushes: consistent after a panic
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Operation {
    pub fn id(&self) -> &str {
        &self.id
    }

    pub fn info(&self) -> &OperationInfo {
        &self.info
    }

    pub fn is_finished(&self) -> bool {
        lock(&self.state).finished
    }

    /// The phase reached so far.
    pub fn phase(&self) -> CreatePhase {
        lock(&self.state).phase
    }

    /// The VMID events carry from now on.
    pub fn set_vmid(&self, vmid: u32) {
        lock(&self.state).vmid = vmid;
    }

    /// The PVE task events carry from now on.
    pub fn set_upid(&self, upid: &str) {
        let mut state = lock(&self.state);
        state.upid = upid.to_string();
        if !upid.is_empty() && !state.upids.iter().any(|known| known == upid) {
            state.upids.push(upid.to_string());
        }
    }

    /// The PVE task it runs now (or ran last); empty before its first.
    pub fn upid(&self) -> String {
        lock(&self.state).upid.clone()
    }

    /// Every PVE task it started, oldest first.
    pub fn upids(&self) -> Vec<String> {
        lock(&self.state).upids.clone()
    }

    /// Asks the operation to end: it starts no further step, and a step
    /// waiting for its turn gives up.
    pub fn cancel(&self) {
        self.cancel.send_replace(true);
    }

    pub fn is_cancelled(&self) -> bool {
        *self.cancel.borrow()
    }

    /// Resolves once [`Operation::cancel`] was called.
    pub async fn cancelled(&self) {
        let mut signal = self.cancel.subscribe();
        // the sender lives in `self`, so waiting cannot fail
        let _ = signal.wait_for(|cancelled| *cancelled).await;
    }

    /// Records a progress event. Phases only move forward: an earlier phase
    /// is reported as the current one. Ignored once finished.
    pub fn emit(&self, phase: CreatePhase, percent: Option<u32>, message: impl Into<String>) {
        self.push(phase, percent, message.into(), None);
    }

    /// The final event with the result.
    pub fn finish_ok(&self, result: CreateResult, message: impl Into<String>) {
        self.push(
            CreatePhase::Done,
            None,
            message.into(),
            Some(Outcome::Result(result)),
        );
    }

    /// The final event with the error.
    pub fn finish_err(&self, error: ErrorDetail) {
        let message = error.message.clone();
        self.push(
            CreatePhase::Failed,
            None,
            message,
            Some(Outcome::Error(error)),
        );
    }

    fn push(
        &self,
        phase: CreatePhase,
        percent: Option<u32>,
        message: String,
        outcome: Option<Outcome>,
    ) {
        let count = {
            let mut state = lock(&self.state);
            if state.finished {
                return;
            }
            let phase = if outcome.is_some() {
                phase
            } else {
                phase.max(state.phase)
            };
            state.phase = phase;
            state.finished = outcome.is_some();
            let elapsed = Instant::now().saturating_duration_since(self.started);
            let event = CreateEvent {
                operation_id: self.id.clone(),
                phase: phase as i32,
                percent: percent.map(|p| p.min(100)),
                elapsed_ms: u64::try_from(elapsed.as_millis()).unwrap_or(u64::MAX),
                message,
                vmid: state.vmid,
                upid: state.upid.clone(),
                outcome,
            };
            state.events.push(event);
            state.events.len()
        };
        self.changes.send_replace(count);
    }

    /// The latest event, if any.
    pub fn last_event(&self) -> Option<CreateEvent> {
        lock(&self.state).events.last().cloned()
    }

    /// Every event so far.
    pub fn events(&self) -> Vec<CreateEvent> {
        lock(&self.state).events.clone()
    }

    pub fn summary(&self) -> OperationSummary {
        OperationSummary {
            operation_id: self.id.clone(),
            kind: self.info.kind as i32,
            actor: self.info.actor.clone(),
            started_unix_ms: self.started_unix_ms,
            name: self.info.name.clone(),
            last_event: self.last_event(),
        }
    }

    /// The events from the first (`from_start`) or the latest one on, then
    /// each new one, ending after the final event. Lossless for any number
    /// of watchers: each reads the shared history at its own pace.
    pub fn watch(self: &Arc<Self>, from_start: bool) -> impl Stream<Item = CreateEvent> + use<> {
        let next = if from_start {
            0
        } else {
            lock(&self.state).events.len().saturating_sub(1)
        };
        let changes = self.changes.subscribe();
        futures::stream::unfold(
            (Arc::clone(self), next, changes),
            |(op, mut next, mut changes)| async move {
                loop {
                    changes.borrow_and_update();
                    let (event, finished) = {
                        let state = lock(&op.state);
                        (state.events.get(next).cloned(), state.finished)
                    };
                    if let Some(event) = event {
                        next += 1;
                        return Some((event, (op, next, changes)));
                    }
                    if finished || changes.changed().await.is_err() {
                        return None;
                    }
                }
            },
        )
    }
}

#[cfg(test)]
mod tests;
