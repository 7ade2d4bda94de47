//! `RedisQueueAdapter`: jobs on a Redis shared by many processes (SPEC §5, §9).
//!
//! Layout and scripts: docs/REDIS.md, `src/redis/scripts/queue/`. Every state transition
//! is one Lua script over the keys of one queue (one hash slot). What this instance keeps
//! locally is only what its own workers hold:
//! - the jobs it took (id → attempt token), whose leases it renews every `lockDuration/2`;
//!   a job whose lease it lost is dropped, and the handler's late result is refused
//!   (reported as `NVENT_LOCK_LOST`);
//! - jobs taken ahead: `finish` records results and takes the next jobs in one script, and
//!   the runner's next `take` is served from them without a round trip;
//! - per queue with a worker, one timer task (promotes delayed jobs and fires schedules at
//!   their due time; re-armed by the `d<ms>` signal when an earlier one is added anywhere),
//!   one stall checker (single-flight across instances through a lock key), and a
//!   subscription to the queue's signal channel: `w` wakes idle runners (sent when waiting
//!   jobs appear in an empty queue, or remain after a full take), `p`/`r` pause/resume;
//! - per queue with listeners, a reader of the queue's events stream. Scripts write events
//!   only while some instance listens to that event name (a listen hash with expiries).
//!
//! Timeouts are enforced by the worker holding the attempt; if that worker dies, its lease
//! expires and the stall checker hands the job to another.

#[cfg(fuzzing)]
pub mod fuzzing;
mod render;
mod tasks;
mod wire;

use crate::callback::Callback;
use crate::error::{NventError, Result};
use crate::queue::cron::Pattern;
use crate::queue::job::{NewJob, ScheduleSpec, State};
use crate::queue::{Batch, Counts, Outcome, QueueAdapter, WorkerOptions};
use crate::redis::pubsub::Hub;
use crate::redis::scripts::*;
use crate::redis::{on_runtime, Redis};
use crate::value::{now_ms, Json};
use ahash::{AHashMap as HashMap, AHashSet as HashSet};
use async_trait::async_trait;
use render::Claim;
use serde_json::{json, Value};
use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, RwLock, Weak};
use tokio::sync::Notify;
use tokio::task::JoinHandle;
use wire::{array, bad_reply, int, pairs, push_job, text, QueueKeys};

/// Default MAXLEN of a queue's events stream.
pub const DEFAULT_EVENTS_MAX_LEN: u64 = 10_000;

#[derive(Debug, Clone)]
pub struct RedisQueueOptions {
    /// Names the queue keys: `{prefix}:queue:{name}:*`.
    pub prefix: String,
    /// Entries kept in each queue's events stream (approximate trimming).
    pub events_max_len: u64,
}

impl Default for RedisQueueOptions {
    fn default() -> Self {
        RedisQueueOptions {
            prefix: "nvent".into(),
            events_max_len: DEFAULT_EVENTS_MAX_LEN,
        }
    }
}

pub struct RedisQueueAdapter {
    shared: Arc<Shared>,
}

pub(super) struct Shared {
    redis: Redis,
    opts: RedisQueueOptions,
    hub: Hub,
    signals: RwLock<Option<Arc<dyn Callback>>>,
    state: Mutex<LocalState>,
    closed: AtomicBool,
    /// Orders listen registrations before later calls: `on()` is synchronous, so the
    /// events of a call made right after it must find the listen entry in place, even
    /// when the first commands wait together for the connection (and so may be sent in
    /// any order).
    gate: tokio::sync::RwLock<()>,
    /// Single adds per queue: while one `addJobs` call is in flight, later `enqueue`s of
    /// that queue wait and go together in the next call (one round trip and one script run
    /// for many callers; a lone call goes at once).
    adds: Mutex<HashMap<String, Adds>>,
    /// Names this adapter instance in idle entries and its job channels.
    instance: String,
}

#[derive(Default)]
struct Adds {
    busy: bool,
    queued: Vec<(NewJob, tokio::sync::oneshot::Sender<Result<String>>)>,
}

/// Ends a queue's in-flight add, also when the caller's future is dropped: queued adds
/// then go out in a background call.
struct AddTurn {
    shared: Arc<Shared>,
    queue: String,
}

impl Drop for AddTurn {
    fn drop(&mut self) {
        Shared::next_adds(&self.shared, &self.queue);
    }
}

#[derive(Default)]
struct LocalState {
    queues: HashMap<String, Local>,
    /// Signal channel → queue name.
    channels: HashMap<String, String>,
    tasks: Vec<JoinHandle<()>>,
    leases_running: bool,
}

struct Local {
    keys: Arc<QueueKeys>,
    /// This instance's entry in the queue's idle set: `<its channel>|<lease ms>` (empty
    /// without a worker).
    idle: String,
    worker: Option<Worker>,
    /// Jobs this instance took: id → attempt token (handed to the runner or in `ahead`).
    active: HashMap<String, u64>,
    /// Taken, not yet handed to the runner.
    ahead: VecDeque<Claim>,
    /// Slots promised to take/finish calls in flight.
    reserved: usize,
    /// Jobs whose lease was lost while their handler ran: their result is refused.
    lost: HashSet<String>,
    listening: HashSet<String>,
    events_task: Option<JoinHandle<()>>,
    timer: Arc<Notify>,
    paused: bool,
    wake_sent: bool,
    /// A `w` signal came while a take was in flight (and so found no room): the take's
    /// reply may predate the jobs it announced, so the runner is woken once more after it.
    wake_missed: bool,
}

/// A take with slots reserved for it (see [`Local::reserve`]).
struct Reserved {
    keys: Arc<QueueKeys>,
    ask: usize,
    lock_ms: u64,
    idle: String,
}

