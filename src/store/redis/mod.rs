//! `RedisStoreAdapter`: the store on a Redis shared by many processes (SPEC §3, §9).
//!
//! Layout (seed 003; docs/REDIS.md): an event stream at the subject key (XADD, trimmed
//! with `MAXLEN ~ trim.maxLen`), an index as a sorted set at `{key}` plus one hash of
//! dot-path fields per entry at `{key}:meta:{id}`, kv values as plain keys with expiry,
//! a document collection as one hash at the collection name, a claim as a plain key.
//! Every stored leaf is JSON-encoded (see [`codec`]). Every multi-step mutation is one Lua
//! script or one MULTI, so concurrent processes never see or leave half a change.
//!
//! `subscribe` reads the subject streams themselves ([`follow`]), so `append` is a bare
//! `XADD` and subscribers in every process see every append in order. Ids and `ts` come
//! from the Redis server's clock.

mod codec;
mod events;
mod follow;
#[cfg(fuzzing)]
pub mod fuzzing;
mod index;
mod kv;

use crate::callback::Callback;
use crate::error::{NventError, Result};
use crate::redis::{on_runtime, Redis};
use crate::store::batch::BatchTurn;
use crate::store::{
    BatchDone, BatchOp, FieldFilter, IndexEntry, IndexReadOptions, KvEntry, ListOptions,
    ReadOptions, StoreAdapter,
};
use crate::value::Json;
use async_trait::async_trait;
use serde_json::{Map, Value};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

/// Default `streams.trim.maxLen` (seed 003).
pub const DEFAULT_MAX_LEN: u64 = 10_000;

/// Options of the Redis store besides the connection.
#[derive(Debug, Clone)]
pub struct RedisStoreOptions {
    /// Names the engine's own keys and channels (not store keys, SPEC §3).
    pub prefix: String,
    /// `MAXLEN` of every event stream; 0 = no trimming.
    pub max_len: u64,
    /// Approximate (`~`) trimming.
    pub approx: bool,
}

impl Default for RedisStoreOptions {
    fn default() -> Self {
        RedisStoreOptions {
            prefix: "nvent".into(),
            max_len: DEFAULT_MAX_LEN,
            approx: true,
        }
    }
}

pub struct RedisStoreAdapter {
    redis: Redis,
    opts: RedisStoreOptions,
    closed: AtomicBool,
    follower: follow::Follower,
}

impl RedisStoreAdapter {
    /// Builds the adapter; connects on first use.
    pub fn new(redis: Redis, opts: RedisStoreOptions) -> Self {
        let follower = follow::Follower::new(redis.clone(), &opts.prefix);
        RedisStoreAdapter {
            redis,
            opts,
            closed: AtomicBool::new(false),
            follower,
        }
    }

    fn open(&self) -> Result<()> {
        if self.closed.load(Ordering::Acquire) {
            Err(NventError::closed("store"))
        } else {
            Ok(())
        }
    }
}

// Every method enters the engine runtime for its polls (see `crate::redis::on_runtime`).
#[async_trait]
impl StoreAdapter for RedisStoreAdapter {
    async fn stream_append(&self, subject: &str, event: crate::store::EventBody) -> Result<Json> {
        on_runtime(async {
            self.open()?;
            self.append(subject, event).await
        })
        .await
    }
    async fn stream_read(&self, subject: &str, opts: &ReadOptions) -> Result<Vec<Json>> {
        on_runtime(async {
            self.open()?;
            self.read(subject, opts).await
        })
        .await
    }
    async fn stream_subscribe(&self, subject: &str, handler: Arc<dyn Callback>) -> Result<u64> {
        on_runtime(async {
            self.open()?;
            self.follower.subscribe(subject, handler).await
        })
        .await
    }
    async fn stream_unsubscribe(&self, id: u64) -> Result<bool> {
        on_runtime(async { Ok(self.follower.unsubscribe(id).await) }).await
    }
    /// Passes the turn once the pipeline holds its place on the connection (see
    /// `Redis::pipe_written`): Redis runs a connection's commands in the order they arrive.
    async fn batch(&self, ops: Vec<BatchOp>, turn: &BatchTurn<'_>) -> Vec<Result<BatchDone>> {
        let n = ops.len();
        let run = on_runtime(async {
            self.open()?;
            Ok(self.run_batch(ops, turn).await)
        });
        match run.await {
            Ok(results) => results,
            Err(e) => (0..n).map(|_| Err(e.clone())).collect(),
        }
    }
    async fn stream_delete(&self, subject: &str) -> Result<bool> {
        on_runtime(async {
            self.open()?;
            let n: u64 = self.redis.query(redis::cmd("DEL").arg(subject)).await?;
            Ok(n > 0)
        })
        .await
    }
    async fn stream_count(&self, subject: &str) -> Result<u64> {
        on_runtime(async {
            self.open()?;
            self.redis.query(redis::cmd("XLEN").arg(subject)).await
        })
        .await
    }

