//! Where an adapter's changes go to become durable. The memory backends have none; the
//! file backends write each change as a record to their write-ahead log ([`crate::file::wal`]).
//!
//! An adapter applies a change to its in-memory state and submits the change's record in
//! the same critical section, so the log holds changes in the order they were applied; the
//! call then waits on the returned [`Ack`], which settles as the durability mode says
//! (`always`: after fsync; `batch`: after the write reached the OS; `none`: at once).

use crate::error::{NventError, Result};
use tokio::sync::oneshot;

pub trait Journal: Send + Sync {
    /// Queues one record. Must not block.
    fn submit(&self, payload: Vec<u8>) -> Ack;

    /// Queues several records, in order, settled by one [`Ack`]. Must not block.
    fn submit_many(&self, records: Records) -> Ack {
        // Journals settle records in the order submitted: the last one's Ack covers all.
        let mut last = Ack::Done;
        for r in records.iter() {
            last = self.submit(r.to_vec());
            if let Ack::Failed(_) = last {
                break;
            }
        }
        last
    }

    /// The error that failed the journal; the owner then refuses every call with it.
    fn failure(&self) -> Option<NventError>;

    /// True when the owner should dump its state and call [`Journal::rotate`].
    fn wants_compaction(&self) -> bool {
        false
    }

    /// Starts a new log whose snapshot is `snapshot` (the owner's whole state as records,
    /// dumped under the lock that orders its submissions).
    fn rotate(&self, snapshot: Vec<Vec<u8>>) -> Ack {
        drop(snapshot);
        Ack::Done
    }
}

/// Several records back to back in one buffer (one allocation for a batch, not one each).
#[derive(Debug, Default)]
pub struct Records {
    bytes: Vec<u8>,
    ends: Vec<usize>,
}

impl Records {
    /// Appends one record, written by `write` at the end of the buffer.
    pub fn push_with(&mut self, write: impl FnOnce(&mut Vec<u8>)) {
        write(&mut self.bytes);
        self.ends.push(self.bytes.len());
    }

    pub fn len(&self) -> usize {
        self.ends.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ends.is_empty()
    }

    /// Total bytes of the records.
    pub fn bytes(&self) -> usize {
        self.bytes.len()
    }

    pub fn iter(&self) -> impl Iterator<Item = &[u8]> {
        let mut start = 0;
        self.ends.iter().map(move |&end| {
            let r = &self.bytes[start..end];
            start = end;
            r
        })
    }
}

/// The settlement of a submitted record.
#[must_use]
pub enum Ack {
    Done,
    Failed(NventError),
    Wait(oneshot::Receiver<Result<()>>),
}

impl Ack {
    /// # Errors
    /// `NVENT_IO` when the record could not be made durable.
    pub async fn wait(self) -> Result<()> {
        match self {
            Ack::Done => Ok(()),
            Ack::Failed(e) => Err(e),
            Ack::Wait(rx) => rx.await.unwrap_or_else(|_| {
                Err(NventError::Io {
                    message: "the log writer stopped before the record was written".into(),
                })
            }),
        }
    }
}
