//! Every operation that makes a guest — a VM from a template (the headline
//! flow, DESIGN "Create a VM from a template"), a VM or a container from
//! scratch, a template promoted into a node's range — runs as an
//! [`Operation`] in its own task: it streams its progress to any number of
//! watchers, journals its start, key steps and end, and is taken over by a
//! restarted agent. The machinery is shared: request records and journal
//! marks (`record`), VMID allocation with reservations (`allocate`), the
//! per-storage queue (`queue`), collision retries with fresh ids
//! (`attempts`), the PVE clone and create tasks (`clone`, `create_task`),
//! failure reports (`failure`), start and result (`finish`), and resuming
//! (`resume`).

pub mod allocate;
mod attempts;
mod clone;
mod create_task;
mod failure;
mod finish;
pub mod from_template;
mod progress;
pub mod promote;
pub mod queue;
pub mod record;
pub mod request;
pub mod resume;
pub mod scratch;

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use pvectl_proto::v1::CreateResult;
use tokio::time::Instant;
use tracing::Instrument;

use crate::authz::Caller;
use crate::context::Ctx;
use crate::error::AgentError;
use crate::operations::{Operation, OperationInfo};
use record::{CreateProgress, Request};

pub use attempts::is_collision;
pub use from_template::start;

/// One running operation: what was asked, what is done, and its deadline.
pub struct Run<R> {
    pub ctx: Ctx,
    pub op: Arc<Operation>,
    pub record: R,
    pub progress: CreateProgress,
    pub deadline: Instant,
    pub timeout: Duration,
}

/// A create from a template while it runs.
pub type CreateRun = Run<request::CreateRecord>;

impl<R: Request> Run<R> {
    pub fn new(ctx: &Ctx, op: Arc<Operation>, record: R, progress: CreateProgress) -> Self {
        let timeout = match record.timeout_seconds() {
            0 => ctx.config.timeouts.create,
            seconds => Duration::from_secs(u64::from(seconds)),
        };
        Run {
            ctx: ctx.clone(),
            op,
            record,
            progress,
            deadline: Instant::now() + timeout,
            timeout,
        }
    }

    /// Journals a progress mark holding everything done so far.
    pub async fn mark(&self, step: &str) {
        record::progress(&self.ctx, &self.op, step, &self.record, &self.progress).await;
    }

    /// Notes a PVE task this operation just started; if `pvectl task stop`
    /// came while the request was under way (and so found no task to stop),
    /// stops it now.
    pub async fn task_started(&self, upid: &str) {
        self.op.set_upid(upid);
        if self.op.is_cancelled()
            && let Err(err) = self.ctx.pve.stop_task(&self.ctx.node, upid).await
        {
            tracing::warn!(%upid, %err, "cannot stop the {} of a stopped operation", R::MAIN_TASK);
        }
    }
}

/// How one kind of operation runs once started or taken over.
pub trait Flow: Request {
    /// Every remaining step, from wherever `run.progress` says it is.
    fn execute(
        run: &mut Run<Self>,
    ) -> impl Future<Output = Result<CreateResult, AgentError>> + Send;

    /// The final event's message ("VM 104 'web1' created on pve1").
    fn done_message(result: &CreateResult) -> String;
}

/// Registers the operation for a checked `record`, journals its start and
/// sets it running; the caller only watches.
pub async fn launch<R: Flow>(
    ctx: &Ctx,
    caller: &Caller,
    record: R,
) -> Result<Arc<Operation>, AgentError> {
    let op = ctx.operations.start(OperationInfo {
        kind: R::KIND,
        actor: caller.cn.clone(),
        name: record.name().to_string(),
    });
    if let Err(err) = record::started(ctx, &op, &record).await {
        op.finish_err((*err.detail).clone());
        return Err(err);
    }
    spawn(Run::new(
        ctx,
        Arc::clone(&op),
        record,
        CreateProgress::default(),
    ));
    Ok(op)
}

/// Journals a request refused before it became an operation and hands the
/// error back.
pub async fn refuse<R: Request>(
    ctx: &Ctx,
    caller: &Caller,
    name: &str,
    err: AgentError,
) -> AgentError {
    record::refused::<R>(ctx, &caller.cn, name, &err).await;
    err
}

/// Runs `run` to its end in its own task.
pub fn spawn<R: Flow>(run: Run<R>) {
    let span = tracing::info_span!("operation", id = run.op.id(), action = R::ACTION);
    tokio::spawn(run_to_end(run).instrument(span));
}

async fn run_to_end<R: Flow>(mut run: Run<R>) {
    let outcome = R::execute(&mut run).await.map_err(|err| {
        let mut detail = *err.detail;
        if run.op.is_cancelled() && detail.hint.is_empty() {
            detail.hint = "the operation was stopped (pvectl task stop)".to_string();
        }
        detail
    });
    let target = record::target(&run.record, &run.progress);
    record::finished(&run.ctx, &run.op, R::ACTION, target, &outcome).await;
    match outcome {
        Ok(result) => {
            let message = R::done_message(&result);
            run.op.finish_ok(result, message);
        }
        Err(detail) => run.op.finish_err(detail),
    }
}

/// The error of an operation stopped by `pvectl task stop` before it
/// changed anything; `while_doing` says where it was.
pub fn stopped(while_doing: &str) -> AgentError {
    AgentError::conflict(format!(
        "the create was stopped while {while_doing}; nothing was created"
    ))
}
