//! `RedisStreamAdapter`: pub/sub across processes sharing one Redis (SPEC §4, §9).
//!
//! - `publish` is one script: `PUBLISH topic event` (the channel is the topic) plus an
//!   `XADD` to the topic's retained stream `{prefix}:stream:{topic}`, trimmed to
//!   `retain` entries (`MAXLEN ~`).
//! - Plain subscriptions are Redis pub/sub on one shared connection ([`Hub`]): `SUBSCRIBE`
//!   for a literal topic, `PSUBSCRIBE` when it has `*`. At-most-once; after a reconnect
//!   the hub resubscribes and `nvent.stream.gap` goes to the process bus.
//! - `fromBeginning` and `group` subscriptions read the retained stream on a connection
//!   of their own ([`reader`]): at-least-once, consumer groups for `group` (each message
//!   to one consumer across processes; pending entries of a dead consumer are reclaimed;
//!   a message delivered too often goes to `{prefix}:dead:{topic}`).
//!
//! Deviation: `group` and `fromBeginning` need a literal topic (a Redis stream per topic
//! cannot be read by pattern); with `*` they are refused with `NVENT_INVALID_ARGUMENT`.

mod reader;

use super::{StreamAdapter, SubscribeOptions};
use crate::callback::Callback;
use crate::error::{NventError, Result};
use crate::glob::Glob;
use crate::redis::pubsub::Hub;
use crate::redis::{keys, on_runtime, scripts, Redis};
use crate::value::Json;
use async_trait::async_trait;
use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

/// Messages retained per topic for `fromBeginning` and groups.
pub const DEFAULT_RETAIN: u64 = 1000;

/// Options of the Redis stream besides the connection.
#[derive(Debug, Clone)]
pub struct RedisStreamOptions {
    /// Names the retained streams (`{prefix}:stream:{topic}`).
    pub prefix: String,
    /// Messages retained per topic (approximate trimming).
    pub retain: u64,
    /// Pending group entries idle this long (ms) belong to a dead consumer.
    pub claim_idle_ms: u64,
    /// Deliveries after which a group entry is dead-lettered.
    pub max_deliveries: u64,
}

impl Default for RedisStreamOptions {
    fn default() -> Self {
        RedisStreamOptions {
            prefix: "nvent".into(),
            retain: DEFAULT_RETAIN,
            claim_idle_ms: reader::CLAIM_IDLE_MS,
            max_deliveries: reader::MAX_DELIVERIES,
        }
    }
}

pub struct RedisStreamAdapter {
    redis: Redis,
    prefix: String,
    retain: u64,
    claim_idle_ms: u64,
    max_deliveries: u64,
    closed: AtomicBool,
    state: Arc<Mutex<State>>,
    hub: Hub,
    consumer: String,
}

#[derive(Default)]
struct State {
    next_id: u64,
    subs: BTreeMap<u64, Sub>,
    /// Plain subscriptions by Redis name (channel, or pattern when `true`).
    plain: HashMap<(String, bool), Vec<u64>>,
    /// Stream readers by `(topic, group)`; `None` group = a `fromBeginning` reader of
    /// one subscription (keyed by its id then).
    readers: HashMap<ReaderKey, reader::Reader>,
}

#[derive(Clone, PartialEq, Eq, Hash)]
enum ReaderKey {
    Group(String, String),
    Replay(u64),
}

struct Sub {
    topic: String,
    filter: Option<Glob>,
    handler: Arc<dyn Callback>,
    kind: Kind,
}

enum Kind {
    Plain(String, bool),
    Reader(ReaderKey),
}

impl Sub {
    fn wants(&self, event: &Json) -> bool {
        match &self.filter {
            None => true,
            Some(f) => event_type(event).is_some_and(|t| f.is_match(&t)),
        }
    }
}

fn lock(m: &Mutex<State>) -> MutexGuard<'_, State> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// The `type` of an event text, read without a full parse of `data`.
fn event_type(event: &Json) -> Option<String> {
    #[derive(serde::Deserialize)]
    struct Head {
        #[serde(rename = "type")]
        kind: Option<String>,
    }
    crate::value::deserialize::<Head>(event.as_str())
        .ok()
        .and_then(|h| h.kind)
}

