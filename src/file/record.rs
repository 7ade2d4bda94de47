//! Record framing and recovery scans.
//!
//! A file starts with an 8-byte magic (`NVENTLOG` or `NVENTSNP`) and a u32 LE format version;
//! then records follow, each `len: u32 LE | crc32: u32 LE | payload (len bytes)`, the CRC
//! (IEEE) taken over the payload. A record is complete when its whole frame is in the file
//! and its CRC matches.
//!
//! Recovery keeps every complete record. A bad frame that reaches the end of the file is a
//! **torn tail** (a write cut short by a crash): it is dropped, reported, and the file is
//! truncated there. A bad frame followed by more data is **corruption**: `NVENT_CORRUPT`
//! with file and offset, unless the caller asked to salvage, which skips it.

use crate::error::{NventError, Result};
use std::path::Path;

pub const LOG_MAGIC: &[u8; 8] = b"NVENTLOG";
pub const SNAPSHOT_MAGIC: &[u8; 8] = b"NVENTSNP";
pub const VERSION: u32 = 1;
pub const HEADER_LEN: usize = 12;
/// Frames longer than this are damage, not data (values are at most 16 MiB by default, and
/// a record holds one change or one snapshot entry).
pub const MAX_PAYLOAD: usize = 1 << 30;

pub fn header(magic: &[u8; 8]) -> Vec<u8> {
    let mut h = Vec::with_capacity(HEADER_LEN);
    h.extend_from_slice(magic);
    h.extend_from_slice(&VERSION.to_le_bytes());
    h
}

/// Appends the frame of `payload` to `out`.
pub fn frame(payload: &[u8], out: &mut Vec<u8>) {
    out.extend_from_slice(&(payload.len() as u32).to_le_bytes());
    out.extend_from_slice(&crc32fast::hash(payload).to_le_bytes());
    out.extend_from_slice(payload);
}

/// What a scan found.
#[derive(Debug, Default)]
pub struct Scan {
    /// Payloads of the complete records, in order.
    pub records: Vec<Vec<u8>>,
    /// Length of the file up to the end of the last complete record.
    pub valid_len: u64,
    /// A torn tail: the offset where it starts and why it is incomplete.
    pub torn: Option<(u64, String)>,
    /// Corrupt records skipped in salvage mode: `(offset, reason)`.
    pub skipped: Vec<(u64, String)>,
}

/// Scans `bytes` (the whole file at `path`).
///
/// # Errors
/// `NVENT_CORRUPT` for a wrong header or a corrupt record that is not the tail (unless
/// `salvage`).
pub fn scan(path: &Path, bytes: &[u8], magic: &[u8; 8], salvage: bool) -> Result<Scan> {
    let corrupt = |offset: u64, why: &str| NventError::Corrupt {
        message: format!("{} at offset {offset}: {why}", path.display()),
    };
    let mut scan = Scan::default();
    if bytes.len() < HEADER_LEN {
        // A file created but never completed: its header write was torn.
        scan.torn = (!bytes.is_empty()).then(|| (0, "incomplete header".to_string()));
        return Ok(scan);
    }
    if &bytes[..8] != magic {
        return Err(corrupt(0, "not an nvent file (bad magic)"));
    }
    let version = u32::from_le_bytes([bytes[8], bytes[9], bytes[10], bytes[11]]);
    if version != VERSION {
        return Err(corrupt(8, &format!("unsupported format version {version}")));
    }
    let mut at = HEADER_LEN;
    scan.valid_len = at as u64;
    while at < bytes.len() {
        let rest = bytes.len() - at;
        if rest < 8 {
            scan.torn = Some((at as u64, format!("{rest} bytes of a frame header")));
            break;
        }
        let len =
            u32::from_le_bytes([bytes[at], bytes[at + 1], bytes[at + 2], bytes[at + 3]]) as usize;
        let crc = u32::from_le_bytes([bytes[at + 4], bytes[at + 5], bytes[at + 6], bytes[at + 7]]);
        let end = at.saturating_add(8).saturating_add(len);
        if len == 0 || len > MAX_PAYLOAD || end > bytes.len() {
            // A frame that cannot be complete. Followed by nothing usable, it is the tail a
            // crash cut short (zero-filled blocks included); salvage skips nothing here,
            // because without a trustworthy length there is no next record to find.
            let why = if len == 0 {
                "empty frame".to_string()
            } else {
                format!("frame of {len} bytes, {} present", rest - 8)
            };
            scan.torn = Some((at as u64, why));
            break;
        }
        let payload = &bytes[at + 8..end];
        if crc32fast::hash(payload) != crc {
            if end == bytes.len() {
                scan.torn = Some((at as u64, "checksum mismatch in the last record".into()));
                break;
            }
            if !salvage {
                return Err(corrupt(
                    at as u64,
                    "checksum mismatch (open with recovery: 'salvage' to skip it)",
                ));
            }
            scan.skipped.push((at as u64, "checksum mismatch".into()));
            at = end;
            scan.valid_len = at as u64;
            continue;
        }
        scan.records.push(payload.to_vec());
        at = end;
        scan.valid_len = at as u64;
    }
    Ok(scan)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(records: &[&[u8]]) -> Vec<u8> {
        let mut out = header(LOG_MAGIC);
        for r in records {
            frame(r, &mut out);
        }
        out
    }

    #[test]
    fn every_truncation_keeps_the_complete_records_and_reports_one_torn_tail() {
        let full = file(&[b"one", b"two", b"three"]);
        let ends: Vec<usize> = {
            let mut at = HEADER_LEN;
            [3usize, 3, 5]
                .iter()
                .map(|n| {
                    at += 8 + n;
                    at
                })
                .collect()
        };
        for cut in HEADER_LEN..full.len() {
            let s = scan(Path::new("t"), &full[..cut], LOG_MAGIC, false).unwrap();
            let complete = ends.iter().filter(|e| **e <= cut).count();
            assert_eq!(s.records.len(), complete, "cut at {cut}");
            let clean = cut == HEADER_LEN || ends.contains(&cut);
            assert_eq!(s.torn.is_some(), !clean, "cut at {cut}");
        }
    }

    #[test]
    fn a_flipped_bit_in_the_middle_is_corruption_and_salvage_skips_it() {
        let mut f = file(&[b"one", b"two", b"three"]);
        f[HEADER_LEN + 8 + 1] ^= 0x04;
        let e = scan(Path::new("wal-0.log"), &f, LOG_MAGIC, false).unwrap_err();
        assert_eq!(e.code(), "NVENT_CORRUPT");
        assert!(e.to_string().contains("wal-0.log at offset 12"), "{e}");
        let s = scan(Path::new("wal-0.log"), &f, LOG_MAGIC, true).unwrap();
        assert_eq!(s.records, vec![b"two".to_vec(), b"three".to_vec()]);
        assert_eq!(s.skipped.len(), 1);
    }

    #[test]
    fn zero_filled_tails_are_torn_not_records() {
        let mut f = file(&[b"one"]);
        f.extend_from_slice(&[0u8; 64]);
        let s = scan(Path::new("t"), &f, LOG_MAGIC, false).unwrap();
        assert_eq!(s.records.len(), 1);
        assert!(s.torn.is_some());
    }
}
