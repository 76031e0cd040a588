//! File-level building blocks of the tree: relative-path checks, pmxcfs's modes, exclusive
//! creates (the first step of PVE's `file_set_contents`) and atomic replacement of generated
//! files.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::Path;

use super::FsError;

/// pmxcfs refuses files larger than this (EFBIG).
pub(super) const MAX_FILE_SIZE: usize = 1024 * 1024;

/// Turns an IO error on `path` into an [`FsError`] (`NotFound` for ENOENT).
pub(super) fn io_error(op: &'static str, path: &Path) -> impl FnOnce(io::Error) -> FsError {
    let path = path.to_path_buf();
    move |source| match source.kind() {
        io::ErrorKind::NotFound => FsError::NotFound { path },
        _ => FsError::Io { op, path, source },
    }
}

/// Rejects paths that are absolute, empty, or not plain `name/name/...` below the root.
pub(super) fn check_relative(rel: &str) -> Result<(), FsError> {
    let invalid = |reason: &str| FsError::InvalidPath {
        rel: rel.to_string(),
        reason: reason.to_string(),
    };
    if rel.is_empty() {
        return Err(invalid("the path is empty"));
    }
    if rel.starts_with('/') {
        return Err(invalid("the path must be relative to the tree root"));
    }
    for part in rel.split('/') {
        match part {
            "" => return Err(invalid("empty path components are not allowed")),
            "." | ".." => return Err(invalid("'.' and '..' components are not allowed")),
            _ => {}
        }
    }
    Ok(())
}

/// Whether `rel` lies under `priv/` or `nodes/<n>/priv/`.
fn is_private(rel: &str) -> bool {
    let parts: Vec<&str> = rel.split('/').collect();
    parts.first() == Some(&"priv")
        || (parts.len() >= 3 && parts[0] == "nodes" && parts[2] == "priv")
}

/// pmxcfs's file mode for `rel`: 0600 under `priv/`, 0640 elsewhere.
pub(super) fn file_mode(rel: &str) -> u32 {
    if is_private(rel) { 0o600 } else { 0o640 }
}

/// pmxcfs's directory mode for `rel`: 0700 under `priv/`, 0755 elsewhere.
pub(super) fn dir_mode(rel: &str) -> u32 {
    if is_private(rel) { 0o700 } else { 0o755 }
}

/// Creates the directory `root/rel` (and missing parents) with pmxcfs's modes.
pub(super) fn ensure_dir(root: &Path, rel: &str) -> Result<(), FsError> {
    let mut sofar = String::new();
    for part in rel.split('/').filter(|p| !p.is_empty()) {
        if !sofar.is_empty() {
            sofar.push('/');
        }
        sofar.push_str(part);
        let path = root.join(&sofar);
        match fs::create_dir(&path) {
            Ok(()) => set_mode(&path, dir_mode(&sofar))?,
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
            Err(e) => return Err(io_error("mkdir", &path)(e)),
        }
    }
    Ok(())
}

fn set_mode(path: &Path, mode: u32) -> Result<(), FsError> {
    fs::set_permissions(path, fs::Permissions::from_mode(mode)).map_err(io_error("chmod", path))
}

/// `open(path, O_WRONLY|O_CREAT|O_EXCL, mode)`, write, close. `Exists` when the name is taken;
/// a partly written file is removed again.
pub(super) fn create_exclusive(path: &Path, mode: u32, content: &[u8]) -> Result<(), FsError> {
    let mut file = match OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(mode)
        .open(path)
    {
        Ok(file) => file,
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
            return Err(FsError::Exists {
                path: path.to_path_buf(),
                owner: None,
            });
        }
        Err(e) => return Err(io_error("create", path)(e)),
    };
    let written = fix_mode(&file, mode).and_then(|()| file.write_all(content));
    drop(file);
    written.map_err(|e| {
        let _ = fs::remove_file(path);
        io_error("write", path)(e)
    })
}

/// Undoes the umask only when it changed the mode (a chmod would add an ATTRIB event that PVE's
/// write sequence does not have).
fn fix_mode(file: &File, mode: u32) -> io::Result<()> {
    if file.metadata()?.permissions().mode() & 0o7777 != mode {
        file.set_permissions(fs::Permissions::from_mode(mode))?;
    }
    Ok(())
}

/// Replaces `dir/name` atomically for readers (write `.name.tmp`, rename). Used for the files
/// pmxcfs generates itself; callers serialize writers of one name.
pub(super) fn replace_generated(
    dir: &Path,
    name: &str,
    mode: u32,
    content: &str,
) -> Result<(), FsError> {
    let tmp = dir.join(format!("{name}.tmp"));
    let target = dir.join(name);
    let _ = fs::remove_file(&tmp);
    create_exclusive(&tmp, mode, content.as_bytes())?;
    fs::rename(&tmp, &target).map_err(|e| {
        let _ = fs::remove_file(&tmp);
        io_error("rename", &target)(e)
    })
}
