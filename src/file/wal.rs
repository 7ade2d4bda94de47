//! The write-ahead log: one writer thread per data dir, group commit, durability modes,
//! snapshots, compaction and recovery.
//!
//! - **Writer thread.** Records are queued in an inbox and written by one std thread (file
//!   I/O never runs on the JS thread or on the async runtime). The thread takes everything
//!   queued so far as one batch: one `write`, and in `always` mode one `fsync`, shared by
//!   every writer in the batch (group commit). Submitters wake it only when it sleeps.
//! - **Durability.** `always`: a record's Ack settles after the fsync that covers it.
//!   `batch` (default): after its `write` (the OS has it; it survives a process crash), and
//!   an fsync follows within [`WalConfig::window`] (an OS crash may lose that window).
//!   `none`: the Ack settles at once; records are buffered and written every window (a
//!   process crash may lose one window).
//! - **Errors.** A failed write or fsync is never retried: the log turns failed, the
//!   records in flight and every later one get `NVENT_IO`, and the owning adapter refuses
//!   further calls (`fail_state`), so memory and disk cannot be seen to disagree.
//! - **Compaction.** When the log outgrows [`WalConfig::compact_bytes`] (and twice the last
//!   snapshot), the owner dumps its state as records and calls [`Wal::rotate`] under its
//!   state lock. The writer opens `wal-<G+1>.log`, writes `snapshot-<G+1>.tmp`, fsyncs it,
//!   renames it to `.snap`, fsyncs the directory and only then deletes generation G. A crash
//!   at any step leaves either the old snapshot and every log after it, or the new one.
//! - **Recovery** replays the newest complete snapshot and every log of that generation or
//!   later; a torn tail of the last log is dropped (reported) and truncated away.

use super::io_error;
use super::record::{self, LOG_MAGIC, SNAPSHOT_MAGIC};
use crate::error::{NventError, Result};
use crate::journal::{Ack, Journal, Records};
use crate::options::Zero;
use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};
use tokio::sync::oneshot;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Durability {
    Always,
    Batch,
    None,
}

impl Durability {
    /// # Errors
    /// `NVENT_INVALID_ARGUMENT` for another name.
    pub fn parse(s: Option<&str>) -> Result<Durability> {
        match s {
            None | Some("batch") => Ok(Durability::Batch),
            Some("always") => Ok(Durability::Always),
            Some("none") => Ok(Durability::None),
            Some(other) => Err(NventError::invalid_argument(format!(
                "durability must be 'always', 'batch' or 'none', got '{other}'"
            ))),
        }
    }
}

#[derive(Debug, Clone, Copy)]
pub struct WalConfig {
    pub durability: Durability,
    /// `batch`: the longest a written record waits for its fsync; `none`: how often the
    /// buffer is written.
    pub window: Duration,
    /// Log size after which the owner should compact.
    pub compact_bytes: u64,
    /// Skip corrupt records instead of refusing to open.
    pub salvage: bool,
}

impl Default for WalConfig {
    fn default() -> Self {
        WalConfig {
            durability: Durability::Batch,
            window: Duration::from_millis(100),
            compact_bytes: 64 << 20,
            salvage: false,
        }
    }
}

impl WalConfig {
    /// Reads `{ durability?, recovery?: 'strict' | 'salvage', syncWindowMs?,
    /// compactAfterBytes? }` from adapter options.
    ///
    /// # Errors
    /// `NVENT_INVALID_ARGUMENT` naming the bad option.
    pub fn from_options(o: &crate::options::Opts) -> Result<WalConfig> {
        let d = WalConfig::default();
        Ok(WalConfig {
            durability: Durability::parse(o.str("durability")?)?,
            window: o
                .duration_ms("syncWindowMs", Zero::Refused)?
                .map_or(d.window, Duration::from_millis),
            compact_bytes: o.uint("compactAfterBytes")?.unwrap_or(d.compact_bytes),
            salvage: o.choice("recovery", &["strict", "salvage"])? == Some("salvage"),
        })
    }
}

