//! The Redis queue's background tasks: per queue with a worker a timer (delayed jobs and
//! schedules) and a stall checker; per adapter one lease renewer; per queue with listeners
//! an events reader; per timed attempt a timeout. All stop at `close()` (aborted) and
//! hold only a weak reference to the adapter, so a dropped adapter ends them too.

use super::{lock, wire, Shared};
use crate::error::Result;
use crate::queue::cron::Pattern;
use crate::queue::job::{JobOptions, NewJob};
use crate::redis::scripts::*;
use crate::redis::tail::{self, Tail};
use crate::value::{now_ms, Json};
use redis::streams::{StreamReadOptions, StreamReadReply};
use serde_json::{Map, Value};
use std::future::Future;
use std::sync::{Arc, Weak};
use std::time::Duration;
use tokio::task::JoinHandle;

/// How long a listen entry lasts without refresh; refreshed every third of it.
pub(super) const LISTEN_TTL_MS: u64 = 60_000;
/// Pause after a failed background step (Redis unreachable) before trying again.
const RETRY: Duration = Duration::from_millis(250);

/// Spawns `fut` on the engine runtime (panics caught) and keeps its handle for `close()`.
pub(super) fn spawn<F>(s: &Arc<Shared>, fut: F)
where
    F: Future<Output = ()> + Send + 'static,
{
    let Ok(task) = spawn_caught(fut) else {
        return;
    };
    let mut st = lock(&s.state);
    st.tasks.retain(|t| !t.is_finished());
    st.tasks.push(task);
}

/// Spawns `fut` on the engine runtime with its panics caught.
fn spawn_caught<F>(fut: F) -> Result<JoinHandle<()>>
where
    F: Future<Output = ()> + Send + 'static,
{
    let h = crate::runtime::handle()?;
    Ok(h.spawn(async move {
        let _ = crate::ready::catch_panics(async move {
            fut.await;
            Ok(())
        })
        .await;
    }))
}

/// Starts the timer and the stall checker of `queue`, and the lease renewer if none runs.
pub(super) fn start_worker_tasks(s: &Arc<Shared>, queue: &str) -> Result<()> {
    let weak = Arc::downgrade(s);
    let q = queue.to_string();
    spawn(s, timer(weak.clone(), q.clone()));
    spawn(s, stall_checker(weak.clone(), q));
    let start_leases = {
        let mut st = lock(&s.state);
        !std::mem::replace(&mut st.leases_running, true)
    };
    if start_leases {
        spawn(s, lease_renewer(weak));
    }
    Ok(())
}

/// Promotes due delayed jobs and fires due schedules, then sleeps until the next due time
/// or until a `d` signal says an earlier one was added.
async fn timer(weak: Weak<Shared>, queue: String) {
    loop {
        let Some(s) = weak.upgrade() else { return };
        let (keys, notify, idle) = {
            let mut st = lock(&s.state);
            let l = s.local(&mut st, &queue);
            (l.keys.clone(), l.timer.clone(), l.idle.clone())
        };
        let mut inv = keys.invoke(&Q_PROMOTE_DELAYED, s.opts.events_max_len);
        inv.arg(idle);
        let next = match s.script::<Vec<redis::Value>>(&inv).await {
            Ok(v) => {
                let mut parts = v.into_iter();
                let mut number = || parts.next().and_then(|v| wire::int(&v));
                let (delayed, sched) = (number(), number());
                s.hand_over(&queue, wire::array(parts.next().unwrap_or_default()));
                if sched.is_some_and(|t| t >= 0 && t as u64 <= now_ms()) {
                    if fire_schedules(&s, &keys).await.is_err() {
                        // Unreachable Redis: try again shortly, not in a tight loop.
                        drop(s);
                        tokio::time::sleep(RETRY).await;
                    }
                    continue;
                }
                [delayed, sched]
                    .into_iter()
                    .flatten()
                    .filter(|t| *t >= 0)
                    .min()
            }
            Err(_) => Some((now_ms() + RETRY.as_millis() as u64) as i64),
        };
        drop(s);
        match next {
            Some(at) => {
                let wait = (at as u64).saturating_sub(now_ms());
                tokio::select! {
                    _ = tokio::time::sleep(Duration::from_millis(wait)) => {}
                    _ = notify.notified() => {}
                }
            }
            None => notify.notified().await,
        }
    }
}

/// A stored schedule (see `schedule` in `mod.rs`).
#[derive(serde::Deserialize)]
struct StoredSchedule {
    name: String,
    data: Value,
    #[serde(default)]
    opts: Map<String, Value>,
    pattern: Option<String>,
    every: Option<u64>,
    limit: Option<u32>,
}

