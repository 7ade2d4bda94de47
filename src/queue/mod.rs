//! QueueAdapter: jobs and workers (SPEC §5).
//!
//! Job states (`docs/QUEUE.md` has the diagram):
//! `waiting → active → completed | failed`, with `delayed` for delays and backoff gaps (the
//! same job id moves on; no second job is created). While a queue is paused its waiting
//! jobs report `paused`. Delivery is at-least-once: an attempt whose result never arrives
//! (timeout, crash) is retried while attempts remain.
//!
//! Workers are pull-based: the binding's JS runner calls [`QueueAdapter::take`] for as many
//! jobs as it has free slots, runs the handlers, and hands all results back in one
//! [`QueueAdapter::finish`]. The adapter tells the runner that work arrived through its
//! signal callback (`{"k":"wake","q":queue,"pending":n}`), and sends queue events the
//! runner listens to (`{"k":"event","q":queue,"e":name,"p":payload}`), in order.

pub mod change;
pub mod cron;
pub mod facade;
pub mod file;
pub mod job;
pub mod memory;
pub mod redis;

use crate::error::Result;
use crate::value::Json;
use async_trait::async_trait;
pub use job::{Backoff, JobOptions, Keep, NewJob, ScheduleSpec, State};

/// Counts of `getJobCounts` (SPEC §5).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct Counts {
    pub waiting: u64,
    pub active: u64,
    pub completed: u64,
    pub failed: u64,
    pub delayed: u64,
    pub paused: u64,
}

/// Worker settings. Lease settings matter to backends with leases (Redis, file); memory
/// workers live in the process that owns the jobs and cannot stall.
#[derive(Debug, Clone, PartialEq)]
pub struct WorkerOptions {
    pub concurrency: usize,
    pub autorun: bool,
    pub lock_duration_ms: u64,
    pub stalled_interval_ms: u64,
    pub max_stalled_count: u32,
}

impl Default for WorkerOptions {
    fn default() -> Self {
        WorkerOptions {
            concurrency: 1,
            autorun: true,
            lock_duration_ms: 30_000,
            stalled_interval_ms: 30_000,
            max_stalled_count: 1,
        }
    }
}

/// The result of one attempt, as the runner reports it.
#[derive(Debug, Clone, PartialEq)]
pub struct Outcome {
    pub id: String,
    pub token: u64,
    pub result: std::result::Result<Json, String>,
}

/// What [`QueueAdapter::take`] hands out: a batch of active jobs (JSON text of
/// `[id, name, data, attemptsMade, token, opts, id, ...]`, see `Job::render_claim`) and the number of jobs
/// still outstanding on queues with a running worker (the runner keeps the process alive
/// while it is above zero).
#[derive(Debug, Clone, PartialEq)]
pub struct Batch {
    pub jobs: String,
    pub count: usize,
    pub pending: u64,
}

#[async_trait]
pub trait QueueAdapter: Send + Sync {
    /// # Errors
    /// `NVENT_INVALID_NAME`, `NVENT_INVALID_ARGUMENT` (bad options), `NVENT_CLOSED`.
    async fn enqueue(&self, queue: &str, job: NewJob) -> Result<String>;
    /// All or nothing: every job is checked before the first is added.
    async fn enqueue_bulk(&self, queue: &str, jobs: Vec<NewJob>) -> Result<Vec<String>>;
    /// A delayed job (returns its id) or a repeating schedule (returns the schedule id).
    async fn schedule(&self, queue: &str, job: NewJob, spec: ScheduleSpec) -> Result<String>;
    async fn get_job(&self, queue: &str, id: &str) -> Result<Option<Json>>;
    async fn get_jobs(
        &self,
        queue: &str,
        states: Option<Vec<State>>,
        limit: Option<usize>,
        offset: usize,
    ) -> Result<Vec<Json>>;
    async fn get_job_counts(&self, queue: &str) -> Result<Counts>;
    async fn pause(&self, queue: &str) -> Result<()>;
    async fn resume(&self, queue: &str) -> Result<()>;
    async fn is_paused(&self, queue: &str) -> Result<bool>;
    async fn register_worker(&self, queue: &str, job_name: &str, opts: WorkerOptions)
        -> Result<()>;
    async fn start_processing(&self, queue: &str) -> Result<()>;
    /// Moves up to `max` waiting jobs to active for the runner.
    async fn take(&self, queue: &str, max: usize) -> Result<Batch>;
    /// Records attempt results. Results of attempts that are no longer current (timed
    /// out, removed) are ignored. Returns the outstanding count (see [`Batch::pending`]).
    async fn finish(&self, queue: &str, outcomes: Vec<Outcome>) -> Result<u64>;
    /// # Errors
    /// `NVENT_LOCK_LOST` when the attempt is no longer current.
    async fn update_progress(
        &self,
        queue: &str,
        id: &str,
        token: u64,
        progress: Json,
    ) -> Result<()>;
    async fn log(&self, queue: &str, id: &str, token: u64, line: String) -> Result<()>;
    /// Turns sending of one event type of one queue on or off.
    async fn listen(&self, queue: &str, event: &str, on: bool) -> Result<()>;
    async fn get_scheduled_jobs(&self, queue: &str) -> Result<Vec<Json>>;
    async fn remove_scheduled_job(&self, id: &str) -> Result<bool>;
    async fn remove_job(&self, queue: &str, id: &str) -> Result<bool>;
    /// Stops timers and refuses later calls with `NVENT_CLOSED`. Waiting for running
    /// handlers is the runner's part (it owns them), bounded by its close timeout.
    async fn close(&self) -> Result<()>;

    /// Opens what the backend needs (files, connections) now rather than on first use.
    async fn init(&self) -> Result<()> {
        Ok(())
    }

    /// What the backend found when it opened its data (JSON text), if anything.
    async fn recovery_report(&self) -> Result<Option<String>> {
        Ok(None)
    }
}
