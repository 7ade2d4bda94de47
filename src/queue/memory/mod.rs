//! `MemoryQueueAdapter`: jobs in process memory (SPEC §9 "memory").
//!
//! All state sits behind one std mutex, never held across an `.await`; every call
//! finishes without suspending, so the binding runs it on the JS thread. One timer task
//! (started on first need) promotes delayed jobs, enforces attempt timeouts and fires
//! repeating schedules; it sleeps until the earliest deadline and is woken when an earlier
//! one appears, so an idle queue costs nothing.
//!
//! Decisions (docs/DECISIONS.md): a queue's concurrency is the largest `concurrency` of
//! its registered workers (one runner per queue dispatches by job name); a job whose name
//! has no handler fails its attempt with a reason naming the job (retries apply, so a
//! handler registered meanwhile can still run it); `getJobs` lists newest first.

mod adapter;
mod state;

use super::change::QueueChange;
use crate::callback::Callback;
use crate::error::Result;
use crate::journal::{Ack, Journal};
use crate::value::now_ms;
// aHash: keys are caller-chosen (job ids, queue names), so the hasher must resist
// flooding; aHash does, at a fraction of SipHash's cost.
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, RwLock, Weak};
use tokio::sync::Notify;

type Clock = Arc<dyn Fn() -> u64 + Send + Sync>;

use state::*;

pub struct MemoryQueueAdapter {
    shared: Arc<Shared>,
}

pub(crate) struct Shared {
    inner: Mutex<Inner>,
    journal: Option<Arc<dyn Journal>>,
    notify: Arc<Notify>,
    signals: RwLock<Option<Arc<dyn Callback>>>,
    clock: Clock,
    timer_started: AtomicBool,
}

impl Default for MemoryQueueAdapter {
    fn default() -> Self {
        Self::new()
    }
}

impl MemoryQueueAdapter {
    pub fn new() -> Self {
        Self::with_clock(Arc::new(now_ms))
    }

    /// An adapter whose notion of "now" is `clock` (tests move time without sleeping).
    pub fn with_clock(clock: Clock) -> Self {
        MemoryQueueAdapter {
            shared: Arc::new(Shared {
                inner: Mutex::default(),
                journal: None,
                notify: Arc::new(Notify::new()),
                signals: RwLock::new(None),
                clock,
                timer_started: AtomicBool::new(false),
            }),
        }
    }

    /// Where wake-ups and events go (the binding's outbox).
    pub fn set_signals(&self, signals: Arc<dyn Callback>) {
        *self
            .shared
            .signals
            .write()
            .unwrap_or_else(|p| p.into_inner()) = Some(signals);
    }

    /// Attaches the journal that makes changes durable (after [`Self::replay`]).
    pub fn with_journal(mut self, journal: Arc<dyn Journal>) -> Self {
        if let Some(shared) = Arc::get_mut(&mut self.shared) {
            shared.journal = Some(journal);
        }
        self
    }

    /// Rebuilds state from journal records (before any call).
    ///
    /// # Errors
    /// `NVENT_CORRUPT` for a record that does not decode.
    pub fn replay(&self, records: &[Vec<u8>]) -> Result<()> {
        let mut inner = lock(&self.shared.inner);
        inner.replay(records)?;
        let has_timers =
            !inner.schedules.is_empty() || inner.queues.values().any(|q| !q.delayed.is_empty());
        drop(inner);
        if has_timers {
            self.shared.ensure_timer();
            self.shared.notify.notify_one();
        }
        Ok(())
    }

    /// Runs `f` under the lock, logs what it changed (with a journal) and sends its
    /// effects. The returned Ack settles when the change is durable.
    fn with_ack<T>(
        &self,
        f: impl FnOnce(&mut Inner, u64, &mut Effects) -> Result<T>,
    ) -> Result<(T, Ack)> {
        let now = (self.shared.clock)();
        let mut fx = Effects {
            journaling: self.shared.journal.is_some(),
            ..Effects::default()
        };
        let (out, ack) = {
            let mut inner = lock(&self.shared.inner);
            inner.open()?;
            if let Some(e) = self.shared.journal.as_ref().and_then(|j| j.failure()) {
                return Err(e);
            }
            let out = f(&mut inner, now, &mut fx);
            let ack = self.shared.log(&inner, &mut fx);
            (out, ack)
        };
        self.shared.flush(fx);
        Ok((out?, ack))
    }

    /// A read: runs `f` under the lock.
    fn with<T>(&self, f: impl FnOnce(&mut Inner, u64, &mut Effects) -> Result<T>) -> Result<T> {
        self.with_ack(f).map(|(out, _)| out)
    }

    /// A change: runs `f` under the lock and resolves once the change is durable.
    async fn run<T: Send>(
        &self,
        f: impl FnOnce(&mut Inner, u64, &mut Effects) -> Result<T> + Send,
    ) -> Result<T> {
        let (out, ack) = self.with_ack(f)?;
        ack.wait().await?;
        self.shared.maybe_compact();
        Ok(out)
    }
}

