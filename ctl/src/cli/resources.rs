//! The commands that talk to agents: `node`, `template`, `vm`, `ct`, `task`
//! and `audit`. Values are checked here, so a bad name or VMID is a usage
//! error before anything is sent.

use std::path::PathBuf;
use std::time::Duration;

use clap::builder::PossibleValuesParser;
use clap::{Args, Subcommand};
use pvectl_proto::Vmid;
use pvectl_proto::guest_values::OS_TYPES;
use pvectl_proto::v1::GuestStatus;

use super::GuestUpdateArgs;
use crate::cluster::routing::{TaskId, TemplateArg};
use crate::duration::{Since, parse_duration, parse_since};
use crate::guest_names;
use crate::guest_specs::{self, CtNetArg, DiskArg, VmNetArg};
use crate::selector::{self, Selector};

#[derive(Debug, Subcommand)]
pub enum NodeCommand {
    /// Members, online, agent version, template range (-o wide: resources)
    List,
}

#[derive(Debug, Subcommand)]
pub enum TemplateCommand {
    /// Templates of every node, or of one
    List {
        /// Only this node's templates
        #[arg(long, value_name = "NODE")]
        node: Option<String>,
    },
    /// One template with its disks
    Show {
        /// The template's VMID or name
        #[arg(value_name = "TEMPLATE")]
        template: TemplateArg,
        /// Node whose range a name is looked up in [default: every node]
        #[arg(long, value_name = "NODE")]
        node: Option<String>,
    },
    /// Check a template before cloning it (exit 5 when a clone would fail)
    Validate(ValidateArgs),
    /// Copy a VM into a node's template range as a template (full clone, then convert)
    Promote(PromoteArgs),
}

#[derive(Debug, Args)]
pub struct PromoteArgs {
    /// VMID of the VM to copy; it is left untouched
    #[arg(value_name = "VMID")]
    pub source: Vmid,
    /// Node whose template range receives the template [default: the VM's own node]
    #[arg(long, value_name = "NODE")]
    pub node: Option<String>,
    /// VMID of the template, inside that range [default: the range's lowest free one]
    #[arg(long = "vmid", value_name = "VMID")]
    pub vmid: Option<Vmid>,
    /// Name of the template [default: the VM's]
    #[arg(long, value_name = "NAME", value_parser = guest_names::guest_name)]
    pub name: Option<String>,
    /// Target storage of the clone [default: each disk's own]
    #[arg(long, value_name = "STORAGE")]
    pub storage: Option<String>,
    /// Print the operation id and return; watch it with `pvectl task watch`
    #[arg(long)]
    pub no_wait: bool,
}

#[derive(Debug, Args)]
pub struct ValidateArgs {
    /// The template's VMID or name
    #[arg(value_name = "TEMPLATE")]
    pub template: TemplateArg,
    /// Node whose range a name is looked up in [default: every node]
    #[arg(long, value_name = "NODE")]
    pub node: Option<String>,
    /// Target storage of a full clone [default: each disk's own]
    #[arg(long, value_name = "STORAGE")]
    pub storage: Option<String>,
    /// Check for a linked clone instead of a full clone
    #[arg(long)]
    pub linked: bool,
}

#[derive(Debug, Subcommand)]
pub enum VmCommand {
    /// Create a VM: a clone of a template on the template's node, or from scratch
    Create(Box<VmCreateArgs>),
    /// VMs of every node (or one), sorted by VMID; -o wide adds resources
    List(GuestListArgs),
    /// One VM, asked of the node it lives on
    Get {
        /// The VM's VMID
        #[arg(value_name = "VMID")]
        vmid: Vmid,
    },
    /// A VM's config as stored, pending changes beside current values
    Config {
        /// The VM's VMID
        #[arg(value_name = "VMID")]
        vmid: Vmid,
    },
    /// Change a VM's config: shows the diff, asks on a terminal, refuses if it changed meanwhile
    Update(GuestUpdateArgs),
    /// Start VMs, in parallel on their nodes; one result line per VM
    Start(GuestActionArgs),
    /// Stop VMs hard, as pulling the plug (see shutdown for a clean stop)
    Stop(GuestStopArgs),
    /// Shut VMs down cleanly (ACPI)
    Shutdown(GuestShutdownArgs),
    /// Reboot running VMs cleanly
    Reboot(GuestActionArgs),
    /// Pause running VMs
    Suspend(GuestStateArgs),
    /// Resume paused VMs
    Resume(GuestStateArgs),
    /// Delete VMs with their disks (asks first on a terminal; --yes otherwise)
    Delete(GuestDeleteArgs),
}

