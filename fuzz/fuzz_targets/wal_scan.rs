//! WAL framing at open: `file::record::scan` over arbitrary file bytes, strict and
//! salvage. Flags (first byte): bit 0 puts a valid header before the rest, bit 1 fixes the
//! CRC of every frame whose length fits (so that payloads and lengths, not checksums, are
//! what varies).
#![no_main]

use libfuzzer_sys::fuzz_target;
use nvent_engine::file::record::{self, HEADER_LEN, LOG_MAGIC};
use nvent_fuzz::skipped;
use std::path::Path;

/// Recomputes the CRC of each frame, walking by the length fields.
pub fn fix_crcs(bytes: &mut [u8]) {
    let mut at = HEADER_LEN;
    while at + 8 <= bytes.len() {
        let len = u32::from_le_bytes(bytes[at..at + 4].try_into().unwrap()) as usize;
        if len == 0 || at + 8 + len > bytes.len() {
            return;
        }
        let crc = crc32(&bytes[at + 8..at + 8 + len]);
        bytes[at + 4..at + 8].copy_from_slice(&crc.to_le_bytes());
        at += 8 + len;
    }
}

fn crc32(b: &[u8]) -> u32 {
    let mut framed = Vec::new();
    record::frame(b, &mut framed);
    u32::from_le_bytes(framed[4..8].try_into().unwrap())
}

/// A complete frame with a matching CRC starts at `at`.
fn valid_frame_at(bytes: &[u8], at: usize) -> bool {
    if at + 8 > bytes.len() {
        return false;
    }
    let len = u32::from_le_bytes(bytes[at..at + 4].try_into().unwrap()) as usize;
    let crc = u32::from_le_bytes(bytes[at + 4..at + 8].try_into().unwrap());
    len > 0 && at + 8 + len <= bytes.len() && crc32(&bytes[at + 8..at + 8 + len]) == crc
}

fuzz_target!(|data: &[u8]| {
    let Some((&flags, rest)) = data.split_first() else {
        return;
    };
    let mut bytes = Vec::new();
    if flags & 1 != 0 {
        bytes.extend_from_slice(&record::header(LOG_MAGIC));
    }
    bytes.extend_from_slice(rest);
    if flags & 2 != 0 {
        fix_crcs(&mut bytes);
    }
    let path = Path::new("wal-0.log");
    let strict = record::scan(path, &bytes, LOG_MAGIC, false);
    let salvage = record::scan(path, &bytes, LOG_MAGIC, true);
    if let Ok(s) = &strict {
        let v = salvage.as_ref().expect("strict opens, salvage must too");
        assert_eq!(s.records, v.records);
        assert_eq!(s.torn, v.torn);
        assert!(s.skipped.is_empty());
    }
    for s in [&strict, &salvage].into_iter().flatten() {
        assert!(s.valid_len as usize <= bytes.len());
        if bytes.len() >= HEADER_LEN {
            assert!(s.valid_len as usize >= HEADER_LEN);
        }
        if s.skipped.is_empty() && !s.records.is_empty() {
            // What was kept is exactly the file up to valid_len.
            let mut again = record::header(LOG_MAGIC);
            for r in &s.records {
                record::frame(r, &mut again);
            }
            assert_eq!(&again[..], &bytes[..s.valid_len as usize]);
        }
        // Only an incomplete record at the very end is a torn tail: no complete record
        // may follow the point where recovery stopped.
        if let Some((at, why)) = &s.torn {
            if !skipped("torn-tail") {
                let at = *at as usize;
                if let Some(next) = (at + 1..bytes.len()).find(|&i| valid_frame_at(&bytes, i)) {
                    panic!("torn tail at {at} ({why}) drops a complete record at {next}");
                }
            }
        }
    }
});