impl Shared {
    /// Submits the changes `fx` recorded (call with the lock held: log order = apply
    /// order).
    fn log(&self, inner: &Inner, fx: &mut Effects) -> Ack {
        let Some(journal) = &self.journal else {
            return Ack::Done;
        };
        if fx.jobs.is_empty() && fx.queues.is_empty() && fx.schedules.is_empty() {
            return Ack::Done;
        }
        let mut changes = Vec::new();
        fx.jobs.sort_unstable();
        fx.jobs.dedup();
        for (queue, id) in fx.jobs.drain(..) {
            changes.push(inner.job_change(&queue, &id));
        }
        fx.queues.sort_unstable();
        fx.queues.dedup();
        for queue in fx.queues.drain(..) {
            if let Some(q) = inner.queues.get(&queue) {
                changes.push(QueueChange::QueueMeta {
                    queue,
                    paused: q.paused,
                    next_id: q.next_id,
                });
            }
        }
        fx.schedules.sort_unstable();
        fx.schedules.dedup();
        for id in fx.schedules.drain(..) {
            changes.push(inner.schedule_change(id));
        }
        changes.push(QueueChange::Counters {
            next_seq: inner.next_seq,
            next_schedule: inner.next_schedule,
        });
        journal.submit(QueueChange::Batch(changes).encode())
    }

    /// Compacts the journal when it asks for it (the whole state, dumped under the lock).
    fn maybe_compact(&self) {
        let Some(journal) = &self.journal else { return };
        if !journal.wants_compaction() {
            return;
        }
        let inner = lock(&self.inner);
        let _ = journal.rotate(inner.snapshot());
    }

    fn flush(self: &Arc<Self>, fx: Effects) {
        if fx.timers_changed {
            self.ensure_timer();
            self.notify.notify_one();
        }
        if fx.signals.is_empty() {
            return;
        }
        let signals = self
            .signals
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone();
        if let Some(s) = signals {
            for sig in &fx.signals {
                s.call(sig);
            }
        }
    }

    fn ensure_timer(self: &Arc<Self>) {
        if self.timer_started.swap(true, Ordering::AcqRel) {
            return;
        }
        let weak = Arc::downgrade(self);
        let notify = self.notify.clone();
        if crate::runtime::spawn(timer_loop(weak, notify)).is_err() {
            self.timer_started.store(false, Ordering::Release);
        }
    }
}

