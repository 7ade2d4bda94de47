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
use crate::file::dir::{in_place, DataDirOptions, LazyDir, Opened, Place};
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

    /// The opened engine and this call's place in line (see `LazyDir`).
    async fn in_line(&self) -> Result<(Arc<Opened<MemoryQueueAdapter>>, Place<'_>)> {
        let opts = self.opts.clone();
        let signals = self
            .signals
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone();
        self.dir
            .get_in_line(move || {
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
        {
            let (o, place) = self.in_line().await?;
            in_place(o.engine.enqueue(queue, job), place).await
        }
    }

    async fn enqueue_bulk(&self, queue: &str, jobs: Vec<NewJob>) -> Result<Vec<String>> {
        {
            let (o, place) = self.in_line().await?;
            in_place(o.engine.enqueue_bulk(queue, jobs), place).await
        }
    }

    async fn schedule(&self, queue: &str, job: NewJob, spec: ScheduleSpec) -> Result<String> {
        {
            let (o, place) = self.in_line().await?;
            in_place(o.engine.schedule(queue, job, spec), place).await
        }
    }

    async fn get_job(&self, queue: &str, id: &str) -> Result<Option<Json>> {
        {
            let (o, place) = self.in_line().await?;
            in_place(o.engine.get_job(queue, id), place).await
        }
    }

    async fn get_jobs(
        &self,
        queue: &str,
        states: Option<Vec<State>>,
        limit: Option<usize>,
        offset: usize,
    ) -> Result<Vec<Json>> {
        {
            let (o, place) = self.in_line().await?;
            in_place(o.engine.get_jobs(queue, states, limit, offset), place).await
        }
    }

    async fn get_job_counts(&self, queue: &str) -> Result<Counts> {
        {
            let (o, place) = self.in_line().await?;
            in_place(o.engine.get_job_counts(queue), place).await
        }
    }

    async fn pause(&self, queue: &str) -> Result<()> {
        {
            let (o, place) = self.in_line().await?;
            in_place(o.engine.pause(queue), place).await
        }
    }

    async fn resume(&self, queue: &str) -> Result<()> {
        {
            let (o, place) = self.in_line().await?;
            in_place(o.engine.resume(queue), place).await
        }
    }

    async fn is_paused(&self, queue: &str) -> Result<bool> {
        {
            let (o, place) = self.in_line().await?;
            in_place(o.engine.is_paused(queue), place).await
        }
    }

    async fn register_worker(
        &self,
        queue: &str,
        job_name: &str,
        opts: WorkerOptions,
    ) -> Result<()> {
        {
            let (o, place) = self.in_line().await?;
            in_place(o.engine.register_worker(queue, job_name, opts), place).await
        }
    }

    async fn start_processing(&self, queue: &str) -> Result<()> {
        {
            let (o, place) = self.in_line().await?;
            in_place(o.engine.start_processing(queue), place).await
        }
    }

    async fn take(&self, queue: &str, max: usize) -> Result<Batch> {
        {
            let (o, place) = self.in_line().await?;
            in_place(o.engine.take(queue, max), place).await
        }
    }

    async fn finish(&self, queue: &str, outcomes: Vec<Outcome>) -> Result<u64> {
        {
            let (o, place) = self.in_line().await?;
            in_place(o.engine.finish(queue, outcomes), place).await
        }
    }

    async fn update_progress(
        &self,
        queue: &str,
        id: &str,
        token: u64,
        progress: Json,
    ) -> Result<()> {
        {
            let (o, place) = self.in_line().await?;
            in_place(o.engine.update_progress(queue, id, token, progress), place).await
        }
    }

    async fn log(&self, queue: &str, id: &str, token: u64, line: String) -> Result<()> {
        {
            let (o, place) = self.in_line().await?;
            in_place(o.engine.log(queue, id, token, line), place).await
        }
    }

    async fn listen(&self, queue: &str, event: &str, on: bool) -> Result<()> {
        {
            let (o, place) = self.in_line().await?;
            in_place(o.engine.listen(queue, event, on), place).await
        }
    }

    async fn get_scheduled_jobs(&self, queue: &str) -> Result<Vec<Json>> {
        {
            let (o, place) = self.in_line().await?;
            in_place(o.engine.get_scheduled_jobs(queue), place).await
        }
    }

    async fn remove_scheduled_job(&self, id: &str) -> Result<bool> {
        {
            let (o, place) = self.in_line().await?;
            in_place(o.engine.remove_scheduled_job(id), place).await
        }
    }

    async fn remove_job(&self, queue: &str, id: &str) -> Result<bool> {
        {
            let (o, place) = self.in_line().await?;
            in_place(o.engine.remove_job(queue, id), place).await
        }
    }

    async fn init(&self) -> Result<()> {
        self.in_line().await.map(|_| ())
    }

    async fn recovery_report(&self) -> Result<Option<String>> {
        self.in_line().await?.0.report_json()
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
