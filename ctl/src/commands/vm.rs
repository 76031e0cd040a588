//! `pvectl vm create | list | get | config | update`, and the lifecycle actions
//! and delete (`guest::bulk`).

mod create;
mod scratch;

pub(super) use create::timeout_seconds;

use super::Io;
use super::guest::bulk::{self, BulkArgs};
use super::guest::{self, VM};
use super::remote::Session;
use super::update;
use crate::Error;
use crate::cli::{GlobalArgs, VmCommand};

pub(super) fn run(command: VmCommand, global: &GlobalArgs, io: &mut Io<'_>) -> Result<(), Error> {
    let session = Session::open(global, io)?;
    match command {
        VmCommand::Create(args) => {
            session.block_on(create::create(&session, *args, global.dry_run, io))
        }
        VmCommand::List(args) => session.block_on(guest::list(&session, VM, args, io)),
        VmCommand::Get { vmid } => session.block_on(guest::get(&session, VM, vmid, io)),
        VmCommand::Config { vmid } => session.block_on(guest::config(&session, VM, vmid, io)),
        VmCommand::Update(args) => session.block_on(update::update(&session, VM, args, global, io)),
        VmCommand::Start(args) => {
            bulk::run_blocking(&session, VM, BulkArgs::start(args), global, io)
        }
        VmCommand::Stop(args) => bulk::run_blocking(&session, VM, BulkArgs::stop(args), global, io),
        VmCommand::Shutdown(args) => {
            bulk::run_blocking(&session, VM, BulkArgs::shutdown(args), global, io)
        }
        VmCommand::Reboot(args) => {
            bulk::run_blocking(&session, VM, BulkArgs::reboot(args), global, io)
        }
        VmCommand::Suspend(args) => {
            bulk::run_blocking(&session, VM, BulkArgs::suspend(args), global, io)
        }
        VmCommand::Resume(args) => {
            bulk::run_blocking(&session, VM, BulkArgs::resume(args), global, io)
        }
        VmCommand::Delete(args) => {
            bulk::run_blocking(&session, VM, BulkArgs::delete(args), global, io)
        }
    }
}
