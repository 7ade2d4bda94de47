//! Record framing and recovery scans.
//!
//! A file starts with an 8-byte magic (`NVENTLOG` or `NVENTSNP`) and a u32 LE format version;
//! then records follow. Format 2 (written since the hardening of issue 14) frames a record as
//! `sync: 4 bytes | len: u32 LE | crc32: u32 LE | payload (len bytes)`, the CRC (IEEE) taken
//! over the length bytes and the payload; format 1 (still read, never written) was
//! `len: u32 LE | crc32 of the payload | payload`. A record is complete when its whole frame
//! is in the file and its CRC matches.
//!
//! Recovery keeps every complete record. After a bad frame the scan looks for the next
//! complete record (**resynchronisation**: in format 2 at each sync marker, in format 1 at
//! each byte). When one follows, the bad frame is **corruption**: `NVENT_CORRUPT` with file
//! and offset, unless the caller asked to salvage, which skips the bytes up to that record
//! and reports them. Only a bad frame with nothing complete after it is a **torn tail** (a
//! write cut short by a crash): it is dropped, reported, and the file is truncated there.
//! A damaged length field can therefore never pass for a torn tail while intact records
//! follow it (a flipped bit used to drop the rest of the log).

use crate::error::{NventError, Result};
use std::path::Path;

pub const LOG_MAGIC: &[u8; 8] = b"NVENTLOG";
pub const SNAPSHOT_MAGIC: &[u8; 8] = b"NVENTSNP";
/// The format written.
pub const VERSION: u32 = 2;
/// The first format: no sync marker, a CRC of the payload only. Read, never written.
pub const VERSION_1: u32 = 1;
/// Length of the file header (magic and version).
pub const HEADER_LEN: usize = 12;
/// Starts every format-2 frame. Chosen to be rare in postcard and JSON text (two bytes
/// outside ASCII, one control byte); a false match still needs a length in bounds and a
/// matching CRC over length and payload.
pub const SYNC: [u8; 4] = [0xA7, 0x5E, 0xC0, 0x1E];
/// Bytes a format-2 frame adds to its payload.
pub const FRAME_OVERHEAD: usize = 12;
const FRAME_OVERHEAD_1: usize = 8;
/// Frames longer than this are damage, not data (values are at most 16 MiB by default, and
/// a record holds one change or one snapshot entry).
pub const MAX_PAYLOAD: usize = 1 << 30;

pub fn header(magic: &[u8; 8]) -> Vec<u8> {
    let mut h = Vec::with_capacity(HEADER_LEN);
    h.extend_from_slice(magic);
    h.extend_from_slice(&VERSION.to_le_bytes());
    h
}

/// Appends the (format 2) frame of `payload` to `out`.
pub fn frame(payload: &[u8], out: &mut Vec<u8>) {
    let len = (payload.len() as u32).to_le_bytes();
    out.extend_from_slice(&SYNC);
    out.extend_from_slice(&len);
    out.extend_from_slice(&crc(&len, payload).to_le_bytes());
    out.extend_from_slice(payload);
}

/// The format-2 CRC: over the length field too, so a damaged length is detected rather
/// than trusted.
fn crc(len: &[u8; 4], payload: &[u8]) -> u32 {
    let mut h = crc32fast::Hasher::new();
    h.update(len);
    h.update(payload);
    h.finalize()
}

