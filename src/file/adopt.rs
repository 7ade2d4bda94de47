//! A queue data dir of an earlier release: its files sat at the top of the data dir, where
//! the store keeps its own. Since the queue moved into `<dataDir>/queue/` (so a queue and a
//! store may share a dir), it **adopts** such files on open, and a store refuses them.
//!
//! Every release that wrote the queue at the top wrote format 1 (`record::VERSION_1`);
//! format 2 came after the move, so a format-2 file at the top is a store's. Store and queue
//! records are both postcard enums, and a loose decode (trailing bytes ignored) confuses
//! them, so the test decodes **strictly** (every byte used): format-1 files at the top are
//! the queue's when every record of every file decodes strictly as a queue change and at
//! least one does not decode strictly as a store change. Anything else is the store's.
//!
//! **Adoption** runs with the queue's own lock held and, before any file moves, the
//! top-level `LOCK` (a live store holds it: then the files are the store's and nothing
//! moves). It writes the list of files to `queue/ADOPTING` (fsynced), renames each file into
//! `queue/`, fsyncs both directories, and removes the list. A crash in between leaves the
//! list: the next queue open finishes the move from it before reading its log (renames are
//! atomic, so each file is in exactly one of the two places), and a store refuses the dir
//! while the list is there. Nothing writes into `queue/` before the list is gone.

use super::lock::DirLock;
use super::record::{self, LOG_MAGIC, SNAPSHOT_MAGIC, VERSION_1};
use super::{io_error, refuse_symlink};
use crate::error::{NventError, Result};
use crate::queue::change::QueueChange;
use crate::store::change::Change;
use std::fs;
use std::io::{Read, Write};
use std::path::Path;

/// The list of files an adoption moves, in `queue/` while it runs.
const MARKER: &str = "ADOPTING";

/// The magic of an engine file name (`wal-<G>.log`, `snapshot-<G>.snap`), or `None`.
fn magic_of(name: &str) -> Option<&'static [u8; 8]> {
    let generation = |prefix: &str, suffix: &str| {
        name.strip_prefix(prefix)
            .and_then(|r| r.strip_suffix(suffix))
            .is_some_and(|g| g.parse::<u64>().is_ok())
    };
    if generation("wal-", ".log") {
        Some(LOG_MAGIC)
    } else if generation("snapshot-", ".snap") {
        Some(SNAPSHOT_MAGIC)
    } else {
        None
    }
}

/// The engine files (logs and snapshots) directly in `dir`, sorted; none if `dir` is absent.
fn engine_files(dir: &Path) -> Result<Vec<String>> {
    let entries = match fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(io_error(dir, "cannot list", e)),
    };
    let mut names = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|e| io_error(dir, "cannot list", e))?;
        let name = entry.file_name().to_string_lossy().to_string();
        if magic_of(&name).is_some() {
            names.push(name);
        }
    }
    names.sort();
    Ok(names)
}

/// Decodes as `T` using every byte (postcard's `from_bytes` ignores trailing bytes).
fn strictly<T: serde::de::DeserializeOwned>(bytes: &[u8]) -> bool {
    matches!(postcard::take_from_bytes::<T>(bytes), Ok((_, rest)) if rest.is_empty())
}

/// Whether the files `names` in `dir` are a queue's of an earlier release (module docs).
fn old_queue_files(dir: &Path, names: &[String]) -> Result<bool> {
    // Headers first: a current store's dir is told apart without reading its logs.
    for name in names {
        let path = dir.join(name);
        refuse_symlink(&path)?;
        let mut header = [0u8; record::HEADER_LEN];
        let mut f = fs::File::open(&path).map_err(|e| io_error(&path, "cannot open", e))?;
        match f.read_exact(&mut header) {
            // A header cut short by a crash holds no records: it does not decide.
            Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => continue,
            Err(e) => return Err(io_error(&path, "cannot read", e)),
            Ok(()) => {}
        }
        let version = u32::from_le_bytes([header[8], header[9], header[10], header[11]]);
        if magic_of(name).map(|m| &m[..]) != Some(&header[..8]) || version != VERSION_1 {
            return Ok(false);
        }
    }
    let mut not_store = false;
    for name in names {
        let path = dir.join(name);
        let Some(magic) = magic_of(name) else {
            continue;
        };
        let bytes = fs::read(&path).map_err(|e| io_error(&path, "cannot read", e))?;
        // Salvage: only the records matter here; damage is reported by the real open.
        let Ok(scan) = record::scan(&path, &bytes, magic, true) else {
            return Ok(false);
        };
        for r in &scan.records {
            if !strictly::<QueueChange>(r) {
                return Ok(false);
            }
            not_store |= !strictly::<Change>(r);
        }
    }
    Ok(not_store)
}