struct Worker {
    names: HashSet<String>,
    concurrency: usize,
    running: bool,
    lock_ms: u64,
    stalled_ms: u64,
    max_stalled: u32,
}

impl Local {
    fn new(keys: QueueKeys) -> Local {
        Local {
            keys: Arc::new(keys),
            idle: String::new(),
            worker: None,
            active: HashMap::new(),
            ahead: VecDeque::new(),
            reserved: 0,
            lost: HashSet::new(),
            listening: HashSet::new(),
            events_task: None,
            timer: Arc::new(Notify::new()),
            paused: false,
            wake_sent: false,
            wake_missed: false,
        }
    }

    fn handed(&self) -> usize {
        self.active.len().saturating_sub(self.ahead.len())
    }

    /// Slots for jobs to take from Redis: the jobs this instance holds (running or taken
    /// ahead) plus the takes in flight never exceed the concurrency, so no job sits active
    /// in Redis without a slot (0 without a running worker or while paused).
    fn room(&self) -> usize {
        match &self.worker {
            Some(w) if w.running && !self.paused => w
                .concurrency
                .saturating_sub(self.active.len() + self.reserved),
            _ => 0,
        }
    }

    /// Reserves slots for a take of at most `max` jobs (and at most one batch).
    fn reserve(&mut self, max: usize) -> Option<Reserved> {
        let ask = self.room().min(max).min(self.batch());
        if ask == 0 {
            return None;
        }
        self.reserved += ask;
        Some(Reserved {
            keys: self.keys.clone(),
            ask,
            lock_ms: self.lock_ms(),
            idle: self.idle.clone(),
        })
    }

    /// Whether the runner has something to do: jobs to take, or taken ones to start.
    fn wants_wake(&self) -> bool {
        self.room() > 0 || (!self.ahead.is_empty() && self.hand_room() > 0)
    }

    /// Slots for jobs taken ahead to be handed to the runner.
    fn hand_room(&self) -> usize {
        match &self.worker {
            Some(w) if w.running && !self.paused => w.concurrency.saturating_sub(self.handed()),
            _ => 0,
        }
    }

    /// At most this many jobs per take: half the concurrency, so that one batch runs in
    /// JS while the next is fetched (Node and Redis work in parallel), and at most 1000
    /// (script argument lists).
    fn batch(&self) -> usize {
        self.worker
            .as_ref()
            .map_or(1, |w| w.concurrency.div_ceil(2).clamp(1, 1000))
    }

    fn lock_ms(&self) -> u64 {
        self.worker.as_ref().map_or(30_000, |w| w.lock_ms)
    }

    /// What keeps the process alive: a running worker waits for jobs from anywhere.
    fn outstanding(&self) -> u64 {
        let running = self
            .worker
            .as_ref()
            .is_some_and(|w| w.running && !self.paused);
        self.active.len() as u64 + u64::from(running)
    }
}

/// Unique enough across processes and adapters: pid, start time (ns) and a counter.
fn instance_id() -> String {
    static N: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let t = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    format!(
        "{}-{t:x}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    )
}

fn lock(m: &Mutex<LocalState>) -> MutexGuard<'_, LocalState> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl RedisQueueAdapter {
    /// Builds the adapter; connects on first use.
    pub fn new(redis: Redis, opts: RedisQueueOptions) -> RedisQueueAdapter {
        let shared = Arc::new_cyclic(|weak: &Weak<Shared>| {
            let on_message = {
                let weak = weak.clone();
                Arc::new(move |channel: &str, _: Option<&str>, payload: &[u8]| {
                    if let Some(s) = weak.upgrade() {
                        s.on_signal(channel, payload);
                    }
                })
            };
            let on_gap = {
                let weak = weak.clone();
                Arc::new(move || {
                    if let Some(s) = weak.upgrade() {
                        s.on_gap();
                    }
                })
            };
            Shared {
                hub: Hub::new(redis.clone(), on_message, on_gap),
                redis,
                opts,
                signals: RwLock::new(None),
                state: Mutex::new(LocalState::default()),
                closed: AtomicBool::new(false),
                gate: tokio::sync::RwLock::new(()),
                adds: Mutex::new(HashMap::new()),
                instance: instance_id(),
            }
        });
        RedisQueueAdapter { shared }
    }

    /// Where wake-ups, events and refused results go (the binding's outbox).
    pub fn set_signals(&self, signals: Arc<dyn Callback>) {
        *self
            .shared
            .signals
            .write()
            .unwrap_or_else(|p| p.into_inner()) = Some(signals);
    }
}

impl Shared {
    fn open(&self) -> Result<()> {
        if self.closed.load(Ordering::Acquire) {
            Err(NventError::closed("the queue adapter"))
        } else {
            Ok(())
        }
    }

    /// Runs a queue script (after any listen registration issued before it).
    async fn script<T: redis::FromRedisValue>(
        &self,
        inv: &redis::ScriptInvocation<'_>,
    ) -> Result<T> {
        let _order = self.gate.read().await;
        self.redis.script(inv).await
    }

    fn keys(&self, queue: &str) -> Arc<QueueKeys> {
        let mut st = lock(&self.state);
        self.local(&mut st, queue).keys.clone()
    }