/// Fires every due schedule once; the script's compare on the tick makes the fire happen
/// on one instance only.
async fn fire_schedules(s: &Arc<Shared>, keys: &wire::QueueKeys) -> Result<()> {
    let now = now_ms();
    let due: Vec<(String, String)> = wire::pairs(
        s.redis
            .query(
                redis::cmd("ZRANGEBYSCORE")
                    .arg(keys.sched_next())
                    .arg("-inf")
                    .arg(now)
                    .arg("WITHSCORES")
                    .arg("LIMIT")
                    .arg(0)
                    .arg(100),
            )
            .await?,
    );
    for (sid, tick) in due {
        let spec: Option<String> = s
            .redis
            .query(redis::cmd("HGET").arg(keys.sched()).arg(&sid))
            .await?;
        let parsed = spec
            .and_then(|t| serde_json::from_str::<StoredSchedule>(&t).ok())
            .and_then(|spec| {
                let opts = JobOptions::parse(&Map::new(), spec.opts.clone()).ok()?;
                Some((spec, opts))
            });
        let Some((spec, mut opts)) = parsed else {
            // A broken entry would come due forever: drop it.
            let mut inv = keys.invoke(&Q_REMOVE_SCHEDULE, s.opts.events_max_len);
            inv.arg(&sid);
            let _: i64 = s.script(&inv).await?;
            continue;
        };
        let next = match (&spec.pattern, spec.every) {
            (Some(p), _) => Pattern::parse(p).ok().and_then(|p| p.next_after(now)),
            (None, Some(every)) => Some(now + every),
            (None, None) => None,
        };
        opts.job_id = None;
        let job = NewJob {
            name: spec.name,
            data: Json::from_value(&spec.data),
            opts,
        };
        let mut inv = keys.invoke(&Q_FIRE_SCHEDULE, s.opts.events_max_len);
        inv.arg(&sid)
            .arg(&tick)
            .arg(next.map(|n| n.to_string()).unwrap_or_default())
            .arg(spec.limit.map(|l| l.to_string()).unwrap_or_default());
        wire::push_job(&mut inv, &job);
        let _: redis::Value = s.script(&inv).await?;
    }
    Ok(())
}

/// Runs the stall check of `queue` every `stalledInterval` (the script makes it
/// single-flight across instances).
async fn stall_checker(weak: Weak<Shared>, queue: String) {
    loop {
        let interval = {
            let Some(s) = weak.upgrade() else { return };
            let mut st = lock(&s.state);
            let l = s.local(&mut st, &queue);
            l.worker.as_ref().map_or(30_000, |w| w.stalled_ms)
        };
        tokio::time::sleep(Duration::from_millis(interval)).await;
        let Some(s) = weak.upgrade() else { return };
        let (keys, max) = {
            let mut st = lock(&s.state);
            let l = s.local(&mut st, &queue);
            (
                l.keys.clone(),
                l.worker.as_ref().map_or(1, |w| w.max_stalled),
            )
        };
        let mut inv = keys.invoke(&Q_MOVE_STALLED, s.opts.events_max_len);
        // The lock lasts a little less than the interval, so the next check of whichever
        // instance comes first is not refused by this one's lock.
        inv.arg(max).arg((interval * 9 / 10).max(1));
        let _ = s.script::<i64>(&inv).await;
    }
}

/// The jobs one queue holds: queue, keys, lease ms, (id, token) pairs.
type Held = (String, Arc<wire::QueueKeys>, u64, Vec<(String, u64)>);

/// Renews the leases of every job this instance holds, every half of the shortest
/// `lockDuration`. Jobs whose lease is gone are dropped; their late results are refused.
async fn lease_renewer(weak: Weak<Shared>) {
    loop {
        let interval = {
            let Some(s) = weak.upgrade() else { return };
            let st = lock(&s.state);
            st.queues
                .values()
                .filter_map(|l| l.worker.as_ref().map(|w| w.lock_ms))
                .min()
                .unwrap_or(30_000)
                / 2
        };
        tokio::time::sleep(Duration::from_millis(interval.max(5))).await;
        let Some(s) = weak.upgrade() else { return };
        // Idle workers keep their idle entry (it lapses after one lease otherwise).
        let idle: Vec<(String, String, u64)> = {
            let st = lock(&s.state);
            st.queues
                .values()
                .filter(|l| !l.idle.is_empty() && l.active.is_empty() && l.reserved == 0)
                .filter(|l| l.room() > 0)
                .map(|l| (l.keys.idle.clone(), l.idle.clone(), l.lock_ms()))
                .collect()
        };
        for (key, member, lock_ms) in idle {
            let _ = s
                .redis
                .query::<i64>(
                    redis::cmd("ZADD")
                        .arg(key)
                        .arg(now_ms() + lock_ms)
                        .arg(member),
                )
                .await;
        }
        let held: Vec<Held> = {
            let st = lock(&s.state);
            st.queues
                .iter()
                .filter(|(_, l)| !l.active.is_empty())
                .map(|(q, l)| {
                    let jobs = l.active.iter().map(|(i, t)| (i.clone(), *t)).collect();
                    (q.clone(), l.keys.clone(), l.lock_ms(), jobs)
                })
                .collect()
        };
        for (queue, keys, lock_ms, jobs) in held {
            for chunk in jobs.chunks(500) {
                let mut inv = keys.invoke(&Q_EXTEND_LEASES, s.opts.events_max_len);
                inv.arg(lock_ms);
                for (id, token) in chunk {
                    inv.arg(id.as_str()).arg(*token);
                }
                let Ok(lost) = s.script::<Vec<String>>(&inv).await else {
                    break;
                };
                if lost.is_empty() {
                    continue;
                }
                let mut st = lock(&s.state);
                let l = s.local(&mut st, &queue);
                for id in lost {
                    let token = chunk.iter().find(|(i, _)| *i == id).map(|(_, t)| *t);
                    if token.is_some() && l.active.get(&id).copied() == token {
                        l.active.remove(&id);
                        let before = l.ahead.len();
                        l.ahead.retain(|c| c.id != id);
                        if l.ahead.len() == before {
                            l.lost.insert(id);
                        }
                    }
                }
            }
        }
    }
}