fn sync_dir(dir: &Path) -> Result<()> {
    fs::File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| io_error(dir, "cannot fsync directory", e))
}

/// Moves a queue's files of an earlier release from the top of `data_dir` into `queue_dir`
/// (the caller holds the queue's lock and has not opened its log), or finishes a move a
/// crash interrupted. Returns the names of the files moved.
///
/// # Errors
/// `NVENT_DATA_DIR_LOCKED` when an interrupted move cannot finish because another adapter
/// holds the top-level lock; `NVENT_CORRUPT` for a damaged list; `NVENT_IO`.
pub fn adopt_old_queue(data_dir: &Path, queue_dir: &Path) -> Result<Vec<String>> {
    let marker = queue_dir.join(MARKER);
    refuse_symlink(&marker)?;
    let (names, _top_lock) = if marker.exists() {
        let text = fs::read_to_string(&marker).map_err(|e| io_error(&marker, "cannot read", e))?;
        let names: Vec<String> = text.lines().map(String::from).collect();
        if names.iter().any(|n| magic_of(n).is_none()) {
            return Err(NventError::Corrupt {
                message: format!(
                    "{} names a file that is not a log or snapshot",
                    marker.display()
                ),
            });
        }
        // A store refuses the dir while the list is there, so it holds the lock at most
        // for a moment.
        (names, DirLock::acquire(data_dir)?)
    } else {
        if !engine_files(queue_dir)?.is_empty() {
            return Ok(Vec::new());
        }
        let names = engine_files(data_dir)?;
        if names.is_empty() {
            return Ok(Vec::new());
        }
        let lock = match DirLock::acquire(data_dir) {
            // A live store owns the top of the dir, and so the files there.
            Err(NventError::DataDirLocked { .. }) => return Ok(Vec::new()),
            other => other?,
        };
        if !old_queue_files(data_dir, &names)? {
            return Ok(Vec::new());
        }
        let tmp = queue_dir.join(format!("{MARKER}.tmp"));
        let mut f = fs::File::create(&tmp).map_err(|e| io_error(&tmp, "cannot create", e))?;
        f.write_all(names.join("\n").as_bytes())
            .and_then(|()| f.sync_all())
            .map_err(|e| io_error(&tmp, "cannot write", e))?;
        fs::rename(&tmp, &marker).map_err(|e| io_error(&marker, "cannot rename into", e))?;
        sync_dir(queue_dir)?;
        (names, lock)
    };
    let mut moved = Vec::new();
    for name in &names {
        let from = data_dir.join(name);
        let to = queue_dir.join(name);
        if fs::symlink_metadata(&from).is_err() {
            // Moved before a crash.
            continue;
        }
        refuse_symlink(&from)?;
        if fs::symlink_metadata(&to).is_ok() {
            return Err(NventError::Corrupt {
                message: format!(
                    "{} and {} both exist; the queue cannot tell which is its own (move one away)",
                    from.display(),
                    to.display()
                ),
            });
        }
        fs::rename(&from, &to).map_err(|e| io_error(&to, "cannot rename into", e))?;
        moved.push(name.clone());
    }
    sync_dir(queue_dir)?;
    sync_dir(data_dir)?;
    fs::remove_file(&marker).map_err(|e| io_error(&marker, "cannot remove", e))?;
    sync_dir(queue_dir)?;
    Ok(moved)
}