/// What recovery found, for the owner to report (`recoveryReport()` in JS).
#[derive(Debug, Clone, Default, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RecoveryReport {
    pub generation: u64,
    pub snapshot_records: u64,
    pub log_records: u64,
    /// Torn tails dropped: `{ file, offset, reason }`.
    pub torn: Vec<Damage>,
    /// Corrupt records skipped in salvage mode.
    pub skipped: Vec<Damage>,
    /// Files of an earlier release's queue moved from the top of the data dir into
    /// `queue/` by this open (`crate::file::adopt`); always empty for a store.
    pub adopted: Vec<String>,
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct Damage {
    pub file: String,
    pub offset: u64,
    pub reason: String,
}

/// The records to replay, in order: the snapshot's, then the logs'.
pub struct Recovered {
    pub records: Vec<Vec<u8>>,
    pub report: RecoveryReport,
}

enum Cmd {
    Write(Vec<u8>, Option<oneshot::Sender<Result<()>>>),
    WriteMany(Records, Option<oneshot::Sender<Result<()>>>),
    Rotate(Vec<Vec<u8>>, oneshot::Sender<Result<()>>),
    Close(oneshot::Sender<Result<()>>),
}

struct Shared {
    failed: Mutex<Option<NventError>>,
    log_bytes: AtomicU64,
    snapshot_bytes: AtomicU64,
    compacting: AtomicBool,
}

impl Shared {
    fn failure(&self) -> Option<NventError> {
        self.failed
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    fn fail(&self, e: NventError) -> NventError {
        let mut f = self.failed.lock().unwrap_or_else(|p| p.into_inner());
        f.get_or_insert(e).clone()
    }
}

/// What submitters hand the writer. A plain mutex and condvar rather than a channel: a
/// submitter wakes the writer only when it is asleep, so while it writes one batch the next
/// one gathers without a wake-up (a futex call) per record.
struct Inbox {
    cmds: Vec<Cmd>,
    /// The writer is waiting (or about to) and needs a notification.
    idle: bool,
    /// No more commands will come (the `Wal` was dropped or closed).
    closed: bool,
}

struct Queue {
    inbox: Mutex<Inbox>,
    ready: Condvar,
}

impl Queue {
    fn lock(&self) -> std::sync::MutexGuard<'_, Inbox> {
        self.inbox.lock().unwrap_or_else(|p| p.into_inner())
    }
}

pub struct Wal {
    cfg: WalConfig,
    shared: Arc<Shared>,
    queue: Arc<Queue>,
    thread: Mutex<Option<JoinHandle<()>>>,
}

fn log_path(dir: &Path, generation: u64) -> PathBuf {
    dir.join(format!("wal-{generation}.log"))
}

fn snapshot_path(dir: &Path, generation: u64) -> PathBuf {
    dir.join(format!("snapshot-{generation}.snap"))
}

fn sync_dir(dir: &Path) -> Result<()> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| io_error(dir, "cannot fsync directory", e))
}

/// Generations present in `dir`: `(snapshots, logs)`, each ascending. Leftover temp files
/// of an interrupted compaction are removed.
fn generations(dir: &Path) -> Result<(Vec<u64>, Vec<u64>)> {
    let mut snaps = Vec::new();
    let mut logs = Vec::new();
    let entries = fs::read_dir(dir).map_err(|e| io_error(dir, "cannot list", e))?;
    for entry in entries {
        let entry = entry.map_err(|e| io_error(dir, "cannot list", e))?;
        let name = entry.file_name().to_string_lossy().to_string();
        if name.starts_with("wal-") || name.starts_with("snapshot-") {
            super::refuse_symlink(&entry.path())?;
        }
        let parse = |prefix: &str, suffix: &str| {
            name.strip_prefix(prefix)
                .and_then(|r| r.strip_suffix(suffix))
                .and_then(|g| g.parse::<u64>().ok())
        };
        if let Some(g) = parse("snapshot-", ".snap") {
            snaps.push(g);
        } else if let Some(g) = parse("wal-", ".log") {
            logs.push(g);
        } else if name.starts_with("snapshot-") && name.ends_with(".tmp") {
            let _ = fs::remove_file(entry.path());
        }
    }
    snaps.sort_unstable();
    logs.sort_unstable();
    Ok((snaps, logs))
}