fn u32_at(bytes: &[u8], at: usize) -> Option<u32> {
    let b = bytes.get(at..at.checked_add(4)?)?;
    Some(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
}

/// The complete frame at `at`: `(payload start, end)`, or why there is none.
fn frame_at(bytes: &[u8], at: usize, version: u32) -> std::result::Result<(usize, usize), String> {
    let overhead = if version == VERSION_1 {
        FRAME_OVERHEAD_1
    } else {
        FRAME_OVERHEAD
    };
    let rest = bytes.len() - at;
    if rest < overhead {
        return Err(format!("{rest} bytes of a frame header"));
    }
    let (len_at, crc_at) = if version == VERSION_1 {
        (at, at + 4)
    } else {
        if bytes[at..at + 4] != SYNC {
            return Err(if bytes[at..].iter().all(|b| *b == 0) {
                "zero-filled bytes".to_string()
            } else {
                "no record marker".to_string()
            });
        }
        (at + 4, at + 8)
    };
    let len_field = u32_at(bytes, len_at).unwrap_or(0);
    let stored = u32_at(bytes, crc_at).unwrap_or(0);
    let len = len_field as usize;
    if len == 0 {
        return Err("empty frame".into());
    }
    if len > MAX_PAYLOAD {
        return Err(format!("frame length {len} out of bounds"));
    }
    let start = at + overhead;
    let end = start.saturating_add(len);
    if end > bytes.len() {
        return Err(format!("frame of {len} bytes, {} present", rest - overhead));
    }
    let payload = &bytes[start..end];
    let actual = if version == VERSION_1 {
        crc32fast::hash(payload)
    } else {
        crc(&len_field.to_le_bytes(), payload)
    };
    if actual != stored {
        return Err("checksum mismatch".into());
    }
    Ok((start, end))
}

/// What a look for the next complete record found.
enum Resync {
    /// A complete record starts here.
    At(usize),
    /// No complete record follows.
    Nothing,
    /// The look hashed its whole budget before it could tell (only crafted or heavily
    /// damaged files get here).
    GaveUp,
}

/// Looks for the first complete record starting after `from`, hashing at most `budget`
/// bytes in all (the budget is shared by the scan of one file, so damage cannot make
/// recovery quadratic in the file size).
fn resync(bytes: &[u8], from: usize, version: u32, budget: &mut usize) -> Resync {
    let mut at = from;
    while at < bytes.len() {
        let candidate = if version == VERSION_1 {
            at
        } else {
            match memchr::memmem::find(&bytes[at..], &SYNC) {
                Some(i) => at + i,
                None => return Resync::Nothing,
            }
        };
        // Bounds first: most candidates fail here without hashing anything.
        let len_at = candidate + if version == VERSION_1 { 0 } else { 4 };
        let len = u32_at(bytes, len_at).unwrap_or(0) as usize;
        let overhead = if version == VERSION_1 {
            FRAME_OVERHEAD_1
        } else {
            FRAME_OVERHEAD
        };
        let fits = len > 0
            && len <= MAX_PAYLOAD
            && candidate.saturating_add(overhead).saturating_add(len) <= bytes.len();
        if fits {
            if *budget < len {
                return Resync::GaveUp;
            }
            *budget -= len;
            if frame_at(bytes, candidate, version).is_ok() {
                return Resync::At(candidate);
            }
        }
        at = candidate + 1;
    }
    Resync::Nothing
}

/// What a scan found.
#[derive(Debug, Default)]
pub struct Scan {
    /// The file's format version.
    pub version: u32,
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
/// `NVENT_CORRUPT` for a wrong header or a damaged record that complete records follow
/// (unless `salvage`).
pub fn scan(path: &Path, bytes: &[u8], magic: &[u8; 8], salvage: bool) -> Result<Scan> {
    let corrupt = |offset: u64, why: &str| NventError::Corrupt {
        message: format!("{} at offset {offset}: {why}", path.display()),
    };
    let mut scan = Scan {
        version: VERSION,
        ..Default::default()
    };
    if bytes.len() < HEADER_LEN {
        // A file created but never completed: its header write was torn.
        scan.torn = (!bytes.is_empty()).then(|| (0, "incomplete header".to_string()));
        return Ok(scan);
    }
    if &bytes[..8] != magic {
        return Err(corrupt(0, "not an nvent file (bad magic)"));
    }
    let version = u32_at(bytes, 8).unwrap_or(0);
    if version != VERSION && version != VERSION_1 {
        return Err(corrupt(8, &format!("unsupported format version {version}")));
    }
    scan.version = version;
    // Generous for any real damage (a format-2 look hashes only at sync markers), small
    // enough that a crafted file cannot stall recovery for long.
    let mut budget = bytes.len().saturating_mul(4).saturating_add(64 << 20);
    let mut at = HEADER_LEN;
    scan.valid_len = at as u64;
    while at < bytes.len() {
        let why = match frame_at(bytes, at, version) {
            Ok((start, end)) => {
                scan.records.push(bytes[start..end].to_vec());
                at = end;
                scan.valid_len = at as u64;
                continue;
            }
            Err(why) => why,
        };
        match resync(bytes, at + 1, version, &mut budget) {
            Resync::Nothing => {
                // Nothing complete follows: the tail a crash cut short (zero-filled blocks
                // included).
                scan.torn = Some((at as u64, why));
                break;
            }
            Resync::At(next) => {
                if !salvage {
                    return Err(corrupt(
                        at as u64,
                        &format!(
                            "{why}, and intact records follow at offset {next} (open with recovery: 'salvage' to skip the {} damaged bytes)",
                            next - at
                        ),
                    ));
                }
                scan.skipped
                    .push((at as u64, format!("{why}; {} bytes skipped", next - at)));
                at = next;
                scan.valid_len = at as u64;
            }
            Resync::GaveUp => {
                let rest = bytes.len() - at;
                if !salvage {
                    return Err(corrupt(
                        at as u64,
                        &format!("{why}, and the {rest} bytes after it could not be checked for intact records (open with recovery: 'salvage' to drop them)"),
                    ));
                }
                scan.skipped.push((
                    at as u64,
                    format!("{why}; the remaining {rest} bytes dropped unchecked"),
                ));
                break;
            }
        }
    }
    Ok(scan)
}

/// A file framed as earlier releases wrote them (format 1: `len | crc32(payload) | payload`),
/// for tests of reading old files.
#[cfg(test)]
pub(crate) fn format_1<R: AsRef<[u8]>>(magic: &[u8; 8], records: &[R]) -> Vec<u8> {
    let mut out = magic.to_vec();
    out.extend_from_slice(&VERSION_1.to_le_bytes());
    for r in records {
        let r = r.as_ref();
        out.extend_from_slice(&(r.len() as u32).to_le_bytes());
        out.extend_from_slice(&crc32fast::hash(r).to_le_bytes());
        out.extend_from_slice(r);
    }
    out
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

    /// A format-1 log, as the engine wrote them before format 2.
    fn file_v1(records: &[&[u8]]) -> Vec<u8> {
        format_1(LOG_MAGIC, records)
    }

    /// Where each record's frame ends.
    fn ends(records: &[&[u8]], overhead: usize) -> Vec<usize> {
        let mut at = HEADER_LEN;
        records
            .iter()
            .map(|r| {
                at += overhead + r.len();
                at
            })
            .collect()
    }

    #[test]
    fn every_truncation_keeps_the_complete_records_and_reports_one_torn_tail() {
        let records: [&[u8]; 3] = [b"one", b"two", b"three"];
        for (full, ends) in [
            (file(&records), ends(&records, FRAME_OVERHEAD)),
            (file_v1(&records), ends(&records, FRAME_OVERHEAD_1)),
        ] {
            for cut in HEADER_LEN..full.len() {
                let s = scan(Path::new("t"), &full[..cut], LOG_MAGIC, false).unwrap();
                let complete = ends.iter().filter(|e| **e <= cut).count();
                assert_eq!(s.records.len(), complete, "cut at {cut}");
                let clean = cut == HEADER_LEN || ends.contains(&cut);
                assert_eq!(s.torn.is_some(), !clean, "cut at {cut}");
            }
        }
    }

    /// Flips every byte of a small file in turn (one bit, the top bit, all bits): opening
    /// either fails with `NVENT_CORRUPT`, or keeps every record but the damaged one and
    /// reports that one (as a torn tail only when it is the last record). Never fewer
    /// without saying so.
    fn every_flip_loses_at_most_the_damaged_record_and_says_so(
        magic: &[u8; 8],
        bytes: &[u8],
        records: &[&[u8]],
        ends: &[usize],
    ) {
        for i in 0..bytes.len() {
            let damaged = ends.iter().position(|e| i < *e);
            for mask in [0x01u8, 0x80, 0xFF] {
                let mut f = bytes.to_vec();
                f[i] ^= mask;
                for salvage in [false, true] {
                    let at = format!("byte {i} ^ {mask:#x}, salvage {salvage}");
                    let s = match scan(Path::new("t"), &f, magic, salvage) {
                        Err(e) => {
                            assert_eq!(e.code(), "NVENT_CORRUPT", "{at}");
                            assert!(!salvage || i < HEADER_LEN, "salvage refused: {at}: {e}");
                            continue;
                        }
                        Ok(s) => s,
                    };
                    let k = damaged
                        .filter(|_| i >= HEADER_LEN)
                        .unwrap_or_else(|| panic!("header damage accepted: {at}"));
                    let mut want: Vec<Vec<u8>> = records.iter().map(|r| r.to_vec()).collect();
                    want.remove(k);
                    assert_eq!(s.records, want, "{at}");
                    let reported = s.skipped.len() + usize::from(s.torn.is_some());
                    assert_eq!(reported, 1, "{at}: {s:?}");
                    if s.torn.is_some() {
                        assert_eq!(k, records.len() - 1, "a torn tail before the end: {at}");
                    }
                }
            }
        }
    }

    #[test]
    fn every_flipped_byte_of_a_log_or_snapshot_is_corruption_or_one_reported_record() {
        let records: [&[u8]; 5] = [b"alpha", b"b", b"a longer third record", b"4444", b"five"];
        for magic in [LOG_MAGIC, SNAPSHOT_MAGIC] {
            let mut f = header(magic);
            for r in &records {
                frame(r, &mut f);
            }
            every_flip_loses_at_most_the_damaged_record_and_says_so(
                magic,
                &f,
                &records,
                &ends(&records, FRAME_OVERHEAD),
            );
        }
        every_flip_loses_at_most_the_damaged_record_and_says_so(
            LOG_MAGIC,
            &file_v1(&records),
            &records,
            &ends(&records, FRAME_OVERHEAD_1),
        );
    }

    #[test]
    fn a_flipped_length_bit_in_the_middle_of_a_long_log_is_corruption_not_a_torn_tail() {
        let payloads: Vec<Vec<u8>> = (0..200u32)
            .map(|i| format!("record {i}").into_bytes())
            .collect();
        let refs: Vec<&[u8]> = payloads.iter().map(|p| p.as_slice()).collect();
        for (mut f, len_offset, ends) in [
            (file(&refs), 4, ends(&refs, FRAME_OVERHEAD)),
            (file_v1(&refs), 0, ends(&refs, FRAME_OVERHEAD_1)),
        ] {
            // The length field of record 100 (it starts where record 99 ends), high byte:
            // a length past the end of the file, which format 1 took for a torn tail.
            f[ends[99] + len_offset + 3] ^= 0x10;
            let e = scan(Path::new("wal-0.log"), &f, LOG_MAGIC, false).unwrap_err();
            assert_eq!(e.code(), "NVENT_CORRUPT");
            assert!(
                e.to_string()
                    .contains(&format!("wal-0.log at offset {}", ends[99])),
                "{e}"
            );
            let s = scan(Path::new("wal-0.log"), &f, LOG_MAGIC, true).unwrap();
            assert_eq!(s.records.len(), 199);
            assert!(!s.records.contains(&b"record 100".to_vec()));
            assert_eq!(s.skipped.len(), 1);
            assert!(s.torn.is_none());
            assert_eq!(s.valid_len, f.len() as u64);
        }
    }

    #[test]
    fn a_flipped_bit_in_a_payload_is_corruption_and_salvage_skips_it() {
        let mut f = file(&[b"one", b"two", b"three"]);
        f[HEADER_LEN + FRAME_OVERHEAD + 1] ^= 0x04;
        let e = scan(Path::new("wal-0.log"), &f, LOG_MAGIC, false).unwrap_err();
        assert_eq!(e.code(), "NVENT_CORRUPT");
        assert!(e.to_string().contains("wal-0.log at offset 12"), "{e}");
        let s = scan(Path::new("wal-0.log"), &f, LOG_MAGIC, true).unwrap();
        assert_eq!(s.records, vec![b"two".to_vec(), b"three".to_vec()]);
        assert_eq!(s.skipped.len(), 1);
    }

    #[test]
    fn zero_filled_tails_are_torn_not_records() {
        for mut f in [file(&[b"one"]), file_v1(&[b"one"])] {
            f.extend_from_slice(&[0u8; 64]);
            let s = scan(Path::new("t"), &f, LOG_MAGIC, false).unwrap();
            assert_eq!(s.records.len(), 1);
            assert!(s.torn.is_some());
        }
    }

    #[test]
    fn a_tail_of_bare_sync_markers_is_a_torn_tail() {
        // Each marker is a candidate for resynchronisation; none is a record.
        let mut f = file(&[b"one"]);
        f.extend_from_slice(b"junk");
        for _ in 0..1000 {
            f.extend_from_slice(&SYNC);
        }
        let s = scan(Path::new("t"), &f, LOG_MAGIC, false).unwrap();
        assert_eq!(s.records, vec![b"one".to_vec()]);
        assert!(s.torn.is_some());
    }
}
