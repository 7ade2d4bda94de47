//! One pub/sub connection shared by an adapter's subscriptions, kept alive across drops.
//!
//! The hub counts subscriptions per channel and per pattern, so Redis sees one
//! `SUBSCRIBE`/`PSUBSCRIBE` however many local subscriptions share a name. It connects on
//! the first subscription. When the connection drops (server restart, `CLIENT KILL`), a
//! background task reconnects with backoff, subscribes every live name again and then
//! calls `on_gap`: messages published while it was away are lost (pub/sub is
//! at-most-once, SPEC §4), and the owner tells the process bus so.
//!
//! A connection that goes quiet is asked for a `PING`; one that does not answer within
//! `commandTimeout` is taken for dead (a peer gone without closing the socket) and
//! replaced like a dropped one (`tail.rs` has the policy).
//!
//! Messages reach `on_message` from that one task, in the order Redis sent them.
//!
//! [`Hub::flush`] marks a point in that order: it publishes a token on the hub's own marker
//! channel (`keys::hub_marker`, a name with a NUL, which no topic can hold) and waits until
//! the token comes back on the subscriber connection. Redis delivers a connection's messages
//! in the order it executed the `PUBLISH`es, so every publish that resolved before the flush
//! began has then been handed to `on_message` (SPEC §4: a publish that resolved before
//! `unsubscribe()` is still delivered). Channels starting with NUL are the engine's own:
//! never handed to `on_message`, even when a pattern matches them.

use super::tail::{Retry, QUIET};
use super::Redis;
use crate::error::{NventError, Result};
use futures::StreamExt;
use redis::aio::PubSubSink;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, Weak};
use tokio::sync::{oneshot, watch};

/// Receives `(channel, pattern if a pattern matched, payload)`.
pub type OnMessage = Arc<dyn Fn(&str, Option<&str>, &[u8]) + Send + Sync>;
pub type OnGap = Arc<dyn Fn() + Send + Sync>;

pub struct Hub {
    inner: Arc<Inner>,
}

struct Inner {
    redis: Redis,
    names: Mutex<Names>,
    sink: watch::Sender<Link>,
    on_message: OnMessage,
    on_gap: OnGap,
    /// This hub's marker channel (`keys::hub_marker`) and the flushes waiting for their
    /// token to come back on it.
    marker: String,
    flushes: Mutex<HashMap<u64, oneshot::Sender<()>>>,
    next_flush: AtomicU64,
}

/// The hub's connection as subscribes see it.
#[derive(Clone)]
enum Link {
    Down,
    Up(PubSubSink),
    /// The last attempt to connect failed with this error.
    Failed(NventError),
}

/// Errors a reconnect cannot cure (wrong credentials, a database the server lacks): a
/// subscribe fails with them at once instead of waiting out the connect timeout.
fn is_final(e: &NventError) -> bool {
    matches!(e.code(), "NVENT_AUTH" | "NVENT_INVALID_ARGUMENT")
}

#[derive(Default)]
struct Names {
    channels: HashMap<String, usize>,
    patterns: HashMap<String, usize>,
    task: Option<tokio::task::JoinHandle<()>>,
    closed: bool,
}

