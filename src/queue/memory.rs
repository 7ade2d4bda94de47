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

use super::change::{JobRecord, QueueChange, ScheduleRecord};
use super::cron::Pattern;
use super::job::{push_str, Job, Keep, NewJob, ScheduleSpec, State};
use super::{Batch, Counts, Outcome, QueueAdapter, WorkerOptions};
use crate::callback::Callback;
use crate::error::{NventError, Result};
use crate::journal::{Ack, Journal};
use crate::value::{now_ms, Json};
use async_trait::async_trait;
use serde_json::{json, Value};
// aHash: keys are caller-chosen (job ids, queue names), so the hasher must resist
// flooding; aHash does, at a fraction of SipHash's cost.
use ahash::{AHashMap as HashMap, AHashSet as HashSet};
use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, RwLock, Weak};
use tokio::sync::Notify;

type Clock = Arc<dyn Fn() -> u64 + Send + Sync>;

pub struct MemoryQueueAdapter {
    shared: Arc<Shared>,
}

struct Shared {
    inner: Mutex<Inner>,
    journal: Option<Arc<dyn Journal>>,
    notify: Arc<Notify>,
    signals: RwLock<Option<Arc<dyn Callback>>>,
    clock: Clock,
    timer_started: AtomicBool,
}

#[derive(Default)]
struct Inner {
    closed: bool,
    queues: HashMap<String, Queue>,
    schedules: BTreeMap<u64, Schedule>,
    next_token: u64,
    next_seq: u64,
    next_schedule: u64,
}

/// Where a job sits, so that it can be taken out of the right set.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Slot {
    Waiting(WaitKey),
    Delayed(u64),
    Active(Option<u64>),
    Done,
}

/// Run order: prioritized jobs first (lower number first), then the rest; FIFO within a
/// class, LIFO jobs ahead of it. `order` comes from a sequence, so keys are unique.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
struct WaitKey {
    class: u8,
    priority: i64,
    order: i64,
}

struct Entry {
    job: Job,
    slot: Slot,
}

#[derive(Default)]
struct Queue {
    /// Boxed so that growing the map moves pointers, not job records.
    jobs: HashMap<String, Box<Entry>>,
    waiting: BTreeMap<WaitKey, String>,
    delayed: BTreeSet<(u64, String)>,
    active: HashSet<String>,
    timeouts: BTreeSet<(u64, String)>,
    completed: VecDeque<String>,
    failed: VecDeque<String>,
    paused: bool,
    worker: Option<Worker>,
    wake_sent: bool,
    listening: HashSet<String>,
    next_id: u64,
}

struct Worker {
    names: HashSet<String>,
    concurrency: usize,
    running: bool,
}

struct Schedule {
    id: u64,
    queue: String,
    job: NewJob,
    pattern: Option<Pattern>,
    every: Option<u64>,
    limit: Option<u32>,
    fired: u32,
    next: u64,
}

/// What a locked operation wants sent once the lock is released, and — when a journal is
/// attached — what it changed.
#[derive(Default)]
struct Effects {
    signals: Vec<Json>,
    timers_changed: bool,
    journaling: bool,
    jobs: Vec<(String, String)>,
    queues: Vec<String>,
    schedules: Vec<u64>,
}

impl Effects {
    fn touch_job(&mut self, queue: &str, id: &str) {
        if self.journaling {
            self.jobs.push((queue.to_string(), id.to_string()));
        }
    }

    fn touch_queue(&mut self, queue: &str) {
        if self.journaling {
            self.queues.push(queue.to_string());
        }
    }

    fn touch_schedule(&mut self, id: u64) {
        if self.journaling {
            self.schedules.push(id);
        }
    }

    /// Queues event `name` for the runner if someone listens to it; `payload` is built
    /// only then.
    fn event(&mut self, q: &Queue, queue: &str, name: &str, payload: impl FnOnce() -> Value) {
        if !q.listening.contains(name) {
            return;
        }
        let payload = payload();
        let mut text = String::with_capacity(64);
        text.push_str("{\"k\":\"event\",\"q\":");
        push_str(&mut text, queue);
        text.push_str(",\"e\":\"");
        text.push_str(name);
        text.push_str("\",\"p\":");
        text.push_str(&payload.to_string());
        text.push('}');
        self.signals.push(Json::trusted(text));
    }
}

