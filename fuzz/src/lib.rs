//! What the fuzz targets share: running the engine's futures, a memory store, scratch
//! directories, and the checks that a text is the JSON it claims to be.

use nvent_engine::store::facade::Store;
use nvent_engine::store::memory::MemoryStoreAdapter;
use nvent_engine::value::Limits;
use serde_json::Value;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};

/// Runs a future to completion on this thread. Memory backends never suspend; the file
/// backend hands its opening to the engine runtime and this waits for it.
pub fn block_on<F: std::future::Future>(f: F) -> F::Output {
    futures::executor::block_on(f)
}

/// One memory store for the whole process (each target uses its own keys per input).
pub fn memory_store() -> &'static Store {
    static STORE: OnceLock<Store> = OnceLock::new();
    STORE.get_or_init(|| Store::new(Arc::new(MemoryStoreAdapter::new()), Limits::default()))
}

/// Parses text the engine produced and claims is JSON; a failure is a finding.
pub fn must_parse(what: &str, text: &str) -> Value {
    // JS has no nesting limit of its own; inputs are short enough for the stack.
    let mut de = serde_json::Deserializer::from_str(text);
    de.disable_recursion_limit();
    let parsed = serde::Deserialize::deserialize(&mut de).and_then(|v: Value| de.end().map(|()| v));
    match parsed {
        Ok(v) => v,
        // JS parses a number beyond f64 to ±Infinity; serde_json cannot hold it. The JS
        // layer never sends one (JSON.stringify writes null), so this is not a finding.
        Err(e) if e.to_string().contains("number out of range") => Value::Null,
        Err(e) => panic!("{what} is not valid JSON ({e}): {text:?}"),
    }
}

/// JSON equality where numbers compare by value (`1` equals `1.0`), as JS sees them.
pub fn same(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x.as_f64() == y.as_f64(),
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(a, b)| same(a, b))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len() && x.iter().all(|(k, v)| y.get(k).is_some_and(|w| same(v, w)))
        }
        _ => a == b,
    }
}

/// A fresh, empty directory under the fastest scratch space (tmpfs when there is one).
pub struct Scratch(pub PathBuf);

impl Scratch {
    pub fn new(tag: &str) -> Scratch {
        static N: AtomicU64 = AtomicU64::new(0);
        let base = if std::path::Path::new("/dev/shm").is_dir() {
            PathBuf::from("/dev/shm")
        } else {
            std::env::temp_dir()
        };
        let dir = base.join(format!(
            "nvent-fuzz-{tag}-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("scratch dir");
        Scratch(dir)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// True when `NVENT_FUZZ_SKIP` (comma-separated tags) lists `tag`: a check of a defect
/// already reported and being fixed elsewhere, skipped so that a long run can look for
/// new ones. CI sets nothing and runs every check.
pub fn skipped(tag: &str) -> bool {
    static SKIP: OnceLock<Vec<String>> = OnceLock::new();
    SKIP.get_or_init(|| {
        std::env::var("NVENT_FUZZ_SKIP")
            .unwrap_or_default()
            .split(',')
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty())
            .collect()
    })
    .iter()
    .any(|s| s == tag)
}

/// serde_json's marker key for a raw value: an object whose first key it is does not parse
/// into a `Value` (a finding reported in README.md, tag `raw-value-key`).
pub fn raw_value_marker(text: &str) -> bool {
    skipped("raw-value-key") && text.contains("$serde_json::private::RawValue")
}

/// WAL framing as the targets need it: both formats (`nvent_engine::file::record`), so
/// that a target can give libFuzzer's mutations valid checksums (lengths and payloads
/// vary, not CRCs) and can recognise a complete record wherever it sits.
pub mod wal {
    use nvent_engine::file::record::{self, HEADER_LEN, SYNC, VERSION_1};

    /// The format a file's header names (2 when it names none).
    pub fn version(bytes: &[u8]) -> u32 {
        bytes.get(8..12).map_or(record::VERSION, |v| {
            u32::from_le_bytes(v.try_into().unwrap())
        })
    }

    /// A file header of `magic` in `version`.
    pub fn header(magic: &[u8; 8], version: u32) -> Vec<u8> {
        let mut h = magic.to_vec();
        h.extend_from_slice(&version.to_le_bytes());
        h
    }

    /// `(crc, start of payload, payload length)` of the frame at `at` when its header is
    /// there and its length fits the file; the crc is the one the frame should carry.
    fn frame_at(bytes: &[u8], at: usize, version: u32) -> Option<(usize, usize, usize)> {
        let (len_at, body) = if version == VERSION_1 {
            (at, at + 8)
        } else {
            if bytes.get(at..at + 4)? != SYNC {
                return None;
            }
            (at + 4, at + 12)
        };
        let len = u32::from_le_bytes(bytes.get(len_at..len_at + 4)?.try_into().unwrap()) as usize;
        (len > 0 && body.checked_add(len)? <= bytes.len()).then_some((len_at + 4, body, len))
    }

    /// The CRC a frame of `payload` carries in `version`.
    fn crc_of(payload: &[u8], version: u32) -> [u8; 4] {
        if version == VERSION_1 {
            return crc32fast::hash(payload).to_le_bytes();
        }
        let mut framed = Vec::new();
        record::frame(payload, &mut framed);
        framed[8..12].try_into().unwrap()
    }

    /// Gives every frame whose header and length fit a matching CRC, walking frame by
    /// frame from the header.
    pub fn fix_crcs(bytes: &mut [u8]) {
        let version = version(bytes);
        let mut at = HEADER_LEN;
        while let Some((crc_at, body, len)) = frame_at(bytes, at, version) {
            let crc = crc_of(&bytes[body..body + len], version);
            bytes[crc_at..crc_at + 4].copy_from_slice(&crc);
            at = body + len;
        }
    }

    /// A complete frame with a matching CRC starts at `at`.
    pub fn valid_frame_at(bytes: &[u8], at: usize) -> bool {
        let version = version(bytes);
        frame_at(bytes, at, version).is_some_and(|(crc_at, body, len)| {
            bytes[crc_at..crc_at + 4] == crc_of(&bytes[body..body + len], version)
        })
    }
}