/// Refuses to open a store on a queue's files of an earlier release (or on a dir whose
/// queue is half-way through adopting them). The caller holds the top-level lock.
///
/// # Errors
/// `NVENT_INVALID_ARGUMENT` saying so, `NVENT_IO`.
pub fn refuse_old_queue(data_dir: &Path) -> Result<()> {
    let marker = data_dir.join("queue").join(MARKER);
    let open_queue_first = "open a FileQueueAdapter on this dataDir first: it moves them into queue/, after which a store can share the dir";
    if fs::symlink_metadata(&marker).is_ok() {
        return Err(NventError::invalid_argument(format!(
            "the file store cannot open {}: a file queue was moving its files of an earlier release into queue/ and was interrupted; {open_queue_first}",
            data_dir.display()
        )));
    }
    let names = engine_files(data_dir)?;
    if !names.is_empty() && old_queue_files(data_dir, &names)? {
        return Err(NventError::invalid_argument(format!(
            "the file store cannot open {}: its logs are a file queue's from an earlier release (format 1, queue records); {open_queue_first}",
            data_dir.display()
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::file::dir::{DataDirKind, DataDirOptions};
    use crate::file::record::format_1;
    use crate::file::wal::WalConfig;
    use crate::queue::file::FileQueueAdapter;
    use crate::queue::{JobOptions, NewJob, QueueAdapter, ScheduleSpec};
    use crate::store::file::FileStoreAdapter;
    use crate::store::StoreAdapter;
    use crate::value::Json;
    use serde_json::{json, Value};
    use std::path::PathBuf;

    fn fresh(name: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("nvent-adopt-{name}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&d);
        fs::create_dir_all(&d).unwrap();
        d
    }

    fn opts(dir: &Path, kind: DataDirKind) -> DataDirOptions {
        DataDirOptions {
            data_dir: dir.to_path_buf(),
            kind,
            wal: WalConfig::default(),
        }
    }

    fn job(name: &str, opts: Value) -> NewJob {
        let Value::Object(m) = opts else {
            unreachable!()
        };
        NewJob {
            name: name.into(),
            data: Json::from_value(&json!({ "name": name })),
            opts: JobOptions::parse(&serde_json::Map::new(), m).unwrap(),
        }
    }

    /// The records a queue of today writes for: 3 waiting jobs, 1 delayed, 1 cron schedule.
    async fn queue_records(dir: &Path) -> Vec<Vec<u8>> {
        let q = FileQueueAdapter::new(opts(dir, DataDirKind::Queue));
        for i in 0..3 {
            q.enqueue("q", job(&format!("w{i}"), json!({})))
                .await
                .unwrap();
        }
        q.enqueue("q", job("later", json!({ "delay": 3_600_000 })))
            .await
            .unwrap();
        let spec = ScheduleSpec::parse(Some(r#"{"cron":"0 3 * * *"}"#)).unwrap();
        q.schedule("q", job("nightly", json!({})), spec)
            .await
            .unwrap();
        q.close().await.unwrap();
        let mut records = Vec::new();
        for name in engine_files(&dir.join("queue")).unwrap() {
            let path = dir.join("queue").join(name);
            let bytes = fs::read(&path).unwrap();
            let magic = magic_of(&path.file_name().unwrap().to_string_lossy()).unwrap();
            records.extend(record::scan(&path, &bytes, magic, false).unwrap().records);
        }
        fs::remove_dir_all(dir.join("queue")).unwrap();
        records
    }

    /// An old-layout queue dir: a snapshot of generation 1 holding the first records, and
    /// the log of generation 1 holding the rest, both format 1, at the top of `dir`.
    async fn old_queue_dir(name: &str) -> PathBuf {
        let dir = fresh(name);
        let records = queue_records(&dir).await;
        assert!(records.len() >= 5, "{} records", records.len());
        let (snap, log) = records.split_at(2);
        fs::write(dir.join("snapshot-1.snap"), format_1(SNAPSHOT_MAGIC, snap)).unwrap();
        fs::write(dir.join("wal-1.log"), format_1(LOG_MAGIC, log)).unwrap();
        fs::write(dir.join("LOCK"), b"").unwrap();
        dir
    }

    async fn assert_queue_is_back(dir: &Path) -> Value {
        let q = FileQueueAdapter::new(opts(dir, DataDirKind::Queue));
        let counts = q.get_job_counts("q").await.unwrap();
        assert_eq!((counts.waiting, counts.delayed), (3, 1));
        let schedules = q.get_scheduled_jobs("q").await.unwrap();
        assert_eq!(schedules.len(), 1);
        let report: Value =
            serde_json::from_str(&q.recovery_report().await.unwrap().unwrap()).unwrap();
        q.close().await.unwrap();
        assert_eq!(engine_files(dir).unwrap(), Vec::<String>::new());
        assert!(!dir.join("queue").join(MARKER).exists());
        report
    }

    #[tokio::test]
    async fn a_queue_adopts_its_files_of_an_earlier_release_and_a_store_can_then_share_the_dir() {
        let dir = old_queue_dir("old").await;
        let report = assert_queue_is_back(&dir).await;
        assert_eq!(report["adopted"], json!(["snapshot-1.snap", "wal-1.log"]));
        assert!(dir.join("queue").join("snapshot-1.snap").exists());
        // Again: nothing left to adopt, the same jobs.
        let report = assert_queue_is_back(&dir).await;
        assert_eq!(report["adopted"], json!([]));
        let s = FileStoreAdapter::new(opts(&dir, DataDirKind::Store));
        s.init().await.unwrap();
        s.close().await.unwrap();
        let _ = fs::remove_dir_all(&dir);
    }

    #[tokio::test]
    async fn a_move_cut_short_by_a_crash_is_finished_by_the_next_queue_open() {
        let dir = old_queue_dir("half").await;
        // The state after the list was written and the snapshot moved.
        fs::create_dir_all(dir.join("queue")).unwrap();
        fs::write(dir.join("queue").join(MARKER), "snapshot-1.snap\nwal-1.log").unwrap();
        fs::rename(
            dir.join("snapshot-1.snap"),
            dir.join("queue/snapshot-1.snap"),
        )
        .unwrap();
        let s = FileStoreAdapter::new(opts(&dir, DataDirKind::Store));
        let e = s.init().await.unwrap_err();
        assert_eq!(e.code(), "NVENT_INVALID_ARGUMENT");
        assert!(e.to_string().contains("interrupted"), "{e}");
        let report = assert_queue_is_back(&dir).await;
        assert_eq!(report["adopted"], json!(["wal-1.log"]));
        let _ = fs::remove_dir_all(&dir);
    }

    #[tokio::test]
    async fn a_store_refuses_a_queue_dir_of_an_earlier_release_and_changes_nothing() {
        let dir = old_queue_dir("refuse").await;
        let before = fs::read(dir.join("wal-1.log")).unwrap();
        let s = FileStoreAdapter::new(opts(&dir, DataDirKind::Store));
        let e = s.init().await.unwrap_err();
        assert_eq!(e.code(), "NVENT_INVALID_ARGUMENT");
        assert!(
            e.to_string()
                .contains("file queue's from an earlier release"),
            "{e}"
        );
        assert_eq!(fs::read(dir.join("wal-1.log")).unwrap(), before);
        assert_eq!(
            engine_files(&dir).unwrap(),
            ["snapshot-1.snap", "wal-1.log"]
        );
        let _ = fs::remove_dir_all(&dir);
    }

    #[tokio::test]
    async fn a_queue_leaves_a_stores_files_of_an_earlier_release_alone() {
        let dir = fresh("store");
        let changes = [
            Change::KvPut {
                key: "k".into(),
                value: r#"{"a":1}"#.into(),
                expires: None,
            },
            Change::StreamAppend {
                subject: "s".into(),
                ms: 1,
                seq: 1,
                kind: "t".into(),
                record: "{}".into(),
            },
            Change::KvDel {
                keys: vec!["gone".into()],
            },
        ];
        let records: Vec<Vec<u8>> = changes.iter().map(Change::encode).collect();
        let log = format_1(LOG_MAGIC, &records);
        fs::write(dir.join("wal-0.log"), &log).unwrap();
        let q = FileQueueAdapter::new(opts(&dir, DataDirKind::Queue));
        assert_eq!(q.get_job_counts("q").await.unwrap().waiting, 0);
        let report: Value =
            serde_json::from_str(&q.recovery_report().await.unwrap().unwrap()).unwrap();
        assert_eq!(report["adopted"], json!([]));
        assert_eq!(fs::read(dir.join("wal-0.log")).unwrap(), log);
        // The store, sharing the dir with the open queue, reads its own records.
        let s = FileStoreAdapter::new(opts(&dir, DataDirKind::Store));
        let v = s.kv_get("k").await.unwrap().unwrap();
        assert_eq!(v.to_value().unwrap(), json!({ "a": 1 }));
        s.close().await.unwrap();
        q.close().await.unwrap();
        let _ = fs::remove_dir_all(&dir);
    }

    #[test]
    fn strict_decoding_tells_queue_and_store_records_apart() {
        let store = Change::KvPut {
            key: "k".into(),
            value: "1".into(),
            expires: None,
        }
        .encode();
        assert!(strictly::<Change>(&store));
        let queue = QueueChange::JobDel {
            queue: "q".into(),
            id: "1".into(),
        }
        .encode();
        assert!(strictly::<QueueChange>(&queue));
    }
}