fn lock(m: &Mutex<Inner>) -> MutexGuard<'_, Inner> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl Queue {
    fn runnable(&self) -> bool {
        !self.paused && self.worker.as_ref().is_some_and(|w| w.running)
    }

    fn outstanding(&self) -> u64 {
        if !self.runnable() {
            return self.active.len() as u64;
        }
        (self.waiting.len() + self.delayed.len() + self.active.len()) as u64
    }

    /// Takes a job out of whatever set holds it.
    fn unslot(&mut self, id: &str) {
        let Some(entry) = self.jobs.get_mut(id) else {
            return;
        };
        match std::mem::replace(&mut entry.slot, Slot::Done) {
            Slot::Waiting(key) => {
                self.waiting.remove(&key);
            }
            Slot::Delayed(due) => {
                self.delayed.remove(&(due, id.to_string()));
            }
            Slot::Active(deadline) => {
                self.active.remove(id);
                if let Some(d) = deadline {
                    self.timeouts.remove(&(d, id.to_string()));
                }
            }
            Slot::Done => {}
        }
    }

    fn make_waiting(&mut self, id: &str, seq: u64) {
        let Some(entry) = self.jobs.get_mut(id) else {
            return;
        };
        let order = if entry.job.opts.lifo {
            -(seq as i64)
        } else {
            seq as i64
        };
        let key = WaitKey {
            class: u8::from(entry.job.opts.priority.is_none()),
            priority: entry.job.opts.priority.unwrap_or(0),
            order,
        };
        entry.job.state = State::Waiting;
        entry.slot = Slot::Waiting(key);
        self.waiting.insert(key, id.to_string());
    }

    fn make_delayed(&mut self, id: &str, due: u64) {
        let Some(entry) = self.jobs.get_mut(id) else {
            return;
        };
        entry.job.state = State::Delayed;
        entry.slot = Slot::Delayed(due);
        self.delayed.insert((due, id.to_string()));
    }

    /// Applies a finished job's keep setting to the finished list it joined; returns the
    /// ids of the jobs it removed.
    fn keep(&mut self, id: &str, state: State, keep: Keep) -> Vec<String> {
        let list = if state == State::Completed {
            &mut self.completed
        } else {
            &mut self.failed
        };
        let mut removed = Vec::new();
        match keep {
            Keep::None => {
                self.jobs.remove(id);
                removed.push(id.to_string());
            }
            Keep::All => list.push_back(id.to_string()),
            Keep::Newest(n) => {
                list.push_back(id.to_string());
                while list.len() > n {
                    if let Some(old) = list.pop_front() {
                        self.jobs.remove(&old);
                        removed.push(old);
                    }
                }
            }
        }
        removed
    }
}

impl Inner {
    /// The logged form of job `id` of `queue` as it is now (absent = deleted).
    fn job_change(&self, queue: &str, id: &str) -> QueueChange {
        match self.queues.get(queue).and_then(|q| q.jobs.get(id)) {
            Some(e) => {
                let due = match e.slot {
                    Slot::Delayed(d) => Some(d),
                    _ => None,
                };
                QueueChange::JobPut(Box::new(JobRecord::of(queue, &e.job, due)))
            }
            None => QueueChange::JobDel {
                queue: queue.to_string(),
                id: id.to_string(),
            },
        }
    }

    fn schedule_change(&self, id: u64) -> QueueChange {
        match self.schedules.get(&id) {
            Some(s) => QueueChange::SchedulePut(Box::new(ScheduleRecord {
                id,
                queue: s.queue.clone(),
                name: s.job.name.clone(),
                data: s.job.data.as_str().to_string(),
                opts: Value::Object(s.job.opts.raw.clone()).to_string(),
                pattern: s.pattern.as_ref().map(|p| p.as_str().to_string()),
                every: s.every,
                limit: s.limit,
                fired: s.fired,
                next: s.next,
            })),
            None => QueueChange::ScheduleDel { id },
        }
    }

