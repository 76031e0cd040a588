//! The cluster's starting content: per node two cloud-init templates in the
//! node's own range (`ubuntu-24.04`, `debian-12`), a few VMs and a container,
//! an ISO and a container template on `local`.
use crate::guest_config::GuestConfig;
use crate::model::{Guest, NodeState, RunState, State};
use crate::pmxcfs::GuestType;
use crate::storage::{GIB, Volume};

/// The templates every node gets, at `9000 + 100·id + offset`.
pub const TEMPLATES: [(&str, u32, &str); 2] = [("ubuntu-24.04", 0, "l26"), ("debian-12", 1, "l26")];
pub const ISO: &str = "local:iso/ubuntu-24.04.1-live-server-amd64.iso";
pub const CT_TEMPLATE: &str = "local:vztmpl/debian-12-standard_12.7-1_amd64.tar.zst";

/// The first VMID of a node's template range.
pub fn template_base(node_id: u32) -> u32 {
    9000 + 100 * node_id
}

fn props(pairs: &[(&str, String)]) -> GuestConfig {
    let mut config = GuestConfig::default();
    for (k, v) in pairs {
        config.props.insert((*k).to_string(), v.clone());
    }
    config
}

fn add_volume(
    st: &mut State,
    node: &str,
    storage: &str,
    volid: String,
    size: u64,
    content: &str,
    vmid: u32,
) {
    let Some(def) = st.storage(storage).cloned() else {
        return;
    };
    let volume = Volume {
        volid,
        size,
        format: def.default_format().into(),
        content: content.into(),
        vmid,
        ctime: 1_700_000_000,
    };
    // seeding a storage beyond its capacity leaves that volume out
    let _ = st.volumes.add(&def, node, volume);
}

fn template(st: &mut State, node: &NodeState, name: &str, vmid: u32, ostype: &str) -> Guest {
    let disk = format!("local-lvm:base-{vmid}-disk-0");
    let ci = format!("local-lvm:vm-{vmid}-cloudinit");
    add_volume(
        st,
        &node.name,
        "local-lvm",
        disk.clone(),
        4 * GIB,
        "images",
        vmid,
    );
    add_volume(
        st,
        &node.name,
        "local-lvm",
        ci.clone(),
        4 << 20,
        "images",
        vmid,
    );
    let (mac, uuid, genid) = (st.random_mac(), st.random_uuid(), st.random_uuid());
    let config = props(&[
        ("agent", "1".into()),
        ("boot", "order=scsi0".into()),
        ("cores", "2".into()),
        ("cpu", "x86-64-v2-AES".into()),
        ("ciuser", "admin".into()),
        ("ide2", format!("{ci},media=cdrom")),
        ("ipconfig0", "ip=dhcp".into()),
        ("memory", "2048".into()),
        ("meta", "creation-qemu=9.2.0,ctime=1700000000".into()),
        ("name", name.into()),
        ("net0", format!("virtio={mac},bridge=vmbr0")),
        ("ostype", ostype.into()),
        ("scsi0", format!("{disk},discard=on,iothread=1,size=4G")),
        ("scsihw", "virtio-scsi-single".into()),
        ("serial0", "socket".into()),
        ("smbios1", format!("uuid={uuid}")),
        ("template", "1".into()),
        ("vga", "serial0".into()),
        ("vmgenid", genid),
    ]);
    Guest::new(vmid, &node.name, GuestType::Qemu, config)
}

fn vm(st: &mut State, node: &NodeState, name: &str, vmid: u32, running: bool, tags: &str) -> Guest {
    let disk = format!("local-lvm:vm-{vmid}-disk-0");
    add_volume(
        st,
        &node.name,
        "local-lvm",
        disk.clone(),
        16 * GIB,
        "images",
        vmid,
    );
    let (mac, uuid, genid) = (st.random_mac(), st.random_uuid(), st.random_uuid());
    let config = props(&[
        ("boot", "order=scsi0;ide2;net0".into()),
        ("cores", "2".into()),
        ("ide2", "none,media=cdrom".into()),
        ("memory", "4096".into()),
        ("meta", "creation-qemu=9.2.0,ctime=1700000000".into()),
        ("name", name.into()),
        ("net0", format!("virtio={mac},bridge=vmbr0,firewall=1")),
        ("ostype", "l26".into()),
        ("scsi0", format!("{disk},iothread=1,size=16G")),
        ("scsihw", "virtio-scsi-single".into()),
        ("smbios1", format!("uuid={uuid}")),
        ("tags", tags.into()),
        ("vmgenid", genid),
    ]);
    let mut guest = Guest::new(vmid, &node.name, GuestType::Qemu, config);
    if running {
        guest.run = RunState::Running;
        guest.started_at = Some(1_700_000_000);
    }
    guest
}

fn container(st: &mut State, node: &NodeState, name: &str, vmid: u32) -> Guest {
    let disk = format!("local-lvm:vm-{vmid}-disk-0");
    add_volume(
        st,
        &node.name,
        "local-lvm",
        disk.clone(),
        8 * GIB,
        "rootdir",
        vmid,
    );
    let mac = st.random_mac();
    let config = props(&[
        ("arch", "amd64".into()),
        ("cores", "1".into()),
        ("hostname", name.into()),
        ("memory", "512".into()),
        (
            "net0",
            format!("name=eth0,bridge=vmbr0,hwaddr={mac},ip=dhcp,type=veth"),
        ),
        ("ostype", "debian".into()),
        ("rootfs", format!("{disk},size=8G")),
        ("swap", "512".into()),
        ("tags", "dns".into()),
        ("unprivileged", "1".into()),
    ]);
    let mut guest = Guest::new(vmid, &node.name, GuestType::Lxc, config);
    guest.run = RunState::Running;
    guest.started_at = Some(1_700_000_000);
    guest
}

/// Fills `st` with the starting guests and volumes; `extra_vms` adds that many
/// small stopped VMs per node (for listing benchmarks).
pub fn seed(st: &mut State, extra_vms: u32) -> Vec<Guest> {
    let nodes = st.nodes.clone();
    let mut guests = Vec::new();
    // far above every template range of node ids below 910
    let mut next_extra = 100_000;
    for (index, node) in nodes.iter().enumerate() {
        add_volume(st, &node.name, "local", ISO.into(), 2_800 << 20, "iso", 0);
        add_volume(
            st,
            &node.name,
            "local",
            CT_TEMPLATE.into(),
            120 << 20,
            "vztmpl",
            0,
        );
        for (name, offset, ostype) in TEMPLATES {
            guests.push(template(
                st,
                node,
                name,
                template_base(node.id) + offset,
                ostype,
            ));
        }
        let base = 100 + 10 * index as u32;
        let n = index + 1;
        guests.push(vm(st, node, &format!("web{n}"), base, true, "prod;web"));
        guests.push(vm(st, node, &format!("db{n}"), base + 1, false, "db"));
        guests.push(container(st, node, &format!("dns{n}"), base + 2));
        for _ in 0..extra_vms {
            guests.push(vm(
                st,
                node,
                &format!("bulk{next_extra}"),
                next_extra,
                false,
                "bulk",
            ));
            next_extra += 1;
        }
    }
    guests
}
