//! Per-node FUSE views of the backing tree via `bindfs`: the kernel raises inotify events on a
//! view only for writes made through that view, which is pmxcfs's split between local writes
//! (events) and writes from other nodes (silent).

use std::fs::{self, OpenOptions};
use std::io::{self, Read};
use std::os::unix::fs::{MetadataExt, PermissionsExt, symlink};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::PoisonError;
use std::time::{Duration, Instant};

use super::{FsError, Pmxcfs, ViewMode, files};

/// FUSE options for every view: no attribute, entry or page caching, so a read through a view
/// always sees the backing tree's current file (pmxcfs opens files with `direct_io` too), and
/// `hard_remove`, so a file unlinked or replaced while some process still holds it open is
/// gone at once instead of lingering as `.fuse_hidden*` (which pmxcfs never shows).
const FUSE_OPTIONS: &str =
    "entry_timeout=0,attr_timeout=0,negative_timeout=0,direct_io,hard_remove";

/// How long a starting bindfs may take to show its mount.
const MOUNT_TIMEOUT: Duration = Duration::from_secs(10);

/// One mounted view and the `bindfs -f` process serving it.
pub(super) struct FuseView {
    path: PathBuf,
    child: Child,
}

/// Why FUSE views cannot be used here, or `None` when `bindfs` is on PATH and `/dev/fuse` opens.
pub(super) fn fuse_unusable_reason() -> Option<String> {
    if find_bindfs().is_none() {
        return Some(
            "bindfs was not found on PATH (install it: apt-get install bindfs)".to_string(),
        );
    }
    match OpenOptions::new().read(true).write(true).open("/dev/fuse") {
        Ok(_) => None,
        Err(e) => Some(format!(
            "/dev/fuse cannot be opened for reading and writing: {e}"
        )),
    }
}

fn find_bindfs() -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join("bindfs"))
        .find(|candidate| {
            fs::metadata(candidate)
                .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        })
}

/// Whether `path` is the root of a mount: its device differs from its parent's.
pub(super) fn is_mount_point(path: &Path) -> bool {
    let Some(parent) = path.parent() else {
        return false;
    };
    match (fs::symlink_metadata(path), fs::metadata(parent)) {
        (Ok(own), Ok(up)) => own.is_dir() && own.dev() != up.dev(),
        // A mount whose daemon died answers ENOTCONN: still a mount that needs unmounting.
        (Err(e), Ok(_)) => e.kind() == io::ErrorKind::NotConnected,
        _ => false,
    }
}

/// Mounts `backing` at the empty directory `view` with `bindfs -f` (kept as our child so it is
/// reaped on unmount) and waits until the mount is in place.
pub(super) fn mount(backing: &Path, view: &Path) -> Result<FuseView, String> {
    let bindfs = find_bindfs().ok_or("bindfs was not found on PATH")?;
    let mut child = Command::new(bindfs)
        .arg("-f")
        .arg("--no-allow-other")
        .args(["-o", FUSE_OPTIONS])
        .arg(backing)
        .arg(view)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot start bindfs: {e}"))?;
    // bindfs -f gives no readiness signal: poll for the mount (or for bindfs giving up).
    let deadline = Instant::now() + MOUNT_TIMEOUT;
    loop {
        if is_mount_point(view) {
            return Ok(FuseView {
                path: view.to_path_buf(),
                child,
            });
        }
        match child.try_wait() {
            Ok(Some(status)) => {
                let mut stderr = String::new();
                if let Some(mut pipe) = child.stderr.take() {
                    let _ = pipe.read_to_string(&mut stderr);
                }
                return Err(format!("bindfs exited with {status}: {}", stderr.trim()));
            }
            Ok(None) if Instant::now() >= deadline => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(format!(
                    "bindfs did not mount within {}s",
                    MOUNT_TIMEOUT.as_secs()
                ));
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(2)),
            Err(e) => return Err(format!("cannot watch bindfs: {e}")),
        }
    }
}