    /// The whole state as records, for a compaction snapshot.
    fn snapshot(&self) -> Vec<Vec<u8>> {
        let mut out = Vec::new();
        for (name, q) in &self.queues {
            out.push(
                QueueChange::QueueMeta {
                    queue: name.clone(),
                    paused: q.paused,
                    next_id: q.next_id,
                }
                .encode(),
            );
            for id in q.jobs.keys() {
                out.push(self.job_change(name, id).encode());
            }
        }
        for id in self.schedules.keys() {
            out.push(self.schedule_change(*id).encode());
        }
        out.push(
            QueueChange::Counters {
                next_seq: self.next_seq,
                next_schedule: self.next_schedule,
            }
            .encode(),
        );
        out
    }

    /// Rebuilds the state from journal records: the last record of each job, schedule
    /// and queue wins. Jobs that were active when the process stopped are waiting again
    /// (at-least-once); delayed jobs keep their due time; schedules their next fire.
    fn replay(&mut self, records: &[Vec<u8>]) -> Result<()> {
        let mut jobs: BTreeMap<(String, String), JobRecord> = BTreeMap::new();
        let mut schedules: BTreeMap<u64, ScheduleRecord> = BTreeMap::new();
        let mut metas: BTreeMap<String, (bool, u64)> = BTreeMap::new();
        let mut pending: Vec<QueueChange> = Vec::with_capacity(records.len());
        for bytes in records {
            pending.push(QueueChange::decode(bytes)?);
        }
        while let Some(change) = pending.pop() {
            // Walked from the end (latest first); a batch's members go back on the stack in
            // order, so its last member comes off first.
            match change {
                QueueChange::Batch(inner) => pending.extend(inner),
                other => pending_apply(other, &mut jobs, &mut schedules, &mut metas, self),
            }
        }
        for (queue, (paused, next_id)) in metas {
            let q = self.queue(&queue);
            q.paused = paused;
            q.next_id = q.next_id.max(next_id);
        }
        let mut records: Vec<JobRecord> = jobs.into_values().filter(|r| !r.is_deleted()).collect();
        records.sort_by_key(|r| (r.finished_on.unwrap_or(0), r.seq));
        for rec in records {
            let queue = rec.queue.clone();
            let due = rec.due;
            let job = rec.into_job()?;
            let id = job.id.clone();
            let (state, seq) = (job.state, job.seq);
            let q = self.queue(&queue);
            q.jobs.insert(
                id.clone(),
                Box::new(Entry {
                    job,
                    slot: Slot::Done,
                }),
            );
            match state {
                State::Completed => q.completed.push_back(id),
                State::Failed => q.failed.push_back(id),
                State::Delayed => q.make_delayed(&id, due.unwrap_or(0)),
                // Active at the crash: run it again.
                State::Active | State::Waiting | State::Paused => q.make_waiting(&id, seq),
            }
        }
        for (id, rec) in schedules.into_iter().filter(|(_, r)| !r.is_deleted()) {
            let pattern = rec
                .pattern
                .as_deref()
                .map(Pattern::parse)
                .transpose()
                .map_err(|e| NventError::Corrupt {
                    message: format!("a stored schedule: {e}"),
                })?;
            self.queue(&rec.queue);
            self.schedules.insert(
                id,
                Schedule {
                    id,
                    queue: rec.queue.clone(),
                    job: rec.template()?,
                    pattern,
                    every: rec.every,
                    limit: rec.limit,
                    fired: rec.fired,
                    next: rec.next,
                },
            );
        }
        Ok(())
    }

    fn open(&self) -> Result<()> {
        if self.closed {
            Err(NventError::closed("the queue adapter"))
        } else {
            Ok(())
        }
    }

    fn pending(&self) -> u64 {
        self.queues.values().map(Queue::outstanding).sum()
    }

    fn queue(&mut self, name: &str) -> &mut Queue {
        self.queues.entry(name.to_string()).or_default()
    }

