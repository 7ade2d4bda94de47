//! Store changes as the file backend logs them: each one says what an entry *is* after
//! the change (not how it got there), so replaying a log is deterministic whatever the
//! clock says at replay time. Encoded with postcard; new variants go at the end only.

use crate::error::{NventError, Result};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Change {
    KvPut {
        key: String,
        value: String,
        /// Absolute expiry, ms since the epoch.
        expires: Option<u64>,
    },
    KvDel {
        keys: Vec<String>,
    },
    StreamAppend {
        subject: String,
        ms: u64,
        seq: u64,
        kind: String,
        record: String,
    },
    StreamDel {
        subject: String,
    },
    IndexPut {
        key: String,
        id: String,
        score: f64,
        metadata: String,
    },
    IndexDel {
        key: String,
        id: String,
    },
    DocPut {
        collection: String,
        id: String,
        doc: String,
    },
    DocDel {
        collection: String,
        id: String,
    },
    ClaimPut {
        key: String,
        owner: String,
        expires: u64,
    },
    ClaimDel {
        key: String,
    },
    /// Several changes that must land together (`kv.mset`).
    Batch(Vec<Change>),
}

impl Change {
    pub fn encode(&self) -> Vec<u8> {
        // Serializing owned strings and numbers into a Vec cannot fail.
        postcard::to_stdvec(self).unwrap_or_default()
    }

    /// # Errors
    /// `NVENT_CORRUPT` for bytes that are not a change (the CRC matched, so this is a bug
    /// or a foreign file).
    pub fn decode(bytes: &[u8]) -> Result<Change> {
        postcard::from_bytes(bytes).map_err(|e| NventError::Corrupt {
            message: format!("a store record does not decode: {e}"),
        })
    }
}