impl Wal {
    /// Recovers the log in `dir` (which the caller has locked) and starts its writer.
    ///
    /// # Errors
    /// `NVENT_CORRUPT` (with file and offset), `NVENT_IO`.
    pub fn open(dir: &Path, cfg: WalConfig) -> Result<(Wal, Recovered)> {
        let (snaps, logs) = generations(dir)?;
        let base = snaps.last().copied().unwrap_or(0);
        let mut report = RecoveryReport {
            generation: base,
            ..Default::default()
        };
        let mut records = Vec::new();
        let mut snapshot_bytes = 0;
        if snaps.last().is_some() {
            let path = snapshot_path(dir, base);
            let bytes = fs::read(&path).map_err(|e| io_error(&path, "cannot read", e))?;
            snapshot_bytes = bytes.len() as u64;
            let scan = record::scan(&path, &bytes, SNAPSHOT_MAGIC, cfg.salvage)?;
            let damage = |offset, reason| Damage {
                file: path.display().to_string(),
                offset,
                reason,
            };
            report
                .skipped
                .extend(scan.skipped.into_iter().map(|(o, r)| damage(o, r)));
            if let Some((offset, why)) = scan.torn {
                // Snapshots are renamed into place only when complete: a bad end is damage,
                // not a crash.
                if !cfg.salvage {
                    return Err(NventError::Corrupt {
                        message: format!(
                            "{} at offset {offset}: {why} (open with recovery: 'salvage' to skip it)",
                            path.display()
                        ),
                    });
                }
                report.skipped.push(damage(offset, why));
            }
            report.snapshot_records = scan.records.len() as u64;
            records.extend(scan.records);
        }
        let live: Vec<u64> = logs.iter().copied().filter(|g| *g >= base).collect();
        let mut current = live.last().copied().unwrap_or(base);
        let mut current_len = None;
        let mut current_version = record::VERSION;
        for g in &live {
            let path = log_path(dir, *g);
            let bytes = fs::read(&path).map_err(|e| io_error(&path, "cannot read", e))?;
            let scan = record::scan(&path, &bytes, LOG_MAGIC, cfg.salvage)?;
            for (offset, reason) in scan.skipped {
                report.skipped.push(Damage {
                    file: path.display().to_string(),
                    offset,
                    reason,
                });
            }
            if let Some((offset, reason)) = scan.torn {
                report.torn.push(Damage {
                    file: path.display().to_string(),
                    offset,
                    reason,
                });
            }
            report.log_records += scan.records.len() as u64;
            records.extend(scan.records);
            if *g == current {
                current_len = Some(scan.valid_len);
                current_version = scan.version;
            }
        }
        if current_version != record::VERSION {
            // New frames never go into an older format's log: cut its torn tail, if any,
            // and go on in a new generation (replayed after it; the next compaction removes
            // both).
            let path = log_path(dir, current);
            drop(open_log(&path, current_len)?);
            current += 1;
            current_len = None;
        }
        // Generations older than the snapshot are superseded.
        for g in snaps.iter().filter(|g| **g < base) {
            let _ = fs::remove_file(snapshot_path(dir, *g));
        }
        for g in logs.iter().filter(|g| **g < base) {
            let _ = fs::remove_file(log_path(dir, *g));
        }
        let path = log_path(dir, current);
        let file = open_log(&path, current_len)?;
        sync_dir(dir)?;
        let shared = Arc::new(Shared {
            failed: Mutex::new(None),
            log_bytes: AtomicU64::new(current_len.unwrap_or(record::HEADER_LEN as u64)),
            snapshot_bytes: AtomicU64::new(snapshot_bytes),
            compacting: AtomicBool::new(false),
        });
        let queue = Arc::new(Queue {
            inbox: Mutex::new(Inbox {
                cmds: Vec::new(),
                idle: false,
                closed: false,
            }),
            ready: Condvar::new(),
        });
        let writer = Writer {
            dir: dir.to_path_buf(),
            oldest: live.first().copied().unwrap_or(current),
            generation: current,
            path,
            file,
            cfg,
            shared: shared.clone(),
            buf: Vec::new(),
            waiters: Vec::new(),
            last_sync: Instant::now(),
            last_write: Instant::now(),
            dirty: false,
        };
        let thread = std::thread::Builder::new()
            .name("nvent-wal".into())
            .spawn({
                let queue = queue.clone();
                move || writer.run(&queue)
            })
            .map_err(|e| NventError::Io {
                message: format!("cannot start the log writer: {e}"),
            })?;
        Ok((
            Wal {
                cfg,
                shared,
                queue,
                thread: Mutex::new(Some(thread)),
            },
            Recovered { records, report },
        ))
    }