    fn local<'a>(&self, st: &'a mut LocalState, queue: &str) -> &'a mut Local {
        if !st.queues.contains_key(queue) {
            let keys = QueueKeys::new(&self.opts.prefix, queue);
            st.channels.insert(keys.channel.clone(), queue.to_string());
            st.queues.insert(queue.to_string(), Local::new(keys));
        }
        st.queues.get_mut(queue).expect("inserted above")
    }

    fn send(&self, text: String) {
        let cb = self
            .signals
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone();
        if let Some(cb) = cb {
            cb.call(&Json::trusted(text));
        }
    }

    fn wake(&self, queue: &str) {
        let mut text = String::from("{\"k\":\"wake\",\"q\":");
        crate::queue::job::push_str(&mut text, queue);
        text.push('}');
        self.send(text);
    }

    /// Tells the runner that results of `ids` were refused: their leases were lost.
    fn report_lost(&self, queue: &str, ids: &[String]) {
        if ids.is_empty() {
            return;
        }
        self.send(json!({ "k": "lost", "q": queue, "ids": ids }).to_string());
    }

    fn pending(st: &LocalState) -> u64 {
        st.queues.values().map(Local::outstanding).sum()
    }

    /// A message on a queue's signal channel (see the module docs).
    fn on_signal(self: &Arc<Self>, channel: &str, payload: &[u8]) {
        let mut fetch = None;
        let mut pushed = None;
        {
            let mut st = lock(&self.state);
            let Some(queue) = st.channels.get(channel).cloned() else {
                return;
            };
            let Some(local) = st.queues.get_mut(&queue) else {
                return;
            };
            match payload.first() {
                // Our own nudge: we just took a full batch and know what remains, or an add
                // of ours took jobs for our worker (`wakeIfFilled` in _common.lua).
                Some(b'w') if payload.len() > 1 && &payload[1..] == local.idle.as_bytes() => {}
                Some(b'w') if local.wants_wake() && !local.wake_sent => fetch = Some(queue),
                Some(b'w') if local.reserved > 0 => local.wake_missed = true,
                Some(b'p') => local.paused = true,
                Some(b'r') => {
                    local.paused = false;
                    local.wake_sent = false;
                    if local.wants_wake() {
                        fetch = Some(queue);
                    }
                }
                Some(b'd') => local.timer.notify_one(),
                Some(b'[') => pushed = Some(queue),
                _ => {}
            }
        }
        if let Some(q) = pushed {
            // A job the add script took for this idle worker.
            let claim = serde_json::from_slice::<Vec<Value>>(payload).ok();
            let reply = claim.map(|c| {
                c.into_iter()
                    .map(|v| match v {
                        Value::String(t) => redis::Value::BulkString(t.into_bytes()),
                        Value::Number(n) => redis::Value::Int(n.as_i64().unwrap_or(0)),
                        _ => redis::Value::Nil,
                    })
                    .collect::<Vec<_>>()
            });
            if let Some(r) = reply {
                self.hand_over(&q, r);
            }
            return;
        }
        if let Some(q) = fetch {
            self.prefetch(q);
        }
    }

    /// Takes jobs for an idle runner right away (here, not after a hop through JS), then
    /// wakes it: its `take` is served from them.
    fn prefetch(self: &Arc<Self>, queue: String) {
        let reserved = {
            let mut st = lock(&self.state);
            let l = self.local(&mut st, &queue);
            if l.wake_sent {
                return;
            }
            if !l.ahead.is_empty() {
                // Jobs wait here already: the runner only needs waking.
                l.wake_sent = true;
                drop(st);
                self.wake(&queue);
                return;
            }
            let Some(reserved) = l.reserve(usize::MAX) else {
                return;
            };
            l.wake_sent = true;
            reserved
        };
        let s = self.clone();
        tasks::spawn(self, async move {
            // On failure the runner's own take tries again; jobs of a reply that does not
            // decode are left to the stall checker.
            let _ = s.take_reserved(&queue, reserved).await;
            s.wake(&queue);
        });
    }

    /// Runs a reserved take; its jobs join those taken ahead.
    async fn take_reserved(self: &Arc<Self>, queue: &str, r: Reserved) -> Result<()> {
        let mut inv = r.keys.invoke(&Q_TAKE_JOBS, self.opts.events_max_len);
        inv.arg(r.ask).arg(r.lock_ms).arg(r.idle.as_str());
        let reply = self.script::<redis::Value>(&inv).await;
        self.release(queue, r.ask);
        self.accept_taken(queue, array(reply?))
    }

    /// The signal connection came back: signals may have been missed, so every worker
    /// looks for work and every timer re-reads its next due time.
    fn on_gap(&self) {
        let queues: Vec<String> = {
            let mut st = lock(&self.state);
            st.queues
                .iter_mut()
                .filter(|(_, l)| l.worker.is_some())
                .map(|(q, l)| {
                    l.timer.notify_one();
                    l.wake_sent = false;
                    q.clone()
                })
                .collect()
        };
        for q in queues {
            self.wake(&q);
        }
    }

    /// Adds jobs in one script call; returns their ids in order.
    /// When this instance's own worker of the queue is idle, the script takes a job for it
    /// and returns it with the ids: it is handed to the runner at once.
    async fn add_jobs(self: &Arc<Self>, queue: &str, jobs: &[NewJob]) -> Result<Vec<String>> {
        let (keys, idle) = {
            let mut st = lock(&self.state);
            let l = self.local(&mut st, queue);
            (l.keys.clone(), l.idle.clone())
        };
        let (ids, own) = on_runtime(async {
            let mut inv;
            match jobs {
                // A lone job with every option at its default (most enqueues) has a
                // script of its own that takes only its name and data.
                [job] if wire::is_plain(job) => {
                    inv = keys.invoke(&Q_ADD_JOB, self.opts.events_max_len);
                    inv.arg(idle).arg(job.name.as_str()).arg(job.data.as_str());
                }
                _ => {
                    inv = keys.invoke(&Q_ADD_JOBS, self.opts.events_max_len);
                    inv.arg(idle).arg(jobs.len());
                    for j in jobs {
                        push_job(&mut inv, j);
                    }
                }
            }
            let mut parts = array(self.script::<redis::Value>(&inv).await?).into_iter();
            // The ids come as one text joined by NUL, which no job id holds.
            let joined = parts
                .next()
                .as_ref()
                .and_then(text)
                .ok_or_else(|| bad_reply("addJobs"))?;
            let ids: Vec<String> = joined.split('\0').map(str::to_string).collect();
            if ids.len() != jobs.len() {
                return Err(bad_reply("addJobs"));
            }
            Ok((ids, array(parts.next().unwrap_or_default())))
        })
        .await?;
        self.hand_over(queue, own);
        Ok(ids)
    }

    /// Hands jobs a script took for this instance's idle worker (the add and promote
    /// scripts do, see `handFresh` and `pushToIdle`) to the runner.
    ///
    /// The jobs go to the runner with the message itself, as a take would return them,
    /// so it starts them without a `take` call of its own; what finds no free slot there
    /// stays taken ahead, and the runner is woken to fetch it.
    pub(super) fn hand_over(self: &Arc<Self>, queue: &str, taken: Vec<redis::Value>) {
        if taken.is_empty() || self.accept_taken(queue, taken).is_err() {
            return;
        }
        let room = {
            let mut st = lock(&self.state);
            self.local(&mut st, queue).hand_room()
        };
        if room > 0 {
            let batch = self.hand_out(queue, room);
            if batch.count > 0 {
                let mut text = String::from("{\"k\":\"jobs\",\"q\":");
                crate::queue::job::push_str(&mut text, queue);
                text.push_str(&format!(
                    ",\"pending\":{},\"jobs\":{}}}",
                    batch.pending, batch.jobs
                ));
                self.send(text);
            }
        }
        let wake = {
            let mut st = lock(&self.state);
            let l = self.local(&mut st, queue);
            let wake = !l.ahead.is_empty() && l.hand_room() > 0;
            l.wake_sent |= wake;
            wake
        };
        if wake {
            self.wake(queue);
        }
    }

    /// Hands up to `max` jobs taken ahead to the runner. Jobs whose name has no handler
    /// here fail their attempt (retries apply); jobs with a timeout get their timer.
    fn hand_out(self: &Arc<Self>, queue: &str, max: usize) -> Batch {
        let mut out = String::from("[");
        let mut count = 0;
        let mut unhandled = Vec::new();
        let mut timed = Vec::new();
        let pending = {
            let mut st = lock(&self.state);
            let l = self.local(&mut st, queue);
            while count < max {
                let Some(c) = l.ahead.pop_front() else { break };
                let handled = l.worker.as_ref().is_some_and(|w| w.names.contains(&c.name));
                if !handled {
                    l.active.remove(&c.id);
                    let reason = format!(
                        "no handler is registered for job '{}' on queue '{queue}'",
                        c.name
                    );
                    unhandled.push((c.id, c.token, reason));
                    continue;
                }
                if let Some(t) = c.timeout {
                    timed.push((c.id.clone(), c.token, t));
                }
                if count > 0 {
                    out.push(',');
                }
                out.push_str(&c.json);
                count += 1;
            }
            Shared::pending(&st)
        };
        out.push(']');
        if !unhandled.is_empty() {
            let s2 = self.clone();
            let q = queue.to_string();
            tasks::spawn(self, async move { s2.fail_held(&q, unhandled).await });
        }
        for (id, token, ms) in timed {
            tasks::arm_timeout(self, queue, id, token, ms);
        }
        Batch {
            jobs: out,
            count,
            pending,
        }
    }

    /// Sends the adds queued behind a finished one, in background calls, until none wait.
    fn next_adds(self: &Arc<Self>, queue: &str) {
        let take = |s: &Shared, queue: &str| {
            let mut adds = s.adds.lock().unwrap_or_else(|p| p.into_inner());
            let a = adds.entry(queue.to_string()).or_default();
            if a.queued.is_empty() {
                a.busy = false;
                None
            } else {
                Some(std::mem::take(&mut a.queued))
            }
        };
        let Some(first) = take(self, queue) else {
            return;
        };
        let s = self.clone();
        let name = queue.to_string();
        let run = async move {
            let queue = name;
            let mut batch = first;
            loop {
                let (jobs, waiters): (Vec<NewJob>, Vec<_>) = batch.into_iter().unzip();
                match s.add_jobs(&queue, &jobs).await {
                    Ok(ids) if ids.len() == waiters.len() => {
                        for (tx, id) in waiters.into_iter().zip(ids) {
                            let _ = tx.send(Ok(id));
                        }
                    }
                    Ok(_) => {
                        for tx in waiters {
                            let _ = tx.send(Err(bad_reply("addJobs")));
                        }
                    }
                    Err(e) => {
                        for tx in waiters {
                            let _ = tx.send(Err(e.clone()));
                        }
                    }
                }
                match take(&s, &queue) {
                    Some(next) => batch = next,
                    None => return,
                }
            }
        };
        // On the JS thread (the add before finished there), the batch is sent from there
        // too (src/eventloop.rs); elsewhere it runs on the runtime.
        if crate::eventloop::here() {
            crate::eventloop::start(Box::pin(run));
        } else if crate::runtime::spawn(run).is_err() {
            // No runtime: nothing can run the queued adds; tell their callers.
            let mut adds = self.adds.lock().unwrap_or_else(|p| p.into_inner());
            if let Some(a) = adds.get_mut(queue) {
                a.busy = false;
                for (_, tx) in a.queued.drain(..) {
                    let _ = tx.send(Err(NventError::internal("the engine runtime is gone")));
                }
            }
        }
    }

    /// Starts this instance's worker of `queue` (an `autorun: false` one included) and wakes
    /// its runner if there is work.
    fn start_local(&self, queue: &str) {
        let wake = {
            let mut st = lock(&self.state);
            let l = self.local(&mut st, queue);
            if let Some(w) = &mut l.worker {
                w.running = true;
            }
            l.wake_sent = false;
            l.wants_wake()
        };
        if wake {
            self.wake(queue);
        }
    }

    /// Ends a reservation of `n` slots; wakes the runner if a `w` signal was missed
    /// meanwhile.
    fn release(&self, queue: &str, n: usize) {
        let wake = {
            let mut st = lock(&self.state);
            let l = self.local(&mut st, queue);
            l.reserved = l.reserved.saturating_sub(n);
            let again = l.wake_missed && l.reserved == 0;
            if again {
                l.wake_missed = false;
                l.wake_sent = false;
            }
            again
        };
        if wake {
            self.wake(queue);
        }
    }

    /// Adds taken jobs (flat reply: id, name, data, made, opts, token per job) to the
    /// jobs taken ahead.
    fn accept_taken(self: &Arc<Self>, queue: &str, reply: Vec<redis::Value>) -> Result<()> {
        let claims = render::claims(&reply)?;
        let (keys, excess) = {
            let mut st = lock(&self.state);
            let local = self.local(&mut st, queue);
            for c in claims {
                local.active.insert(c.id.clone(), c.token);
                local.ahead.push_back(c);
            }
            // A job pushed to this idle worker and a take racing it can bring more than
            // the slots. Judged only once no take is in flight: a take whose reply is still
            // on its way may have run before the push (and found nothing). The surplus goes
            // back to waiting at once.
            let cap = local.worker.as_ref().map_or(0, |w| w.concurrency);
            let mut excess = Vec::new();
            while local.reserved == 0 && local.active.len() > cap {
                let Some(c) = local.ahead.pop_back() else {
                    break;
                };
                local.active.remove(&c.id);
                excess.push((c.id, c.token));
            }
            // Oldest first, as the release script takes them.
            excess.reverse();
            (local.keys.clone(), excess)
        };
        if !excess.is_empty() {
            let s = self.clone();
            tasks::spawn(self, async move {
                let mut inv = keys.invoke(&Q_RELEASE_JOBS, s.opts.events_max_len);
                for (id, token) in &excess {
                    inv.arg(id.as_str()).arg(*token);
                }
                // If this fails, the leases run out and the stall checker hands them on.
                let _ = s.script::<i64>(&inv).await;
            });
        }
        Ok(())
    }

    /// Fails attempts this instance holds (timeouts, names without a handler) and
    /// releases their slots.
    async fn fail_held(self: &Arc<Self>, queue: &str, failures: Vec<(String, u64, String)>) {
        if failures.is_empty() {
            return;
        }
        let keys = self.keys(queue);
        let mut inv = keys.invoke(&Q_FINISH_JOBS, self.opts.events_max_len);
        inv.arg(0).arg(0).arg("").arg(failures.len());
        for (id, token, reason) in &failures {
            inv.arg(id.as_str())
                .arg(*token)
                .arg("0")
                .arg(reason.as_str());
        }
        // On failure the job stays active in Redis and its lease runs out: the stall
        // checker hands it on (at-least-once).
        let _ = self.script::<redis::Value>(&inv).await;
        {
            let mut st = lock(&self.state);
            if let Some(l) = st.queues.get_mut(queue) {
                l.wake_sent = false;
            }
        }
        self.wake(queue);
    }
}

