//! Store subscriptions (SPEC §3.1): subscribers read the subject's stream itself.
//!
//! One task per adapter follows every subscribed subject with `XREAD BLOCK` on a
//! dedicated connection, so `append` is a bare `XADD` (nothing is published), appends
//! from every process are seen, and each subscriber gets them in id order. A subscription
//! starts after the subject's newest entry at subscribe time (no history replay).
//!
//! Delivery: each entry once per subscriber, in order. After a dropped connection the
//! task reconnects and goes on from the last entry it read, so nothing is missed unless
//! `MAXLEN` trimming removed the entries meanwhile. `unsubscribe` first notes the subject's
//! newest entry and resolves once the subscriber was handed everything up to it: an append
//! that resolved before `unsubscribe()` was called (in any process) is still delivered
//! (SPEC §3.1), within [`DRAIN_LIMIT`] of a live connection.
//!
//! A subscribe while the task is blocked wakes it with an entry on the adapter's own wake
//! stream (`{prefix}:store:wake:{instance}`, one entry, expiring after a minute), which the
//! task always reads as well.

use super::events::record;
use crate::callback::Callback;
use crate::error::Result;
use crate::redis::tail::{self, Tail, TailError};
use crate::redis::{keys, Redis};
use crate::store::EventId;
use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::{oneshot, Notify};

/// Entries read per subject per `XREAD`.
const COUNT: usize = 512;
/// How long a subject that holds another kind of value is left out after a `WRONGTYPE`.
const WRONG_TYPE_PAUSE: Duration = Duration::from_secs(1);

/// How long `unsubscribe` waits, beyond the command timeout, for the entries it owes: one
/// blocked `XREAD` ends within [`tail::BLOCK`], and the one after it reads them. Past that
/// the follower cannot read (the connection is down) and the subscription ends without them.
const DRAIN_LIMIT: Duration = Duration::from_millis(2 * tail::BLOCK.as_millis() as u64);

type Entry = (String, Vec<(String, String)>);
/// An `XREAD` reply: per stream its key and entries; `None` when the block timed out.
type ReadReply = Option<Vec<(String, Vec<Entry>)>>;

struct Sub {
    subject: String,
    /// Entries up to this id were there before the subscription.
    after: EventId,
    handler: Arc<dyn Callback>,
    /// Set by `unsubscribe`: the last entry still owed, and who waits until it was handed
    /// over. Later entries are not delivered.
    ending: Option<(EventId, oneshot::Sender<()>)>,
}

#[derive(Default)]
struct State {
    subs: HashMap<u64, Sub>,
    /// Subject → the id of the last entry read.
    cursors: HashMap<String, String>,
    /// Subjects left out until then (they hold another kind of value).
    paused: HashMap<String, Instant>,
    running: bool,
}

pub(super) struct Follower {
    redis: Redis,
    wake_key: String,
    next: AtomicU64,
    state: Arc<Mutex<State>>,
    closed: Arc<AtomicBool>,
    stop: Arc<Notify>,
}

