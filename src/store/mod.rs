//! StoreAdapter: the event stream, key-value and sorted-index tiers (SPEC §3).
//!
//! The contract every backend keeps, on memory, file and Redis alike:
//! - **Event stream** (`stream_*`): `append` assigns an id of the form `<ms>-<seq>`, unique per
//!   subject and strictly increasing in append order, and a `ts` in ms; records come back as
//!   `{ id, ts, ...event }` with every other field exactly as given. `subscribe` delivers
//!   every later append to that subject, in order, without replaying history.
//! - **Key-value** (`kv_*`): ttl is in seconds (fractions allowed); an expired key is
//!   invisible to every read; a `set` without ttl clears an expiry. `increment` is atomic.
//! - **Sorted index** (`index_*`): entries ordered by score descending, equal scores by id
//!   descending (byte order). `add` replaces the metadata and resets `version` to 0;
//!   `update` deep-merges (arrays replaced, `null` deletes a subtree) and bumps `version`;
//!   `update` and `increment` are atomic, so concurrent callers never lose each other's
//!   fields.
//! - **Documents** (`doc_*`): exact round trip of a saved document.
//! - **Claims** (`claim_*`): set-if-absent with expiry; only the owner releases or extends.
//!
//! Names and values reaching a backend have been validated by [`facade::Store`] (names, value
//! limits, field paths, metadata normalization); backends check only what depends on stored
//! state. Every call that fails leaves stored state unchanged.

pub mod batch;
pub mod change;
pub mod event;
pub mod facade;
pub mod file;
pub mod memory;
pub mod metadata;
pub mod redis;

use crate::callback::Callback;
use crate::error::Result;
use crate::value::Json;
use async_trait::async_trait;
pub use event::EventBody;
pub use metadata::FieldFilter;
use serde_json::{Map, Value};

use std::sync::Arc;

/// Sort direction of a read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Order {
    #[default]
    Asc,
    Desc,
}

/// Options of `stream_read` (SPEC §3.1). `after`/`before` are exclusive ids, `from`/`to`
/// inclusive ms bounds; `types` filters before `limit` counts.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ReadOptions {
    pub types: Option<Vec<String>>,
    pub after: Option<EventId>,
    pub before: Option<EventId>,
    pub from: Option<f64>,
    pub to: Option<f64>,
    pub limit: Option<usize>,
    pub order: Order,
}

/// An event id `<ms>-<seq>`, ordered as Redis stream ids are.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct EventId {
    pub ms: u64,
    pub seq: u64,
}

impl EventId {
    /// Parses `<ms>-<seq>` or `<ms>` (seq 0).
    pub fn parse(s: &str) -> Option<EventId> {
        let (ms, seq) = match s.split_once('-') {
            Some((ms, seq)) => (ms.parse().ok()?, seq.parse().ok()?),
            None => (s.parse().ok()?, 0),
        };
        Some(EventId { ms, seq })
    }

    /// The next id after `last` at wall-clock `now_ms`: strictly greater, even when the
    /// clock goes backwards.
    pub fn next(last: Option<EventId>, now_ms: u64) -> EventId {
        match last {
            Some(l) if l.ms >= now_ms => EventId {
                ms: l.ms,
                seq: l.seq + 1,
            },
            _ => EventId { ms: now_ms, seq: 0 },
        }
    }
}

impl std::fmt::Display for EventId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}-{}", self.ms, self.seq)
    }
}

/// Options of `index_read` (SPEC §3.3): pagination applies after filtering.
#[derive(Debug, Clone, PartialEq)]
pub struct IndexReadOptions {
    pub offset: usize,
    pub limit: usize,
    pub filter: Vec<FieldFilter>,
}

impl Default for IndexReadOptions {
    fn default() -> Self {
        IndexReadOptions {
            offset: 0,
            limit: 50,
            filter: Vec::new(),
        }
    }
}

/// Options of `doc_list` (SPEC §3.4). Default order: id ascending.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ListOptions {
    pub filter: Vec<FieldFilter>,
    pub limit: Option<usize>,
    pub offset: usize,
    pub sort_by: Option<Vec<String>>,
    pub order: Order,
}