#[derive(Debug, Subcommand)]
pub enum CtCommand {
    /// Create a container from an OS template
    Create(CtCreateArgs),
    /// Containers of every node (or one), sorted by VMID; -o wide adds resources
    List(GuestListArgs),
    /// One container, asked of the node it lives on
    Get {
        /// The container's VMID
        #[arg(value_name = "VMID")]
        vmid: Vmid,
    },
    /// A container's config as stored, pending changes beside current values
    Config {
        /// The container's VMID
        #[arg(value_name = "VMID")]
        vmid: Vmid,
    },
    /// Change a container's config: shows the diff, asks on a terminal, refuses if it changed meanwhile
    Update(GuestUpdateArgs),
    /// Start containers, in parallel on their nodes; one result line per container
    Start(GuestActionArgs),
    /// Stop containers hard (see shutdown for a clean stop)
    Stop(GuestStopArgs),
    /// Shut containers down cleanly through their init
    Shutdown(GuestShutdownArgs),
    /// Reboot running containers cleanly
    Reboot(GuestActionArgs),
    /// Freeze running containers
    Suspend(GuestStateArgs),
    /// Thaw frozen containers
    Resume(GuestStateArgs),
    /// Delete containers with their volumes (asks first on a terminal; --yes otherwise)
    Delete(GuestDeleteArgs),
}

/// Filters of `vm list` and `ct list`.
#[derive(Debug, Clone, Args)]
pub struct GuestListArgs {
    /// Only this node's guests
    #[arg(long, value_name = "NODE")]
    pub node: Option<String>,
    /// Only guests in this state (running, stopped, paused, suspended)
    #[arg(long, value_name = "STATE", value_parser = selector::parse_status)]
    pub status: Option<GuestStatus>,
    /// Only guests carrying this tag; repeat to require several
    #[arg(long = "tag", value_name = "TAG", value_parser = guest_names::tag)]
    pub tags: Vec<String>,
    /// Only templates
    #[arg(long)]
    pub template: bool,
}

/// Which guests a bulk command acts on: VMIDs, a selector, or all of them.
#[derive(Debug, Clone, Args)]
#[group(id = "guests", required = true, multiple = false)]
pub struct GuestSelectArgs {
    /// VMIDs of the guests
    #[arg(value_name = "VMID", group = "guests")]
    pub vmids: Vec<Vmid>,
    /// Guests matching every term, e.g. tag=web,status=running (keys: tag, status, node, name)
    #[arg(short = 'l', long, value_name = "TERMS", group = "guests")]
    pub selector: Option<Selector>,
    /// Every guest of the kind (templates excluded)
    #[arg(long, group = "guests")]
    pub all: bool,
}

/// `start` and `reboot`: which guests, PVE's timeout, whether to wait.
#[derive(Debug, Clone, Args)]
pub struct GuestActionArgs {
    #[command(flatten)]
    pub guests: GuestSelectArgs,
    /// PVE's timeout for each guest's action (e.g. 2m) [default: PVE's]
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    pub timeout: Option<Duration>,
    /// Return once PVE accepted each action instead of waiting for it
    #[arg(long)]
    pub no_wait: bool,
}

/// `stop`: as [`GuestActionArgs`], and `--force`.
#[derive(Debug, Clone, Args)]
pub struct GuestStopArgs {
    #[command(flatten)]
    pub guests: GuestSelectArgs,
    /// Overrule a shutdown in progress
    #[arg(long)]
    pub force: bool,
    /// PVE's timeout for each guest's stop (e.g. 30s) [default: PVE's]
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    pub timeout: Option<Duration>,
    /// Return once PVE accepted each stop instead of waiting for it
    #[arg(long)]
    pub no_wait: bool,
}

/// `shutdown`: as [`GuestActionArgs`], and `--force`.
#[derive(Debug, Clone, Args)]
pub struct GuestShutdownArgs {
    #[command(flatten)]
    pub guests: GuestSelectArgs,
    /// Stop hard when a guest has not shut down within the timeout
    #[arg(long)]
    pub force: bool,
    /// How long each guest gets to shut down (e.g. 2m) [default: PVE's, 60s]
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    pub timeout: Option<Duration>,
    /// Return once PVE accepted each shutdown instead of waiting for it
    #[arg(long)]
    pub no_wait: bool,
}

/// `suspend` and `resume`: which guests, whether to wait.
#[derive(Debug, Clone, Args)]
pub struct GuestStateArgs {
    #[command(flatten)]
    pub guests: GuestSelectArgs,
    /// Return once PVE accepted each action instead of waiting for it
    #[arg(long)]
    pub no_wait: bool,
}

