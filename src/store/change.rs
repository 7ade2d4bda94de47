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

/// [`Change::StreamAppend`] over borrowed parts: encodes to the same bytes as postcard
/// does for the `Change` (a test pins it), without copying the strings into a `Change`
/// first and without a buffer of its own (the per-append path).
pub struct StreamAppendRef<'a> {
    pub subject: &'a str,
    pub ms: u64,
    pub seq: u64,
    pub kind: &'a str,
    pub record: &'a str,
}

impl StreamAppendRef<'_> {
    /// The variant's index in `Change` (declaration order).
    const VARIANT: u64 = 2;

    pub fn encode(&self) -> Vec<u8> {
        let mut out =
            Vec::with_capacity(self.subject.len() + self.kind.len() + self.record.len() + 32);
        self.encode_into(&mut out);
        out
    }

    /// Appends postcard's encoding: varint variant index, then the fields in order
    /// (strings as varint length + UTF-8, integers as varints).
    pub fn encode_into(&self, out: &mut Vec<u8>) {
        varint(out, Self::VARIANT);
        string(out, self.subject);
        varint(out, self.ms);
        varint(out, self.seq);
        string(out, self.kind);
        string(out, self.record);
    }
}

fn varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

fn string(out: &mut Vec<u8>, s: &str) {
    varint(out, s.len() as u64);
    out.extend_from_slice(s.as_bytes());
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_borrowed_stream_append_encodes_like_the_change() {
        let owned = Change::StreamAppend {
            subject: "run:1".into(),
            ms: 1_733_000_000_000,
            seq: 300,
            kind: "step.completed".into(),
            record: r#"{"id":"1-0","ts":1,"type":"x"}"#.into(),
        };
        let borrowed = StreamAppendRef {
            subject: "run:1",
            ms: 1_733_000_000_000,
            seq: 300,
            kind: "step.completed",
            record: r#"{"id":"1-0","ts":1,"type":"x"}"#,
        };
        assert_eq!(borrowed.encode(), owned.encode());
        assert_eq!(Change::decode(&borrowed.encode()).unwrap(), owned);
        // Long strings and large numbers take multi-byte varints.
        let long = "x".repeat(70_000);
        let owned = Change::StreamAppend {
            subject: long.clone(),
            ms: u64::MAX,
            seq: 128,
            kind: String::new(),
            record: long.clone(),
        };
        let borrowed = StreamAppendRef {
            subject: &long,
            ms: u64::MAX,
            seq: 128,
            kind: "",
            record: &long,
        };
        assert_eq!(borrowed.encode(), owned.encode());
    }
}
