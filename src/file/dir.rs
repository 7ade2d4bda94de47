//! Opening a data dir, shared by the file store and the file queue: options, the
//! lock + recovery + replay sequence, and the lazy, once-only open on first use (constructors
//! do no I/O; opening runs on a blocking thread, never on the JS thread).
//!
//! One owner per adapter kind (SPEC §9): a file store and a file queue may share one
//! `dataDir` (the reference project's file config does), two stores or two queues may not.
//! Each kind keeps its lock, logs and snapshots in a place of its own ([`DataDirKind`]), so
//! no file name of one kind is ever a file name of the other.

use super::lock::DirLock;
use super::wal::{RecoveryReport, Wal, WalConfig};
use crate::error::{NventError, Result};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

/// Which adapter kind owns the files. The store's files sit in the data dir itself
/// (`LOCK`, `wal-<G>.log`, `snapshot-<G>.snap`), where they always have, so a store's data
/// dir of an earlier build opens as before; the queue's sit in its subdirectory `queue/`
/// (the same names inside), which no store file name can be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DataDirKind {
    Store,
    Queue,
}

impl DataDirKind {
    fn what(self) -> &'static str {
        match self {
            DataDirKind::Store => "file store",
            DataDirKind::Queue => "file queue",
        }
    }
}

#[derive(Debug, Clone)]
pub struct DataDirOptions {
    pub data_dir: PathBuf,
    pub kind: DataDirKind,
    pub wal: WalConfig,
}

impl DataDirOptions {
    /// Reads `{ dataDir, durability?, recovery?, syncWindowMs?, compactAfterBytes? }` for
    /// an adapter of `kind`.
    ///
    /// # Errors
    /// `NVENT_INVALID_ARGUMENT` for a missing `dataDir` or a bad option.
    pub fn parse(o: &crate::options::Opts, kind: DataDirKind) -> Result<DataDirOptions> {
        let dir = o.str("dataDir")?.filter(|d| !d.is_empty()).ok_or_else(|| {
            NventError::invalid_argument(format!(
                "the {} needs options.dataDir (a directory path)",
                kind.what()
            ))
        })?;
        Ok(DataDirOptions {
            data_dir: PathBuf::from(dir),
            kind,
            wal: WalConfig::from_options(o)?,
        })
    }

    /// The directory holding this kind's lock, logs and snapshots.
    pub fn files_dir(&self) -> PathBuf {
        match self.kind {
            DataDirKind::Store => self.data_dir.clone(),
            DataDirKind::Queue => self.data_dir.join("queue"),
        }
    }
}

/// An engine opened on a data dir: the engine, its log, what recovery found, and the lock
/// it holds for as long as it lives.
pub struct Opened<E> {
    pub engine: E,
    pub wal: Arc<Wal>,
    pub report: RecoveryReport,
    _lock: DirLock,
}

impl<E> Opened<E> {
    /// Takes the lock, recovers the log, and builds the engine from the log and its
    /// records (`build` attaches the log as the engine's journal and replays).
    ///
    /// # Errors
    /// `NVENT_DATA_DIR_LOCKED`, `NVENT_CORRUPT`, `NVENT_IO`, and those of `build`.
    pub fn open(
        opts: &DataDirOptions,
        build: impl FnOnce(Arc<Wal>, &[Vec<u8>]) -> Result<E>,
    ) -> Result<Opened<E>> {
        let dir = opts.files_dir();
        if dir != opts.data_dir {
            // A planted link named `queue` must not redirect the queue's writes.
            super::refuse_symlink(&dir)?;
        }
        let lock = DirLock::acquire(&dir)?;
        // Files of an earlier release's queue sit at the top of the dir (see `adopt`).
        let adopted = match opts.kind {
            DataDirKind::Queue => super::adopt::adopt_old_queue(&opts.data_dir, &dir)?,
            DataDirKind::Store => {
                super::adopt::refuse_old_queue(&dir)?;
                Vec::new()
            }
        };
        let (wal, recovered) = Wal::open(&dir, opts.wal)?;
        let wal = Arc::new(wal);
        let engine = build(wal.clone(), &recovered.records)?;
        let mut report = recovered.report;
        report.adopted = adopted;
        Ok(Opened {
            engine,
            wal,
            report,
            _lock: lock,
        })
    }

    /// The recovery report as JSON text.
    pub fn report_json(&self) -> Result<Option<String>> {
        serde_json::to_string(&self.report)
            .map(Some)
            .map_err(|e| NventError::internal(e.to_string()))
    }
}

enum Phase<E> {
    Fresh,
    Open(Arc<Opened<E>>),
    Closed,
}

/// Opens on first use, once (concurrent first calls wait for the one opener); after
/// [`LazyDir::close`], every call is `NVENT_CLOSED`.
///
/// **Order.** Calls made while the dir opens each wait for the open, and then resume on
/// whatever thread wakes them: left alone they would race, and calls of one JS turn (two
/// `kv.set`s of one key, batches of appends) would take effect out of call order. So a
/// call that finds the dir not yet open (or earlier calls still waiting) takes a number
/// ([`Place`]) before its first suspension, on the caller's thread, and after the open the
/// calls go on one at a time in number order: each lets the next go once its engine call
/// has taken effect ([`in_place`]: the memory engines apply a call before their first
/// suspension). Once the line is empty, calls skip it.
pub struct LazyDir<E> {
    what: &'static str,
    phase: Mutex<Phase<E>>,
    opening: tokio::sync::Mutex<()>,
    line: Line,
}

