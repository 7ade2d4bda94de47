//! `NativeQueue`: the queue facade for JS. `js/queue.js` runs the workers: it takes
//! batches, calls handlers, and reports results in batches (`finish`).

use super::outbox::{Outbox, ToJs};
use super::{settle, sync, Settled};
use crate::options::Opts;
use crate::queue::facade::Queue;
use crate::queue::memory::MemoryQueueAdapter;
use napi::bindgen_prelude::*;
use napi_derive::napi;
use std::sync::Arc;

#[napi]
pub struct NativeQueue {
    queue: Queue,
}

impl NativeQueue {
    /// Wraps a core queue for JS (see `NativeStore::from_store`).
    pub(crate) fn from_queue(queue: Queue) -> NativeQueue {
        NativeQueue { queue }
    }
}

#[napi]
impl NativeQueue {
    /// A memory queue. Wake-ups and events go to the JS target `signals`. `options` is
    /// JSON text of `{ defaultJobOptions?, worker?, limits? }`.
    #[napi(factory)]
    pub fn memory(outbox: &Outbox, signals: u32, options: Option<String>) -> napi::Result<Self> {
        sync(|| {
            let limits = super::limits(options.as_deref())?;
            let opts = Opts::parse("queue options", options.as_deref())?.into_map();
            let adapter = MemoryQueueAdapter::new();
            adapter.set_signals(Arc::new(ToJs {
                outbox: outbox.core.clone(),
                target: signals,
            }));
            Ok(NativeQueue::from_queue(Queue::new(
                Arc::new(adapter),
                &opts,
                limits,
            )?))
        })
    }

    /// A file queue (see `memory` for `signals`). `options` is JSON text of `{ dataDir,
    /// durability?, recovery?, syncWindowMs?, compactAfterBytes?, defaultJobOptions?,
    /// worker?, limits? }`. Does no I/O.
    #[napi(factory)]
    pub fn file(outbox: &Outbox, signals: u32, options: String) -> napi::Result<Self> {
        sync(|| {
            let limits = super::limits(Some(&options))?;
            let o = Opts::parse("file queue options", Some(&options))?;
            let adapter = crate::queue::file::FileQueueAdapter::new(
                crate::file::dir::DataDirOptions::parse(&o, crate::file::dir::DataDirKind::Queue)?,
            );
            adapter.set_signals(Arc::new(ToJs {
                outbox: outbox.core.clone(),
                target: signals,
            }));
            Ok(NativeQueue::from_queue(Queue::new(
                Arc::new(adapter),
                &o.into_map(),
                limits,
            )?))
        })
    }

