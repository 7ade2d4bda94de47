//! A data dir holding arbitrary bytes, opened by the file store or the file queue: the
//! whole recovery (scan, decode, replay). Flags (first byte): bit 0 salvage, bit 1 queue
//! (else store), bit 2 fixes frame CRCs (see `wal_scan`), bit 3 writes the bytes as the
//! snapshot of generation 1 instead of the log of generation 0, bit 4 gives the header
//! format 1 (else the format written). The rest follows that header. A dir that opens must take a write, close, and reopen with everything in it.
#![no_main]

use libfuzzer_sys::fuzz_target;
use nvent_engine::file::dir::{DataDirKind, DataDirOptions};
use nvent_engine::file::record::{LOG_MAGIC, SNAPSHOT_MAGIC, VERSION, VERSION_1};
use nvent_engine::file::wal::{Durability, WalConfig};
use nvent_engine::queue::facade::Queue;
use nvent_engine::queue::file::FileQueueAdapter;
use nvent_engine::store::facade::Store;
use nvent_engine::store::file::FileStoreAdapter;
use nvent_engine::value::Limits;
use nvent_fuzz::wal::{fix_crcs, header};
use nvent_fuzz::{block_on, must_parse, Scratch};
use serde_json::{Map, Value};
use std::sync::Arc;

enum Opened {
    Store(Store),
    Queue(Queue),
}

impl Opened {
    fn open(opts: &DataDirOptions, queue: bool) -> (Opened, nvent_engine::Result<()>) {
        if queue {
            let q = Queue::new(
                Arc::new(FileQueueAdapter::new(opts.clone())),
                &Map::new(),
                Limits::default(),
            )
            .expect("a file queue with no options");
            let r = block_on(q.init());
            (Opened::Queue(q), r)
        } else {
            let s = Store::new(
                Arc::new(FileStoreAdapter::new(opts.clone())),
                Limits::default(),
            );
            let r = block_on(s.init());
            (Opened::Store(s), r)
        }
    }

    /// Records recovered: snapshot + log.
    fn recovered(&self) -> u64 {
        let report = match self {
            Opened::Store(s) => block_on(s.recovery_report()),
            Opened::Queue(q) => block_on(q.recovery_report()),
        };
        let r = must_parse(
            "recovery report",
            &report.unwrap().expect("a file backend reports"),
        );
        r["snapshotRecords"].as_u64().unwrap() + r["logRecords"].as_u64().unwrap()
    }

    fn probe_write(&self) {
        match self {
            Opened::Store(s) => {
                block_on(s.kv_set("fuzz-probe", "\"here\"".into(), None)).expect("write after open")
            }
            Opened::Queue(q) => {
                block_on(q.enqueue(
                    "fuzz-probe",
                    "n",
                    "1".into(),
                    Some(r#"{"jobId":"fuzz-probe","delay":3600000}"#),
                ))
                .expect("enqueue after open");
            }
        }
    }

    fn probe_read(&self) -> bool {
        match self {
            Opened::Store(s) => block_on(s.kv_get("fuzz-probe")).unwrap().is_some(),
            Opened::Queue(q) => block_on(q.get_job("fuzz-probe", "fuzz-probe"))
                .unwrap()
                .is_some(),
        }
    }

    fn close(self) {
        let r = match &self {
            Opened::Store(s) => block_on(s.close()),
            Opened::Queue(q) => block_on(q.close()),
        };
        r.expect("close");
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&flags, rest)) = data.split_first() else {
        return;
    };
    let (salvage, queue, fix, snapshot) = (
        flags & 1 != 0,
        flags & 2 != 0,
        flags & 4 != 0,
        flags & 8 != 0,
    );
    let dir = Scratch::new("open");
    let magic = if snapshot { SNAPSHOT_MAGIC } else { LOG_MAGIC };
    let mut bytes = header(magic, if flags & 16 != 0 { VERSION_1 } else { VERSION });
    bytes.extend_from_slice(rest);
    if fix {
        fix_crcs(&mut bytes);
    }
    let opts = DataDirOptions {
        data_dir: dir.0.clone(),
        kind: if queue {
            DataDirKind::Queue
        } else {
            DataDirKind::Store
        },
        wal: WalConfig {
            durability: Durability::None,
            salvage,
            ..WalConfig::default()
        },
    };
    let file = if snapshot {
        "snapshot-1.snap"
    } else {
        "wal-0.log"
    };
    let files = opts.files_dir();
    std::fs::create_dir_all(&files).unwrap();
    std::fs::write(files.join(file), &bytes).unwrap();
    let (first, r) = Opened::open(&opts, queue);
    if let Err(e) = r {
        // Damage is NVENT_CORRUPT; nothing else may come of bytes on disk, except a
        // store's refusal of a format-1 log of queue records (an earlier release's queue
        // files, which a queue adopts: src/file/adopt.rs).
        let old_queue = !queue
            && flags & 16 != 0
            && e.code() == "NVENT_INVALID_ARGUMENT"
            && e.to_string().contains("earlier release");
        assert!(
            e.code() == "NVENT_CORRUPT" || old_queue,
            "open failed with {}: {e}",
            e.code()
        );
        first.close();
        return;
    }
    let before = first.recovered();
    first.probe_write();
    first.close();
    // What opened once reopens, with the write made after it.
    let (second, r) = Opened::open(&opts, queue);
    if let Err(e) = r {
        panic!(
            "opened once, then fails to reopen after one write: {} {e}",
            e.code()
        );
    }
    assert!(second.probe_read(), "the write made after opening is gone");
    assert!(second.recovered() > before, "fewer records after reopening");
    second.close();
    let _ = Value::Null;
});
