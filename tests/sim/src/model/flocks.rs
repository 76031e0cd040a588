//! Node-local flocks on guest configs (`/var/lock/qemu-server/lock-<vmid>.conf`)
//! and storages, with PVE's timeouts and error texts. The same path on two nodes is
//! two locks: only the node's own workers contend for it (pve-facts §10).
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::{OwnedRwLockReadGuard, OwnedRwLockWriteGuard, RwLock};

use crate::clock::SimClock;
use crate::pmxcfs::GuestType;

/// A held flock; released on drop.
#[derive(Debug)]
pub struct FlockGuard {
    _shared: Option<OwnedRwLockReadGuard<()>>,
    _exclusive: Option<OwnedRwLockWriteGuard<()>>,
}

/// A lock file: `(node, path)`.
type LockKey = (String, String);

/// The lock files of one simulated cluster, keyed by node and path.
#[derive(Debug, Default)]
pub struct Flocks {
    files: Mutex<HashMap<LockKey, Arc<RwLock<()>>>>,
}

/// The scope of a lock that every node shares (a shared storage's lock lives in pmxcfs).
pub const CLUSTER_WIDE: &str = "";

/// The lock file PVE uses for a guest config.
pub fn guest_lock_path(kind: GuestType, vmid: u32) -> String {
    match kind {
        GuestType::Qemu => format!("/var/lock/qemu-server/lock-{vmid}.conf"),
        GuestType::Lxc => format!("/run/lock/lxc/pve-config-{vmid}.lock"),
    }
}

/// The lock file PVE uses for a storage.
pub fn storage_lock_path(storage: &str) -> String {
    format!("/var/lock/pve-manager/pve-storage-{storage}")
}

/// A pmxcfs cluster lock (`cfs_lock_file`; `/etc/pve/priv/lock/<id>` on PVE),
/// kept here beside the flocks: `file-user_cfg`, `file-storage_cfg`, ….
pub fn cfs_lock_path(id: &str) -> String {
    format!("/etc/pve/priv/lock/{id}")
}

/// PVE's error when a cfs lock cannot be had in time.
pub fn cfs_timeout_message(id: &str) -> String {
    format!("cfs-lock '{id}' error: got lock request timeout")
}

/// PVE's flock timeout error.
pub fn timeout_message(path: &str) -> String {
    format!("can't lock file '{path}' - got timeout")
}

impl Flocks {
    fn file(&self, node: &str, path: &str) -> Arc<RwLock<()>> {
        let mut files = self.files.lock().unwrap_or_else(|p| p.into_inner());
        files
            .entry((node.to_string(), path.to_string()))
            .or_default()
            .clone()
    }

    /// How many callers hold or wait for `node`'s lock file `path` right now: tests line
    /// requests up behind a lock they hold with it.
    pub fn contenders(&self, node: &str, path: &str) -> usize {
        let files = self.files.lock().unwrap_or_else(|p| p.into_inner());
        files
            .get(&(node.to_string(), path.to_string()))
            // the map's own reference is not a contender; each holder or waiter owns one
            .map_or(0, |file| Arc::strong_count(file) - 1)
    }

    /// Takes `node`'s lock file `path` (or the cluster-wide one for [`CLUSTER_WIDE`]) shared
    /// or exclusive within `timeout` (simulated).
    pub async fn lock(
        &self,
        clock: &SimClock,
        node: &str,
        path: &str,
        exclusive: bool,
        timeout: Duration,
    ) -> Result<FlockGuard, String> {
        let file = self.file(node, path);
        let wait = clock.real(timeout);
        let acquired = if exclusive {
            tokio::time::timeout(wait, file.write_owned())
                .await
                .map(|g| FlockGuard {
                    _shared: None,
                    _exclusive: Some(g),
                })
        } else {
            tokio::time::timeout(wait, file.read_owned())
                .await
                .map(|g| FlockGuard {
                    _shared: Some(g),
                    _exclusive: None,
                })
        };
        acquired.map_err(|_| timeout_message(path))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn shared_locks_coexist_and_exclusive_times_out_with_pves_text() {
        let flocks = Flocks::default();
        let clock = SimClock::new(0.001);
        let path = guest_lock_path(GuestType::Qemu, 9100);
        let a = flocks
            .lock(&clock, "pve1", &path, false, Duration::from_secs(1))
            .await;
        let b = flocks
            .lock(&clock, "pve1", &path, false, Duration::from_secs(1))
            .await;
        assert!(a.is_ok() && b.is_ok());
        let err = flocks
            .lock(&clock, "pve1", &path, true, Duration::from_secs(1))
            .await
            .unwrap_err();
        assert_eq!(
            err,
            "can't lock file '/var/lock/qemu-server/lock-9100.conf' - got timeout"
        );
        drop((a, b));
        assert!(
            flocks
                .lock(&clock, "pve1", &path, true, Duration::from_secs(1))
                .await
                .is_ok()
        );
    }

    #[tokio::test]
    async fn the_same_lock_file_on_two_nodes_is_two_locks() {
        let flocks = Flocks::default();
        let clock = SimClock::new(0.001);
        let path = guest_lock_path(GuestType::Qemu, 9600);
        let on_pve1 = flocks
            .lock(&clock, "pve1", &path, true, Duration::from_secs(1))
            .await;
        assert!(on_pve1.is_ok());
        let on_pve2 = flocks
            .lock(&clock, "pve2", &path, true, Duration::from_secs(1))
            .await;
        assert!(on_pve2.is_ok());
        let again_on_pve1 = flocks
            .lock(&clock, "pve1", &path, true, Duration::from_secs(1))
            .await;
        assert!(again_on_pve1.is_err());
    }

    #[tokio::test]
    async fn contenders_count_the_holder_and_every_waiter() {
        let flocks = std::sync::Arc::new(Flocks::default());
        let clock = SimClock::new(1.0);
        let path = guest_lock_path(GuestType::Lxc, 105);
        assert_eq!(flocks.contenders("pve1", &path), 0);
        let held = flocks
            .lock(&clock, "pve1", &path, true, Duration::from_secs(1))
            .await
            .unwrap();
        assert_eq!(flocks.contenders("pve1", &path), 1);
        let waiter = {
            let (flocks, path) = (flocks.clone(), path.clone());
            tokio::spawn(async move {
                flocks
                    .lock(&clock, "pve1", &path, true, Duration::from_secs(30))
                    .await
                    .map(drop)
            })
        };
        while flocks.contenders("pve1", &path) < 2 {
            tokio::task::yield_now().await;
        }
        drop(held);
        waiter.await.unwrap().unwrap();
        assert_eq!(flocks.contenders("pve1", &path), 0);
    }
}