/// `delete`: which guests, and how far to go.
#[derive(Debug, Clone, Args)]
pub struct GuestDeleteArgs {
    #[command(flatten)]
    pub guests: GuestSelectArgs,
    /// Also remove them from backup jobs, replication and HA, and destroy unreferenced disks
    #[arg(long)]
    pub purge: bool,
    /// Stop running guests first instead of refusing them
    #[arg(long)]
    pub force: bool,
}

#[derive(Debug, Args)]
pub struct VmCreateArgs {
    /// Name of the new VM (DNS name: letters, digits, '-', '.')
    #[arg(value_name = "NAME", value_parser = guest_names::guest_name)]
    pub name: String,
    /// Template to clone: its VMID, or its name [without it: a VM from scratch]
    #[arg(long, value_name = "TEMPLATE")]
    pub template: Option<TemplateArg>,
    /// Node to create on [default: the template's; for a name, or from scratch, the node with
    /// most free memory]
    #[arg(long, value_name = "NODE")]
    pub node: Option<String>,
    /// VMID of the new VM [default: the lowest free one]
    #[arg(long, value_name = "VMID")]
    pub vmid: Option<Vmid>,
    /// Linked clone instead of a full clone
    #[arg(long, requires = "template")]
    pub linked: bool,
    /// Target storage of a full clone [default: each disk's own]
    #[arg(
        long,
        value_name = "STORAGE",
        conflicts_with = "linked",
        requires = "template"
    )]
    pub storage: Option<String>,
    /// CPU cores [default: the template's, else PVE's 1]
    #[arg(long, value_name = "CORES", value_parser = clap::value_parser!(u32).range(1..=8192))]
    pub cores: Option<u32>,
    /// Memory in MiB [default: the template's, else PVE's 512]
    #[arg(long, value_name = "MIB", value_parser = clap::value_parser!(u64).range(16..))]
    pub memory: Option<u64>,
    /// Tag of the new VM, replacing the template's; repeat for more
    #[arg(long = "tag", value_name = "TAG", value_parser = guest_names::tag)]
    pub tags: Vec<String>,
    /// Start the VM once it is ready
    #[arg(long)]
    pub start: bool,
    /// Print the operation id and return; watch it with `pvectl task watch`
    #[arg(long)]
    pub no_wait: bool,
    /// Give up after this long (e.g. 10m) [default: the agent's, 15m]
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    pub timeout: Option<Duration>,
    #[command(flatten)]
    pub scratch: ScratchVmArgs,
}

/// The hardware of a VM from scratch; none of it goes with `--template`.
#[derive(Debug, Args)]
#[command(next_help_heading = "A VM from scratch (without --template)")]
pub struct ScratchVmArgs {
    /// Disk to allocate, STORAGE:GiB, as scsi0, scsi1, ...; repeat for more
    #[arg(long = "disk", value_name = "STORAGE:GIB", value_parser = guest_specs::disk,
          conflicts_with = "template")]
    pub disks: Vec<DiskArg>,
    /// Network device: bridge=BRIDGE[,model=virtio][,tag=VLAN][,firewall=1]; repeat for more
    #[arg(long = "net", value_name = "SPEC", value_parser = guest_specs::vm_net,
          conflicts_with = "template")]
    pub nets: Vec<VmNetArg>,
    /// Installer ISO for the CD-ROM drive (ide2), STORAGE:iso/FILE
    #[arg(long, value_name = "VOLUME", value_parser = guest_specs::iso, conflicts_with = "template")]
    pub iso: Option<String>,
    /// Guest OS type, as PVE's ostype [default: PVE's, other]
    #[arg(long, value_name = "TYPE", value_parser = PossibleValuesParser::new(OS_TYPES),
          hide_possible_values = true, conflicts_with = "template")]
    pub ostype: Option<String>,
}