    async fn kv_get(&self, key: &str) -> Result<Option<Json>> {
        on_runtime(async {
            self.open()?;
            self.get(key).await
        })
        .await
    }
    async fn kv_set(&self, key: &str, value: Json, ttl_seconds: Option<f64>) -> Result<()> {
        on_runtime(async {
            self.open()?;
            self.set(key, value, ttl_seconds).await
        })
        .await
    }
    async fn kv_delete(&self, key: &str) -> Result<bool> {
        on_runtime(async {
            self.open()?;
            let n: u64 = self.redis.query(redis::cmd("DEL").arg(key)).await?;
            Ok(n > 0)
        })
        .await
    }
    async fn kv_clear(&self, pattern: &str) -> Result<u64> {
        on_runtime(async {
            self.open()?;
            self.clear(pattern).await
        })
        .await
    }
    async fn kv_increment(&self, key: &str, by: f64) -> Result<f64> {
        on_runtime(async {
            self.open()?;
            self.increment(key, by).await
        })
        .await
    }
    async fn kv_exists(&self, key: &str) -> Result<bool> {
        on_runtime(async {
            self.open()?;
            let n: u64 = self.redis.query(redis::cmd("EXISTS").arg(key)).await?;
            Ok(n > 0)
        })
        .await
    }
    async fn kv_expire(&self, key: &str, ttl_seconds: f64) -> Result<bool> {
        on_runtime(async {
            self.open()?;
            self.expire(key, ttl_seconds).await
        })
        .await
    }
    async fn kv_ttl(&self, key: &str) -> Result<Option<f64>> {
        on_runtime(async {
            self.open()?;
            let ms: i64 = self.redis.query(redis::cmd("PTTL").arg(key)).await?;
            Ok((ms >= 0).then(|| ms as f64 / 1000.0))
        })
        .await
    }
    async fn kv_mget(&self, keys: &[String]) -> Result<Vec<Option<Json>>> {
        on_runtime(async {
            self.open()?;
            self.mget(keys).await
        })
        .await
    }
    async fn kv_mset(&self, entries: Vec<KvEntry>) -> Result<()> {
        on_runtime(async {
            self.open()?;
            self.mset(entries).await
        })
        .await
    }

    async fn index_add(&self, key: &str, id: &str, score: f64, metadata: Value) -> Result<()> {
        on_runtime(async {
            self.open()?;
            self.add(key, id, score, metadata).await
        })
        .await
    }
    async fn index_get(&self, key: &str, id: &str) -> Result<Option<IndexEntry>> {
        on_runtime(async {
            self.open()?;
            self.entry(key, id).await
        })
        .await
    }
    async fn index_read(&self, key: &str, opts: &IndexReadOptions) -> Result<Vec<IndexEntry>> {
        on_runtime(async {
            self.open()?;
            self.page(key, opts).await
        })
        .await
    }
    async fn index_read_json(&self, key: &str, opts: &IndexReadOptions) -> Result<String> {
        on_runtime(async {
            self.open()?;
            self.page_json(key, opts).await
        })
        .await
    }
    async fn index_count(&self, key: &str, filter: &[FieldFilter]) -> Result<u64> {
        on_runtime(async {
            self.open()?;
            self.count(key, filter).await
        })
        .await
    }
    async fn index_update(
        &self,
        key: &str,
        id: &str,
        partial: Map<String, Value>,
        expected_version: Option<u64>,
    ) -> Result<bool> {
        on_runtime(async {
            self.open()?;
            self.update(key, id, partial, expected_version).await
        })
        .await
    }
    async fn index_increment(&self, key: &str, id: &str, field: &[String], by: f64) -> Result<f64> {
        on_runtime(async {
            self.open()?;
            self.increment_field(key, id, field, by).await
        })
        .await
    }
    async fn index_delete(&self, key: &str, id: &str) -> Result<bool> {
        on_runtime(async {
            self.open()?;
            self.remove(key, id).await
        })
        .await
    }