    /// Adds one job (the caller has checked the options). Returns its id.
    fn add(&mut self, queue: &str, job: NewJob, now: u64, fx: &mut Effects) -> String {
        self.next_seq += 1;
        let seq = self.next_seq;
        let q = self.queues.entry(queue.to_string()).or_default();
        if let Some(id) = &job.opts.job_id {
            if q.jobs.contains_key(id) {
                return id.clone();
            }
        }
        let id = match &job.opts.job_id {
            Some(id) => id.clone(),
            None => loop {
                q.next_id += 1;
                let candidate = q.next_id.to_string();
                if !q.jobs.contains_key(&candidate) {
                    break candidate;
                }
            },
        };
        fx.touch_job(queue, &id);
        fx.touch_queue(queue);
        let delay = job.opts.delay;
        let record = Job {
            id: id.clone(),
            name: job.name,
            data: job.data,
            opts: job.opts,
            state: State::Waiting,
            timestamp: now,
            processed_on: None,
            finished_on: None,
            attempts_made: 0,
            returnvalue: None,
            failed_reason: None,
            progress: None,
            logs: Vec::new(),
            token: 0,
            seq,
        };
        let name = record.name.clone();
        q.jobs.insert(
            id.clone(),
            Box::new(Entry {
                job: record,
                slot: Slot::Done,
            }),
        );
        if delay > 0 {
            q.make_delayed(&id, now + delay);
            fx.timers_changed = true;
            fx.event(
                q,
                queue,
                "delayed",
                || json!({ "jobId": id, "name": name, "delay": delay }),
            );
        } else {
            q.make_waiting(&id, seq);
            fx.event(q, queue, "waiting", || json!({ "jobId": id, "name": name }));
            wake(q, queue, fx);
        }
        id
    }

    /// Ends the current attempt of an active job with `reason`: retry (after backoff) while
    /// attempts remain, else `failed`.
    fn fail_attempt(&mut self, queue: &str, id: &str, reason: String, now: u64, fx: &mut Effects) {
        self.next_seq += 1;
        let seq = self.next_seq;
        let Some(q) = self.queues.get_mut(queue) else {
            return;
        };
        q.unslot(id);
        let Some(entry) = q.jobs.get_mut(id) else {
            return;
        };
        fx.touch_job(queue, id);
        let job = &mut entry.job;
        job.failed_reason = Some(reason.clone());
        let name = job.name.clone();
        if job.attempts_made < job.opts.attempts {
            let delay = job.opts.backoff.map_or(0, |b| b.delay(job.attempts_made));
            if delay > 0 {
                q.make_delayed(id, now + delay);
                fx.timers_changed = true;
                fx.event(
                    q,
                    queue,
                    "delayed",
                    || json!({ "jobId": id, "name": name, "delay": delay }),
                );
            } else {
                q.make_waiting(id, seq);
                fx.event(q, queue, "waiting", || json!({ "jobId": id, "name": name }));
                wake(q, queue, fx);
            }
            return;
        }
        job.state = State::Failed;
        job.finished_on = Some(now);
        let attempts = job.attempts_made;
        let keep = job.opts.remove_on_fail;
        fx.event(q, queue, "failed", || json!({ "jobId": id, "name": name, "failedReason": reason, "attemptsMade": attempts }),
        );
        for removed in q.keep(id, State::Failed, keep) {
            fx.touch_job(queue, &removed);
        }
    }

    fn complete(&mut self, queue: &str, id: &str, value: Json, now: u64, fx: &mut Effects) {
        let Some(q) = self.queues.get_mut(queue) else {
            return;
        };
        q.unslot(id);
        let Some(entry) = q.jobs.get_mut(id) else {
            return;
        };
        fx.touch_job(queue, id);
        let job = &mut entry.job;
        job.state = State::Completed;
        job.finished_on = Some(now);
        job.failed_reason = None;
        let name = job.name.clone();
        let keep = job.opts.remove_on_complete;
        if q.listening.contains("completed") {
            let rv = value.to_value().unwrap_or(Value::Null);
            fx.event(
                q,
                queue,
                "completed",
                || json!({ "jobId": id, "name": name, "returnvalue": rv }),
            );
        }
        if let Some(entry) = q.jobs.get_mut(id) {
            entry.job.returnvalue = Some(value);
        }
        for removed in q.keep(id, State::Completed, keep) {
            fx.touch_job(queue, &removed);
        }
    }