#[derive(Debug, Args)]
pub struct CtCreateArgs {
    /// Hostname of the new container (DNS name: letters, digits, '-', '.')
    #[arg(value_name = "NAME", value_parser = guest_names::guest_name)]
    pub name: String,
    /// OS template volume, STORAGE:vztmpl/FILE
    #[arg(long, value_name = "VOLUME", value_parser = guest_specs::ostemplate)]
    pub ostemplate: String,
    /// Root disk, STORAGE:GiB [default: PVE's, local:4]
    #[arg(long, value_name = "STORAGE:GIB", value_parser = guest_specs::disk)]
    pub rootfs: Option<DiskArg>,
    /// Interface, e.g. name=eth0,bridge=vmbr0,ip=10.0.0.5/24,gw=10.0.0.1 (keys: name, bridge,
    /// ip as dhcp|manual|CIDR, gw, tag, firewall=1); repeat for more
    #[arg(long = "net", value_name = "SPEC", value_parser = guest_specs::ct_net)]
    pub nets: Vec<CtNetArg>,
    /// An unprivileged container, PVE's default on create
    #[arg(long)]
    pub unprivileged: bool,
    /// A privileged container instead (root in it is root on the node)
    #[arg(long, conflicts_with = "unprivileged")]
    pub privileged: bool,
    /// File of root's SSH public keys (authorized_keys format)
    #[arg(long, value_name = "FILE")]
    pub ssh_public_keys: Option<PathBuf>,
    /// File whose first line is root's password (never give it on the command line)
    #[arg(long, value_name = "FILE")]
    pub password_file: Option<PathBuf>,
    /// Ask for root's password on the terminal
    #[arg(long, conflicts_with = "password_file")]
    pub password: bool,
    /// Node to create on [default: the node with most free memory]
    #[arg(long, value_name = "NODE")]
    pub node: Option<String>,
    /// VMID of the new container [default: the lowest free one]
    #[arg(long, value_name = "VMID")]
    pub vmid: Option<Vmid>,
    /// CPU cores [default: PVE's, all of the node's]
    #[arg(long, value_name = "CORES", value_parser = clap::value_parser!(u32).range(1..=8192))]
    pub cores: Option<u32>,
    /// Memory in MiB [default: PVE's, 512]
    #[arg(long, value_name = "MIB", value_parser = clap::value_parser!(u64).range(16..))]
    pub memory: Option<u64>,
    /// Swap in MiB [default: PVE's, 512]
    #[arg(long, value_name = "MIB")]
    pub swap: Option<u64>,
    /// Tag of the new container; repeat for more
    #[arg(long = "tag", value_name = "TAG", value_parser = guest_names::tag)]
    pub tags: Vec<String>,
    /// Start the container once it is ready
    #[arg(long)]
    pub start: bool,
    /// Print the operation id and return; watch it with `pvectl task watch`
    #[arg(long)]
    pub no_wait: bool,
    /// Give up after this long (e.g. 10m) [default: the agent's, 15m]
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    pub timeout: Option<Duration>,
}

#[derive(Debug, Subcommand)]
pub enum TaskCommand {
    /// PVE tasks of every node, running and finished, newest first
    List(TaskListArgs),
    /// Follow an operation (again), or a PVE task, until it ends
    Watch {
        /// The operation id a create printed, or a UPID
        #[arg(value_name = "ID")]
        task: TaskId,
    },
    /// A task's log, read from its node (-f: follow it until the task ends)
    Logs {
        /// A UPID, or an operation id (its current PVE task)
        #[arg(value_name = "ID")]
        task: TaskId,
        /// Keep printing lines as they are written; exit 1 if the task fails
        #[arg(short = 'f', long)]
        follow: bool,
    },
    /// Stop a running task; an operation id also cancels the operation
    Stop {
        /// A UPID, or an operation id
        #[arg(value_name = "ID")]
        task: TaskId,
    },
}

#[derive(Debug, Args)]
pub struct TaskListArgs {
    /// Only this node's tasks
    #[arg(long, value_name = "NODE")]
    pub node: Option<String>,
    /// Only running tasks
    #[arg(long, conflicts_with = "errors")]
    pub running: bool,
    /// Only tasks about this guest (a clone's is its template)
    #[arg(long, value_name = "VMID")]
    pub vmid: Option<Vmid>,
    /// Only this PVE task type (qmclone, qmstart, vzcreate, ...)
    #[arg(long = "type", value_name = "TYPE")]
    pub task_type: Option<String>,
    /// Only tasks that ended in an error
    #[arg(long)]
    pub errors: bool,
    /// At most this many tasks in all [default: 50]
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    pub limit: Option<u32>,
    /// Only tasks started since then: a duration ago (2h) or a UTC time
    #[arg(long, value_name = "WHEN", value_parser = parse_since)]
    pub since: Option<Since>,
}

#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// The journals' entries, oldest first
    Log {
        /// Only this node's journal
        #[arg(long, value_name = "NODE")]
        node: Option<String>,
        /// Only the newest N entries
        #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
        limit: Option<u32>,
    },
    /// Check every journal's hash chain and that none lost entries since the last check
    Verify,
}
