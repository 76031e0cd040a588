//! Pure parsers for the files PVE keeps in its cluster file system (`/etc/pve`).
//!
//! Architecture invariant: nothing in this module does IO. Callers read the files and hand
//! over their bytes; these modules parse, analyse and render. Each parser follows what PVE's
//! own (Perl) parser does with the same bytes, and says where it knowingly differs.
//!
//! - [`members`]: `.members` (cluster nodes, ids, addresses).
//! - [`vmlist`]: `.vmlist` (which guest lives where; per-guest change counters).
//! - [`datacenter`]: `datacenter.cfg` (the `next-id` range).
//! - [`guest_config`]: qemu and lxc guest configs, with a writer in PVE's format.
//! - [`drive`]: drive and volume values (`[file=]<volid>,k=v,...`).
//! - [`ha`]: `ha/resources.cfg` and `ha/manager_status` (each guest's HA state).

pub mod datacenter;
pub mod description;
pub mod drive;
pub mod guest_config;
pub mod ha;
pub mod members;
pub mod property_string;
pub mod vmlist;

mod status_json;
mod text;

pub use datacenter::{DatacenterConfig, DatacenterError, NextIdRange};
pub use drive::{Drive, DriveError};
pub use guest_config::{
    BootDisk, BootDiskSource, ConfigError, ConfigValueError, DiskBus, DiskError, GuestConfig,
    GuestDisk, GuestKind, ParsedGuestConfig, Pending, PendingDelete, RenderError, Section,
};
pub use ha::HaStates;
pub use members::{ClusterInfo, MemberNode, Members};
pub use property_string::{PropertyString, PropertyStringError};
pub use status_json::StatusFileError;
pub(crate) use text::split_list;
pub use vmlist::{GuestType, Vmlist, VmlistEntry};