    /// Promotes due delayed jobs, times out overdue attempts, fires due schedules.
    /// Returns the next deadline.
    fn tick(&mut self, now: u64, fx: &mut Effects) -> Option<u64> {
        let names: Vec<String> = self.queues.keys().cloned().collect();
        for name in &names {
            while let Some((due, id)) = self
                .queues
                .get(name)
                .and_then(|q| q.delayed.first().cloned())
            {
                if due > now {
                    break;
                }
                self.next_seq += 1;
                let seq = self.next_seq;
                let Some(q) = self.queues.get_mut(name) else {
                    break;
                };
                q.unslot(&id);
                q.make_waiting(&id, seq);
                fx.touch_job(name, &id);
                let job_name = q.jobs.get(&id).map(|e| e.job.name.clone());
                fx.event(
                    q,
                    name,
                    "waiting",
                    || json!({ "jobId": id, "name": job_name }),
                );
                wake(q, name, fx);
            }
            while let Some((deadline, id)) = self
                .queues
                .get(name)
                .and_then(|q| q.timeouts.first().cloned())
            {
                if deadline > now {
                    break;
                }
                let Some(q) = self.queues.get_mut(name) else {
                    break;
                };
                let timeout = q
                    .jobs
                    .get(&id)
                    .and_then(|e| e.job.opts.timeout)
                    .unwrap_or(0);
                let reason = NventError::Timeout {
                    message: format!("job {id} timed out after {timeout} ms"),
                }
                .to_string();
                self.fail_attempt(name, &id, reason, now, fx);
                // The timed-out attempt's slot is free for the next job.
                if let Some(q) = self.queues.get_mut(name) {
                    q.wake_sent = false;
                    wake(q, name, fx);
                }
            }
        }
        let due: Vec<u64> = self
            .schedules
            .values()
            .filter(|s| s.next <= now)
            .map(|s| s.id)
            .collect();
        for sid in due {
            let Some(s) = self.schedules.get_mut(&sid) else {
                continue;
            };
            s.fired += 1;
            fx.touch_schedule(sid);
            let mut job = s.job.clone();
            job.opts.job_id = None;
            let queue = s.queue.clone();
            let done = s.limit.is_some_and(|l| s.fired >= l);
            let next = match (&s.pattern, s.every) {
                (Some(p), _) => p.next_after(now),
                (None, Some(every)) => Some(now + every),
                (None, None) => None,
            };
            match next {
                Some(n) if !done => s.next = n,
                _ => {
                    self.schedules.remove(&sid);
                }
            }
            self.add(&queue, job, now, fx);
        }
        let mut next: Option<u64> = self.schedules.values().map(|s| s.next).min();
        for q in self.queues.values() {
            for at in [
                q.delayed.first().map(|d| d.0),
                q.timeouts.first().map(|t| t.0),
            ]
            .into_iter()
            .flatten()
            {
                next = Some(next.map_or(at, |n| n.min(at)));
            }
        }
        next
    }
}

/// One record of a replay (the caller walks the log backwards, so the first record seen
/// for a job, schedule or queue is its latest).
fn pending_apply(
    change: QueueChange,
    jobs: &mut BTreeMap<(String, String), JobRecord>,
    schedules: &mut BTreeMap<u64, ScheduleRecord>,
    metas: &mut BTreeMap<String, (bool, u64)>,
    inner: &mut Inner,
) {
    match change {
        QueueChange::JobPut(rec) => {
            let key = (rec.queue.clone(), rec.id.clone());
            jobs.entry(key).or_insert(*rec);
        }
        QueueChange::JobDel { queue, id } => {
            // A deletion is final unless a later put (seen earlier) revived the id.
            jobs.entry((queue, id)).or_insert_with(JobRecord::deleted);
        }
        QueueChange::QueueMeta {
            queue,
            paused,
            next_id,
        } => {
            metas.entry(queue).or_insert((paused, next_id));
        }
        QueueChange::SchedulePut(rec) => {
            schedules.entry(rec.id).or_insert(*rec);
        }
        QueueChange::ScheduleDel { id } => {
            schedules.entry(id).or_insert_with(ScheduleRecord::deleted);
        }
        QueueChange::Counters {
            next_seq,
            next_schedule,
        } => {
            inner.next_seq = inner.next_seq.max(next_seq);
            inner.next_schedule = inner.next_schedule.max(next_schedule);
        }
        QueueChange::Batch(_) => {}
    }
}