/// One call of a batch ([`StoreAdapter::batch`]): the per-value calls that the JS layer
/// sends together when they are made in the same JS turn.
#[derive(Debug)]
pub enum BatchOp {
    KvGet {
        key: String,
    },
    KvSet {
        key: String,
        value: Json,
        ttl: Option<f64>,
    },
    Append {
        subject: String,
        event: EventBody,
    },
}

/// What one call of a batch gave (see [`StoreAdapter::batch`]).
#[derive(Debug, Clone, PartialEq)]
pub enum BatchDone {
    /// A get's value, an append's record, `None` for a set.
    Value(Option<Json>),
    /// An append stored its event as given, under this id: its record is
    /// [`EventBody::record`] of that id, which the caller can build without it crossing.
    Appended(EventId),
}

/// One sorted-index entry as returned to callers (a copy).
#[derive(Debug, Clone, PartialEq)]
pub struct IndexEntry {
    pub id: String,
    pub score: f64,
    pub metadata: Value,
}

/// One entry of `kv_mset`.
#[derive(Debug, Clone, PartialEq)]
pub struct KvEntry {
    pub key: String,
    pub value: Json,
    pub ttl_seconds: Option<f64>,
}

/// The backend contract. Futures of the memory backend complete without suspending, so the
/// binding runs them on the calling thread.
#[async_trait]
pub trait StoreAdapter: Send + Sync {
    // --- event stream (SPEC §3.1) ---
    /// Appends `event` and returns the stored record `{ id, ts, ...event }`.
    async fn stream_append(&self, subject: &str, event: EventBody) -> Result<Json>;
    async fn stream_read(&self, subject: &str, opts: &ReadOptions) -> Result<Vec<Json>>;
    /// Runs `ops` and returns one result per op, in order: the value of a get, the record
    /// of an append (or its id alone, see [`BatchDone::Appended`]), `None` for a set. Each
    /// op succeeds or fails on its own, as if called alone.
    ///
    /// **Order.** Batches of one store take effect in the order they were made: the next
    /// batch starts only after this one calls `turn.pass()`, which a backend must do as
    /// soon as every op has taken effect or been queued in order (the ops' effects in
    /// memory, a pipeline written to the connection), and not before: waiting for an
    /// acknowledgement may follow it, waiting to open may not. The default runs the ops
    /// one after another and passes at the end; a backend that can send them together
    /// (Redis: one pipeline) overrides it.
    async fn batch(
        &self,
        ops: Vec<BatchOp>,
        turn: &batch::BatchTurn<'_>,
    ) -> Vec<Result<BatchDone>> {
        let mut out = Vec::with_capacity(ops.len());
        for op in ops {
            out.push(match op {
                BatchOp::KvGet { key } => self.kv_get(&key).await.map(BatchDone::Value),
                BatchOp::KvSet { key, value, ttl } => self
                    .kv_set(&key, value, ttl)
                    .await
                    .map(|()| BatchDone::Value(None)),
                BatchOp::Append { subject, event } => self
                    .stream_append(&subject, event)
                    .await
                    .map(|r| BatchDone::Value(Some(r))),
            });
        }
        turn.pass();
        out
    }
    /// Delivers every later record of `subject` to `handler`, in append order. Returns the
    /// subscription id.
    async fn stream_subscribe(&self, subject: &str, handler: Arc<dyn Callback>) -> Result<u64>;
    async fn stream_unsubscribe(&self, id: u64) -> Result<bool>;
    async fn stream_delete(&self, subject: &str) -> Result<bool>;
    async fn stream_count(&self, subject: &str) -> Result<u64>;