/// Sleeps until the earliest deadline (or a wake-up), then ticks. Holds only a weak
/// reference while asleep, so a dropped adapter ends the loop.
async fn timer_loop(weak: Weak<Shared>, notify: Arc<Notify>) {
    loop {
        let next = {
            let Some(shared) = weak.upgrade() else { return };
            let now = (shared.clock)();
            let mut fx = Effects {
                journaling: shared.journal.is_some(),
                ..Effects::default()
            };
            let next = {
                let mut inner = lock(&shared.inner);
                if inner.closed {
                    return;
                }
                let next = inner.tick(now, &mut fx);
                // Promotions and fires are logged like any change; a failure fails the
                // journal, which then refuses every call.
                let _ = shared.log(&inner, &mut fx);
                next
            };
            fx.timers_changed = false;
            shared.flush(fx);
            next.map(|at| at.saturating_sub(now))
        };
        match next {
            Some(ms) => {
                tokio::select! {
                    _ = tokio::time::sleep(std::time::Duration::from_millis(ms)) => {}
                    _ = notify.notified() => {}
                }
            }
            None => notify.notified().await,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::queue::{Batch, NewJob, Outcome, QueueAdapter, WorkerOptions};
    use crate::value::Json;
    use crate::value::Limits;
    use serde_json::{json, Value};
    use std::sync::atomic::AtomicU64;

    fn queue() -> (MemoryQueueAdapter, Arc<AtomicU64>) {
        let t = Arc::new(AtomicU64::new(1_000_000));
        let tc = t.clone();
        (
            MemoryQueueAdapter::with_clock(Arc::new(move || tc.load(Ordering::SeqCst))),
            t,
        )
    }

    fn job(_: &MemoryQueueAdapter, name: &str, opts: Value) -> NewJob {
        let Value::Object(m) = opts else {
            unreachable!()
        };
        NewJob {
            name: name.into(),
            data: Json::from_text("{}".into(), &Limits::default()).unwrap(),
            opts: crate::queue::JobOptions::parse(&serde_json::Map::new(), m).unwrap(),
        }
    }

    fn ids(batch: &Batch) -> Vec<(String, u64)> {
        let v: Value = serde_json::from_str(&batch.jobs).unwrap();
        v.as_array()
            .unwrap()
            .chunks(6)
            .map(|j| (j[0].as_str().unwrap().to_string(), j[4].as_u64().unwrap()))
            .collect()
    }

    fn state(q: &MemoryQueueAdapter, id: &str) -> String {
        let j = futures::executor::block_on(q.get_job("q", id))
            .unwrap()
            .unwrap();
        j.to_value().unwrap()["state"].as_str().unwrap().to_string()
    }

    #[tokio::test]
    async fn priority_then_fifo_with_lifo_ahead() {
        let (q, _) = queue();
        q.register_worker(
            "q",
            "j",
            WorkerOptions {
                concurrency: 10,
                autorun: false,
                ..Default::default()
            },
        )
        .await
        .unwrap();
        let a = q.enqueue("q", job(&q, "j", json!({}))).await.unwrap();
        let b = q
            .enqueue("q", job(&q, "j", json!({ "priority": 5 })))
            .await
            .unwrap();
        let c = q
            .enqueue("q", job(&q, "j", json!({ "priority": 1 })))
            .await
            .unwrap();
        let d = q
            .enqueue("q", job(&q, "j", json!({ "lifo": true })))
            .await
            .unwrap();
        q.start_processing("q").await.unwrap();
        let got: Vec<String> = ids(&q.take("q", 10).await.unwrap())
            .into_iter()
            .map(|x| x.0)
            .collect();
        assert_eq!(got, [c, b, d, a]);
    }

    #[tokio::test]
    async fn retries_keep_the_id_and_stale_results_are_ignored() {
        let (q, t) = queue();
        q.register_worker("q", "j", WorkerOptions::default())
            .await
            .unwrap();
        let id = q
            .enqueue("q", job(&q, "j", json!({ "attempts": 2, "backoff": 100 })))
            .await
            .unwrap();
        let first = ids(&q.take("q", 1).await.unwrap());
        q.finish(
            "q",
            vec![Outcome {
                id: id.clone(),
                token: first[0].1,
                result: Err("boom".into()),
            }],
        )
        .await
        .unwrap();
        assert_eq!(state(&q, &id), "delayed");
        // A duplicate of the stale result changes nothing.
        q.finish(
            "q",
            vec![Outcome {
                id: id.clone(),
                token: first[0].1,
                result: Err("again".into()),
            }],
        )
        .await
        .unwrap();
        assert_eq!(state(&q, &id), "delayed");
        t.fetch_add(100, Ordering::SeqCst);
        let mut fx = Effects::default();
        lock(&q.shared.inner).tick(t.load(Ordering::SeqCst), &mut fx);
        let second = ids(&q.take("q", 1).await.unwrap());
        assert_eq!(second[0].0, id);
        let ok = Json::from_text("7".into(), &Limits::default()).unwrap();
        q.finish(
            "q",
            vec![Outcome {
                id: id.clone(),
                token: second[0].1,
                result: Ok(ok),
            }],
        )
        .await
        .unwrap();
        let j = q
            .get_job("q", &id)
            .await
            .unwrap()
            .unwrap()
            .to_value()
            .unwrap();
        assert_eq!(
            (
                j["state"].as_str(),
                j["attemptsMade"].as_u64(),
                &j["returnvalue"]
            ),
            (Some("completed"), Some(2), &json!(7))
        );
    }

    #[tokio::test]
    async fn paused_queues_hold_jobs_and_job_ids_are_idempotent() {
        let (q, _) = queue();
        q.pause("q").await.unwrap();
        q.register_worker("q", "j", WorkerOptions::default())
            .await
            .unwrap();
        let a = q
            .enqueue("q", job(&q, "j", json!({ "jobId": "x" })))
            .await
            .unwrap();
        let b = q
            .enqueue("q", job(&q, "j", json!({ "jobId": "x" })))
            .await
            .unwrap();
        assert_eq!(a, b);
        assert_eq!(state(&q, &a), "paused");
        assert_eq!(q.take("q", 5).await.unwrap().count, 0);
        let c = q.get_job_counts("q").await.unwrap();
        assert_eq!((c.waiting, c.paused), (0, 1));
        q.resume("q").await.unwrap();
        assert_eq!(q.take("q", 5).await.unwrap().count, 1);
    }

    #[tokio::test]
    async fn keep_newest_n_finished_jobs() {
        let (q, _) = queue();
        q.register_worker(
            "q",
            "j",
            WorkerOptions {
                concurrency: 10,
                ..Default::default()
            },
        )
        .await
        .unwrap();
        for _ in 0..5 {
            q.enqueue("q", job(&q, "j", json!({ "removeOnComplete": 2 })))
                .await
                .unwrap();
        }
        let batch = ids(&q.take("q", 10).await.unwrap());
        let ok = Json::from_text("null".into(), &Limits::default()).unwrap();
        let outcomes = batch
            .into_iter()
            .map(|(id, token)| Outcome {
                id,
                token,
                result: Ok(ok.clone()),
            })
            .collect();
        q.finish("q", outcomes).await.unwrap();
        assert_eq!(q.get_job_counts("q").await.unwrap().completed, 2);
        assert!(q.get_job("q", "1").await.unwrap().is_none());
        assert!(q.get_job("q", "5").await.unwrap().is_some());
    }
}
