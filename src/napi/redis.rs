//! Factories of the Redis store and stream for JS. Options cross as JSON text; the gap
//! target is the JS function that puts `nvent.stream.gap` on the process bus.

use super::outbox::{Outbox, OutboxCore, ToJs};
use super::queue::NativeQueue;
use super::store::NativeStore;
use super::stream::NativeStream;
use super::sync;
use crate::callback::Callback;
use crate::options::{Opts, Zero, MAX_COUNT};
use crate::queue::facade::Queue;
use crate::queue::redis::{RedisQueueAdapter, RedisQueueOptions};
use crate::redis::{Redis, RedisConfig};
use crate::store::facade::Store;
use crate::store::redis::{RedisStoreAdapter, RedisStoreOptions};
use crate::stream::redis::{RedisStreamAdapter, RedisStreamOptions};
use crate::value::Json;
use napi_derive::napi;
use std::sync::Arc;

/// Calls the JS gap target with `{ type: 'nvent.stream.gap', data: { source } }`.
fn gap(outbox: Arc<OutboxCore>, target: u32, source: &'static str) -> Arc<dyn Fn() + Send + Sync> {
    let cb = ToJs { outbox, target };
    Arc::new(move || {
        let event = serde_json::json!({
            "type": "nvent.stream.gap",
            "data": { "source": source, "reason": "the redis subscriber reconnected; messages published meanwhile were missed" },
        });
        cb.call(&Json::from_value(&event));
    })
}

fn connection(o: &Opts) -> crate::Result<Redis> {
    Redis::new(RedisConfig::parse(o.raw("connection"))?)
}

fn prefix(o: &Opts) -> crate::Result<String> {
    Ok(o.str("prefix")?.unwrap_or("nvent").to_string())
}

#[napi]
impl NativeStore {
    /// A Redis store. `options` is JSON text of `{ connection, prefix?, streams?: { trim?:
    /// { maxLen?, approx? } }, limits? }`. Does no I/O.
    #[napi(factory)]
    pub fn redis(outbox: &Outbox, options: Option<String>) -> napi::Result<Self> {
        sync(|| {
            let limits = super::limits(options.as_deref())?;
            let o = Opts::parse("store options", options.as_deref())?;
            let mut opts = RedisStoreOptions {
                prefix: prefix(&o)?,
                ..RedisStoreOptions::default()
            };
            if let Some(serde_json::Value::Object(s)) = o.raw("streams") {
                if let Some(serde_json::Value::Object(t)) = s.get("trim") {
                    let t = Opts::from_map("streams.trim", t.clone());
                    if let Some(n) = t.count("maxLen", 1, MAX_COUNT)? {
                        opts.max_len = n;
                    }
                    if let Some(a) = t.bool("approx")? {
                        opts.approx = a;
                    }
                }
            }
            let adapter = RedisStoreAdapter::new(connection(&o)?, opts);
            Ok(NativeStore::from_store(
                Store::new(Arc::new(adapter), limits),
                outbox,
            ))
        })
    }
}

#[napi]
impl NativeStream {
    /// A Redis stream. `options` is JSON text of `{ connection, prefix?, retain?,
    /// claimIdleMs?, maxDeliveries?, limits? }` (`retain`: messages kept per topic for
    /// `fromBeginning` and groups, default 1000; `claimIdleMs`: when a group entry left
    /// pending by a dead consumer is taken over, default 15000; `maxDeliveries`: after
    /// how many deliveries it is dead-lettered, default 5).
    #[napi(factory)]
    pub fn redis(outbox: &Outbox, options: Option<String>, gap_target: u32) -> napi::Result<Self> {
        sync(|| {
            let limits = super::limits(options.as_deref())?;
            let o = Opts::parse("stream options", options.as_deref())?;
            let d = RedisStreamOptions::default();
            let opts = RedisStreamOptions {
                prefix: prefix(&o)?,
                retain: o.count("retain", 0, MAX_COUNT)?.unwrap_or(d.retain),
                claim_idle_ms: o
                    .duration_ms("claimIdleMs", Zero::Refused)?
                    .unwrap_or(d.claim_idle_ms),
                max_deliveries: o
                    .count("maxDeliveries", 1, MAX_COUNT)?
                    .unwrap_or(d.max_deliveries),
            };
            let adapter = RedisStreamAdapter::new(
                connection(&o)?,
                opts,
                gap(outbox.core.clone(), gap_target, "stream"),
            );
            Ok(NativeStream::from_adapter(
                Arc::new(adapter),
                outbox,
                limits,
            ))
        })
    }
}

#[napi]
impl NativeQueue {
    /// A Redis queue (see `memory` for `signals`). `options` is JSON text of `{ connection,
    /// prefix?, eventsMaxLen?, defaultJobOptions?, worker?, limits? }`. Does no I/O.
    #[napi(factory)]
    pub fn redis(outbox: &Outbox, signals: u32, options: Option<String>) -> napi::Result<Self> {
        sync(|| {
            let limits = super::limits(options.as_deref())?;
            let o = Opts::parse("queue options", options.as_deref())?;
            let d = RedisQueueOptions::default();
            let opts = RedisQueueOptions {
                prefix: prefix(&o)?,
                events_max_len: o
                    .count("eventsMaxLen", 0, MAX_COUNT)?
                    .unwrap_or(d.events_max_len)
                    .max(1),
            };
            let adapter = RedisQueueAdapter::new(connection(&o)?, opts);
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
}