fn lock(m: &Mutex<Names>) -> std::sync::MutexGuard<'_, Names> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl Hub {
    pub fn new(redis: Redis, on_message: OnMessage, on_gap: OnGap) -> Hub {
        Hub {
            inner: Arc::new(Inner {
                redis,
                names: Mutex::new(Names::default()),
                sink: watch::channel(Link::Down).0,
                on_message,
                on_gap,
                marker: super::keys::hub_marker(&super::keys::instance_name()),
                flushes: Mutex::new(HashMap::new()),
                next_flush: AtomicU64::new(0),
            }),
        }
    }

    /// Resolves once every message that Redis published before this call reached
    /// `on_message` (see the module doc). Without a live connection there is nothing in
    /// transit, and a server that does not answer within `commandTimeout` is not waited
    /// for longer: best effort, never an error.
    pub async fn flush(&self) {
        if !matches!(&*self.inner.sink.borrow(), Link::Up(_)) {
            return;
        }
        let token = self.inner.next_flush.fetch_add(1, Ordering::Relaxed);
        let (tx, rx) = oneshot::channel();
        self.inner
            .flushes
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(token, tx);
        let deadline = self.inner.redis.config().command_timeout;
        let mut publish = redis::cmd("PUBLISH");
        publish.arg(&self.inner.marker).arg(token);
        let waited = tokio::time::timeout(deadline, async {
            let _: i64 = self.inner.redis.query(&publish).await?;
            rx.await.map_err(|_| NventError::closed("redis subscriber"))
        })
        .await;
        drop(waited);
        self.inner
            .flushes
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(&token);
    }

    /// Subscribes to a channel (or a Redis glob pattern); resolves once Redis confirmed.
    ///
    /// # Errors
    /// `NVENT_BACKEND_UNAVAILABLE` when no connection comes up within the connect
    /// timeout, `NVENT_CLOSED` after [`Hub::close`].
    pub async fn subscribe(&self, name: &str, pattern: bool) -> Result<()> {
        let first = {
            let mut n = lock(&self.inner.names);
            if n.closed {
                return Err(NventError::closed("redis subscriber"));
            }
            if n.task.is_none() {
                let weak = Arc::downgrade(&self.inner);
                n.task = Some(tokio::spawn(run(weak)));
            }
            let map = if pattern {
                &mut n.patterns
            } else {
                &mut n.channels
            };
            let c = map.entry(name.to_string()).or_insert(0);
            *c += 1;
            *c == 1
        };
        if !first {
            return Ok(());
        }
        let r = self.send(name, pattern, true).await;
        if r.is_err() {
            self.release(name, pattern);
        }
        r
    }

    /// Drops one subscription to `name`; the last one unsubscribes in Redis.
    pub async fn unsubscribe(&self, name: &str, pattern: bool) {
        if self.release(name, pattern) {
            // Best effort: after a drop the reconnect no longer subscribes it anyway.
            let _ = self.send(name, pattern, false).await;
        }
    }

    /// True when this was the last subscription of `name`.
    fn release(&self, name: &str, pattern: bool) -> bool {
        let mut n = lock(&self.inner.names);
        let map = if pattern {
            &mut n.patterns
        } else {
            &mut n.channels
        };
        match map.get_mut(name) {
            Some(c) if *c > 1 => {
                *c -= 1;
                false
            }
            Some(_) => {
                map.remove(name);
                true
            }
            None => false,
        }
    }

    async fn send(&self, name: &str, pattern: bool, on: bool) -> Result<()> {
        let timeout = self.inner.redis.config().connect_timeout;
        let mut rx = self.inner.sink.subscribe();
        let ready = |l: &Link| match l {
            Link::Up(_) => true,
            Link::Failed(e) => is_final(e),
            Link::Down => false,
        };
        let waited = match tokio::time::timeout(timeout, rx.wait_for(ready)).await {
            Ok(Ok(l)) => Some(l.clone()),
            _ => None,
        };
        let link = waited.unwrap_or_else(|| rx.borrow().clone());
        let mut sink = match link {
            Link::Up(sink) => sink,
            Link::Failed(e) if is_final(&e) => return Err(e),
            _ => {
                return Err(NventError::BackendUnavailable {
                    message: format!(
                        "redis at {} is unreachable (no pub/sub connection within {} ms)",
                        self.inner.redis.config().address(),
                        timeout.as_millis()
                    ),
                })
            }
        };
        let r = match (pattern, on) {
            (false, true) => sink.subscribe(name).await,
            (true, true) => sink.psubscribe(name).await,
            (false, false) => sink.unsubscribe(name).await,
            (true, false) => sink.punsubscribe(name).await,
        };
        r.map_err(|e| self.inner.redis.error(&e))
    }

    /// Stops the connection task; later subscribes fail with `NVENT_CLOSED`.
    pub fn close(&self) {
        let mut n = lock(&self.inner.names);
        n.closed = true;
        n.channels.clear();
        n.patterns.clear();
        if let Some(t) = n.task.take() {
            t.abort();
        }
        self.inner.sink.send_replace(Link::Down);
    }
}

