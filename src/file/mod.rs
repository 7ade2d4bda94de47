//! The file backend's storage engine, shared by the file store and the file queue.
//!
//! A data dir holds one write-ahead log of records and, after compaction, a snapshot:
//!
//! ```text
//! <dataDir>/LOCK              held (flock) by the one owner of the dir
//! <dataDir>/snapshot-<G>.snap the full state at the start of generation G (optional)
//! <dataDir>/wal-<G>.log       every change since, in order
//! ```
//!
//! Record framing, recovery and durability are in [`record`] and [`wal`]; the format is
//! documented in `docs/FILE-FORMAT.md`. Names (keys, subjects, job ids) never become file
//! names: they live inside records, so no name can reach outside the data dir.

pub mod adopt;
pub mod dir;
pub mod lock;
pub mod record;
pub mod wal;

use crate::error::NventError;
use std::path::Path;

/// Refuses a path inside the data dir that is a symbolic link: a link planted there could
/// point our writes anywhere on the machine.
///
/// # Errors
/// `NVENT_IO` naming the link.
pub fn refuse_symlink(path: &Path) -> crate::Result<()> {
    match std::fs::symlink_metadata(path) {
        Ok(m) if m.file_type().is_symlink() => Err(NventError::Io {
            message: format!(
                "{} is a symbolic link; the data dir must hold only the engine's own files",
                path.display()
            ),
        }),
        _ => Ok(()),
    }
}

/// An `NVENT_IO` error naming the file.
pub fn io_error(path: &Path, what: &str, e: std::io::Error) -> NventError {
    NventError::Io {
        message: format!("{what} {}: {e}", path.display()),
    }
}
