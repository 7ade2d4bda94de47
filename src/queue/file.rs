//! `FileQueueAdapter`: jobs on disk (SPEC §9 "file"), the zero-config default queue.
//!
//! The queue engine is the memory one ([`MemoryQueueAdapter`]) with a journal: every job,
//! schedule and queue-setting change is written to the data dir's write-ahead log before
//! its call resolves (`crate::file::wal`). Opening — lock, recovery, replay — happens on
//! first use or in `init()`, off the JS thread. After a crash, jobs that were active run
//! again (at-least-once), delayed jobs keep their due time and fire once, cron schedules
//! keep their next fire time (a fire missed while stopped happens once at start), and
//! `jobId` idempotency holds across restarts. Worker registrations and listeners belong to
//! the process and are not stored.

use super::memory::MemoryQueueAdapter;
use super::{Batch, Counts, NewJob, Outcome, QueueAdapter, ScheduleSpec, State, WorkerOptions};
use crate::callback::Callback;
use crate::error::{NventError, Result};
use crate::file::lock::DirLock;
use crate::file::wal::{RecoveryReport, Wal, WalConfig};
use crate::value::Json;
use async_trait::async_trait;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

#[derive(Debug, Clone)]
pub struct FileQueueOptions {
    pub data_dir: PathBuf,
    pub wal: WalConfig,
}

impl FileQueueOptions {
    /// Reads `{ dataDir, durability?, recovery?, syncWindowMs?, compactAfterBytes? }`.
    ///
    /// # Errors
    /// `NVENT_INVALID_ARGUMENT` for a missing `dataDir` or a bad option.
    pub fn parse(o: &crate::options::Opts) -> Result<FileQueueOptions> {
        let dir = o.str("dataDir")?.filter(|d| !d.is_empty()).ok_or_else(|| {
            NventError::invalid_argument("the file queue needs options.dataDir (a directory path)")
        })?;
        Ok(FileQueueOptions {
            data_dir: PathBuf::from(dir),
            wal: WalConfig::from_options(o)?,
        })
    }
}

struct Opened {
    queue: MemoryQueueAdapter,
    wal: Arc<Wal>,
    report: RecoveryReport,
    _lock: DirLock,
}

enum Phase {
    Fresh,
    Open(Arc<Opened>),
    Closed,
}

pub struct FileQueueAdapter {
    opts: FileQueueOptions,
    signals: Mutex<Option<Arc<dyn Callback>>>,
    phase: Mutex<Phase>,
    opening: tokio::sync::Mutex<()>,
}

fn open(opts: FileQueueOptions, signals: Option<Arc<dyn Callback>>) -> Result<Opened> {
    let lock = DirLock::acquire(&opts.data_dir)?;
    let (wal, recovered) = Wal::open(&opts.data_dir, opts.wal)?;
    let wal = Arc::new(wal);
    let queue = MemoryQueueAdapter::new().with_journal(wal.clone());
    if let Some(s) = signals {
        queue.set_signals(s);
    }
    queue.replay(&recovered.records)?;
    Ok(Opened {
        queue,
        wal,
        report: recovered.report,
        _lock: lock,
    })
}

impl FileQueueAdapter {
    /// Does no I/O; the data dir is opened on first use.
    pub fn new(opts: FileQueueOptions) -> FileQueueAdapter {
        FileQueueAdapter {
            opts,
            signals: Mutex::new(None),
            phase: Mutex::new(Phase::Fresh),
            opening: tokio::sync::Mutex::new(()),
        }
    }

    /// Where wake-ups and events go (the binding's outbox).
    pub fn set_signals(&self, signals: Arc<dyn Callback>) {
        *self.signals.lock().unwrap_or_else(|p| p.into_inner()) = Some(signals);
    }

    fn current(&self) -> Result<Option<Arc<Opened>>> {
        match &*self.phase.lock().unwrap_or_else(|p| p.into_inner()) {
            Phase::Fresh => Ok(None),
            Phase::Open(o) => Ok(Some(o.clone())),
            Phase::Closed => Err(NventError::closed("the queue adapter")),
        }
    }

