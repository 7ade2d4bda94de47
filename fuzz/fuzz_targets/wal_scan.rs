//! WAL framing at open: `file::record::scan` over arbitrary file bytes, strict and
//! salvage. Flags (first byte): bit 0 puts a valid header before the rest (bit 2: of
//! format 1, else of the format written), bit 1 fixes the CRC of every frame whose header
//! and length fit (so that payloads and lengths, not checksums, are what varies).
#![no_main]

use libfuzzer_sys::fuzz_target;
use nvent_engine::file::record::{self, HEADER_LEN, LOG_MAGIC, VERSION, VERSION_1};
use nvent_fuzz::skipped;
use nvent_fuzz::wal::{fix_crcs, header, valid_frame_at, version};
use std::path::Path;

fuzz_target!(|data: &[u8]| {
    let Some((&flags, rest)) = data.split_first() else {
        return;
    };
    let mut bytes = Vec::new();
    if flags & 1 != 0 {
        let v = if flags & 4 != 0 { VERSION_1 } else { VERSION };
        bytes.extend_from_slice(&header(LOG_MAGIC, v));
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
        if s.skipped.is_empty() && !s.records.is_empty() && version(&bytes) == VERSION {
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