impl RedisStreamAdapter {
    /// Builds the adapter; connects on first use. `on_gap` is called after the pub/sub
    /// connection came back from a drop.
    pub fn new(
        redis: Redis,
        opts: RedisStreamOptions,
        on_gap: Arc<dyn Fn() + Send + Sync>,
    ) -> Self {
        let state = Arc::new(Mutex::new(State::default()));
        let s = state.clone();
        let on_message = Arc::new(
            move |channel: &str, pattern: Option<&str>, payload: &[u8]| {
                let Ok(text) = std::str::from_utf8(payload) else {
                    return;
                };
                let json = Json::trusted(text.to_string());
                let targets: Vec<Arc<dyn Callback>> = {
                    let st = lock(&s);
                    let key = match pattern {
                        Some(p) => (p.to_string(), true),
                        None => (channel.to_string(), false),
                    };
                    st.plain
                        .get(&key)
                        .map(|ids| {
                            ids.iter()
                                .filter_map(|id| st.subs.get(id))
                                .filter(|sub| sub.wants(&json))
                                .map(|sub| sub.handler.clone())
                                .collect()
                        })
                        .unwrap_or_default()
                };
                for cb in targets {
                    cb.call(&json);
                }
            },
        );
        let hub = Hub::new(redis.clone(), on_message, on_gap);
        RedisStreamAdapter {
            redis,
            prefix: opts.prefix,
            retain: opts.retain.max(1),
            claim_idle_ms: opts.claim_idle_ms.max(1),
            max_deliveries: opts.max_deliveries.max(1),
            closed: AtomicBool::new(false),
            state,
            hub,
            consumer: keys::instance_name(),
        }
    }

    fn open(&self) -> Result<()> {
        if self.closed.load(Ordering::Acquire) {
            Err(NventError::closed("stream adapter"))
        } else {
            Ok(())
        }
    }

    async fn subscribe_plain(&self, topic: &str, sub: Sub) -> Result<u64> {
        let pattern = topic.contains('*');
        let name = if pattern {
            keys::topic_pattern(topic)
        } else {
            topic.to_string()
        };
        let id = {
            let mut st = lock(&self.state);
            st.next_id += 1;
            let id = st.next_id;
            st.subs.insert(
                id,
                Sub {
                    kind: Kind::Plain(name.clone(), pattern),
                    ..sub
                },
            );
            st.plain
                .entry((name.clone(), pattern))
                .or_default()
                .push(id);
            id
        };
        if let Err(e) = self.hub.subscribe(&name, pattern).await {
            self.remove(id);
            return Err(e);
        }
        Ok(id)
    }

    async fn subscribe_reader(
        &self,
        topic: &str,
        sub: Sub,
        opts: &SubscribeOptions,
    ) -> Result<u64> {
        if topic.contains('*') {
            return Err(NventError::invalid_argument(format!(
                "'{topic}': group and fromBeginning subscriptions need a topic without '*' on redis"
            )));
        }
        let stream = keys::topic_stream(&self.prefix, topic);
        let existing = {
            let mut st = lock(&self.state);
            st.next_id += 1;
            let id = st.next_id;
            let key = match &opts.group {
                Some(g) => ReaderKey::Group(topic.to_string(), g.clone()),
                None => ReaderKey::Replay(id),
            };
            let joined = match st.readers.get(&key) {
                Some(r) => {
                    r.add_member(id);
                    true
                }
                None => false,
            };
            st.subs.insert(
                id,
                Sub {
                    kind: Kind::Reader(key.clone()),
                    ..sub
                },
            );
            (id, key, joined)
        };
        let (id, key, joined) = existing;
        if joined {
            return Ok(id);
        }
        let spec = reader::Spec {
            redis: self.redis.clone(),
            stream,
            dead: keys::dead_letters(&self.prefix, topic),
            group: opts.group.clone(),
            consumer: self.consumer.clone(),
            from_beginning: opts.from_beginning,
            claim_idle_ms: self.claim_idle_ms,
            max_deliveries: self.max_deliveries,
        };
        let state = Arc::downgrade(&self.state);
        match reader::Reader::start(spec, id, move |member, event| {
            deliver(&state, member, event)
        })
        .await
        {
            Ok(r) => {
                lock(&self.state).readers.insert(key, r);
                Ok(id)
            }
            Err(e) => {
                lock(&self.state).subs.remove(&id);
                Err(e)
            }
        }
    }

