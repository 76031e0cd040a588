//! `pvectl ct create`.

mod create;

use super::Io;
use super::remote::Session;
use crate::Error;
use crate::cli::{CtCommand, GlobalArgs};

pub(super) fn run(command: CtCommand, global: &GlobalArgs, io: &mut Io<'_>) -> Result<(), Error> {
    let session = Session::open(global, io)?;
    match command {
        CtCommand::Create(args) => {
            session.block_on(create::create(&session, args, global.dry_run, io))
        }
    }
}
