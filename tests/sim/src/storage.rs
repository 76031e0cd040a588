//! Storages and their volumes: a local directory, an lvm-thin pool and a shared
//! store, each with a capacity, volume names as PVE's plugins make them, and
//! the `storage.cfg` text.
use std::collections::BTreeMap;

pub const GIB: u64 = 1 << 30;

/// The storage plugins the simulator knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StorageKind {
    Dir,
    LvmThin,
    Nfs,
}

impl StorageKind {
    pub fn as_str(self) -> &'static str {
        match self {
            StorageKind::Dir => "dir",
            StorageKind::LvmThin => "lvmthin",
            StorageKind::Nfs => "nfs",
        }
    }

    /// File-based plugins name volumes `<vmid>/<name>.<fmt>` and default to qcow2.
    fn file_based(self) -> bool {
        !matches!(self, StorageKind::LvmThin)
    }
}

/// One storage definition from `storage.cfg`.
#[derive(Debug, Clone)]
pub struct StorageDef {
    pub id: String,
    pub kind: StorageKind,
    pub shared: bool,
    pub content: Vec<&'static str>,
    pub capacity: u64,
}

impl StorageDef {
    pub fn default_format(&self) -> &'static str {
        if self.kind.file_based() {
            "qcow2"
        } else {
            "raw"
        }
    }

    pub fn holds(&self, content: &str) -> bool {
        self.content.contains(&content)
    }

    /// The volume id PVE would give a new disk of `vmid`.
    pub fn volid(&self, vmid: u32, name: &str, format: &str) -> String {
        if self.kind.file_based() {
            format!("{}:{vmid}/{name}.{format}", self.id)
        } else {
            format!("{}:{name}", self.id)
        }
    }

    /// The volume id of a linked clone of `base` (a volid on this storage).
    pub fn linked_volid(&self, base: &str, vmid: u32, name: &str, format: &str) -> String {
        match (self.kind.file_based(), base.split_once(':')) {
            (true, Some((_, base_path))) => {
                format!("{}:{base_path}/{vmid}/{name}.{format}", self.id)
            }
            _ => format!("{}:{name}", self.id),
        }
    }

    fn cfg_section(&self) -> String {
        let mut out = format!("{}: {}\n", self.kind.as_str(), self.id);
        match self.kind {
            StorageKind::Dir => out.push_str("\tpath /var/lib/vz\n"),
            StorageKind::LvmThin => out.push_str("\tthinpool data\n\tvgname pve\n"),
            StorageKind::Nfs => out.push_str(&format!(
                "\texport /export/{0}\n\tpath /mnt/pve/{0}\n\tserver nfs.sim.invalid\n",
                self.id
            )),
        }
        out.push_str(&format!("\tcontent {}\n", self.content.join(",")));
        out
    }
}

/// The default storages: `local` (dir), `local-lvm` (lvm-thin), `shared` (nfs).
pub fn default_storages() -> Vec<StorageDef> {
    vec![
        StorageDef {
            id: "local".into(),
            kind: StorageKind::Dir,
            shared: false,
            content: vec!["iso", "vztmpl", "backup", "images", "rootdir"],
            capacity: 100 * GIB,
        },
        StorageDef {
            id: "local-lvm".into(),
            kind: StorageKind::LvmThin,
            shared: false,
            content: vec!["images", "rootdir"],
            capacity: 400 * GIB,
        },
        StorageDef {
            id: "shared".into(),
            kind: StorageKind::Nfs,
            shared: true,
            content: vec!["images", "rootdir", "iso", "vztmpl"],
            capacity: 2048 * GIB,
        },
    ]
}

/// `storage.cfg` as PVE writes it.
pub fn storage_cfg(defs: &[StorageDef]) -> String {
    defs.iter()
        .map(StorageDef::cfg_section)
        .collect::<Vec<_>>()
        .join("\n")
}

/// One allocated volume.
#[derive(Debug, Clone, PartialEq)]
pub struct Volume {
    pub volid: String,
    pub size: u64,
    pub format: String,
    /// images, rootdir, iso or vztmpl
    pub content: String,
    /// owner vmid (0 for ISOs and container templates)
    pub vmid: u32,
    pub ctime: i64,
}

/// The volumes of every storage; local storages hold one pool per node, a
/// shared storage one pool for the cluster.
#[derive(Debug, Default)]
pub struct Volumes {
    pools: BTreeMap<(String, String), BTreeMap<String, Volume>>,
}

impl Volumes {
    fn key(def: &StorageDef, node: &str) -> (String, String) {
        let scope = if def.shared {
            String::new()
        } else {
            node.to_string()
        };
        (scope, def.id.clone())
    }

    pub fn used(&self, def: &StorageDef, node: &str) -> u64 {
        self.pools
            .get(&Self::key(def, node))
            .map(|p| p.values().map(|v| v.size).sum())
            .unwrap_or(0)
    }

    pub fn free(&self, def: &StorageDef, node: &str) -> u64 {
        def.capacity.saturating_sub(self.used(def, node))
    }

    pub fn get(&self, def: &StorageDef, node: &str, volid: &str) -> Option<&Volume> {
        self.pools.get(&Self::key(def, node))?.get(volid)
    }

    pub fn list(&self, def: &StorageDef, node: &str) -> Vec<Volume> {
        self.pools
            .get(&Self::key(def, node))
            .map(|p| p.values().cloned().collect())
            .unwrap_or_default()
    }