#[async_trait]
impl QueueAdapter for RedisQueueAdapter {
    async fn enqueue(&self, queue: &str, job: NewJob) -> Result<String> {
        let s = &self.shared;
        s.open()?;
        wire::check_job(&job)?;
        let waiting = {
            let mut adds = s.adds.lock().unwrap_or_else(|p| p.into_inner());
            let a = adds.entry(queue.to_string()).or_default();
            if a.busy {
                let (tx, rx) = tokio::sync::oneshot::channel();
                a.queued.push((job, tx));
                Err(rx)
            } else {
                a.busy = true;
                Ok(job)
            }
        };
        match waiting {
            Err(rx) => rx
                .await
                .map_err(|_| NventError::internal("a batched enqueue was dropped"))?,
            Ok(job) => {
                let _turn = AddTurn {
                    shared: s.clone(),
                    queue: queue.to_string(),
                };
                let mut ids = s.add_jobs(queue, std::slice::from_ref(&job)).await?;
                ids.pop().ok_or_else(|| bad_reply("addJobs"))
            }
        }
    }

    async fn enqueue_bulk(&self, queue: &str, jobs: Vec<NewJob>) -> Result<Vec<String>> {
        let s = &self.shared;
        s.open()?;
        for j in &jobs {
            wire::check_job(j)?;
        }
        if jobs.is_empty() {
            return Ok(Vec::new());
        }
        // Behind the adds of this queue in flight, like a single add, so that adds made
        // one after the other reach the queue in that order whatever the scripts' loading
        // (a script the server did not have is retried after later commands).
        let waiting = {
            let mut adds = s.adds.lock().unwrap_or_else(|p| p.into_inner());
            let a = adds.entry(queue.to_string()).or_default();
            if a.busy {
                let mut replies = Vec::with_capacity(jobs.len());
                for job in jobs {
                    let (tx, rx) = tokio::sync::oneshot::channel();
                    a.queued.push((job, tx));
                    replies.push(rx);
                }
                Err(replies)
            } else {
                a.busy = true;
                Ok(jobs)
            }
        };
        match waiting {
            Err(replies) => {
                let mut ids = Vec::with_capacity(replies.len());
                for rx in replies {
                    ids.push(
                        rx.await
                            .map_err(|_| NventError::internal("a batched enqueue was dropped"))??,
                    );
                }
                Ok(ids)
            }
            Ok(jobs) => {
                let _turn = AddTurn {
                    shared: s.clone(),
                    queue: queue.to_string(),
                };
                s.add_jobs(queue, &jobs).await
            }
        }
    }