impl Drop for Hub {
    fn drop(&mut self) {
        self.close();
    }
}

/// Keeps one pub/sub connection up while the hub lives. Holds the hub only weakly
/// between messages so that dropping the adapter ends the task.
async fn run(hub: Weak<Inner>) {
    let mut connected_before = false;
    let mut retry = Retry::new();
    loop {
        let Some(inner) = hub.upgrade() else { return };
        let redis = inner.redis.clone();
        drop(inner);
        let conn = redis.pubsub().await;
        let Some(inner) = hub.upgrade() else { return };
        let (mut sink, mut stream) = match conn {
            Ok(ps) => ps.split(),
            Err(e) => {
                inner.sink.send_replace(Link::Failed(e));
                drop(inner);
                retry.wait().await;
                continue;
            }
        };
        let (channels, patterns): (Vec<String>, Vec<String>) = {
            let n = lock(&inner.names);
            let mut channels: Vec<String> = n.channels.keys().cloned().collect();
            channels.push(inner.marker.clone());
            (channels, n.patterns.keys().cloned().collect())
        };
        let mut r = sink.subscribe(&channels).await;
        if r.is_ok() && !patterns.is_empty() {
            r = sink.psubscribe(&patterns).await;
        }
        if let Err(e) = r {
            // Without a password the connection opens and the subscribe is refused.
            inner.sink.send_replace(Link::Failed(redis.error(&e)));
            drop(inner);
            retry.wait().await;
            continue;
        }
        retry.reset();
        inner.sink.send_replace(Link::Up(sink.clone()));
        if connected_before {
            (inner.on_gap)();
        }
        connected_before = true;
        let deadline = redis.config().command_timeout;
        drop(inner);
        let mut heard = tokio::time::Instant::now();
        loop {
            tokio::select! {
                msg = stream.next() => {
                    let Some(msg) = msg else { break };
                    heard = tokio::time::Instant::now();
                    let Some(inner) = hub.upgrade() else { return };
                    let channel = msg.get_channel_name();
                    if channel.starts_with('\0') {
                        // The engine's own channel (a flush marker, ours or another
                        // hub's that a pattern matched): never a user's message.
                        if channel == inner.marker {
                            let token = std::str::from_utf8(msg.get_payload_bytes())
                                .ok()
                                .and_then(|t| t.parse::<u64>().ok());
                            let waiter = token.and_then(|t| {
                                inner.flushes.lock().unwrap_or_else(|p| p.into_inner()).remove(&t)
                            });
                            if let Some(tx) = waiter {
                                let _ = tx.send(());
                            }
                        }
                        continue;
                    }
                    let pattern: Option<String> = if msg.from_pattern() {
                        msg.get_pattern().ok()
                    } else {
                        None
                    };
                    (inner.on_message)(
                        channel,
                        pattern.as_deref(),
                        msg.get_payload_bytes(),
                    );
                }
                _ = tokio::time::sleep_until(heard + QUIET) => {
                    // Quiet for a while: a live server answers a PING at once.
                    let pong = tokio::time::timeout(deadline, sink.ping::<redis::Value>()).await;
                    if !matches!(pong, Ok(Ok(_))) {
                        break;
                    }
                    heard = tokio::time::Instant::now();
                }
            }
        }
        let Some(inner) = hub.upgrade() else { return };
        inner.sink.send_replace(Link::Down);
    }
}