    async fn opened(&self) -> Result<Arc<Opened>> {
        if let Some(o) = self.current()? {
            return Ok(o);
        }
        let _one_opener = self.opening.lock().await;
        if let Some(o) = self.current()? {
            return Ok(o);
        }
        let opts = self.opts.clone();
        let signals = self
            .signals
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone();
        let opened = crate::runtime::handle()?
            .spawn_blocking(move || open(opts, signals))
            .await
            .map_err(|e| NventError::internal(format!("opening the queue: {e}")))??;
        let opened = Arc::new(opened);
        let mut phase = self.phase.lock().unwrap_or_else(|p| p.into_inner());
        if matches!(*phase, Phase::Closed) {
            return Err(NventError::closed("the queue adapter"));
        }
        *phase = Phase::Open(opened.clone());
        Ok(opened)
    }
}

#[async_trait]
impl QueueAdapter for FileQueueAdapter {
    async fn enqueue(&self, queue: &str, job: NewJob) -> Result<String> {
        self.opened().await?.queue.enqueue(queue, job).await
    }

    async fn enqueue_bulk(&self, queue: &str, jobs: Vec<NewJob>) -> Result<Vec<String>> {
        self.opened().await?.queue.enqueue_bulk(queue, jobs).await
    }

    async fn schedule(&self, queue: &str, job: NewJob, spec: ScheduleSpec) -> Result<String> {
        self.opened().await?.queue.schedule(queue, job, spec).await
    }

    async fn get_job(&self, queue: &str, id: &str) -> Result<Option<Json>> {
        self.opened().await?.queue.get_job(queue, id).await
    }

    async fn get_jobs(
        &self,
        queue: &str,
        states: Option<Vec<State>>,
        limit: Option<usize>,
        offset: usize,
    ) -> Result<Vec<Json>> {
        self.opened()
            .await?
            .queue
            .get_jobs(queue, states, limit, offset)
            .await
    }

    async fn get_job_counts(&self, queue: &str) -> Result<Counts> {
        self.opened().await?.queue.get_job_counts(queue).await
    }

    async fn pause(&self, queue: &str) -> Result<()> {
        self.opened().await?.queue.pause(queue).await
    }

    async fn resume(&self, queue: &str) -> Result<()> {
        self.opened().await?.queue.resume(queue).await
    }

    async fn is_paused(&self, queue: &str) -> Result<bool> {
        self.opened().await?.queue.is_paused(queue).await
    }

    async fn register_worker(
        &self,
        queue: &str,
        job_name: &str,
        opts: WorkerOptions,
    ) -> Result<()> {
        self.opened()
            .await?
            .queue
            .register_worker(queue, job_name, opts)
            .await
    }

    async fn start_processing(&self, queue: &str) -> Result<()> {
        self.opened().await?.queue.start_processing(queue).await
    }

    async fn take(&self, queue: &str, max: usize) -> Result<Batch> {
        self.opened().await?.queue.take(queue, max).await
    }

    async fn finish(&self, queue: &str, outcomes: Vec<Outcome>) -> Result<u64> {
        self.opened().await?.queue.finish(queue, outcomes).await
    }

    async fn update_progress(
        &self,
        queue: &str,
        id: &str,
        token: u64,
        progress: Json,
    ) -> Result<()> {
        self.opened()
            .await?
            .queue
            .update_progress(queue, id, token, progress)
            .await
    }

    async fn log(&self, queue: &str, id: &str, token: u64, line: String) -> Result<()> {
        self.opened().await?.queue.log(queue, id, token, line).await
    }

    async fn listen(&self, queue: &str, event: &str, on: bool) -> Result<()> {
        self.opened().await?.queue.listen(queue, event, on).await
    }

    async fn get_scheduled_jobs(&self, queue: &str) -> Result<Vec<Json>> {
        self.opened().await?.queue.get_scheduled_jobs(queue).await
    }

    async fn remove_scheduled_job(&self, id: &str) -> Result<bool> {
        self.opened().await?.queue.remove_scheduled_job(id).await
    }

    async fn remove_job(&self, queue: &str, id: &str) -> Result<bool> {
        self.opened().await?.queue.remove_job(queue, id).await
    }

    async fn init(&self) -> Result<()> {
        self.opened().await.map(|_| ())
    }

    async fn recovery_report(&self) -> Result<Option<String>> {
        let o = self.opened().await?;
        serde_json::to_string(&o.report)
            .map(Some)
            .map_err(|e| NventError::internal(e.to_string()))
    }

    /// Writes and fsyncs what is queued and releases the data dir. Idempotent.
    async fn close(&self) -> Result<()> {
        let previous = std::mem::replace(
            &mut *self.phase.lock().unwrap_or_else(|p| p.into_inner()),
            Phase::Closed,
        );
        if let Phase::Open(o) = previous {
            o.queue.close().await?;
            o.wal.close().await?;
        }
        Ok(())
    }
}
