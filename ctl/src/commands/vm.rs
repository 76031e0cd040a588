//! `pvectl vm create | list | get | config | update`.

mod create;

use super::Io;
use super::guest::{self, VM};
use super::remote::Session;
use super::update;
use crate::Error;
use crate::cli::{GlobalArgs, VmCommand};

pub(super) fn run(command: VmCommand, global: &GlobalArgs, io: &mut Io<'_>) -> Result<(), Error> {
    let session = Session::open(global, io)?;
    match command {
        VmCommand::Create(args) => {
            session.block_on(create::create(&session, args, global.dry_run, io))
        }
        VmCommand::List(args) => session.block_on(guest::list(&session, VM, args, io)),
        VmCommand::Get { vmid } => session.block_on(guest::get(&session, VM, vmid, io)),
        VmCommand::Config { vmid } => session.block_on(guest::config(&session, VM, vmid, io)),
        VmCommand::Update(args) => session.block_on(update::update(&session, VM, args, global, io)),
    }
}