    async fn schedule(&self, queue: &str, mut job: NewJob, spec: ScheduleSpec) -> Result<String> {
        if !spec.repeats() {
            job.opts.delay = spec.delay.unwrap_or(0);
            return self.enqueue(queue, job).await;
        }
        let s = &self.shared;
        s.open()?;
        wire::check_job(&job)?;
        let pattern = spec.pattern.as_deref().map(Pattern::parse).transpose()?;
        let now = now_ms();
        let first = match (&pattern, spec.every) {
            (Some(p), _) => p.next_after(now).ok_or_else(|| {
                NventError::invalid_argument(format!("cron pattern '{}' never fires", p.as_str()))
            })?,
            (None, Some(every)) => now + every,
            (None, None) => now,
        };
        let first = first.max(now + spec.delay.unwrap_or(0));
        let stored = json!({
            "name": job.name,
            "data": job.data.to_value()?,
            "opts": Value::Object(job.opts.raw.clone()),
            "pattern": spec.pattern,
            "every": spec.every,
            "limit": spec.limit,
        });
        let keys = s.keys(queue);
        on_runtime(async {
            let mut inv = keys.invoke(&Q_ADD_SCHEDULE, s.opts.events_max_len);
            inv.arg(stored.to_string()).arg(first);
            let n: i64 = s.script(&inv).await?;
            Ok(format!("repeat:{n}:{queue}"))
        })
        .await
    }

