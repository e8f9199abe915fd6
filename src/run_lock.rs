//! An exclusive lock on a run directory for as long as a trainer writes there, so two processes
//! never train one run at once (their losses.csv rows and checkpoints would interleave).
//!
//! The lock is an advisory flock(2) on `RUN/.lock` (through fs4), so the kernel drops it when
//! the holder exits, however it exits: a lock file left behind by a killed trainer blocks
//! nothing. The file is never removed (removing it would let a third process lock a new file
//! while a second still holds the old one); it holds the holder's PID, for the message only.

use fs4::TryLockError;
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The lock file's name inside a run directory.
pub const LOCK_FILE: &str = ".lock";

/// How long a second trainer waits for the holder to have written its PID: the holder writes
/// it right after taking the lock, so an empty file means it is between the two.
const PID_WAIT: Duration = Duration::from_millis(200);

#[derive(Debug, thiserror::Error)]
pub enum LockError {
    #[error(
        "{} is in use by another trainer (PID {pid}); wait for it to end or stop it first",
        .dir.display()
    )]
    Held { dir: PathBuf, pid: String },
    #[error("cannot lock {}: {source}", .path.display())]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// The held lock; dropping it (or the process ending) releases it.
#[derive(Debug)]
pub struct RunLock {
    _file: File,
}

impl RunLock {
    /// Takes the lock on `dir` (which must exist) without waiting, or fails naming the PID that
    /// holds it.
    pub fn acquire(dir: &Path) -> Result<Self, LockError> {
        let path = dir.join(LOCK_FILE);
        let io = |source| LockError::Io {
            path: path.clone(),
            source,
        };
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(io)?;
        // fs4's flock, not std's File::try_lock (Rust 1.89, newer than this crate's MSRV).
        match fs4::FileExt::try_lock(&file) {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) => {
                return Err(LockError::Held {
                    dir: dir.to_path_buf(),
                    pid: holder_pid(&path),
                })
            }
            Err(TryLockError::Error(source)) => return Err(io(source)),
        }
        file.set_len(0).map_err(io)?;
        writeln!(file, "{}", std::process::id()).map_err(io)?;
        Ok(Self { _file: file })
    }
}

/// The PID the holder wrote into the lock file, or "unknown".
fn holder_pid(path: &Path) -> String {
    let start = std::time::Instant::now();
    loop {
        let text = std::fs::read_to_string(path).unwrap_or_default();
        if let Ok(pid) = text.trim().parse::<u32>() {
            return pid.to_string();
        }
        if start.elapsed() >= PID_WAIT {
            return "unknown".into();
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_lock_fails_naming_the_pid_and_a_dropped_one_frees_the_directory() {
        let dir = tempfile::tempdir().unwrap();
        let held = RunLock::acquire(dir.path()).unwrap();
        let err = RunLock::acquire(dir.path()).unwrap_err().to_string();
        let pid = std::process::id().to_string();
        assert!(err.contains(&format!("PID {pid}")), "{err}");
        drop(held);
        RunLock::acquire(dir.path()).unwrap();
    }
}