    async fn doc_save(&self, collection: &str, id: &str, doc: Json) -> Result<()> {
        on_runtime(async {
            self.open()?;
            self.redis
                .query(redis::cmd("HSET").arg(collection).arg(id).arg(doc.as_str()))
                .await
        })
        .await
    }
    async fn doc_get(&self, collection: &str, id: &str) -> Result<Option<Json>> {
        on_runtime(async {
            self.open()?;
            let v: Option<String> = self
                .redis
                .query(redis::cmd("HGET").arg(collection).arg(id))
                .await?;
            Ok(v.map(|t| Json::trusted(codec::json_text(t))))
        })
        .await
    }
    async fn doc_list(&self, collection: &str, opts: &ListOptions) -> Result<Vec<(String, Json)>> {
        on_runtime(async {
            self.open()?;
            self.list(collection, opts).await
        })
        .await
    }
    async fn doc_delete(&self, collection: &str, id: &str) -> Result<bool> {
        on_runtime(async {
            self.open()?;
            let n: u64 = self
                .redis
                .query(redis::cmd("HDEL").arg(collection).arg(id))
                .await?;
            Ok(n > 0)
        })
        .await
    }

    async fn claim_once(&self, key: &str, owner: &str, ttl_seconds: f64) -> Result<bool> {
        on_runtime(async {
            self.open()?;
            let owner = Value::String(owner.to_string()).to_string();
            let ok: Option<String> = self
                .redis
                .query(
                    redis::cmd("SET")
                        .arg(key)
                        .arg(owner)
                        .arg("NX")
                        .arg("PX")
                        .arg(kv::ttl_ms(ttl_seconds)),
                )
                .await?;
            Ok(ok.is_some())
        })
        .await
    }
    async fn claim_release(&self, key: &str, owner: &str) -> Result<bool> {
        on_runtime(async {
            self.open()?;
            let owner = Value::String(owner.to_string()).to_string();
            let n: u64 = self
                .redis
                .script(crate::redis::scripts::RELEASE_CLAIM.key(key).arg(owner))
                .await?;
            Ok(n > 0)
        })
        .await
    }
    async fn claim_extend(&self, key: &str, owner: &str, ttl_seconds: f64) -> Result<bool> {
        on_runtime(async {
            self.open()?;
            let owner = Value::String(owner.to_string()).to_string();
            let n: u64 = self
                .redis
                .script(
                    crate::redis::scripts::EXTEND_CLAIM
                        .key(key)
                        .arg(owner)
                        .arg(kv::ttl_ms(ttl_seconds)),
                )
                .await?;
            Ok(n > 0)
        })
        .await
    }

    async fn close(&self) -> Result<()> {
        self.closed.store(true, Ordering::Release);
        self.follower.close();
        self.redis.close_loop();
        Ok(())
    }
}

impl RedisStoreAdapter {
    /// The calls of a batch as one pipeline (one write, one round trip); each call's reply
    /// or error is its own.
    async fn run_batch(&self, ops: Vec<BatchOp>, turn: &BatchTurn<'_>) -> Vec<Result<BatchDone>> {
        let size: usize = ops
            .iter()
            .map(|op| match op {
                BatchOp::KvGet { key } => key.len() + 24,
                BatchOp::KvSet { key, value, .. } => key.len() + value.as_str().len() + 64,
                BatchOp::Append { subject, event } => {
                    subject.len() + event.json.as_str().len() + 64 + 16 * event.fields().len()
                }
            })
            .sum();
        let written = self.redis.pipe_written(
            size,
            |w| {
                for op in &ops {
                    match op {
                        BatchOp::KvGet { key } => {
                            w.begin(2, "GET");
                            w.arg(key.as_bytes());
                        }
                        BatchOp::KvSet { key, value, ttl } => {
                            kv::write_set(w, key, value.as_str(), *ttl);
                        }
                        BatchOp::Append { subject, event } => self.write_xadd(w, subject, event),
                    }
                }
            },
            || turn.pass(),
        );
        let replies = match written.await {
            Ok(r) => r,
            Err(e) => return ops.iter().map(|_| Err(e.clone())).collect(),
        };
        let mut replies = replies.into_iter();
        ops.into_iter()
            .map(|op| {
                let reply = replies
                    .next()
                    .ok_or_else(|| NventError::internal("a pipeline reply is missing"))?
                    .map_err(|e| self.redis.error(&e))?;
                let conv = |e: redis::ParsingError| self.redis.error(&redis::RedisError::from(e));
                match op {
                    BatchOp::KvGet { .. } => {
                        let v: Option<String> = redis::from_redis_value(reply).map_err(conv)?;
                        Ok(BatchDone::Value(
                            v.map(|t| Json::trusted(codec::json_text(t))),
                        ))
                    }
                    BatchOp::KvSet { .. } => Ok(BatchDone::Value(None)),
                    BatchOp::Append { .. } => events::appended_id(&reply).map(BatchDone::Appended),
                }
            })
            .collect()
    }
}