    /// The error that failed the log, if any.
    pub fn failure(&self) -> Option<NventError> {
        self.shared.failure()
    }

    fn send(&self, cmd: Cmd) -> std::result::Result<(), NventError> {
        let mut inbox = self.queue.lock();
        if inbox.closed {
            return Err(NventError::closed("the file log"));
        }
        inbox.cmds.push(cmd);
        if inbox.idle {
            inbox.idle = false;
            self.queue.ready.notify_one();
        }
        Ok(())
    }

    /// Refuses further commands and wakes the writer, which then writes what it has and
    /// stops.
    fn shut(&self) {
        let mut inbox = self.queue.lock();
        inbox.closed = true;
        inbox.idle = false;
        self.queue.ready.notify_one();
    }

    /// True when the owner should compact (call [`Wal::rotate`] with its state).
    pub fn wants_compaction(&self) -> bool {
        let log = self.shared.log_bytes.load(Ordering::Relaxed);
        let snap = self.shared.snapshot_bytes.load(Ordering::Relaxed);
        log > self.cfg.compact_bytes.max(snap.saturating_mul(2))
            && !self.shared.compacting.load(Ordering::Acquire)
    }

    /// Starts a new generation whose snapshot is `snapshot` (the owner's whole state, dumped
    /// under the same lock that orders its submissions).
    pub fn rotate(&self, snapshot: Vec<Vec<u8>>) -> Ack {
        if self.shared.compacting.swap(true, Ordering::AcqRel) {
            return Ack::Done;
        }
        let (tx, rx) = oneshot::channel();
        match self.send(Cmd::Rotate(snapshot, tx)) {
            Ok(()) => Ack::Wait(rx),
            Err(e) => Ack::Failed(e),
        }
    }

    /// Writes and fsyncs everything queued, then stops the writer. Idempotent.
    pub async fn close(&self) -> Result<()> {
        let (tx, rx) = oneshot::channel();
        let sent = self.send(Cmd::Close(tx));
        self.shut();
        if sent.is_err() {
            return Ok(());
        }
        let out = Ack::Wait(rx).wait().await;
        let thread = self.thread.lock().unwrap_or_else(|p| p.into_inner()).take();
        if let Some(t) = thread {
            // The writer has answered Close; joining only waits for it to return.
            if let Ok(h) = crate::runtime::handle() {
                let _ = h.spawn_blocking(move || t.join()).await;
            }
        }
        out
    }
}

impl Journal for Wal {
    fn failure(&self) -> Option<NventError> {
        Wal::failure(self)
    }

    fn wants_compaction(&self) -> bool {
        Wal::wants_compaction(self)
    }

    fn rotate(&self, snapshot: Vec<Vec<u8>>) -> Ack {
        Wal::rotate(self, snapshot)
    }

    fn submit(&self, payload: Vec<u8>) -> Ack {
        let bytes = (payload.len() + record::FRAME_OVERHEAD) as u64;
        self.queue_write(bytes, |ack| Cmd::Write(payload, ack))
    }

    fn submit_many(&self, records: Records) -> Ack {
        let bytes = (records.bytes() + record::FRAME_OVERHEAD * records.len()) as u64;
        self.queue_write(bytes, |ack| Cmd::WriteMany(records, ack))
    }
}

impl Wal {
    /// Queues a write of `bytes` (framed) and returns its acknowledgement as the durability
    /// mode says.
    fn queue_write(
        &self,
        bytes: u64,
        cmd: impl FnOnce(Option<oneshot::Sender<Result<()>>>) -> Cmd,
    ) -> Ack {
        if let Some(e) = self.shared.failure() {
            return Ack::Failed(e);
        }
        self.shared.log_bytes.fetch_add(bytes, Ordering::Relaxed);
        if self.cfg.durability == Durability::None {
            return match self.send(cmd(None)) {
                Ok(()) => Ack::Done,
                Err(e) => Ack::Failed(e),
            };
        }
        let (tx, rx) = oneshot::channel();
        match self.send(cmd(Some(tx))) {
            Ok(()) => Ack::Wait(rx),
            Err(e) => Ack::Failed(e),
        }
    }
}

impl Drop for Wal {
    fn drop(&mut self) {
        // Without close(): the writer sees the queue closed, writes what it has and stops.
        self.shut();
    }
}

