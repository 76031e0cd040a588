//! `pvectl vm create | get`.

mod create;
mod scratch;

pub(super) use create::timeout_seconds;

use pvectl_proto::Vmid;
use pvectl_proto::v1::{GetGuestRequest, Guest};
use serde::Serialize;

use super::remote::Session;
use super::{Io, view};
use crate::Error;
use crate::cli::{GlobalArgs, VmCommand};
use crate::output::{Column, Tabular, render_one};

pub(super) fn run(command: VmCommand, global: &GlobalArgs, io: &mut Io<'_>) -> Result<(), Error> {
    let session = Session::open(global, io)?;
    match command {
        VmCommand::Create(args) => {
            session.block_on(create::create(&session, *args, global.dry_run, io))
        }
        VmCommand::Get { vmid } => session.block_on(get(&session, vmid, io)),
    }
}

/// Asks the seed, which names the guest's node when it lives elsewhere.
async fn get(session: &Session, vmid: Vmid, io: &mut Io<'_>) -> Result<(), Error> {
    let cluster = session.discover().await?;
    let (_, guest) = cluster
        .call(cluster.seed().clone(), "GetGuest", |mut agent| async move {
            agent.get_guest(GetGuestRequest { vmid: vmid.get() }).await
        })
        .await?;
    render_one(
        &GuestView::new(guest),
        session.format,
        io.terminal_width,
        io.stdout,
    )?;
    Ok(())
}

/// A guest as `vm get` shows it.
#[derive(Debug, Serialize)]
struct GuestView {
    vmid: u32,
    name: String,
    node: String,
    kind: &'static str,
    status: &'static str,
    template: bool,
    lock: String,
    tags: Vec<String>,
    protected: bool,
    ha_state: String,
    config_version: u64,
    cpus: f64,
    cpu_usage: f64,
    memory_bytes: u64,
    memory_max_bytes: u64,
    disk_max_bytes: u64,
    uptime_seconds: u64,
}

impl GuestView {
    fn new(guest: Guest) -> GuestView {
        let resources = guest.resources.unwrap_or_default();
        GuestView {
            kind: view::kind(guest.kind()),
            status: view::status(guest.status()),
            vmid: guest.vmid,
            name: guest.name,
            node: guest.node,
            template: guest.template,
            lock: guest.lock,
            tags: guest.tags,
            protected: guest.protected,
            ha_state: guest.ha_state,
            config_version: guest.config_version,
            cpus: resources.cpus,
            cpu_usage: resources.cpu_usage,
            memory_bytes: resources.memory_bytes,
            memory_max_bytes: resources.memory_max_bytes,
            disk_max_bytes: resources.disk_max_bytes,
            uptime_seconds: resources.uptime_seconds,
        }
    }
}

impl Tabular for GuestView {
    const KIND: &'static str = "vm";
    const COLUMNS: &'static [Column] = &[
        Column::always("VMID"),
        Column::always("NAME"),
        Column::always("NODE"),
        Column::always("STATUS"),
        Column::always("LOCK"),
        Column::always("TAGS"),
        Column::wide("CPUS"),
        Column::wide("MEMORY"),
        Column::wide("DISK"),
        Column::wide("UPTIME"),
        Column::wide("HA"),
        Column::wide("PROTECTED"),
        Column::wide("TEMPLATE"),
    ];

    fn cells(&self) -> Vec<String> {
        let yes_no = |value: bool| if value { "yes" } else { "no" }.to_owned();
        vec![
            self.vmid.to_string(),
            view::or_dash(&self.name),
            self.node.clone(),
            self.status.to_owned(),
            view::or_dash(&self.lock),
            view::or_dash(&self.tags.join(";")),
            format!("{}", self.cpus),
            format!(
                "{} / {}",
                view::bytes(self.memory_bytes),
                view::bytes(self.memory_max_bytes)
            ),
            view::bytes(self.disk_max_bytes),
            format!("{}s", self.uptime_seconds),
            view::or_dash(&self.ha_state),
            yes_no(self.protected),
            yes_no(self.template),
        ]
    }

    fn name(&self) -> String {
        self.vmid.to_string()
    }
}
