//! Writing files so that a crash never leaves half a key or half a config
//! behind: a private temporary file next to the target, synced, then moved
//! into place — refusing to replace an existing file unless told to.

use std::fs::{self, DirBuilder, File, OpenOptions};
use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

/// Whether an existing file at the target may be replaced.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Overwrite {
    /// Fail with [`FileError::Exists`], atomically (no check-then-write race).
    Refuse,
    /// Replace it atomically.
    Replace,
}

/// Why a file could not be written.
#[derive(Debug, thiserror::Error)]
pub enum FileError {
    #[error("refusing to overwrite {}: use --force to replace it", path.display())]
    Exists { path: PathBuf },
    #[error("cannot {action} {}: {source}", path.display())]
    Io {
        action: &'static str,
        path: PathBuf,
        source: std::io::Error,
    },
}

fn io_error(action: &'static str, path: &Path) -> impl FnOnce(std::io::Error) -> FileError {
    let path = path.to_path_buf();
    move |source| FileError::Io {
        action,
        path,
        source,
    }
}

/// Creates `dir` and its missing parents with the usual permissions.
pub fn create_dir(dir: &Path) -> Result<(), FileError> {
    fs::create_dir_all(dir).map_err(io_error("create the directory", dir))
}

/// Creates `dir` and its missing parents, new ones readable by the owner only.
pub fn create_private_dir(dir: &Path) -> Result<(), FileError> {
    DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .map_err(io_error("create the directory", dir))
}

/// Writes `contents` to `path` with permission bits `mode` (exactly, whatever
/// the umask), through a temporary file in the same directory.
pub fn write_atomically(
    path: &Path,
    contents: &[u8],
    mode: u32,
    overwrite: Overwrite,
) -> Result<(), FileError> {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let dir = match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    };
    let file_name = path
        .file_name()
        .map_or_else(|| "file".into(), |name| name.to_string_lossy().into_owned());
    let temporary = dir.join(format!(
        ".{file_name}.tmp.{}.{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    ));
    let result = write_then_move(&temporary, path, contents, mode, overwrite);
    if result.is_err() {
        // The temporary file is ours and useless now; a failure to remove it
        // changes nothing about the error worth reporting.
        let _ = fs::remove_file(&temporary);
    }
    result?;
    File::open(dir)
        .and_then(|dir| dir.sync_all())
        .map_err(io_error("sync the directory", dir))
}

fn write_then_move(
    temporary: &Path,
    path: &Path,
    contents: &[u8],
    mode: u32,
    overwrite: Overwrite,
) -> Result<(), FileError> {
    let mut file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(mode)
        .open(temporary)
        .map_err(io_error("create", temporary))?;
    file.set_permissions(fs::Permissions::from_mode(mode))
        .map_err(io_error("set the permissions of", temporary))?;
    file.write_all(contents)
        .and_then(|()| file.sync_all())
        .map_err(io_error("write", temporary))?;
    drop(file);
    match overwrite {
        Overwrite::Replace => fs::rename(temporary, path).map_err(io_error("replace", path)),
        Overwrite::Refuse => {
            fs::hard_link(temporary, path).map_err(|source| {
                if source.kind() == std::io::ErrorKind::AlreadyExists {
                    FileError::Exists {
                        path: path.to_path_buf(),
                    }
                } else {
                    io_error("create", path)(source)
                }
            })?;
            fs::remove_file(temporary).map_err(io_error("remove", temporary))
        }
    }
}

#[cfg(test)]
mod tests {
    use std::fs;
    use std::os::unix::fs::PermissionsExt;

    use super::{FileError, Overwrite, create_private_dir, write_atomically};

    fn mode(path: &std::path::Path) -> u32 {
        fs::metadata(path).unwrap().permissions().mode() & 0o777
    }

    #[test]
    fn a_new_file_gets_its_contents_and_exact_mode_and_no_temporary_stays() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ca.key");
        write_atomically(&path, b"secret", 0o600, Overwrite::Refuse).unwrap();
        assert_eq!(fs::read(&path).unwrap(), b"secret");
        assert_eq!(mode(&path), 0o600);
        write_atomically(
            &dir.path().join("ca.pem"),
            b"cert",
            0o644,
            Overwrite::Refuse,
        )
        .unwrap();
        assert_eq!(mode(&dir.path().join("ca.pem")), 0o644);
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 2);
    }

    #[test]
    fn refusing_keeps_the_existing_file_and_names_it() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ca.key");
        fs::write(&path, "old").unwrap();
        let error = write_atomically(&path, b"new", 0o600, Overwrite::Refuse).unwrap_err();
        assert!(matches!(&error, FileError::Exists { path: named } if named == &path));
        assert!(error.to_string().contains("ca.key"), "{error}");
        assert_eq!(fs::read(&path).unwrap(), b"old");
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[test]
    fn replacing_swaps_the_contents_and_the_mode() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config.toml");
        fs::write(&path, "old").unwrap();
        fs::set_permissions(&path, fs::Permissions::from_mode(0o666)).unwrap();
        write_atomically(&path, b"new", 0o600, Overwrite::Replace).unwrap();
        assert_eq!(fs::read(&path).unwrap(), b"new");
        assert_eq!(mode(&path), 0o600);
    }

    #[test]
    fn private_dirs_are_created_with_their_parents_owner_only() {
        let dir = tempfile::tempdir().unwrap();
        let nested = dir.path().join("a/b");
        create_private_dir(&nested).unwrap();
        assert_eq!(mode(&nested), 0o700);
        assert_eq!(mode(&dir.path().join("a")), 0o700);
    }
}