    #[napi]
    pub fn init<'e>(&self, env: &'e Env) -> napi::Result<Settled<'e, ()>> {
        let q = self.queue.clone();
        settle(env, async move { q.init().await })
    }

    /// JSON text of what opening the data found (file backend), or null.
    #[napi]
    pub fn recovery_report<'e>(&self, env: &'e Env) -> napi::Result<Settled<'e, Option<String>>> {
        let q = self.queue.clone();
        settle(env, async move { q.recovery_report().await })
    }

    /// A handle for the hot-path functions of `fast.rs`.
    #[napi]
    pub fn handle(&self) -> External<Queue> {
        External::new(self.queue.clone())
    }

    #[napi]
    pub fn schedule<'e>(
        &self,
        env: &'e Env,
        queue: String,
        name: String,
        data: String,
        opts: Option<String>,
        spec: Option<String>,
    ) -> napi::Result<Settled<'e, String>> {
        let q = self.queue.clone();
        settle(env, async move {
            q.schedule(&queue, &name, data, opts.as_deref(), spec.as_deref())
                .await
        })
    }

    #[napi]
    pub fn get_jobs<'e>(
        &self,
        env: &'e Env,
        queue: String,
        opts: Option<String>,
    ) -> napi::Result<Settled<'e, String>> {
        let q = self.queue.clone();
        settle(
            env,
            async move { q.get_jobs(&queue, opts.as_deref()).await },
        )
    }

    #[napi]
    pub fn get_job_counts<'e>(
        &self,
        env: &'e Env,
        queue: String,
    ) -> napi::Result<Settled<'e, String>> {
        let q = self.queue.clone();
        settle(env, async move { q.get_job_counts(&queue).await })
    }

    #[napi]
    pub fn pause<'e>(&self, env: &'e Env, queue: String) -> napi::Result<Settled<'e, ()>> {
        let q = self.queue.clone();
        settle(env, async move { q.pause(&queue).await })
    }

    #[napi]
    pub fn resume<'e>(&self, env: &'e Env, queue: String) -> napi::Result<Settled<'e, ()>> {
        let q = self.queue.clone();
        settle(env, async move { q.resume(&queue).await })
    }

    #[napi]
    pub fn is_paused<'e>(&self, env: &'e Env, queue: String) -> napi::Result<Settled<'e, bool>> {
        let q = self.queue.clone();
        settle(env, async move { q.is_paused(&queue).await })
    }

    /// Returns the effective concurrency of this worker (its options over the adapter's
    /// `worker` defaults), which the JS runner enforces as well.
    #[napi]
    pub fn register_worker<'e>(
        &self,
        env: &'e Env,
        queue: String,
        name: String,
        opts: Option<String>,
    ) -> napi::Result<Settled<'e, u32>> {
        let q = self.queue.clone();
        settle(env, async move {
            let parsed = q.worker_options(opts.as_deref())?;
            let concurrency = u32::try_from(parsed.concurrency).unwrap_or(u32::MAX);
            q.set_job_defaults(&queue, &name, opts.as_deref())?;
            q.register_worker(&queue, &name, parsed).await?;
            Ok(concurrency)
        })
    }

    #[napi]
    pub fn start_processing<'e>(
        &self,
        env: &'e Env,
        queue: String,
    ) -> napi::Result<Settled<'e, ()>> {
        let q = self.queue.clone();
        settle(env, async move { q.start_processing(&queue).await })
    }

    #[napi]
    pub fn update_progress<'e>(
        &self,
        env: &'e Env,
        queue: String,
        id: String,
        token: f64,
        progress: String,
    ) -> napi::Result<Settled<'e, ()>> {
        let q = self.queue.clone();
        settle(env, async move {
            q.update_progress(&queue, &id, token as u64, progress).await
        })
    }

    #[napi]
    pub fn log<'e>(
        &self,
        env: &'e Env,
        queue: String,
        id: String,
        token: f64,
        line: String,
    ) -> napi::Result<Settled<'e, ()>> {
        let q = self.queue.clone();
        settle(
            env,
            async move { q.log(&queue, &id, token as u64, line).await },
        )
    }

    #[napi]
    pub fn listen<'e>(
        &self,
        env: &'e Env,
        queue: String,
        event: String,
        on: bool,
    ) -> napi::Result<Settled<'e, ()>> {
        let q = self.queue.clone();
        settle(env, async move { q.listen(&queue, &event, on).await })
    }

    #[napi]
    pub fn get_scheduled_jobs<'e>(
        &self,
        env: &'e Env,
        queue: String,
    ) -> napi::Result<Settled<'e, String>> {
        let q = self.queue.clone();
        settle(env, async move { q.get_scheduled_jobs(&queue).await })
    }

    #[napi]
    pub fn remove_scheduled_job<'e>(
        &self,
        env: &'e Env,
        id: String,
    ) -> napi::Result<Settled<'e, bool>> {
        let q = self.queue.clone();
        settle(env, async move { q.remove_scheduled_job(&id).await })
    }

    #[napi]
    pub fn remove_job<'e>(
        &self,
        env: &'e Env,
        queue: String,
        id: String,
    ) -> napi::Result<Settled<'e, bool>> {
        let q = self.queue.clone();
        settle(env, async move { q.remove_job(&queue, &id).await })
    }

    #[napi]
    pub fn close<'e>(&self, env: &'e Env) -> napi::Result<Settled<'e, ()>> {
        let q = self.queue.clone();
        settle(env, async move { q.close().await })
    }
}