/// The calls waiting for an open, by number.
struct Line {
    /// `(numbers issued, number whose turn it is, later numbers that left before their
    /// turn)`: a call that fails or is dropped while waiting must not hold up the others.
    numbers: Mutex<(u64, u64, std::collections::BTreeSet<u64>)>,
    moved: tokio::sync::Notify,
}

impl Line {
    fn lock(&self) -> std::sync::MutexGuard<'_, (u64, u64, std::collections::BTreeSet<u64>)> {
        self.numbers.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// A call's place in the line of [`LazyDir`]; dropping it lets the next call go.
pub struct Place<'a> {
    line: Option<(&'a Line, u64)>,
}

impl Drop for Place<'_> {
    fn drop(&mut self) {
        if let Some((line, n)) = self.line.take() {
            {
                let mut guard = line.lock();
                let (_, turn, left) = &mut *guard;
                if *turn == n {
                    *turn += 1;
                    while left.remove(turn) {
                        *turn += 1;
                    }
                } else {
                    left.insert(n);
                }
            }
            line.moved.notify_waiters();
        }
    }
}

/// Polls `fut` once (a memory engine applies its call there), then gives up `place`, then
/// awaits the rest (an acknowledgement of the log).
pub async fn in_place<F: std::future::Future>(fut: F, place: Place<'_>) -> F::Output {
    let mut fut = std::pin::pin!(fut);
    let first = std::future::poll_fn(|cx| std::task::Poll::Ready(fut.as_mut().poll(cx))).await;
    drop(place);
    match first {
        std::task::Poll::Ready(v) => v,
        std::task::Poll::Pending => fut.await,
    }
}

impl<E: Send + Sync + 'static> LazyDir<E> {
    /// `what` names the adapter in `NVENT_CLOSED` errors ("the store").
    pub fn new(what: &'static str) -> LazyDir<E> {
        LazyDir {
            what,
            phase: Mutex::new(Phase::Fresh),
            opening: tokio::sync::Mutex::new(()),
            line: Line {
                numbers: Mutex::new((0, 0, std::collections::BTreeSet::new())),
                moved: tokio::sync::Notify::new(),
            },
        }
    }

    fn current(&self) -> Result<Option<Arc<Opened<E>>>> {
        match &*self.phase.lock().unwrap_or_else(|p| p.into_inner()) {
            Phase::Fresh => Ok(None),
            Phase::Open(o) => Ok(Some(o.clone())),
            Phase::Closed => Err(NventError::closed(self.what)),
        }
    }

    /// The opened engine; runs `open` on a blocking thread the first time. Once open, this
    /// finishes without suspending, so reads stay on the calling thread.
    pub async fn get(
        &self,
        open: impl FnOnce() -> Result<Opened<E>> + Send + 'static,
    ) -> Result<Arc<Opened<E>>> {
        self.get_in_line(open).await.map(|(o, _)| o)
    }

    /// Like [`LazyDir::get`], with the caller's place in line: pass it to [`in_place`]
    /// with the engine call, so calls made while the dir opened take effect in call order.
    pub async fn get_in_line(
        &self,
        open: impl FnOnce() -> Result<Opened<E>> + Send + 'static,
    ) -> Result<(Arc<Opened<E>>, Place<'_>)> {
        // Numbered before the first suspension: in the order the calls were made.
        let n = {
            let mut l = self.line.lock();
            if l.0 == l.1 {
                if let Some(o) = self.current()? {
                    return Ok((o, Place { line: None }));
                }
            }
            l.0 += 1;
            l.0 - 1
        };
        let place = Place {
            line: Some((&self.line, n)),
        };
        let opened = self.open_once(open).await?;
        loop {
            let moved = self.line.moved.notified();
            tokio::pin!(moved);
            moved.as_mut().enable();
            if self.line.lock().1 == n {
                break;
            }
            moved.await;
        }
        // Closed while waiting in line.
        self.current()?;
        Ok((opened, place))
    }

    async fn open_once(
        &self,
        open: impl FnOnce() -> Result<Opened<E>> + Send + 'static,
    ) -> Result<Arc<Opened<E>>> {
        if let Some(o) = self.current()? {
            return Ok(o);
        }
        let _one_opener = self.opening.lock().await;
        if let Some(o) = self.current()? {
            return Ok(o);
        }
        let opened = crate::runtime::handle()?
            .spawn_blocking(open)
            .await
            .map_err(|e| NventError::internal(format!("opening {}: {e}", self.what)))??;
        let opened = Arc::new(opened);
        let mut phase = self.phase.lock().unwrap_or_else(|p| p.into_inner());
        if matches!(*phase, Phase::Closed) {
            return Err(NventError::closed(self.what));
        }
        *phase = Phase::Open(opened.clone());
        Ok(opened)
    }

    /// Marks the dir closed and hands back what was open, for the caller to close.
    pub fn close(&self) -> Option<Arc<Opened<E>>> {
        match std::mem::replace(
            &mut *self.phase.lock().unwrap_or_else(|p| p.into_inner()),
            Phase::Closed,
        ) {
            Phase::Open(o) => Some(o),
            _ => None,
        }
    }
}
