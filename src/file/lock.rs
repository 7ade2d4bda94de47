//! The single-owner lock of a data dir: an exclusive, non-blocking `flock` on
//! `<dataDir>/LOCK`, held for the adapter's life. A second process — or a second adapter in
//! this process (flock locks belong to an open file, not to a process) — gets
//! `NVENT_DATA_DIR_LOCKED` at once. The OS releases the lock when the owner dies, so a
//! crash never leaves a stale lock behind.

use super::io_error;
use crate::error::{NventError, Result};
use std::fs::{File, OpenOptions, TryLockError};
use std::path::Path;

pub struct DirLock {
    _file: File,
}

impl DirLock {
    /// Creates `dir` if needed and takes its lock.
    ///
    /// # Errors
    /// `NVENT_DATA_DIR_LOCKED` when another owner holds it, `NVENT_IO` otherwise.
    pub fn acquire(dir: &Path) -> Result<DirLock> {
        std::fs::create_dir_all(dir).map_err(|e| io_error(dir, "cannot create data dir", e))?;
        let path = dir.join("LOCK");
        super::refuse_symlink(&path)?;
        let file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .map_err(|e| io_error(&path, "cannot open", e))?;
        match file.try_lock() {
            Ok(()) => Ok(DirLock { _file: file }),
            Err(TryLockError::WouldBlock) => Err(NventError::DataDirLocked {
                dir: dir.display().to_string(),
            }),
            Err(TryLockError::Error(e)) => Err(io_error(&path, "cannot lock", e)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_owner_is_refused_until_the_first_lets_go() {
        let dir = std::env::temp_dir().join(format!("nvent-lock-{}", std::process::id()));
        let first = DirLock::acquire(&dir).unwrap();
        let second = DirLock::acquire(&dir).err().unwrap();
        assert_eq!(second.code(), "NVENT_DATA_DIR_LOCKED");
        drop(first);
        assert!(DirLock::acquire(&dir).is_ok());
        let _ = std::fs::remove_dir_all(&dir);
    }
}