    async fn get_job(&self, queue: &str, id: &str) -> Result<Option<Json>> {
        let s = &self.shared;
        s.open()?;
        let keys = s.keys(queue);
        on_runtime(async {
            let mut inv = keys.invoke(&Q_READ_JOB, s.opts.events_max_len);
            inv.arg(id);
            render::read_job(id, s.script(&inv).await?)
                .map(|found| found.map(|(job, paused)| job.render(queue, paused)))
        })
        .await
    }

    async fn get_jobs(
        &self,
        queue: &str,
        states: Option<Vec<State>>,
        limit: Option<usize>,
        offset: usize,
    ) -> Result<Vec<Json>> {
        let s = &self.shared;
        s.open()?;
        let keys = s.keys(queue);
        let states_arg = states
            .as_ref()
            .map(|v| v.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(","))
            .unwrap_or_default();
        let limit = limit.unwrap_or(1_000_000).min(1_000_000);
        on_runtime(async {
            let mut inv = keys.invoke(&Q_LIST_JOBS, s.opts.events_max_len);
            inv.arg(states_arg).arg(offset).arg(limit);
            let mut rows = array(s.script(&inv).await?).into_iter();
            let paused = rows.next().and_then(|v| int(&v)) == Some(1);
            let rows: Vec<redis::Value> = rows.collect();
            let mut jobs = Vec::with_capacity(rows.len() / 2);
            for row in rows.chunks_exact(2) {
                let id = text(&row[0]).ok_or_else(|| bad_reply("listJobs"))?;
                let job = render::job(&id, pairs(row[1].clone()), Vec::new())?;
                let shown = if job.state == State::Waiting && paused {
                    State::Paused
                } else {
                    job.state
                };
                if states.as_ref().is_none_or(|want| want.contains(&shown)) {
                    jobs.push(job.render(queue, paused));
                }
            }
            Ok(jobs)
        })
        .await
    }

    async fn get_job_counts(&self, queue: &str) -> Result<Counts> {
        let s = &self.shared;
        s.open()?;
        let keys = s.keys(queue);
        on_runtime(async {
            let inv = keys.invoke(&Q_COUNT_JOBS, s.opts.events_max_len);
            let v: Vec<i64> = s.script(&inv).await?;
            let [waiting, active, delayed, completed, failed, paused] = v[..] else {
                return Err(bad_reply("countJobs"));
            };
            let n = |x: i64| x.max(0) as u64;
            Ok(Counts {
                waiting: if paused == 1 { 0 } else { n(waiting) },
                paused: if paused == 1 { n(waiting) } else { 0 },
                active: n(active),
                delayed: n(delayed),
                completed: n(completed),
                failed: n(failed),
            })
        })
        .await
    }

    async fn pause(&self, queue: &str) -> Result<()> {
        self.set_paused(queue, true).await
    }

    async fn resume(&self, queue: &str) -> Result<()> {
        self.set_paused(queue, false).await?;
        let s = &self.shared;
        s.start_local(queue);
        Ok(())
    }

    async fn is_paused(&self, queue: &str) -> Result<bool> {
        let s = &self.shared;
        s.open()?;
        let keys = s.keys(queue);
        on_runtime(async {
            let v: Option<String> = s
                .redis
                .query(redis::cmd("HGET").arg(keys.meta()).arg("paused"))
                .await?;
            Ok(v.as_deref() == Some("1"))
        })
        .await
    }

