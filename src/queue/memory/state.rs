//! The queue engine's state: jobs and the sets that order them, schedules, and the
//! transitions between states. Shared by the memory and file backends.

use crate::error::{NventError, Result};
use crate::queue::change::{JobRecord, QueueChange, ScheduleRecord};
use crate::queue::cron::Pattern;
use crate::queue::job::{push_str, Job, Keep, NewJob, State};
use crate::value::Json;
use serde_json::{json, Value};
// aHash: keys are caller-chosen (job ids, queue names), so the hasher must resist
// flooding; aHash does, at a fraction of SipHash's cost.
use ahash::{AHashMap as HashMap, AHashSet as HashSet};
use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::sync::{Mutex, MutexGuard};

#[derive(Default)]
pub(super) struct Inner {
    pub(super) closed: bool,
    pub(super) queues: HashMap<String, Queue>,
    pub(super) schedules: BTreeMap<u64, Schedule>,
    pub(super) next_token: u64,
    pub(super) next_seq: u64,
    pub(super) next_schedule: u64,
}

/// Where a job sits, so that it can be taken out of the right set.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Slot {
    Waiting(WaitKey),
    Delayed(u64),
    Active(Option<u64>),
    Done,
}

/// Run order: prioritized jobs first (lower number first), then the rest; FIFO within a
/// class, LIFO jobs ahead of it. `order` comes from a sequence, so keys are unique.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(super) struct WaitKey {
    pub(super) class: u8,
    pub(super) priority: i64,
    pub(super) order: i64,
}

pub(super) struct Entry {
    pub(super) job: Job,
    pub(super) slot: Slot,
}

#[derive(Default)]
pub(super) struct Queue {
    /// Boxed so that growing the map moves pointers, not job records.
    pub(super) jobs: HashMap<String, Box<Entry>>,
    pub(super) waiting: BTreeMap<WaitKey, String>,
    pub(super) delayed: BTreeSet<(u64, String)>,
    pub(super) active: HashSet<String>,
    pub(super) timeouts: BTreeSet<(u64, String)>,
    pub(super) completed: VecDeque<String>,
    pub(super) failed: VecDeque<String>,
    pub(super) paused: bool,
    pub(super) worker: Option<Worker>,
    pub(super) wake_sent: bool,
    pub(super) listening: HashSet<String>,
    pub(super) next_id: u64,
}

pub(super) struct Worker {
    pub(super) names: HashSet<String>,
    pub(super) concurrency: usize,
    pub(super) running: bool,
}

pub(super) struct Schedule {
    pub(super) id: u64,
    pub(super) queue: String,
    pub(super) job: NewJob,
    pub(super) pattern: Option<Pattern>,
    pub(super) every: Option<u64>,
    pub(super) limit: Option<u32>,
    pub(super) fired: u32,
    pub(super) next: u64,
}

/// What a locked operation wants sent once the lock is released, and — when a journal is
/// attached — what it changed.
#[derive(Default)]
pub(super) struct Effects {
    pub(super) signals: Vec<Json>,
    pub(super) timers_changed: bool,
    pub(super) journaling: bool,
    pub(super) jobs: Vec<(String, String)>,
    pub(super) queues: Vec<String>,
    pub(super) schedules: Vec<u64>,
}

impl Effects {
    pub(super) fn touch_job(&mut self, queue: &str, id: &str) {
        if self.journaling {
            self.jobs.push((queue.to_string(), id.to_string()));
        }
    }

    pub(super) fn touch_queue(&mut self, queue: &str) {
        if self.journaling {
            self.queues.push(queue.to_string());
        }
    }

    pub(super) fn touch_schedule(&mut self, id: u64) {
        if self.journaling {
            self.schedules.push(id);
        }
    }

    /// Queues event `name` for the runner if someone listens to it; `payload` is built
    /// only then.
    pub(super) fn event(
        &mut self,
        q: &Queue,
        queue: &str,
        name: &str,
        payload: impl FnOnce() -> Value,
    ) {
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

pub(super) fn lock(m: &Mutex<Inner>) -> MutexGuard<'_, Inner> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl Queue {
    pub(super) fn runnable(&self) -> bool {
        !self.paused && self.worker.as_ref().is_some_and(|w| w.running)
    }

    pub(super) fn outstanding(&self) -> u64 {
        if !self.runnable() {
            return self.active.len() as u64;
        }
        (self.waiting.len() + self.delayed.len() + self.active.len()) as u64
    }

    /// Takes a job out of whatever set holds it.
    pub(super) fn unslot(&mut self, id: &str) {
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

    pub(super) fn make_waiting(&mut self, id: &str, seq: u64) {
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

    pub(super) fn make_delayed(&mut self, id: &str, due: u64) {
        let Some(entry) = self.jobs.get_mut(id) else {
            return;
        };
        entry.job.state = State::Delayed;
        entry.slot = Slot::Delayed(due);
        self.delayed.insert((due, id.to_string()));
    }

    /// Applies a finished job's keep setting to the finished list it joined; returns the
    /// ids of the jobs it removed.
    pub(super) fn keep(&mut self, id: &str, state: State, keep: Keep) -> Vec<String> {
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
    pub(super) fn job_change(&self, queue: &str, id: &str) -> QueueChange {
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

    pub(super) fn schedule_change(&self, id: u64) -> QueueChange {
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
    pub(super) fn snapshot(&self) -> Vec<Vec<u8>> {
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
    pub(super) fn replay(&mut self, records: &[Vec<u8>]) -> Result<()> {
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

    pub(super) fn open(&self) -> Result<()> {
        if self.closed {
            Err(NventError::closed("the queue adapter"))
        } else {
            Ok(())
        }
    }

    pub(super) fn pending(&self) -> u64 {
        self.queues.values().map(Queue::outstanding).sum()
    }

    pub(super) fn queue(&mut self, name: &str) -> &mut Queue {
        self.queues.entry(name.to_string()).or_default()
    }

    /// Adds one job (the caller has checked the options). Returns its id.
    pub(super) fn add(&mut self, queue: &str, job: NewJob, now: u64, fx: &mut Effects) -> String {
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
    pub(super) fn fail_attempt(
        &mut self,
        queue: &str,
        id: &str,
        reason: String,
        now: u64,
        fx: &mut Effects,
    ) {
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

    pub(super) fn complete(
        &mut self,
        queue: &str,
        id: &str,
        value: Json,
        now: u64,
        fx: &mut Effects,
    ) {
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
    pub(super) fn tick(&mut self, now: u64, fx: &mut Effects) -> Option<u64> {
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
pub(super) fn pending_apply(
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
pub(super) fn wake(q: &mut Queue, queue: &str, fx: &mut Effects) {
    if q.wake_sent || !q.runnable() || q.waiting.is_empty() {
        return;
    }
    q.wake_sent = true;
    let mut text = String::from("{\"k\":\"wake\",\"q\":");
    push_str(&mut text, queue);
    text.push('}');
    fx.signals.push(Json::trusted(text));
}