/// Fails the attempt `token` of job `id` after `ms` if this instance still holds it.
pub(super) fn arm_timeout(s: &Arc<Shared>, queue: &str, id: String, token: u64, ms: u64) {
    let weak = Arc::downgrade(s);
    let queue = queue.to_string();
    spawn(s, async move {
        tokio::time::sleep(Duration::from_millis(ms)).await;
        let Some(s) = weak.upgrade() else { return };
        let held = {
            let mut st = lock(&s.state);
            let l = s.local(&mut st, &queue);
            if l.active.get(&id) == Some(&token) {
                l.active.remove(&id);
                true
            } else {
                false
            }
        };
        if held {
            let reason = crate::error::NventError::Timeout {
                message: format!("job {id} timed out after {ms} ms"),
            }
            .to_string();
            s.fail_held(&queue, vec![(id, token, reason)]).await;
        }
    });
}

/// Starts the events reader of `queue` (if none runs), reading after entry `last`.
pub(super) fn start_events(s: &Arc<Shared>, queue: &str, last: String) -> Result<()> {
    // Checked and started under one lock: two `on()` calls finishing together must not
    // start two readers (every event would arrive twice).
    let mut st = lock(&s.state);
    let l = s.local(&mut st, queue);
    if l.events_task.as_ref().is_some_and(|t| !t.is_finished()) {
        return Ok(());
    }
    let weak = Arc::downgrade(s);
    let q = queue.to_string();
    l.events_task = Some(spawn_caught(read_events(weak, q, last))?);
    Ok(())
}

/// Reads the queue's events stream on a connection of its own and hands the events this
/// instance listens to to the runner, in order. Refreshes the listen entries while it
/// runs; reconnects by itself, resuming after the last entry it read.
async fn read_events(weak: Weak<Shared>, queue: String, mut last: String) {
    let refresh = Duration::from_millis(LISTEN_TTL_MS / 3);
    let (mut tail, keys) = {
        let Some(s) = weak.upgrade() else { return };
        let mut st = lock(&s.state);
        let k = s.local(&mut st, &queue).keys.clone();
        // Dead-peer detection and reconnects: see `redis/tail.rs`.
        (Tail::new(s.redis.clone()), k)
    };
    let mut refreshed = std::time::Instant::now();
    loop {
        let opts = StreamReadOptions::default()
            .block(tail::BLOCK.as_millis() as usize)
            .count(500);
        let mut cmd = redis::cmd("XREAD");
        cmd.arg(&opts).arg("STREAMS").arg(keys.events()).arg(&last);
        // A failure is retried by the next query (after the retry delay), after `last`.
        let reply: Option<StreamReadReply> =
            tail.query(&cmd, tail::BLOCK).await.unwrap_or_default();
        let Some(s) = weak.upgrade() else { return };
        let listening: Vec<String> = {
            let mut st = lock(&s.state);
            s.local(&mut st, &queue).listening.iter().cloned().collect()
        };
        for key in reply.map(|r| r.keys).unwrap_or_default() {
            for entry in key.ids {
                last = entry.id.clone();
                let name: Option<String> = entry.get("e");
                let payload: Option<String> = entry.get("p");
                let (Some(name), Some(payload)) = (name, payload) else {
                    continue;
                };
                if !listening.contains(&name) {
                    continue;
                }
                let mut text = String::with_capacity(48 + payload.len());
                text.push_str("{\"k\":\"event\",\"q\":");
                crate::queue::job::push_str(&mut text, &queue);
                text.push_str(",\"e\":");
                crate::queue::job::push_str(&mut text, &name);
                text.push_str(",\"p\":");
                text.push_str(&payload);
                text.push('}');
                s.send(text);
            }
        }
        if refreshed.elapsed() >= refresh {
            refreshed = std::time::Instant::now();
            let mut inv = keys.invoke(&Q_LISTEN_EVENTS, s.opts.events_max_len);
            inv.arg(now_ms() + LISTEN_TTL_MS);
            for name in &listening {
                inv.arg(name.as_str());
            }
            let _ = s.script::<String>(&inv).await;
        }
    }
}