    async fn register_worker(
        &self,
        queue: &str,
        job_name: &str,
        opts: WorkerOptions,
    ) -> Result<()> {
        let s = &self.shared;
        s.open()?;
        let (keys, first, jobs_channel) = {
            let mut st = lock(&s.state);
            let l = s.local(&mut st, queue);
            let first = l.worker.is_none();
            let w = l.worker.get_or_insert_with(|| Worker {
                names: HashSet::new(),
                concurrency: 1,
                running: false,
                lock_ms: opts.lock_duration_ms,
                stalled_ms: opts.stalled_interval_ms,
                max_stalled: opts.max_stalled_count,
            });
            w.names.insert(job_name.to_string());
            w.concurrency = w.concurrency.max(opts.concurrency.max(1));
            w.lock_ms = w.lock_ms.min(opts.lock_duration_ms.max(10));
            w.stalled_ms = w.stalled_ms.min(opts.stalled_interval_ms.max(10));
            w.max_stalled = opts.max_stalled_count;
            if opts.autorun {
                w.running = true;
            }
            l.wake_sent = false;
            let lock_ms = w.lock_ms;
            let jobs_channel = format!("{}w:{}", l.keys.base, s.instance);
            l.idle = format!("{jobs_channel}|{lock_ms}");
            let keys = l.keys.clone();
            st.channels.insert(jobs_channel.clone(), queue.to_string());
            (keys, first, jobs_channel)
        };
        if first {
            on_runtime(async {
                s.hub.subscribe(&keys.channel, false).await?;
                s.hub.subscribe(&jobs_channel, false).await?;
                let paused: Option<String> = s
                    .redis
                    .query(redis::cmd("HGET").arg(keys.meta()).arg("paused"))
                    .await?;
                {
                    let mut st = lock(&s.state);
                    s.local(&mut st, queue).paused = paused.as_deref() == Some("1");
                }
                tasks::start_worker_tasks(s, queue)
            })
            .await?;
        }
        Ok(())
    }

    async fn start_processing(&self, queue: &str) -> Result<()> {
        let s = &self.shared;
        s.open()?;
        s.start_local(queue);
        Ok(())
    }

    async fn take(&self, queue: &str, max: usize) -> Result<Batch> {
        let s = &self.shared;
        s.open()?;
        let reserved = {
            let mut st = lock(&s.state);
            let l = s.local(&mut st, queue);
            l.wake_sent = false;
            if !l.ahead.is_empty() {
                let n = l.hand_room().min(max);
                drop(st);
                return Ok(s.hand_out(queue, n));
            }
            l.reserve(max)
        };
        let Some(reserved) = reserved else {
            return Ok(s.hand_out(queue, 0));
        };
        let ask = reserved.ask;
        on_runtime(s.take_reserved(queue, reserved)).await?;
        Ok(s.hand_out(queue, ask))
    }

    async fn finish(&self, queue: &str, outcomes: Vec<Outcome>) -> Result<u64> {
        let s = &self.shared;
        let mut late = Vec::new();
        let (keys, current, fetch, lock_ms, idle) = {
            let mut st = lock(&s.state);
            let l = s.local(&mut st, queue);
            let mut current = Vec::with_capacity(outcomes.len());
            for o in outcomes {
                if l.active.get(&o.id) == Some(&o.token) {
                    l.active.remove(&o.id);
                    current.push(o);
                } else if l.lost.remove(&o.id) {
                    late.push(o.id);
                }
            }
            l.wake_sent = false;
            let fetch = if s.closed.load(Ordering::Acquire) || !l.ahead.is_empty() {
                0
            } else {
                l.room().min(l.batch())
            };
            l.reserved += fetch;
            let idle = if fetch > 0 {
                l.idle.clone()
            } else {
                String::new()
            };
            (l.keys.clone(), current, fetch, l.lock_ms(), idle)
        };
        s.report_lost(queue, &late);
        if current.is_empty() && fetch == 0 {
            return Ok(Self::pending_now(s));
        }
        let reply = on_runtime(async {
            let mut inv = keys.invoke(&Q_FINISH_JOBS, s.opts.events_max_len);
            inv.arg(lock_ms).arg(fetch).arg(idle).arg(current.len());
            for o in &current {
                inv.arg(o.id.as_str()).arg(o.token);
                match &o.result {
                    Ok(v) => inv.arg("1").arg(v.as_str()),
                    Err(reason) => inv.arg("0").arg(reason.as_str()),
                };
            }
            s.script::<redis::Value>(&inv).await
        })
        .await;
        s.release(queue, fetch);
        let mut parts = array(reply?).into_iter();
        let refused: Vec<String> = array(parts.next().unwrap_or_default())
            .iter()
            .filter_map(text)
            .collect();
        s.report_lost(queue, &refused);
        s.accept_taken(queue, array(parts.next().unwrap_or_default()))?;
        Ok(Self::pending_now(s))
    }

    async fn update_progress(
        &self,
        queue: &str,
        id: &str,
        token: u64,
        progress: Json,
    ) -> Result<()> {
        self.owned_step(queue, &Q_UPDATE_PROGRESS, id, token, progress.as_str())
            .await
    }

    async fn log(&self, queue: &str, id: &str, token: u64, line: String) -> Result<()> {
        self.owned_step(queue, &Q_ADD_LOG, id, token, &line).await
    }

    async fn listen(&self, queue: &str, event: &str, on: bool) -> Result<()> {
        let s = &self.shared;
        s.open()?;
        if !on {
            let mut st = lock(&s.state);
            let l = s.local(&mut st, queue);
            l.listening.remove(event);
            if l.listening.is_empty() {
                if let Some(t) = l.events_task.take() {
                    t.abort();
                }
            }
            return Ok(());
        }
        let keys = {
            let mut st = lock(&s.state);
            let l = s.local(&mut st, queue);
            l.listening.insert(event.to_string());
            l.keys.clone()
        };
        on_runtime(async {
            let mut inv = keys.invoke(&Q_LISTEN_EVENTS, s.opts.events_max_len);
            inv.arg(now_ms() + tasks::LISTEN_TTL_MS).arg(event);
            let registered = s.gate.write().await;
            let last: String = s.redis.script(&inv).await?;
            drop(registered);
            tasks::start_events(s, queue, last)
        })
        .await
    }

