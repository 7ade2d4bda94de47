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
use crate::error::Result;
use crate::file::dir::{DataDirOptions, LazyDir, Opened};
use crate::value::Json;
use async_trait::async_trait;
use std::sync::{Arc, Mutex};

pub struct FileQueueAdapter {
    opts: DataDirOptions,
    signals: Mutex<Option<Arc<dyn Callback>>>,
    dir: LazyDir<MemoryQueueAdapter>,
}

impl FileQueueAdapter {
    /// Does no I/O; the data dir is opened on first use.
    pub fn new(opts: DataDirOptions) -> FileQueueAdapter {
        FileQueueAdapter {
            opts,
            signals: Mutex::new(None),
            dir: LazyDir::new("the queue adapter"),
        }
    }

    /// Where wake-ups and events go (the binding's outbox).
    pub fn set_signals(&self, signals: Arc<dyn Callback>) {
        *self.signals.lock().unwrap_or_else(|p| p.into_inner()) = Some(signals);
    }

    async fn opened(&self) -> Result<Arc<Opened<MemoryQueueAdapter>>> {
        let opts = self.opts.clone();
        let signals = self
            .signals
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone();
        self.dir
            .get(move || {
                Opened::open(&opts, |wal, records| {
                    let queue = MemoryQueueAdapter::new().with_journal(wal);
                    if let Some(s) = signals {
                        queue.set_signals(s);
                    }
                    queue.replay(records)?;
                    Ok(queue)
                })
            })
            .await
    }
}

#[async_trait]
impl QueueAdapter for FileQueueAdapter {
    async fn enqueue(&self, queue: &str, job: NewJob) -> Result<String> {
        self.opened().await?.engine.enqueue(queue, job).await
    }

    async fn enqueue_bulk(&self, queue: &str, jobs: Vec<NewJob>) -> Result<Vec<String>> {
        self.opened().await?.engine.enqueue_bulk(queue, jobs).await
    }

    async fn schedule(&self, queue: &str, job: NewJob, spec: ScheduleSpec) -> Result<String> {
        self.opened().await?.engine.schedule(queue, job, spec).await
    }

    async fn get_job(&self, queue: &str, id: &str) -> Result<Option<Json>> {
        self.opened().await?.engine.get_job(queue, id).await
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
            .engine
            .get_jobs(queue, states, limit, offset)
            .await
    }

    async fn get_job_counts(&self, queue: &str) -> Result<Counts> {
        self.opened().await?.engine.get_job_counts(queue).await
    }

    async fn pause(&self, queue: &str) -> Result<()> {
        self.opened().await?.engine.pause(queue).await
    }

    async fn resume(&self, queue: &str) -> Result<()> {
        self.opened().await?.engine.resume(queue).await
    }

    async fn is_paused(&self, queue: &str) -> Result<bool> {
        self.opened().await?.engine.is_paused(queue).await
    }

    async fn register_worker(
        &self,
        queue: &str,
        job_name: &str,
        opts: WorkerOptions,
    ) -> Result<()> {
        self.opened()
            .await?
            .engine
            .register_worker(queue, job_name, opts)
            .await
    }

    async fn start_processing(&self, queue: &str) -> Result<()> {
        self.opened().await?.engine.start_processing(queue).await
    }

    async fn take(&self, queue: &str, max: usize) -> Result<Batch> {
        self.opened().await?.engine.take(queue, max).await
    }

    async fn finish(&self, queue: &str, outcomes: Vec<Outcome>) -> Result<u64> {
        self.opened().await?.engine.finish(queue, outcomes).await
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
            .engine
            .update_progress(queue, id, token, progress)
            .await
    }

    async fn log(&self, queue: &str, id: &str, token: u64, line: String) -> Result<()> {
        self.opened()
            .await?
            .engine
            .log(queue, id, token, line)
            .await
    }

    async fn listen(&self, queue: &str, event: &str, on: bool) -> Result<()> {
        self.opened().await?.engine.listen(queue, event, on).await
    }

    async fn get_scheduled_jobs(&self, queue: &str) -> Result<Vec<Json>> {
        self.opened().await?.engine.get_scheduled_jobs(queue).await
    }

    async fn remove_scheduled_job(&self, id: &str) -> Result<bool> {
        self.opened().await?.engine.remove_scheduled_job(id).await
    }

    async fn remove_job(&self, queue: &str, id: &str) -> Result<bool> {
        self.opened().await?.engine.remove_job(queue, id).await
    }

    async fn init(&self) -> Result<()> {
        self.opened().await.map(|_| ())
    }

    async fn recovery_report(&self) -> Result<Option<String>> {
        self.opened().await?.report_json()
    }

    /// Writes and fsyncs what is queued and releases the data dir. Idempotent.
    async fn close(&self) -> Result<()> {
        if let Some(o) = self.dir.close() {
            o.engine.close().await?;
            o.wal.close().await?;
        }
        Ok(())
    }
}
