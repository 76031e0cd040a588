//! Node-local flocks on guest configs (`/var/lock/qemu-server/lock-<vmid>.conf`)
//! and storages, with PVE's timeouts and error texts.
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

/// The lock files of one simulated cluster, keyed by path.
#[derive(Debug, Default)]
pub struct Flocks {
    files: Mutex<HashMap<String, Arc<RwLock<()>>>>,
}

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
    fn file(&self, path: &str) -> Arc<RwLock<()>> {
        let mut files = self.files.lock().unwrap_or_else(|p| p.into_inner());
        files.entry(path.to_string()).or_default().clone()
    }

    /// Takes the lock shared or exclusive within `timeout` (simulated).
    pub async fn lock(
        &self,
        clock: &SimClock,
        path: &str,
        exclusive: bool,
        timeout: Duration,
    ) -> Result<FlockGuard, String> {
        let file = self.file(path);
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
            .lock(&clock, &path, false, Duration::from_secs(1))
            .await;
        let b = flocks
            .lock(&clock, &path, false, Duration::from_secs(1))
            .await;
        assert!(a.is_ok() && b.is_ok());
        let err = flocks
            .lock(&clock, &path, true, Duration::from_secs(1))
            .await
            .unwrap_err();
        assert_eq!(
            err,
            "can't lock file '/var/lock/qemu-server/lock-9100.conf' - got timeout"
        );
        drop((a, b));
        assert!(
            flocks
                .lock(&clock, &path, true, Duration::from_secs(1))
                .await
                .is_ok()
        );
    }
}