    // --- key-value (SPEC §3.2) ---
    async fn kv_get(&self, key: &str) -> Result<Option<Json>>;
    async fn kv_set(&self, key: &str, value: Json, ttl_seconds: Option<f64>) -> Result<()>;
    async fn kv_delete(&self, key: &str) -> Result<bool>;
    /// Deletes every key matching the glob (`*`, `?`, `\` escapes); returns the count.
    async fn kv_clear(&self, pattern: &str) -> Result<u64>;
    /// Adds `by` to the number at `key` (missing = 0).
    ///
    /// # Errors
    /// `NVENT_INVALID_ARGUMENT` when the stored value is not a number.
    async fn kv_increment(&self, key: &str, by: f64) -> Result<f64>;
    async fn kv_exists(&self, key: &str) -> Result<bool>;
    async fn kv_expire(&self, key: &str, ttl_seconds: f64) -> Result<bool>;
    /// Seconds left, or `None` for a missing key or one without expiry.
    async fn kv_ttl(&self, key: &str) -> Result<Option<f64>>;
    async fn kv_mget(&self, keys: &[String]) -> Result<Vec<Option<Json>>>;
    /// Sets every entry, atomically where the backend allows.
    async fn kv_mset(&self, entries: Vec<KvEntry>) -> Result<()>;

    // --- sorted index (SPEC §3.3) ---
    /// Upserts; `metadata` is already normalized (dot keys expanded, nulls dropped,
    /// `version: 0` set).
    async fn index_add(&self, key: &str, id: &str, score: f64, metadata: Value) -> Result<()>;
    async fn index_get(&self, key: &str, id: &str) -> Result<Option<IndexEntry>>;
    async fn index_read(&self, key: &str, opts: &IndexReadOptions) -> Result<Vec<IndexEntry>>;
    /// The JSON text of `index_read`'s entries (`[{ id, score, metadata }, ...]`). A backend
    /// that can write the text without building values overrides this (Redis does).
    async fn index_read_json(&self, key: &str, opts: &IndexReadOptions) -> Result<String> {
        let entries = self.index_read(key, opts).await?;
        let texts: Vec<String> = entries.iter().map(facade::entry_json).collect();
        Ok(facade::json_array(texts.iter().map(String::as_str)))
    }
    async fn index_count(&self, key: &str, filter: &[FieldFilter]) -> Result<u64>;
    /// Deep-merges `partial` (already expanded; nulls are delete markers) and bumps
    /// `version`; `false` when the entry is missing or `expected_version` differs.
    async fn index_update(
        &self,
        key: &str,
        id: &str,
        partial: Map<String, Value>,
        expected_version: Option<u64>,
    ) -> Result<bool>;
    /// Atomically adds `by` at the dotted `field` and bumps `version`.
    ///
    /// # Errors
    /// `NVENT_NOT_FOUND` for a missing entry (nothing is created), `NVENT_INVALID_ARGUMENT`
    /// for a non-number at that path.
    async fn index_increment(&self, key: &str, id: &str, field: &[String], by: f64) -> Result<f64>;
    async fn index_delete(&self, key: &str, id: &str) -> Result<bool>;

    // --- documents (SPEC §3.4) ---
    async fn doc_save(&self, collection: &str, id: &str, doc: Json) -> Result<()>;
    async fn doc_get(&self, collection: &str, id: &str) -> Result<Option<Json>>;
    async fn doc_list(&self, collection: &str, opts: &ListOptions) -> Result<Vec<(String, Json)>>;
    async fn doc_delete(&self, collection: &str, id: &str) -> Result<bool>;

    // --- claims (SPEC §3.5) ---
    async fn claim_once(&self, key: &str, owner: &str, ttl_seconds: f64) -> Result<bool>;
    async fn claim_release(&self, key: &str, owner: &str) -> Result<bool>;
    async fn claim_extend(&self, key: &str, owner: &str, ttl_seconds: f64) -> Result<bool>;

    /// Ends subscriptions and refuses later calls with `NVENT_CLOSED`.
    async fn close(&self) -> Result<()>;

    /// Opens what the backend needs (files, connections) now rather than on first use.
    async fn init(&self) -> Result<()> {
        Ok(())
    }

    /// What the backend found when it opened its data (the file backend's recovery
    /// report, JSON text), if it has anything to say.
    async fn recovery_report(&self) -> Result<Option<String>> {
        Ok(None)
    }
}