/// Opens (or creates) a log for appending, truncated to `valid_len` when recovery found a
/// torn tail.
fn open_log(path: &Path, valid_len: Option<u64>) -> Result<File> {
    super::refuse_symlink(path)?;
    let mut file = OpenOptions::new()
        .create(true)
        .read(true)
        .write(true)
        .truncate(false)
        .open(path)
        .map_err(|e| io_error(path, "cannot open", e))?;
    let len = file
        .metadata()
        .map_err(|e| io_error(path, "cannot stat", e))?
        .len();
    match valid_len {
        Some(valid) if valid >= record::HEADER_LEN as u64 => {
            if len > valid {
                file.set_len(valid)
                    .map_err(|e| io_error(path, "cannot truncate", e))?;
                file.sync_all()
                    .map_err(|e| io_error(path, "cannot fsync", e))?;
            }
        }
        _ => {
            file.set_len(0)
                .map_err(|e| io_error(path, "cannot truncate", e))?;
            file.write_all(&record::header(LOG_MAGIC))
                .and_then(|()| file.sync_all())
                .map_err(|e| io_error(path, "cannot write", e))?;
        }
    }
    use std::io::Seek;
    file.seek(std::io::SeekFrom::End(0))
        .map_err(|e| io_error(path, "cannot seek", e))?;
    Ok(file)
}

struct Writer {
    dir: PathBuf,
    /// The oldest log still replayed at open (older than `generation` after an upgrade of
    /// an older format's log).
    oldest: u64,
    generation: u64,
    path: PathBuf,
    file: File,
    cfg: WalConfig,
    shared: Arc<Shared>,
    buf: Vec<u8>,
    waiters: Vec<oneshot::Sender<Result<()>>>,
    last_sync: Instant,
    last_write: Instant,
    dirty: bool,
}

/// `none` mode writes its buffer once it grows past this, window or not.
const BUFFER_MAX: usize = 1 << 20;

impl Writer {
    /// Takes everything queued as one batch (one `write`, one `fsync` in `always` mode),
    /// until the log is closed.
    fn run(mut self, queue: &Queue) {
        let mut cmds = Vec::new();
        loop {
            {
                let mut inbox = queue.lock();
                loop {
                    if !inbox.cmds.is_empty() {
                        std::mem::swap(&mut cmds, &mut inbox.cmds);
                        break;
                    }
                    if inbox.closed {
                        drop(inbox);
                        let _ = self.flush(true);
                        return;
                    }
                    inbox.idle = true;
                    match self.deadline() {
                        None => {
                            inbox = queue.ready.wait(inbox).unwrap_or_else(|p| p.into_inner());
                        }
                        Some(at) => {
                            let left = at.saturating_duration_since(Instant::now());
                            if left.is_zero() {
                                inbox.idle = false;
                                break;
                            }
                            inbox = queue
                                .ready
                                .wait_timeout(inbox, left)
                                .unwrap_or_else(|p| p.into_inner())
                                .0;
                        }
                    }
                    inbox.idle = false;
                }
            }
            let mut close = None;
            for cmd in cmds.drain(..) {
                match cmd {
                    Cmd::Write(payload, ack) => {
                        record::frame(&payload, &mut self.buf);
                        if let Some(a) = ack {
                            self.waiters.push(a);
                        }
                    }
                    Cmd::WriteMany(records, ack) => {
                        for p in records.iter() {
                            record::frame(p, &mut self.buf);
                        }
                        if let Some(a) = ack {
                            self.waiters.push(a);
                        }
                    }
                    Cmd::Rotate(snapshot, ack) => {
                        let r = self.flush(true).and_then(|()| self.rotate(snapshot));
                        self.shared.compacting.store(false, Ordering::Release);
                        let r = r.map_err(|e| self.shared.fail(e));
                        let _ = ack.send(r);
                    }
                    Cmd::Close(ack) => close = Some(ack),
                }
            }
            if let Some(ack) = close {
                let _ = ack.send(self.flush(true));
                return;
            }
            let _ = self.flush(false);
        }
    }