    /// Adds a volume; refuses when the storage lacks room (PVE's wording for a
    /// thin pool / directory running out differs; this is the generic one).
    pub fn add(&mut self, def: &StorageDef, node: &str, volume: Volume) -> Result<(), String> {
        if self.free(def, node) < volume.size {
            return Err(format!(
                "unable to allocate {} on storage '{}': not enough free space",
                human_size(volume.size),
                def.id
            ));
        }
        self.pools
            .entry(Self::key(def, node))
            .or_default()
            .insert(volume.volid.clone(), volume);
        Ok(())
    }

    pub fn remove(&mut self, def: &StorageDef, node: &str, volid: &str) -> Option<Volume> {
        self.pools.get_mut(&Self::key(def, node))?.remove(volid)
    }

    /// Renames a volume in place (template conversion: vm-N-disk-M → base-N-disk-M).
    pub fn rename(&mut self, def: &StorageDef, node: &str, from: &str, to: &str) -> bool {
        let Some(pool) = self.pools.get_mut(&Self::key(def, node)) else {
            return false;
        };
        match pool.remove(from) {
            Some(mut v) => {
                v.volid = to.to_string();
                pool.insert(to.to_string(), v);
                true
            }
            None => false,
        }
    }

    /// The next free disk name `vm-<vmid>-disk-N` on a storage.
    pub fn next_disk_name(&self, def: &StorageDef, node: &str, vmid: u32) -> String {
        let pool = self.pools.get(&Self::key(def, node));
        (0..)
            .map(|n| format!("vm-{vmid}-disk-{n}"))
            .find(|name| {
                pool.is_none_or(|p| !p.keys().any(|volid| volume_name(volid) == name.as_str()))
            })
            .unwrap_or_default()
    }
}

/// The bare disk name of a volid (`local:100/vm-100-disk-0.qcow2` → `vm-100-disk-0`).
pub fn volume_name(volid: &str) -> &str {
    let path = volid.split_once(':').map_or(volid, |(_, p)| p);
    let file = path.rsplit('/').next().unwrap_or(path);
    file.split('.').next().unwrap_or(file)
}

/// PVE's human sizes in task logs: `32.0 GiB`.
pub fn human_size(bytes: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit < UNITS.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{bytes} B")
    } else {
        format!("{value:.1} {}", UNITS[unit])
    }
}

/// `size=32G` style value for configs.
pub fn config_size(bytes: u64) -> String {
    if bytes.is_multiple_of(GIB) {
        format!("{}G", bytes / GIB)
    } else {
        format!("{}M", bytes.div_ceil(1 << 20))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn by_id(id: &str) -> StorageDef {
        default_storages().into_iter().find(|d| d.id == id).unwrap()
    }

    #[test]
    fn volids_follow_each_plugin() {
        assert_eq!(
            by_id("local-lvm").volid(101, "vm-101-disk-0", "raw"),
            "local-lvm:vm-101-disk-0"
        );
        assert_eq!(
            by_id("local").volid(101, "vm-101-disk-0", "qcow2"),
            "local:101/vm-101-disk-0.qcow2"
        );
        assert_eq!(
            by_id("local").linked_volid(
                "local:9000/base-9000-disk-0.qcow2",
                101,
                "vm-101-disk-0",
                "qcow2"
            ),
            "local:9000/base-9000-disk-0.qcow2/101/vm-101-disk-0.qcow2"
        );
    }

    #[test]
    fn local_pools_are_per_node_and_shared_pools_are_not() {
        let mut volumes = Volumes::default();
        for id in ["local-lvm", "shared"] {
            let def = by_id(id);
            let volume = Volume {
                volid: def.volid(100, "vm-100-disk-0", "raw"),
                size: GIB,
                format: "raw".into(),
                content: "images".into(),
                vmid: 100,
                ctime: 0,
            };
            volumes.add(&def, "pve1", volume).unwrap();
        }
        assert_eq!(volumes.used(&by_id("local-lvm"), "pve2"), 0);
        assert_eq!(volumes.used(&by_id("shared"), "pve2"), GIB);
    }

    #[test]
    fn allocation_beyond_capacity_is_refused() {
        let mut volumes = Volumes::default();
        let def = by_id("local");
        let volume = Volume {
            volid: def.volid(100, "vm-100-disk-0", "qcow2"),
            size: def.capacity + 1,
            format: "qcow2".into(),
            content: "images".into(),
            vmid: 100,
            ctime: 0,
        };
        let err = volumes.add(&def, "pve1", volume).unwrap_err();
        assert!(err.contains("not enough free space"), "{err}");
        assert_eq!(volumes.used(&def, "pve1"), 0);
    }

    #[test]
    fn next_disk_name_skips_taken_names() {
        let mut volumes = Volumes::default();
        let def = by_id("local-lvm");
        let volume = Volume {
            volid: "local-lvm:vm-100-disk-0".into(),
            size: GIB,
            format: "raw".into(),
            content: "images".into(),
            vmid: 100,
            ctime: 0,
        };
        volumes.add(&def, "pve1", volume).unwrap();
        assert_eq!(volumes.next_disk_name(&def, "pve1", 100), "vm-100-disk-1");
    }

    #[test]
    fn sizes_print_like_pve() {
        assert_eq!(human_size(32 * GIB), "32.0 GiB");
        assert_eq!(config_size(4 * GIB), "4G");
        assert_eq!(
            volume_name("local:100/vm-100-disk-0.qcow2"),
            "vm-100-disk-0"
        );
    }
}