    async fn get_scheduled_jobs(&self, queue: &str) -> Result<Vec<Json>> {
        let s = &self.shared;
        s.open()?;
        let keys = s.keys(queue);
        on_runtime(async {
            let mut p = redis::pipe();
            p.cmd("HGETALL").arg(keys.sched());
            p.cmd("ZRANGE")
                .arg(keys.sched_next())
                .arg(0)
                .arg(-1)
                .arg("WITHSCORES");
            let (specs, nexts): (redis::Value, redis::Value) = s.redis.pipe(&p).await?;
            let specs: HashMap<String, String> = pairs(specs).into_iter().collect();
            let mut out = Vec::new();
            for (sid, next) in pairs(nexts) {
                let Some(spec) = specs.get(&sid) else {
                    continue;
                };
                let spec: Value = serde_json::from_str(spec).map_err(|_| NventError::Corrupt {
                    message: format!("schedule {sid} of queue {queue} in redis"),
                })?;
                let count = specs
                    .get(&format!("{sid}:n"))
                    .and_then(|n| n.parse::<u64>().ok())
                    .unwrap_or(0);
                out.push(Json::from_value(&json!({
                    "id": format!("repeat:{sid}:{queue}"),
                    "queueName": queue,
                    "name": spec.get("name"),
                    "pattern": spec.get("pattern"),
                    "every": spec.get("every"),
                    "limit": spec.get("limit"),
                    "count": count,
                    "next": next.parse::<f64>().map(|n| n as u64).unwrap_or(0),
                })));
            }
            Ok(out)
        })
        .await
    }

    async fn remove_scheduled_job(&self, id: &str) -> Result<bool> {
        let s = &self.shared;
        s.open()?;
        let Some((n, queue)) = id
            .strip_prefix("repeat:")
            .and_then(|rest| rest.split_once(':'))
            .filter(|(n, _)| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
        else {
            return Ok(false);
        };
        let keys = s.keys(queue);
        on_runtime(async {
            let mut inv = keys.invoke(&Q_REMOVE_SCHEDULE, s.opts.events_max_len);
            inv.arg(n);
            let removed: i64 = s.script(&inv).await?;
            Ok(removed == 1)
        })
        .await
    }

    async fn remove_job(&self, queue: &str, id: &str) -> Result<bool> {
        let s = &self.shared;
        s.open()?;
        let keys = s.keys(queue);
        on_runtime(async {
            let mut inv = keys.invoke(&Q_REMOVE_JOB, s.opts.events_max_len);
            inv.arg(id);
            let removed: i64 = s.script(&inv).await?;
            Ok(removed == 1)
        })
        .await
    }

    async fn close(&self) -> Result<()> {
        let s = &self.shared;
        if s.closed.swap(true, Ordering::AcqRel) {
            return Ok(());
        }
        let (tasks, releases, idles) = {
            let mut st = lock(&s.state);
            let mut tasks: Vec<JoinHandle<()>> = st.tasks.drain(..).collect();
            let mut releases = Vec::new();
            let mut idles = Vec::new();
            for l in st.queues.values_mut() {
                tasks.extend(l.events_task.take());
                if !l.idle.is_empty() {
                    idles.push((l.keys.idle.clone(), std::mem::take(&mut l.idle)));
                }
                let ahead: Vec<(String, u64)> =
                    l.ahead.drain(..).map(|c| (c.id, c.token)).collect();
                for (id, _) in &ahead {
                    l.active.remove(id);
                }
                if !ahead.is_empty() {
                    releases.push((l.keys.clone(), ahead));
                }
            }
            (tasks, releases, idles)
        };
        for t in tasks {
            t.abort();
        }
        s.hub.close();
        on_runtime(async {
            // Best effort: a stale idle entry lapses after one lease at most.
            for (key, member) in idles {
                let _ = s
                    .redis
                    .query::<i64>(redis::cmd("ZREM").arg(key).arg(member))
                    .await;
            }
            for (keys, ahead) in releases {
                let mut inv = keys.invoke(&Q_RELEASE_JOBS, s.opts.events_max_len);
                for (id, token) in &ahead {
                    inv.arg(id.as_str()).arg(*token);
                }
                // Best effort: unreleased jobs come back when their leases run out.
                let _ = s.script::<i64>(&inv).await;
            }
            s.redis.close_loop();
            Ok(())
        })
        .await
    }
}

impl RedisQueueAdapter {
    fn pending_now(s: &Shared) -> u64 {
        Shared::pending(&lock(&s.state))
    }

    async fn set_paused(&self, queue: &str, paused: bool) -> Result<()> {
        let s = &self.shared;
        s.open()?;
        let keys = {
            let mut st = lock(&s.state);
            let l = s.local(&mut st, queue);
            l.paused = paused;
            l.keys.clone()
        };
        on_runtime(async {
            let mut inv = keys.invoke(&Q_SET_PAUSED, s.opts.events_max_len);
            inv.arg(if paused { "1" } else { "0" }).arg(queue);
            let _: i64 = s.script(&inv).await?;
            Ok(())
        })
        .await
    }

    /// A step of a running attempt (progress, log line) that only its owner may take.
    async fn owned_step(
        &self,
        queue: &str,
        script: &redis::Script,
        id: &str,
        token: u64,
        value: &str,
    ) -> Result<()> {
        let s = &self.shared;
        s.open()?;
        let keys = s.keys(queue);
        on_runtime(async {
            let mut inv = keys.invoke(script, s.opts.events_max_len);
            inv.arg(id).arg(token).arg(value);
            let ok: i64 = s.script(&inv).await?;
            if ok == 1 {
                Ok(())
            } else {
                Err(NventError::LockLost {
                    job_id: id.to_string(),
                })
            }
        })
        .await
    }
}