    /// When the writer must act without new commands: the end of the fsync window of
    /// written data (`batch`), or of the buffering window (`none`).
    fn deadline(&self) -> Option<Instant> {
        let write = (!self.buf.is_empty()).then(|| self.last_write + self.cfg.window);
        let sync = self.dirty.then(|| self.last_sync + self.cfg.window);
        match (write, sync) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// Writes the buffer and fsyncs as the mode (or `force`) wants, then settles waiters.
    fn flush(&mut self, force: bool) -> Result<()> {
        if let Some(e) = self.shared.failure() {
            self.settle(Err(e.clone()));
            self.buf.clear();
            return Err(e);
        }
        let write_now = force
            || self.cfg.durability != Durability::None
            || self.buf.len() >= BUFFER_MAX
            || self.last_write.elapsed() >= self.cfg.window;
        let mut result = Ok(());
        if write_now && !self.buf.is_empty() {
            result = self
                .file
                .write_all(&self.buf)
                .map_err(|e| io_error(&self.path, "cannot write", e));
            self.buf.clear();
            self.last_write = Instant::now();
            self.dirty = true;
        }
        // `batch` acknowledges once the OS has the records; a due fsync follows and does not
        // hold them up. `always` acknowledges after the fsync below.
        if write_now && result.is_ok() && self.cfg.durability == Durability::Batch {
            self.settle(Ok(()));
        }
        let sync_now = self.dirty
            && (force
                || self.cfg.durability == Durability::Always
                || self.last_sync.elapsed() >= self.cfg.window);
        if result.is_ok() && sync_now {
            result = self
                .file
                .sync_data()
                .map_err(|e| io_error(&self.path, "cannot fsync", e));
            self.last_sync = Instant::now();
            self.dirty = false;
        }
        let result = result.map_err(|e| self.shared.fail(e));
        if write_now {
            self.settle(result.clone());
        }
        result
    }

    fn settle(&mut self, r: Result<()>) {
        for w in self.waiters.drain(..) {
            let _ = w.send(r.clone());
        }
    }

    fn rotate(&mut self, snapshot: Vec<Vec<u8>>) -> Result<()> {
        let next = self.generation + 1;
        let new_log = log_path(&self.dir, next);
        let file = open_log(&new_log, None)?;
        sync_dir(&self.dir)?;
        // From here on, records go to the new log; the old one is complete.
        self.file = file;
        self.path = new_log;
        let tmp = self.dir.join(format!("snapshot-{next}.tmp"));
        let mut bytes = record::header(SNAPSHOT_MAGIC);
        for r in &snapshot {
            record::frame(r, &mut bytes);
        }
        let mut f = File::create(&tmp).map_err(|e| io_error(&tmp, "cannot create", e))?;
        f.write_all(&bytes)
            .and_then(|()| f.sync_all())
            .map_err(|e| io_error(&tmp, "cannot write", e))?;
        let snap = snapshot_path(&self.dir, next);
        fs::rename(&tmp, &snap).map_err(|e| io_error(&snap, "cannot rename into", e))?;
        sync_dir(&self.dir)?;
        for old in self.oldest..next {
            let _ = fs::remove_file(log_path(&self.dir, old));
            let _ = fs::remove_file(snapshot_path(&self.dir, old));
        }
        self.oldest = next;
        self.generation = next;
        self.shared
            .snapshot_bytes
            .store(bytes.len() as u64, Ordering::Relaxed);
        self.shared
            .log_bytes
            .store(record::HEADER_LEN as u64, Ordering::Relaxed);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dir(name: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("nvent-wal-{name}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&d);
        fs::create_dir_all(&d).unwrap();
        d
    }

    #[tokio::test]
    async fn records_survive_reopen_and_rotation() {
        for durability in [Durability::Always, Durability::Batch, Durability::None] {
            let d = dir(&format!("{durability:?}"));
            let cfg = WalConfig {
                durability,
                ..Default::default()
            };
            let (wal, rec) = Wal::open(&d, cfg).unwrap();
            assert!(rec.records.is_empty());
            for i in 0..10u8 {
                wal.submit(vec![i]).wait().await.unwrap();
            }
            wal.rotate(vec![b"snap".to_vec()]).wait().await.unwrap();
            wal.submit(vec![42]).wait().await.unwrap();
            wal.close().await.unwrap();
            let (wal, rec) = Wal::open(&d, cfg).unwrap();
            assert_eq!(
                rec.records,
                vec![b"snap".to_vec(), vec![42]],
                "{durability:?}"
            );
            assert_eq!(rec.report.generation, 1);
            wal.close().await.unwrap();
            let _ = fs::remove_dir_all(&d);
        }
    }

    #[tokio::test]
    async fn a_format_1_log_is_read_and_new_records_go_to_a_format_2_generation() {
        let d = dir("v1");
        let mut v1 = LOG_MAGIC.to_vec();
        v1.extend_from_slice(&record::VERSION_1.to_le_bytes());
        for r in [&b"old one"[..], b"old two"] {
            v1.extend_from_slice(&(r.len() as u32).to_le_bytes());
            v1.extend_from_slice(&crc32fast::hash(r).to_le_bytes());
            v1.extend_from_slice(r);
        }
        v1.extend_from_slice(&[7, 0, 0]); // a torn tail
        fs::write(log_path(&d, 0), &v1).unwrap();
        let (wal, rec) = Wal::open(&d, WalConfig::default()).unwrap();
        assert_eq!(rec.records, vec![b"old one".to_vec(), b"old two".to_vec()]);
        assert_eq!(rec.report.torn.len(), 1);
        wal.submit(b"new".to_vec()).wait().await.unwrap();
        wal.close().await.unwrap();
        assert_eq!(fs::read(log_path(&d, 0)).unwrap().len(), v1.len() - 3);
        let (wal, rec) = Wal::open(&d, WalConfig::default()).unwrap();
        assert_eq!(
            rec.records,
            vec![b"old one".to_vec(), b"old two".to_vec(), b"new".to_vec()]
        );
        assert!(rec.report.torn.is_empty());
        // Compaction leaves one generation: the format-1 log goes with the one after it.
        wal.rotate(vec![b"snap".to_vec()]).wait().await.unwrap();
        wal.close().await.unwrap();
        assert!(!log_path(&d, 0).exists() && !log_path(&d, 1).exists());
        let (wal, rec) = Wal::open(&d, WalConfig::default()).unwrap();
        assert_eq!(rec.records, vec![b"snap".to_vec()]);
        wal.close().await.unwrap();
        let _ = fs::remove_dir_all(&d);
    }

    #[tokio::test]
    async fn a_damaged_snapshot_is_corruption_and_salvage_keeps_its_other_records() {
        let d = dir("snap");
        let (wal, _) = Wal::open(&d, WalConfig::default()).unwrap();
        let entries: Vec<Vec<u8>> = (0..5u8).map(|i| vec![b's', i]).collect();
        wal.rotate(entries.clone()).wait().await.unwrap();
        wal.close().await.unwrap();
        let path = snapshot_path(&d, 1);
        let mut bytes = fs::read(&path).unwrap();
        let n = bytes.len();
        bytes[n - 1] ^= 0x01; // the last entry: no torn tail in a snapshot
        fs::write(&path, &bytes).unwrap();
        let e = Wal::open(&d, WalConfig::default()).err().unwrap();
        assert_eq!(e.code(), "NVENT_CORRUPT");
        let salvage = WalConfig {
            salvage: true,
            ..Default::default()
        };
        let (wal, rec) = Wal::open(&d, salvage).unwrap();
        assert_eq!(rec.records, entries[..4].to_vec());
        assert_eq!(rec.report.skipped.len(), 1);
        wal.close().await.unwrap();
        let _ = fs::remove_dir_all(&d);
    }

    #[tokio::test]
    async fn a_torn_tail_is_dropped_reported_and_truncated() {
        let d = dir("torn");
        let (wal, _) = Wal::open(&d, WalConfig::default()).unwrap();
        wal.submit(b"complete".to_vec()).wait().await.unwrap();
        wal.close().await.unwrap();
        let path = log_path(&d, 0);
        let mut f = OpenOptions::new().append(true).open(&path).unwrap();
        f.write_all(&[9, 0, 0, 0, 1, 2]).unwrap();
        drop(f);
        let (wal, rec) = Wal::open(&d, WalConfig::default()).unwrap();
        assert_eq!(rec.records, vec![b"complete".to_vec()]);
        assert_eq!(rec.report.torn.len(), 1);
        wal.submit(b"after".to_vec()).wait().await.unwrap();
        wal.close().await.unwrap();
        let (wal, rec) = Wal::open(&d, WalConfig::default()).unwrap();
        assert_eq!(rec.records, vec![b"complete".to_vec(), b"after".to_vec()]);
        assert!(rec.report.torn.is_empty());
        wal.close().await.unwrap();
        let _ = fs::remove_dir_all(&d);
    }
}