/// Unmounts a view and reaps its bindfs. Tries `fusermount -u`, `fusermount3 -u` and `umount`,
/// then their lazy forms; returns what went wrong when the view stays mounted.
pub(super) fn unmount(mut view: FuseView) -> Result<(), String> {
    let attempts: [(&str, &[&str]); 6] = [
        ("fusermount", &["-u"]),
        ("fusermount3", &["-u"]),
        ("umount", &[]),
        ("fusermount", &["-u", "-z"]),
        ("fusermount3", &["-u", "-z"]),
        ("umount", &["-l"]),
    ];
    let mut failures = Vec::new();
    for (program, args) in attempts {
        if !is_mount_point(&view.path) {
            break;
        }
        match Command::new(program)
            .args(args)
            .arg(&view.path)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .output()
        {
            Ok(out) if out.status.success() => {}
            Ok(out) => failures.push(format!(
                "{program}: {}",
                String::from_utf8_lossy(&out.stderr).trim()
            )),
            Err(e) => failures.push(format!("{program}: {e}")),
        }
    }
    let still_mounted = is_mount_point(&view.path);
    if still_mounted {
        // Without its daemon the mount stays broken but cannot serve stale data.
        let _ = view.child.kill();
    }
    let _ = view.child.wait();
    if still_mounted {
        Err(format!(
            "cannot unmount {}: {}",
            view.path.display(),
            failures.join("; ")
        ))
    } else {
        Ok(())
    }
}

/// Unmounts a mount left at `path` by an earlier run (its bindfs is not our child).
pub(super) fn unmount_stale(path: &Path) -> Result<(), String> {
    for (program, args) in [("fusermount", ["-u", "-z"]), ("umount", ["-l", "--"])] {
        let _ = Command::new(program)
            .args(args)
            .arg(path)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
        if !is_mount_point(path) {
            return Ok(());
        }
    }
    Err(format!(
        "a stale mount at {} cannot be removed; unmount it by hand (fusermount -u)",
        path.display()
    ))
}

impl Pmxcfs {
    /// Gives every member its view: FUSE mounts when `mode` asks for them and they work (in
    /// `Auto` a failed mount falls back to shared views), otherwise symlinks to the backing
    /// tree.
    pub(super) fn setup_views(&mut self, mode: ViewMode) -> Result<(), FsError> {
        let names: Vec<String> = self.lock().members.iter().map(|m| m.name.clone()).collect();
        let fuse = match mode {
            ViewMode::Shared => false,
            ViewMode::Fuse => {
                if let Some(reason) = fuse_unusable_reason() {
                    return Err(FsError::Mount {
                        view: self.views_dir.clone(),
                        reason,
                    });
                }
                true
            }
            ViewMode::Auto => match fuse_unusable_reason() {
                None => true,
                Some(reason) => {
                    tracing::info!("node views share one tree: {reason}");
                    false
                }
            },
        };
        if fuse {
            match self.mount_views(&names) {
                Ok(()) => {
                    self.separate = true;
                    return Ok(());
                }
                Err(e) => {
                    self.unmount();
                    if mode == ViewMode::Fuse {
                        return Err(e);
                    }
                    tracing::warn!("node views share one tree: {e}");
                }
            }
        }
        for name in &names {
            let view = self.view(name);
            clear_view(&view)?;
            symlink(&self.backing, &view).map_err(files::io_error("symlink", &view))?;
        }
        Ok(())
    }

    fn mount_views(&self, names: &[String]) -> Result<(), FsError> {
        for name in names {
            let view = self.view(name);
            clear_view(&view)?;
            fs::create_dir(&view).map_err(files::io_error("mkdir", &view))?;
            let mounted = mount(&self.backing, &view).map_err(|reason| FsError::Mount {
                view: view.clone(),
                reason,
            })?;
            self.mounts
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .push(mounted);
        }
        Ok(())
    }
}

/// Removes whatever an earlier run left at a view path: a stale mount, a symlink, an empty
/// directory.
fn clear_view(view: &Path) -> Result<(), FsError> {
    if is_mount_point(view) {
        unmount_stale(view).map_err(|reason| FsError::Mount {
            view: view.to_path_buf(),
            reason,
        })?;
    }
    match fs::symlink_metadata(view) {
        Ok(meta) if meta.is_dir() => fs::remove_dir(view).map_err(files::io_error("rmdir", view)),
        Ok(_) => fs::remove_file(view).map_err(files::io_error("unlink", view)),
        Err(_) => Ok(()),
    }
}