/// Tells the runner that `queue` has work, once until it next takes.
fn wake(q: &mut Queue, queue: &str, fx: &mut Effects) {
    if q.wake_sent || !q.runnable() || q.waiting.is_empty() {
        return;
    }
    q.wake_sent = true;
    let mut text = String::from("{\"k\":\"wake\",\"q\":");
    push_str(&mut text, queue);
    text.push('}');
    fx.signals.push(Json::trusted(text));
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

#[async_trait]
impl QueueAdapter for MemoryQueueAdapter {
    async fn enqueue(&self, queue: &str, job: NewJob) -> Result<String> {
        self.run(|inner, now, fx| Ok(inner.add(queue, job, now, fx)))
            .await
    }

    async fn enqueue_bulk(&self, queue: &str, jobs: Vec<NewJob>) -> Result<Vec<String>> {
        self.run(|inner, now, fx| {
            Ok(jobs
                .into_iter()
                .map(|job| inner.add(queue, job, now, fx))
                .collect())
        })
        .await
    }

    async fn schedule(&self, queue: &str, mut job: NewJob, spec: ScheduleSpec) -> Result<String> {
        if !spec.repeats() {
            job.opts.delay = spec.delay.unwrap_or(0);
            return self.enqueue(queue, job).await;
        }
        let pattern = spec.pattern.as_deref().map(Pattern::parse).transpose()?;
        self.run(|inner, now, fx| {
            let first = match (&pattern, spec.every) {
                (Some(p), _) => p.next_after(now).ok_or_else(|| {
                    NventError::invalid_argument(format!(
                        "cron pattern '{}' never fires",
                        p.as_str()
                    ))
                })?,
                (None, Some(every)) => now + every,
                (None, None) => now,
            };
            let first = first.max(now + spec.delay.unwrap_or(0));
            inner.next_schedule += 1;
            let id = inner.next_schedule;
            inner.queue(queue);
            inner.schedules.insert(
                id,
                Schedule {
                    id,
                    queue: queue.to_string(),
                    job,
                    pattern,
                    every: spec.every,
                    limit: spec.limit,
                    fired: 0,
                    next: first,
                },
            );
            fx.timers_changed = true;
            fx.touch_schedule(id);
            Ok(format!("repeat:{id}"))
        })
        .await
    }

    async fn get_job(&self, queue: &str, id: &str) -> Result<Option<Json>> {
        self.with(|inner, _, _| {
            Ok(inner
                .queues
                .get(queue)
                .and_then(|q| q.jobs.get(id).map(|e| e.job.render(queue, q.paused))))
        })
    }

    async fn get_jobs(
        &self,
        queue: &str,
        states: Option<Vec<State>>,
        limit: Option<usize>,
        offset: usize,
    ) -> Result<Vec<Json>> {
        self.with(|inner, _, _| {
            let Some(q) = inner.queues.get(queue) else {
                return Ok(Vec::new());
            };
            let shown = |job: &Job| {
                if job.state == State::Waiting && q.paused {
                    State::Paused
                } else {
                    job.state
                }
            };
            let mut hits: Vec<&Job> = q
                .jobs
                .values()
                .map(|e| &e.job)
                .filter(|j| states.as_ref().is_none_or(|s| s.contains(&shown(j))))
                .collect();
            hits.sort_by_key(|j| std::cmp::Reverse(j.seq));
            Ok(hits
                .into_iter()
                .skip(offset)
                .take(limit.unwrap_or(usize::MAX))
                .map(|j| j.render(queue, q.paused))
                .collect())
        })
    }

    async fn get_job_counts(&self, queue: &str) -> Result<Counts> {
        self.with(|inner, _, _| {
            let Some(q) = inner.queues.get(queue) else {
                return Ok(Counts::default());
            };
            let waiting = q.waiting.len() as u64;
            Ok(Counts {
                waiting: if q.paused { 0 } else { waiting },
                paused: if q.paused { waiting } else { 0 },
                active: q.active.len() as u64,
                delayed: q.delayed.len() as u64,
                completed: q.completed.len() as u64,
                failed: q.failed.len() as u64,
            })
        })
    }

    async fn pause(&self, queue: &str) -> Result<()> {
        self.run(|inner, _, fx| {
            fx.touch_queue(queue);
            let q = inner.queue(queue);
            if !q.paused {
                q.paused = true;
                fx.event(q, queue, "paused", || json!({ "queueName": queue }));
            }
            Ok(())
        })
        .await
    }

    async fn resume(&self, queue: &str) -> Result<()> {
        self.run(|inner, _, fx| {
            fx.touch_queue(queue);
            let q = inner.queue(queue);
            let was_paused = q.paused;
            q.paused = false;
            if let Some(w) = &mut q.worker {
                w.running = true;
            }
            if was_paused {
                fx.event(q, queue, "resumed", || json!({ "queueName": queue }));
            }
            wake(q, queue, fx);
            Ok(())
        })
        .await
    }

    async fn is_paused(&self, queue: &str) -> Result<bool> {
        self.with(|inner, _, _| Ok(inner.queues.get(queue).is_some_and(|q| q.paused)))
    }

    async fn register_worker(
        &self,
        queue: &str,
        job_name: &str,
        opts: WorkerOptions,
    ) -> Result<()> {
        self.with(|inner, _, fx| {
            let q = inner.queue(queue);
            let w = q.worker.get_or_insert_with(|| Worker {
                names: HashSet::new(),
                concurrency: 1,
                running: false,
            });
            w.names.insert(job_name.to_string());
            w.concurrency = w.concurrency.max(opts.concurrency.max(1));
            if opts.autorun {
                w.running = true;
            }
            q.wake_sent = false;
            wake(q, queue, fx);
            Ok(())
        })
    }

    async fn start_processing(&self, queue: &str) -> Result<()> {
        self.with(|inner, _, fx| {
            let q = inner.queue(queue);
            if let Some(w) = &mut q.worker {
                w.running = true;
            }
            wake(q, queue, fx);
            Ok(())
        })
    }

    async fn take(&self, queue: &str, max: usize) -> Result<Batch> {
        self.run(|inner, now, fx| {
            let mut out = String::from("[");
            let mut count = 0;
            let mut unhandled: Vec<(String, String)> = Vec::new();
            inner.next_token += 1;
            let base_token = inner.next_token;
            if let Some(q) = inner.queues.get_mut(queue) {
                q.wake_sent = false;
                if q.runnable() {
                    let (concurrency, names) = match &q.worker {
                        Some(w) => (w.concurrency, w.names.clone()),
                        None => (0, HashSet::new()),
                    };
                    let room = concurrency.saturating_sub(q.active.len()).min(max);
                    while count < room {
                        let Some((_, id)) = q.waiting.pop_first() else { break };
                        let Some(entry) = q.jobs.get_mut(&id) else { continue };
                        let deadline = entry.job.opts.timeout.map(|t| now + t);
                        let job = &mut entry.job;
                        job.state = State::Active;
                        job.processed_on = Some(now);
                        job.attempts_made += 1;
                        job.token = base_token + count as u64;
                        fx.touch_job(queue, &id);
                        entry.slot = Slot::Active(deadline);
                        q.active.insert(id.clone());
                        if let Some(d) = deadline {
                            q.timeouts.insert((d, id.clone()));
                            fx.timers_changed = true;
                        }
                        let Some(entry) = q.jobs.get(&id) else { continue };
                        let job = &entry.job;
                        fx.event(q, queue, "active", || json!({ "jobId": id, "name": job.name, "attemptsMade": job.attempts_made - 1 }),
                        );
                        if !names.contains(&job.name) {
                            unhandled.push((id, job.name.clone()));
                            continue;
                        }
                        if count > 0 {
                            out.push(',');
                        }
                        job.render_claim(queue, &mut out);
                        count += 1;
                    }
                }
            }
            inner.next_token += count as u64;
            for (id, name) in unhandled {
                let reason = format!("no handler is registered for job '{name}' on queue '{queue}'");
                inner.fail_attempt(queue, &id, reason, now, fx);
            }
            out.push(']');
            Ok(Batch {
                jobs: out,
                count,
                pending: inner.pending(),
            })
        }).await
    }

    async fn finish(&self, queue: &str, outcomes: Vec<Outcome>) -> Result<u64> {
        let now = (self.shared.clock)();
        let mut fx = Effects {
            journaling: self.shared.journal.is_some(),
            ..Effects::default()
        };
        let (pending, ack) = {
            let mut inner = lock(&self.shared.inner);
            if let Some(e) = self.shared.journal.as_ref().and_then(|j| j.failure()) {
                return Err(e);
            }
            // Results that arrive while closing are still recorded.
            for o in outcomes {
                let current = inner
                    .queues
                    .get(queue)
                    .and_then(|q| q.jobs.get(&o.id))
                    .is_some_and(|e| e.job.state == State::Active && e.job.token == o.token);
                if !current {
                    continue;
                }
                match o.result {
                    Ok(value) => inner.complete(queue, &o.id, value, now, &mut fx),
                    Err(reason) => inner.fail_attempt(queue, &o.id, reason, now, &mut fx),
                }
            }
            if let Some(q) = inner.queues.get_mut(queue) {
                q.wake_sent = false;
            }
            let ack = self.shared.log(&inner, &mut fx);
            (inner.pending(), ack)
        };
        self.shared.flush(fx);
        ack.wait().await?;
        self.shared.maybe_compact();
        Ok(pending)
    }

    async fn update_progress(
        &self,
        queue: &str,
        id: &str,
        token: u64,
        progress: Json,
    ) -> Result<()> {
        self.run(|inner, _, fx| {
            let q = inner
                .queues
                .get_mut(queue)
                .ok_or_else(|| NventError::LockLost {
                    job_id: id.to_string(),
                })?;
            let Some(entry) = q
                .jobs
                .get_mut(id)
                .filter(|e| e.job.token == token && e.job.state == State::Active)
            else {
                return Err(NventError::LockLost {
                    job_id: id.to_string(),
                });
            };
            entry.job.progress = Some(progress.clone());
            fx.touch_job(queue, id);
            if q.listening.contains("progress") {
                let p = progress.to_value().unwrap_or(Value::Null);
                fx.event(
                    q,
                    queue,
                    "progress",
                    || json!({ "jobId": id, "progress": p, "data": p }),
                );
            }
            Ok(())
        })
        .await
    }

    async fn log(&self, queue: &str, id: &str, token: u64, line: String) -> Result<()> {
        self.run(|inner, _, fx| {
            fx.touch_job(queue, id);
            let entry = inner
                .queues
                .get_mut(queue)
                .and_then(|q| q.jobs.get_mut(id))
                .filter(|e| e.job.token == token && e.job.state == State::Active)
                .ok_or_else(|| NventError::LockLost {
                    job_id: id.to_string(),
                })?;
            entry.job.logs.push(line);
            Ok(())
        })
        .await
    }

    async fn listen(&self, queue: &str, event: &str, on: bool) -> Result<()> {
        self.with(|inner, _, _| {
            let q = inner.queue(queue);
            if on {
                q.listening.insert(event.to_string());
            } else {
                q.listening.remove(event);
            }
            Ok(())
        })
    }

    async fn get_scheduled_jobs(&self, queue: &str) -> Result<Vec<Json>> {
        self.with(|inner, _, _| {
            Ok(inner
                .schedules
                .values()
                .filter(|s| s.queue == queue)
                .map(|s| {
                    Json::from_value(&json!({
                        "id": format!("repeat:{}", s.id),
                        "queueName": s.queue,
                        "name": s.job.name,
                        "pattern": s.pattern.as_ref().map(|p| p.as_str()),
                        "every": s.every,
                        "limit": s.limit,
                        "count": s.fired,
                        "next": s.next,
                    }))
                })
                .collect())
        })
    }

    async fn remove_scheduled_job(&self, id: &str) -> Result<bool> {
        let Some(n) = id
            .strip_prefix("repeat:")
            .and_then(|n| n.parse::<u64>().ok())
        else {
            return self.run(|_, _, _| Ok(false)).await;
        };
        self.run(|inner, _, fx| {
            fx.touch_schedule(n);
            Ok(inner.schedules.remove(&n).is_some())
        })
        .await
    }

    async fn remove_job(&self, queue: &str, id: &str) -> Result<bool> {
        self.run(|inner, _, fx| {
            let Some(q) = inner.queues.get_mut(queue) else {
                return Ok(false);
            };
            if !q.jobs.contains_key(id) {
                return Ok(false);
            }
            fx.touch_job(queue, id);
            q.unslot(id);
            q.jobs.remove(id);
            q.completed.retain(|j| j != id);
            q.failed.retain(|j| j != id);
            Ok(true)
        })
        .await
    }

    async fn close(&self) -> Result<()> {
        lock(&self.shared.inner).closed = true;
        self.shared.notify.notify_one();
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::value::Limits;
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
            .iter()
            .map(|j| {
                (
                    j["id"].as_str().unwrap().to_string(),
                    j["token"].as_u64().unwrap(),
                )
            })
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
