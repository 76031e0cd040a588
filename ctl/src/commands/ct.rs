//! `pvectl ct list | get | config | update`.

use super::Io;
use super::guest::{self, CT};
use super::remote::Session;
use super::update;
use crate::Error;
use crate::cli::{CtCommand, GlobalArgs};

pub(super) fn run(command: CtCommand, global: &GlobalArgs, io: &mut Io<'_>) -> Result<(), Error> {
    let session = Session::open(global, io)?;
    match command {
        CtCommand::List(args) => session.block_on(guest::list(&session, CT, args, io)),
        CtCommand::Get { vmid } => session.block_on(guest::get(&session, CT, vmid, io)),
        CtCommand::Config { vmid } => session.block_on(guest::config(&session, CT, vmid, io)),
        CtCommand::Update(args) => session.block_on(update::update(&session, CT, args, global, io)),
    }
}
