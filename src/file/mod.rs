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

pub mod lock;
pub mod record;
pub mod wal;

use crate::error::NventError;
use std::path::Path;

/// An `NVENT_IO` error naming the file.
pub fn io_error(path: &Path, what: &str, e: std::io::Error) -> NventError {
    NventError::Io {
        message: format!("{what} {}: {e}", path.display()),
    }
}
