//! Output files: PNG sample grids, loss plots, npy arrays, all written atomically so a run that
//! is killed mid-write never leaves a half-written file where a good one was.

mod atomic_file;
pub mod gif;
pub mod npy;
pub mod plot;
pub mod png;
pub mod tensorboard;

use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

pub use atomic_file::AtomicFile;

/// Errors from writing or reading output files. Each message is one line naming the path.
#[derive(Debug, thiserror::Error)]
pub enum IoError {
    #[error("cannot write {}: {source}", .path.display())]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot read {}: {source}", .path.display())]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{}: {message}", .path.display())]
    Shape { path: PathBuf, message: String },
    #[error("cannot encode {}: {message}", .path.display())]
    Encode { path: PathBuf, message: String },
    #[error("cannot decode {}: {message}", .path.display())]
    Decode { path: PathBuf, message: String },
}

/// Replaces `path` with `bytes` atomically: readers see the old file or the new one, never a
/// mix. Writes a temporary file in the same directory (a rename is only atomic within one file
/// system), fsyncs it, renames it over the target, then fsyncs the directory so the rename
/// itself survives a crash (best effort: not every platform can open a directory).
pub fn atomic_write(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let dir = parent_dir(path);
    let tmp_path = dir.join(temp_name(path));
    let result = write_synced(&tmp_path, bytes).and_then(|()| fs::rename(&tmp_path, path));
    if result.is_err() {
        // The temp file is ours alone; a failure to remove it must not hide the real error.
        let _ = fs::remove_file(&tmp_path);
        return result;
    }
    if let Ok(dir_file) = File::open(dir) {
        let _ = dir_file.sync_all();
    }
    Ok(())
}

/// The directory `path` is in ("." for a bare file name).
pub fn parent_dir(path: &Path) -> &Path {
    match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    }
}

/// A hidden name unique to this process and call, so concurrent writers never share a file.
fn temp_name(path: &Path) -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let base = path
        .file_name()
        .map(|name| name.to_string_lossy().into_owned())
        .unwrap_or_else(|| "file".to_string());
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    format!(".{base}.tmp-{}-{n}", std::process::id())
}

fn write_synced(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let mut file = OpenOptions::new().write(true).create_new(true).open(path)?;
    file.write_all(bytes)?;
    file.sync_all()
}

/// [`atomic_write`] with the error mapped to [`IoError::Write`].
pub(crate) fn write_file(path: &Path, bytes: &[u8]) -> Result<(), IoError> {
    atomic_write(path, bytes).map_err(|source| IoError::Write {
        path: path.to_path_buf(),
        source,
    })
}
