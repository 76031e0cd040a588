//! `pvectl ct create | list | get | config | update`, and the lifecycle
//! actions and delete (`guest::bulk`).

mod create;

use super::Io;
use super::guest::bulk::{self, BulkArgs};
use super::guest::{self, CT};
use super::remote::Session;
use super::update;
use crate::Error;
use crate::cli::{CtCommand, GlobalArgs};

pub(super) fn run(command: CtCommand, global: &GlobalArgs, io: &mut Io<'_>) -> Result<(), Error> {
    let session = Session::open(global, io)?;
    match command {
        CtCommand::Create(args) => {
            session.block_on(create::create(&session, args, global.dry_run, io))
        }
        CtCommand::List(args) => session.block_on(guest::list(&session, CT, args, io)),
        CtCommand::Get { vmid } => session.block_on(guest::get(&session, CT, vmid, io)),
        CtCommand::Config { vmid } => session.block_on(guest::config(&session, CT, vmid, io)),
        CtCommand::Update(args) => session.block_on(update::update(&session, CT, args, global, io)),
        CtCommand::Start(args) => {
            bulk::run_blocking(&session, CT, BulkArgs::start(args), global, io)
        }
        CtCommand::Stop(args) => bulk::run_blocking(&session, CT, BulkArgs::stop(args), global, io),
        CtCommand::Shutdown(args) => {
            bulk::run_blocking(&session, CT, BulkArgs::shutdown(args), global, io)
        }
        CtCommand::Reboot(args) => {
            bulk::run_blocking(&session, CT, BulkArgs::reboot(args), global, io)
        }
        CtCommand::Suspend(args) => {
            bulk::run_blocking(&session, CT, BulkArgs::suspend(args), global, io)
        }
        CtCommand::Resume(args) => {
            bulk::run_blocking(&session, CT, BulkArgs::resume(args), global, io)
        }
        CtCommand::Delete(args) => {
            bulk::run_blocking(&session, CT, BulkArgs::delete(args), global, io)
        }
    }
}
