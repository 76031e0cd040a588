//! VMs and containers from scratch (`CreateVm`, `CreateContainer`): the
//! request is checked, then the node's storages, volumes and bridges
//! (`checks`), then the operation queues for its storages, allocates a
//! VMID, has PVE create the guest (retrying with a fresh id when another
//! create takes it first), verifies it and starts it when asked.

mod checks;
mod ct;
mod values;
mod vm;

use std::sync::Arc;

use pvectl_proto::v1::{
    CreateContainerRequest, CreatePhase, CreateResult, CreateVmRequest, OperationKind,
};
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::allocate::{self, IdPool};
use super::attempts::{self, Maker};
use super::create_task::{self, CreatePlan};
use super::failure::words;
use super::finish;
use super::queue::wait_for_slots;
use super::record::Request;
use super::{Flow, Run, launch, refuse};
use crate::authz::Caller;
use crate::context::Ctx;
use crate::error::AgentError;
use crate::operations::Operation;
use crate::pmxcfs::GuestKind;
use crate::templates;
use checks::Needs;
use values::Basics;

pub use ct::ContainerRecord;
pub use vm::VmRecord;

/// A checked request for a guest from scratch; every such record is a
/// [`Request`] through its [`Basics`].
pub trait Scratch: Serialize + DeserializeOwned + Send + Sync + 'static {
    /// The journal action of the whole operation.
    const ACTION: &'static str;
    /// What `ListOperations` calls it.
    const KIND: OperationKind;
    /// The journal target's prefix (`vm`, `ct`).
    const TARGET: &'static str;
    /// The kind of guest made.
    const GUEST: GuestKind;

    /// What the guest needs of its node.
    fn needs(&self) -> Needs;
    /// How PVE is asked to create it.
    fn plan(&self) -> CreatePlan;
    /// Name, node, VMID, sizes, tags, start.
    fn basics(&self) -> &Basics;
}

impl<T: Scratch> Request for T {
    const ACTION: &'static str = T::ACTION;
    const KIND: OperationKind = T::KIND;
    const TARGET: &'static str = T::TARGET;
    const GUEST: GuestKind = T::GUEST;
    const MAIN_TASK: &'static str = "create";

    fn name(&self) -> &str {
        &self.basics().name
    }

    fn vmid(&self) -> Option<u32> {
        self.basics().vmid
    }

    fn timeout_seconds(&self) -> u32 {
        self.basics().timeout_seconds
    }
}

/// `CreateVm`: checks, routes and starts the operation.
pub async fn start_vm(
    ctx: &Ctx,
    caller: &Caller,
    request: CreateVmRequest,
) -> Result<Arc<Operation>, AgentError> {
    let name = request.name.clone();
    start(ctx, caller, &name, vm::check(request)).await
}

/// `CreateContainer`: checks, routes and starts the operation.
pub async fn start_container(
    ctx: &Ctx,
    caller: &Caller,
    request: CreateContainerRequest,
) -> Result<Arc<Operation>, AgentError> {
    let name = request.hostname.clone();
    start(ctx, caller, &name, ct::check(request)).await
}

/// Bad input (INVALID_ARGUMENT) is journaled as refused and a request for
/// another node answered WRONG_NODE, both before there is an operation.
async fn start<R: Scratch + Flow>(
    ctx: &Ctx,
    caller: &Caller,
    name: &str,
    checked: Result<R, AgentError>,
) -> Result<Arc<Operation>, AgentError> {
    let record = match checked {
        Ok(record) => record,
        Err(err) => return Err(refuse::<R>(ctx, caller, name, err).await),
    };
    let view = ctx.cluster().await?;
    templates::check_node(ctx, &view, &record.basics().node)?;
    launch(ctx, caller, record).await
}

impl Flow for VmRecord {
    async fn execute(run: &mut Run<Self>) -> Result<CreateResult, AgentError> {
        execute(run).await
    }

    fn done_message(result: &CreateResult) -> String {
        done_message("VM", result)
    }
}

impl Flow for ContainerRecord {
    async fn execute(run: &mut Run<Self>) -> Result<CreateResult, AgentError> {
        execute(run).await
    }

    fn done_message(result: &CreateResult) -> String {
        done_message("CT", result)
    }
}

/// The message of a bad request, which must be INVALID_ARGUMENT (tests).
#[cfg(test)]
fn invalid<T: std::fmt::Debug>(checked: Result<T, AgentError>) -> String {
    let err = checked.unwrap_err();
    assert_eq!(
        err.kind(),
        pvectl_proto::v1::ErrorKind::InvalidArgument,
        "{}",
        err.message
    );
    err.message
}

fn done_message(word: &str, result: &CreateResult) -> String {
    let started = if result.started { " and started" } else { "" };
    format!(
        "{word} {} '{}' created on {}{started}",
        result.vmid, result.name, result.node
    )
}

/// Every step from wherever the run is: a fresh create, or one taken over
/// after a restart with its create (or start) task already submitted.
async fn execute<R: Scratch>(run: &mut Run<R>) -> Result<CreateResult, AgentError> {
    let plan = run.record.plan();
    // held until the end: the VMID stays this operation's while it works
    let _reservation;
    let vmid = match (&run.progress.upid, run.progress.vmid) {
        (Some(upid), Some(vmid)) => {
            let upid = upid.clone();
            if run.progress.start_upid.is_none() {
                create_task::resume(run, &plan, vmid, &upid).await?;
            }
            vmid
        }
        _ => {
            let reservation = prepare_and_create(run, &plan).await?;
            let vmid = reservation.vmid();
            _reservation = reservation;
            vmid
        }
    };
    if run.record.basics().start {
        finish::start(run, R::GUEST, vmid).await?;
    }
    let node = run.ctx.node.clone();
    finish::result(run, &node, vmid).await
}

async fn prepare_and_create<R: Scratch>(
    run: &mut Run<R>,
    plan: &CreatePlan,
) -> Result<allocate::Reservation, AgentError> {
    let (word, _) = words(R::GUEST);
    let needs = run.record.needs();
    run.op.emit(
        CreatePhase::Validating,
        None,
        format!(
            "checking storages, volumes and bridges of {} for {word} '{}'",
            run.ctx.node,
            run.record.name()
        ),
    );
    checks::check(&run.ctx, &needs).await?;
    let _permits = wait_for_slots(run, &needs.disk_storages(), "disk allocation").await?;
    let reservation = allocate::first(run, &IdPool::Ordinary).await?;
    attempts::with_fresh_ids(run, Maker::Create(plan), &IdPool::Ordinary, reservation).await
}