impl Follower {
    pub(super) fn new(redis: Redis, prefix: &str) -> Follower {
        Follower {
            redis,
            wake_key: keys::store_wake(prefix, &keys::instance_name()),
            next: AtomicU64::new(0),
            state: Arc::new(Mutex::new(State::default())),
            closed: Arc::new(AtomicBool::new(false)),
            stop: Arc::new(Notify::new()),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Subscribes `handler` to the appends after the subject's newest entry.
    ///
    /// # Errors
    /// `NVENT_INVALID_ARGUMENT` when the key holds another kind of value; connection
    /// errors.
    pub(super) async fn subscribe(&self, subject: &str, handler: Arc<dyn Callback>) -> Result<u64> {
        let newest: Vec<Entry> = self
            .redis
            .query(
                redis::cmd("XREVRANGE")
                    .arg(subject)
                    .arg("+")
                    .arg("-")
                    .arg("COUNT")
                    .arg(1),
            )
            .await?;
        let after = newest
            .first()
            .and_then(|(id, _)| EventId::parse(id))
            .unwrap_or(EventId { ms: 0, seq: 0 });
        let id = self.next.fetch_add(1, Ordering::Relaxed) + 1;
        let start = {
            let mut st = self.lock();
            st.cursors
                .entry(subject.to_string())
                .or_insert_with(|| after.to_string());
            st.subs.insert(
                id,
                Sub {
                    subject: subject.to_string(),
                    after,
                    handler,
                    ending: None,
                },
            );
            !std::mem::replace(&mut st.running, true)
        };
        if start {
            self.spawn()?;
        } else {
            // The task may be blocked on the old subject set.
            let mut wake = redis::pipe();
            wake.cmd("XADD")
                .arg(&self.wake_key)
                .arg("MAXLEN")
                .arg(1)
                .arg("*")
                .arg("w")
                .arg(1)
                .ignore()
                .cmd("PEXPIRE")
                .arg(&self.wake_key)
                .arg(60_000)
                .ignore();
            self.redis.pipe::<()>(&wake).await?;
        }
        Ok(id)
    }

    /// Ends a subscription once it was handed every entry the subject held when this was
    /// called (bounded by [`DRAIN_LIMIT`]); `false` if it was not there.
    pub(super) async fn unsubscribe(&self, id: u64) -> bool {
        let Some(subject) = self.lock().subs.get(&id).map(|s| s.subject.clone()) else {
            return false;
        };
        // The newest entry now: every append that resolved before this call is at or
        // before it. Unknown (connection error, not a stream): nothing can be waited for.
        let newest: Result<Vec<Entry>> = self
            .redis
            .query(
                redis::cmd("XREVRANGE")
                    .arg(&subject)
                    .arg("+")
                    .arg("-")
                    .arg("COUNT")
                    .arg(1),
            )
            .await;
        let until = newest
            .ok()
            .and_then(|n| n.first().and_then(|(id, _)| EventId::parse(id)));
        let owed = {
            let mut st = self.lock();
            let read = st.cursors.get(&subject).and_then(|c| EventId::parse(c));
            let Some(sub) = st.subs.get_mut(&id) else {
                return false;
            };
            match until {
                Some(u) if u > sub.after && read.is_none_or(|r| r < u) => {
                    let (tx, rx) = oneshot::channel();
                    sub.ending = Some((u, tx));
                    Some(rx)
                }
                _ => None,
            }
        };
        if let Some(rx) = owed {
            let limit = DRAIN_LIMIT + self.redis.config().command_timeout;
            // An error: the follower closed (close() dropped the sender); nothing to wait for.
            let _ = tokio::time::timeout(limit, rx).await;
        }
        let mut st = self.lock();
        let Some(sub) = st.subs.remove(&id) else {
            return false;
        };
        if !st.subs.values().any(|s| s.subject == sub.subject) {
            st.cursors.remove(&sub.subject);
        }
        true
    }

    pub(super) fn close(&self) {
        self.closed.store(true, Ordering::Release);
        let mut st = self.lock();
        st.subs.clear();
        st.cursors.clear();
        drop(st);
        self.stop.notify_waiters();
        self.stop.notify_one();
    }

    fn spawn(&self) -> Result<()> {
        let task = Task {
            redis: self.redis.clone(),
            wake_key: self.wake_key.clone(),
            state: self.state.clone(),
            closed: self.closed.clone(),
        };
        let stop = self.stop.clone();
        crate::runtime::spawn(async move {
            tokio::select! {
                _ = task.run() => {}
                _ = stop.notified() => {}
            }
        })
    }
}

struct Task {
    redis: Redis,
    wake_key: String,
    state: Arc<Mutex<State>>,
    closed: Arc<AtomicBool>,
}

impl Task {
    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    async fn run(self) {
        let mut wake_cursor = "0-0".to_string();
        // Dead-peer detection and reconnects: see `redis/tail.rs`.
        let mut tail = Tail::new(self.redis.clone());
        while !self.closed.load(Ordering::Acquire) {
            let (subjects, ids) = self.read_set();
            let mut cmd = redis::cmd("XREAD");
            cmd.arg("COUNT")
                .arg(COUNT)
                .arg("BLOCK")
                .arg(tail::BLOCK.as_millis() as u64)
                .arg("STREAMS")
                .arg(&self.wake_key)
                .arg(&subjects)
                .arg(&wake_cursor)
                .arg(&ids);
            match tail.query::<ReadReply>(&cmd, tail::BLOCK).await {
                Ok(streams) => {
                    for (key, entries) in streams.unwrap_or_default() {
                        if key == self.wake_key {
                            if let Some((id, _)) = entries.last() {
                                wake_cursor = id.clone();
                            }
                        } else {
                            self.deliver(&key, entries);
                        }
                    }
                }
                Err(TailError::Server(e)) if e.code() == Some("WRONGTYPE") => {
                    self.pause_wrong_types().await
                }
                // Reconnected (paced) by the next query, resuming from the cursors.
                Err(_) => {}
            }
        }
    }

    /// The subjects to read and their cursors.
    fn read_set(&self) -> (Vec<String>, Vec<String>) {
        let mut st = self.lock();
        let now = Instant::now();
        st.paused.retain(|_, until| *until > now);
        let st = &*st;
        st.cursors
            .iter()
            .filter(|(s, _)| !st.paused.contains_key(*s))
            .map(|(s, c)| (s.clone(), c.clone()))
            .unzip()
    }

    /// Hands `entries` of `subject` to its subscribers, in order.
    fn deliver(&self, subject: &str, entries: Vec<Entry>) {
        let Some((last, _)) = entries.last() else {
            return;
        };
        let last = last.clone();
        let last_id = EventId::parse(&last);
        type Handler = (EventId, Option<EventId>, Arc<dyn Callback>);
        let handlers: Vec<Handler> = {
            let mut st = self.lock();
            match st.cursors.get_mut(subject) {
                Some(c) => *c = last,
                // Unsubscribed meanwhile.
                None => return,
            }
            st.subs
                .values()
                .filter(|s| s.subject == subject)
                .map(|s| (s.after, s.ending.as_ref().map(|e| e.0), s.handler.clone()))
                .collect()
        };
        for (id, fields) in entries {
            let Some(eid) = EventId::parse(&id) else {
                continue;
            };
            let rec = record(&id, fields);
            for (after, until, h) in &handlers {
                if eid > *after && until.is_none_or(|u| eid <= u) {
                    h.call(&rec);
                }
            }
        }
        // Ending subscriptions that now got everything they were owed: their unsubscribe
        // may finish (after the calls above, so the handler's outbox has them first).
        let mut st = self.lock();
        for sub in st.subs.values_mut().filter(|s| s.subject == subject) {
            if matches!((&sub.ending, last_id), (Some((u, _)), Some(l)) if *u <= l) {
                if let Some((_, tx)) = sub.ending.take() {
                    let _ = tx.send(());
                }
            }
        }
    }

    /// After a `WRONGTYPE`: leaves out for a while the subjects that are not streams.
    async fn pause_wrong_types(&self) {
        let (subjects, _) = self.read_set();
        let mut bad = HashSet::new();
        for s in subjects {
            let t: Result<String> = self.redis.query(redis::cmd("TYPE").arg(&s)).await;
            if matches!(t.as_deref(), Ok(t) if t != "stream" && t != "none") {
                bad.insert(s);
            }
        }
        if bad.is_empty() {
            tokio::time::sleep(WRONG_TYPE_PAUSE).await;
            return;
        }
        let until = Instant::now() + WRONG_TYPE_PAUSE;
        let mut st = self.lock();
        for s in bad {
            st.paused.insert(s, until);
        }
    }
}