    /// Forgets a subscription; returns what to undo in Redis.
    fn remove(&self, id: u64) -> Option<Kind> {
        let mut st = lock(&self.state);
        let sub = st.subs.remove(&id)?;
        match &sub.kind {
            Kind::Plain(name, pattern) => {
                let k = (name.clone(), *pattern);
                if let Some(ids) = st.plain.get_mut(&k) {
                    ids.retain(|i| *i != id);
                    if ids.is_empty() {
                        st.plain.remove(&k);
                    }
                }
            }
            Kind::Reader(key) => {
                let empty = st
                    .readers
                    .get(key)
                    .is_some_and(|r| r.remove_member(id) == 0);
                if empty {
                    if let Some(r) = st.readers.remove(key) {
                        r.stop();
                    }
                }
            }
        }
        Some(sub.kind)
    }
}

/// Hands one stream message to a member, if it still exists and wants it. Returns false
/// when the member is gone (the reader then tries another).
fn deliver(state: &std::sync::Weak<Mutex<State>>, member: u64, event: &Json) -> bool {
    let Some(state) = state.upgrade() else {
        return false;
    };
    let cb = {
        let st = lock(&state);
        match st.subs.get(&member) {
            Some(sub) if sub.wants(event) => Some(sub.handler.clone()),
            Some(_) => None,
            None => return false,
        }
    };
    if let Some(cb) = cb {
        cb.call(event);
    }
    true
}

#[async_trait]
impl StreamAdapter for RedisStreamAdapter {
    async fn publish(&self, topic: &str, event: Json) -> Result<()> {
        on_runtime(async {
            self.open()?;
            let stream = keys::topic_stream(&self.prefix, topic);
            let _: String = self
                .redis
                .script(
                    scripts::PUBLISH_MESSAGE
                        .key(&stream)
                        .arg(topic)
                        .arg(event.as_str())
                        .arg(self.retain),
                )
                .await?;
            Ok(())
        })
        .await
    }

    async fn subscribe(
        &self,
        topic: &str,
        handler: Arc<dyn Callback>,
        opts: SubscribeOptions,
    ) -> Result<u64> {
        on_runtime(async {
            self.open()?;
            let filter = opts.filter.as_deref().map(Glob::new).transpose()?;
            let sub = Sub {
                topic: topic.to_string(),
                filter,
                handler,
                kind: Kind::Plain(String::new(), false),
            };
            if opts.group.is_some() || opts.from_beginning {
                self.subscribe_reader(topic, sub, &opts).await
            } else {
                self.subscribe_plain(topic, sub).await
            }
        })
        .await
    }

    async fn unsubscribe(&self, id: u64) -> Result<bool> {
        on_runtime(async {
            // A publish that resolved before this call is still delivered (SPEC §4): the
            // hub hands on everything published so far before the subscription goes.
            let plain = lock(&self.state)
                .subs
                .get(&id)
                .is_some_and(|s| matches!(s.kind, Kind::Plain(..)));
            if plain {
                self.hub.flush().await;
            }
            match self.remove(id) {
                Some(Kind::Plain(name, pattern)) => {
                    self.hub.unsubscribe(&name, pattern).await;
                    Ok(true)
                }
                Some(Kind::Reader(_)) => Ok(true),
                None => Ok(false),
            }
        })
        .await
    }

    async fn list_topics(&self) -> Result<Vec<String>> {
        self.open()?;
        let st = lock(&self.state);
        let mut out: Vec<String> = Vec::new();
        for sub in st.subs.values() {
            if !out.contains(&sub.topic) {
                out.push(sub.topic.clone());
            }
        }
        Ok(out)
    }

    async fn subscription_count(&self, topic: &str) -> Result<u64> {
        self.open()?;
        let st = lock(&self.state);
        Ok(st.subs.values().filter(|s| s.topic == topic).count() as u64)
    }

    async fn shutdown(&self) -> Result<()> {
        self.closed.store(true, Ordering::Release);
        let readers: Vec<reader::Reader> = {
            let mut st = lock(&self.state);
            st.subs.clear();
            st.plain.clear();
            st.readers.drain().map(|(_, r)| r).collect()
        };
        for r in readers {
            r.stop();
        }
        self.hub.close();
        self.redis.close_loop();
        Ok(())
    }
}
