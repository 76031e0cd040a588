//! `pvectl vm create NAME` without `--template`: a VM from scratch
//! (`--disk`, `--net`, `--iso`, `--ostype`, cores, memory, tags) on
//! `--node`, or on the node with most free memory.

use pvectl_proto::v1::{CreateVmRequest, DiskSpec, NetSpec};

use super::super::Io;
use super::super::placement::creation_node;
use super::super::remote::Session;
use super::super::submit::{Submit, submit};
use super::create::timeout_seconds;
use crate::Error;
use crate::cli::VmCreateArgs;

pub(super) async fn create(
    session: &Session,
    args: VmCreateArgs,
    dry_run: bool,
    io: &mut Io<'_>,
) -> Result<(), Error> {
    let cluster = session.discover().await?;
    let what = format!("vm {}", args.name);
    let node = creation_node(&cluster, args.node.as_deref(), &what, io).await?;
    let request = request(&args, &node);
    let how = Submit {
        cluster: &cluster,
        target: cluster.target(&node)?,
        call: "CreateVm",
        no_wait: args.no_wait,
        timeout: args.timeout,
        format: session.format,
        dry_run: dry_run
            .then(|| format!("create vm {} on {node}: {}", args.name, describe(&request))),
    };
    submit(
        how,
        request,
        |mut agent, request| async move { agent.create_vm(request).await },
        io,
    )
    .await
}

fn request(args: &VmCreateArgs, node: &str) -> CreateVmRequest {
    let scratch = &args.scratch;
    CreateVmRequest {
        name: args.name.clone(),
        node: node.to_owned(),
        vmid: args.vmid.map(|vmid| vmid.get()),
        cores: args.cores.unwrap_or(0),
        memory_mib: args.memory.unwrap_or(0),
        disks: scratch
            .disks
            .iter()
            .map(|disk| DiskSpec {
                key: String::new(),
                storage: disk.storage.clone(),
                size_gib: disk.size_gib,
            })
            .collect(),
        nets: scratch
            .nets
            .iter()
            .map(|net| NetSpec {
                bridge: net.nic.bridge.clone(),
                model: net.model.clone(),
                vlan_tag: net.nic.tag,
                firewall: net.nic.firewall,
            })
            .collect(),
        iso: scratch.iso.clone().unwrap_or_default(),
        os_type: scratch.ostype.clone().unwrap_or_default(),
        tags: args.tags.clone(),
        start: args.start,
        timeout_seconds: timeout_seconds(args.timeout),
    }
}

/// `2 cores, 4096 MiB, disks local-lvm:32, net vmbr0, iso …`.
fn describe(request: &CreateVmRequest) -> String {
    let mut parts = Vec::new();
    if request.cores > 0 {
        parts.push(format!("{} cores", request.cores));
    }
    if request.memory_mib > 0 {
        parts.push(format!("{} MiB", request.memory_mib));
    }
    for disk in &request.disks {
        parts.push(format!("disk {}:{} GiB", disk.storage, disk.size_gib));
    }
    for net in &request.nets {
        parts.push(format!("net on {}", net.bridge));
    }
    if !request.iso.is_empty() {
        parts.push(format!("iso {}", request.iso));
    }
    if !request.os_type.is_empty() {
        parts.push(format!("ostype {}", request.os_type));
    }
    if parts.is_empty() {
        "PVE's defaults".to_owned()
    } else {
        parts.join(", ")
    }
}
