//! `MemoryStoreAdapter`: the store in process memory (SPEC §9 "memory").
//!
//! Every operation finishes without suspending (std mutexes, never held across an
//! `.await`), so the binding runs it on the JS thread. The tiers keep separate maps: a name
//! used in two tiers names two things here (Redis would share one key space; SPEC §3 lets
//! a backend differ as long as callers use a name in one tier only).
//!
//! Expiry is lazy and bounded: reads treat expired entries as absent, and every write
//! drops the keys whose expiry has passed, oldest first, through an expiry index — no timer
//! and no full scan.

use super::metadata::{self, FieldFilter};
use super::{
    EventId, IndexEntry, IndexReadOptions, KvEntry, ListOptions, Order, ReadOptions, StoreAdapter,
};
use crate::callback::Callback;
use crate::error::{NventError, Result};
use crate::glob::Glob;
use crate::value::{now_ms, Json};
use async_trait::async_trait;
use serde_json::{Map, Value};
use std::cmp::Ordering;
// aHash: keys are caller-chosen, so the hasher must resist flooding; aHash does, at a
// fraction of SipHash's cost.
use ahash::AHashMap as HashMap;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering as AtomicOrdering};
use std::sync::{Arc, Mutex, MutexGuard};

type Clock = Arc<dyn Fn() -> u64 + Send + Sync>;

pub struct MemoryStoreAdapter {
    clock: Clock,
    closed: AtomicBool,
    next_sub: AtomicU64,
    streams: Mutex<Streams>,
    kv: Mutex<Kv>,
    indexes: Mutex<HashMap<String, Index>>,
    docs: Mutex<HashMap<String, BTreeMap<String, Doc>>>,
    claims: Mutex<HashMap<String, (String, u64)>>,
}

#[derive(Default)]
struct Streams {
    subjects: HashMap<String, Vec<Record>>,
    subscribers: HashMap<String, Vec<Subscriber>>,
    subject_of: HashMap<u64, String>,
}

/// A live `stream.subscribe`: its id and where records go.
type Subscriber = (u64, Arc<dyn Callback>);

struct Record {
    id: EventId,
    kind: String,
    json: Json,
}

#[derive(Default)]
struct Kv {
    entries: HashMap<String, (Json, Option<u64>)>,
    /// `(expires_at_ms, key)` for every entry with an expiry.
    expiry: BTreeSet<(u64, String)>,
}

#[derive(Default)]
struct Index {
    by_id: HashMap<String, (f64, Value)>,
    /// Ascending `(score, id)`; reads walk it backwards (score desc, id desc).
    order: BTreeSet<(Score, String)>,
}

struct Doc {
    json: Json,
    value: Value,
}

/// A score with a total order (`-0.0` is stored as `0.0`, as Redis does).
#[derive(Debug, Clone, Copy)]
struct Score(f64);

impl PartialEq for Score {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}
impl Eq for Score {}
impl PartialOrd for Score {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Score {
    fn cmp(&self, other: &Self) -> Ordering {
        self.0.total_cmp(&other.0)
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic while holding the lock was caught at the boundary; the data it guards is
    // still consistent (every mutation completes before anything can panic), so go on.
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn ttl_to_expiry(now: u64, ttl_seconds: Option<f64>) -> Result<Option<u64>> {
    match ttl_seconds {
        None => Ok(None),
        Some(0.0) => Ok(None),
        Some(t) if t.is_finite() && t > 0.0 => Ok(Some(now + (t * 1000.0).ceil() as u64)),
        Some(t) => Err(NventError::invalid_argument(format!(
            "ttl must be a positive number of seconds, got {t}"
        ))),
    }
}

impl Default for MemoryStoreAdapter {
    fn default() -> Self {
        Self::new()
    }
}

impl MemoryStoreAdapter {
    pub fn new() -> Self {
        Self::with_clock(Arc::new(now_ms))
    }

    /// A store whose notion of "now" (for TTLs and event timestamps) is `clock`; tests use
    /// it to move time without sleeping.
    pub fn with_clock(clock: Clock) -> Self {
        MemoryStoreAdapter {
            clock,
            closed: AtomicBool::new(false),
            next_sub: AtomicU64::new(1),
            streams: Mutex::default(),
            kv: Mutex::default(),
            indexes: Mutex::default(),
            docs: Mutex::default(),
            claims: Mutex::default(),
        }
    }

    fn now(&self) -> u64 {
        (self.clock)()
    }

    fn open(&self) -> Result<()> {
        if self.closed.load(AtomicOrdering::Acquire) {
            return Err(NventError::closed("the store"));
        }
        Ok(())
    }

    fn kv_live<'a>(kv: &'a Kv, key: &str, now: u64) -> Option<&'a (Json, Option<u64>)> {
        kv.entries
            .get(key)
            .filter(|(_, exp)| exp.is_none_or(|e| e > now))
    }
}

impl Kv {
    fn purge_expired(&mut self, now: u64) {
        while let Some((at, _)) = self.expiry.first() {
            if *at > now {
                break;
            }
            if let Some((_, key)) = self.expiry.pop_first() {
                self.entries.remove(&key);
            }
        }
    }

    fn put(&mut self, key: &str, value: Json, expires: Option<u64>) {
        if let Some((_, Some(old))) = self.entries.get(key) {
            self.expiry.remove(&(*old, key.to_string()));
        }
        if let Some(at) = expires {
            self.expiry.insert((at, key.to_string()));
        }
        self.entries.insert(key.to_string(), (value, expires));
    }

    fn remove(&mut self, key: &str) -> bool {
        match self.entries.remove(key) {
            Some((_, exp)) => {
                if let Some(at) = exp {
                    self.expiry.remove(&(at, key.to_string()));
                }
                true
            }
            None => false,
        }
    }
}

impl Index {
    fn remove(&mut self, id: &str) -> bool {
        match self.by_id.remove(id) {
            Some((score, _)) => {
                self.order.remove(&(Score(score), id.to_string()));
                true
            }
            None => false,
        }
    }
}

fn entry(id: &str, score: f64, metadata: &Value) -> IndexEntry {
    IndexEntry {
        id: id.to_string(),
        score,
        metadata: metadata.clone(),
    }
}

fn number_of(json: &Json) -> Option<f64> {
    match json.to_value() {
        Ok(Value::Number(n)) => n.as_f64(),
        _ => None,
    }
}

#[async_trait]
impl StoreAdapter for MemoryStoreAdapter {
    async fn stream_append(&self, subject: &str, event: Map<String, Value>) -> Result<Json> {
        self.open()?;
        let kind = match event.get("type") {
            Some(Value::String(t)) => t.clone(),
            _ => {
                return Err(NventError::invalid_argument(
                    "an event needs a string 'type'",
                ))
            }
        };
        let mut streams = lock(&self.streams);
        let records = streams.subjects.entry(subject.to_string()).or_default();
        let id = EventId::next(records.last().map(|r| r.id), self.now());
        let mut stored = Map::with_capacity(event.len() + 2);
        stored.insert("id".into(), Value::String(id.to_string()));
        stored.insert("ts".into(), Value::from(id.ms));
        stored.extend(event);
        let json = Json::from_value(&Value::Object(stored));
        records.push(Record {
            id,
            kind,
            json: json.clone(),
        });
        if let Some(subs) = streams.subscribers.get(subject) {
            // Called under the lock so that subscribers see appends in order; callbacks
            // only queue the record (see `Callback`).
            for (_, cb) in subs {
                cb.call(&json);
            }
        }
        Ok(json)
    }

    async fn stream_read(&self, subject: &str, opts: &ReadOptions) -> Result<Vec<Json>> {
        self.open()?;
        let streams = lock(&self.streams);
        let Some(records) = streams.subjects.get(subject) else {
            return Ok(Vec::new());
        };
        let mut lo = 0;
        let mut hi = records.len();
        if let Some(after) = opts.after {
            lo = lo.max(records.partition_point(|r| r.id <= after));
        }
        if let Some(from) = opts.from {
            let from = from.ceil();
            lo = lo.max(records.partition_point(|r| (r.id.ms as f64) < from));
        }
        if let Some(before) = opts.before {
            hi = hi.min(records.partition_point(|r| r.id < before));
        }
        if let Some(to) = opts.to {
            let to = to.floor();
            hi = hi.min(records.partition_point(|r| (r.id.ms as f64) <= to));
        }
        if lo >= hi {
            return Ok(Vec::new());
        }
        let window = &records[lo..hi];
        let limit = opts.limit.unwrap_or(usize::MAX);
        let wanted = |r: &&Record| {
            opts.types
                .as_ref()
                .is_none_or(|types| types.contains(&r.kind))
        };
        let out = match opts.order {
            Order::Asc => window
                .iter()
                .filter(wanted)
                .take(limit)
                .map(|r| r.json.clone())
                .collect(),
            Order::Desc => window
                .iter()
                .rev()
                .filter(wanted)
                .take(limit)
                .map(|r| r.json.clone())
                .collect(),
        };
        Ok(out)
    }

    async fn stream_subscribe(&self, subject: &str, handler: Arc<dyn Callback>) -> Result<u64> {
        self.open()?;
        let id = self.next_sub.fetch_add(1, AtomicOrdering::Relaxed);
        let mut streams = lock(&self.streams);
        streams
            .subscribers
            .entry(subject.to_string())
            .or_default()
            .push((id, handler));
        streams.subject_of.insert(id, subject.to_string());
        Ok(id)
    }

    async fn stream_unsubscribe(&self, id: u64) -> Result<bool> {
        let mut streams = lock(&self.streams);
        let Some(subject) = streams.subject_of.remove(&id) else {
            return Ok(false);
        };
        if let Some(subs) = streams.subscribers.get_mut(&subject) {
            subs.retain(|(sid, _)| *sid != id);
            if subs.is_empty() {
                streams.subscribers.remove(&subject);
            }
        }
        Ok(true)
    }

    async fn stream_delete(&self, subject: &str) -> Result<bool> {
        self.open()?;
        Ok(lock(&self.streams).subjects.remove(subject).is_some())
    }

    async fn stream_count(&self, subject: &str) -> Result<u64> {
        self.open()?;
        Ok(lock(&self.streams)
            .subjects
            .get(subject)
            .map_or(0, |r| r.len() as u64))
    }

    async fn kv_get(&self, key: &str) -> Result<Option<Json>> {
        self.open()?;
        let now = self.now();
        let kv = lock(&self.kv);
        Ok(Self::kv_live(&kv, key, now).map(|(v, _)| v.clone()))
    }

    async fn kv_set(&self, key: &str, value: Json, ttl_seconds: Option<f64>) -> Result<()> {
        self.open()?;
        let now = self.now();
        let expires = ttl_to_expiry(now, ttl_seconds)?;
        let mut kv = lock(&self.kv);
        kv.purge_expired(now);
        kv.put(key, value, expires);
        Ok(())
    }

    async fn kv_delete(&self, key: &str) -> Result<bool> {
        self.open()?;
        let now = self.now();
        let mut kv = lock(&self.kv);
        kv.purge_expired(now);
        Ok(kv.remove(key))
    }

    async fn kv_clear(&self, pattern: &str) -> Result<u64> {
        self.open()?;
        let glob = Glob::new(pattern)?;
        let now = self.now();
        let mut kv = lock(&self.kv);
        kv.purge_expired(now);
        if glob.is_literal() {
            return Ok(u64::from(kv.remove(pattern)));
        }
        let doomed: Vec<String> = kv
            .entries
            .keys()
            .filter(|k| glob.is_match(k))
            .cloned()
            .collect();
        for k in &doomed {
            kv.remove(k);
        }
        Ok(doomed.len() as u64)
    }

    async fn kv_increment(&self, key: &str, by: f64) -> Result<f64> {
        self.open()?;
        let now = self.now();
        let mut kv = lock(&self.kv);
        kv.purge_expired(now);
        let (old, expires) = match kv.entries.get(key) {
            None => (0.0, None),
            Some((v, exp)) => (
                number_of(v).ok_or_else(|| {
                    NventError::invalid_argument(format!(
                        "key '{key}' holds a value that is not a number"
                    ))
                })?,
                *exp,
            ),
        };
        let new = old + by;
        let value = metadata::number(new)?;
        // An increment keeps the key's expiry, as Redis INCRBYFLOAT does.
        kv.put(key, Json::from_value(&value), expires);
        Ok(new)
    }

    async fn kv_exists(&self, key: &str) -> Result<bool> {
        self.open()?;
        let now = self.now();
        Ok(Self::kv_live(&lock(&self.kv), key, now).is_some())
    }

    async fn kv_expire(&self, key: &str, ttl_seconds: f64) -> Result<bool> {
        self.open()?;
        let now = self.now();
        let expires = ttl_to_expiry(now, Some(ttl_seconds))?;
        let mut kv = lock(&self.kv);
        kv.purge_expired(now);
        let Some((value, _)) = kv.entries.get(key).cloned() else {
            return Ok(false);
        };
        kv.put(key, value, expires);
        Ok(true)
    }

    async fn kv_ttl(&self, key: &str) -> Result<Option<f64>> {
        self.open()?;
        let now = self.now();
        let kv = lock(&self.kv);
        Ok(Self::kv_live(&kv, key, now)
            .and_then(|(_, exp)| *exp)
            .map(|at| (at - now) as f64 / 1000.0))
    }

    async fn kv_mget(&self, keys: &[String]) -> Result<Vec<Option<Json>>> {
        self.open()?;
        let now = self.now();
        let kv = lock(&self.kv);
        Ok(keys
            .iter()
            .map(|k| Self::kv_live(&kv, k, now).map(|(v, _)| v.clone()))
            .collect())
    }

    async fn kv_mset(&self, entries: Vec<KvEntry>) -> Result<()> {
        self.open()?;
        let now = self.now();
        // Validate every ttl before the first write: all or nothing.
        let expiries = entries
            .iter()
            .map(|e| ttl_to_expiry(now, e.ttl_seconds))
            .collect::<Result<Vec<_>>>()?;
        let mut kv = lock(&self.kv);
        kv.purge_expired(now);
        for (e, exp) in entries.into_iter().zip(expiries) {
            kv.put(&e.key, e.value, exp);
        }
        Ok(())
    }

    async fn index_add(&self, key: &str, id: &str, score: f64, metadata: Value) -> Result<()> {
        self.open()?;
        let score = if score == 0.0 { 0.0 } else { score };
        let mut indexes = lock(&self.indexes);
        let index = indexes.entry(key.to_string()).or_default();
        index.remove(id);
        index.order.insert((Score(score), id.to_string()));
        index.by_id.insert(id.to_string(), (score, metadata));
        Ok(())
    }

    async fn index_get(&self, key: &str, id: &str) -> Result<Option<IndexEntry>> {
        self.open()?;
        let indexes = lock(&self.indexes);
        Ok(indexes
            .get(key)
            .and_then(|ix| ix.by_id.get(id))
            .map(|(score, meta)| entry(id, *score, meta)))
    }

    async fn index_read(&self, key: &str, opts: &IndexReadOptions) -> Result<Vec<IndexEntry>> {
        self.open()?;
        let indexes = lock(&self.indexes);
        let Some(index) = indexes.get(key) else {
            return Ok(Vec::new());
        };
        let out = index
            .order
            .iter()
            .rev()
            .filter_map(|(_, id)| {
                let (score, meta) = index.by_id.get(id)?;
                metadata::matches(meta, &opts.filter).then_some((id, *score, meta))
            })
            .skip(opts.offset)
            .take(opts.limit)
            .map(|(id, score, meta)| entry(id, score, meta))
            .collect();
        Ok(out)
    }

    async fn index_count(&self, key: &str, filter: &[FieldFilter]) -> Result<u64> {
        self.open()?;
        let indexes = lock(&self.indexes);
        let Some(index) = indexes.get(key) else {
            return Ok(0);
        };
        if filter.is_empty() {
            return Ok(index.by_id.len() as u64);
        }
        Ok(index
            .by_id
            .values()
            .filter(|(_, meta)| metadata::matches(meta, filter))
            .count() as u64)
    }

    async fn index_update(
        &self,
        key: &str,
        id: &str,
        partial: Map<String, Value>,
        expected_version: Option<u64>,
    ) -> Result<bool> {
        self.open()?;
        let mut indexes = lock(&self.indexes);
        let Some((_, meta)) = indexes.get_mut(key).and_then(|ix| ix.by_id.get_mut(id)) else {
            return Ok(false);
        };
        let version = metadata::version(meta);
        if expected_version.is_some_and(|v| v != version) {
            return Ok(false);
        }
        if let Value::Object(target) = meta {
            metadata::deep_merge(target, partial);
        }
        metadata::set_version(meta, version + 1);
        Ok(true)
    }

    async fn index_increment(&self, key: &str, id: &str, field: &[String], by: f64) -> Result<f64> {
        self.open()?;
        let mut indexes = lock(&self.indexes);
        let Some((_, meta)) = indexes.get_mut(key).and_then(|ix| ix.by_id.get_mut(id)) else {
            return Err(NventError::not_found(format!(
                "index entry '{id}' in '{key}'"
            )));
        };
        // Work on a copy so that a refused increment leaves the entry as it was.
        let mut next = meta.clone();
        let value = metadata::increment_path(&mut next, field, by, &field.join("."))?;
        let version = metadata::version(&next);
        metadata::set_version(&mut next, version + 1);
        *meta = next;
        Ok(value)
    }

    async fn index_delete(&self, key: &str, id: &str) -> Result<bool> {
        self.open()?;
        let mut indexes = lock(&self.indexes);
        let Some(index) = indexes.get_mut(key) else {
            return Ok(false);
        };
        let existed = index.remove(id);
        if index.by_id.is_empty() {
            indexes.remove(key);
        }
        Ok(existed)
    }

    async fn doc_save(&self, collection: &str, id: &str, doc: Json) -> Result<()> {
        self.open()?;
        let value = doc.to_value()?;
        lock(&self.docs)
            .entry(collection.to_string())
            .or_default()
            .insert(id.to_string(), Doc { json: doc, value });
        Ok(())
    }

    async fn doc_get(&self, collection: &str, id: &str) -> Result<Option<Json>> {
        self.open()?;
        Ok(lock(&self.docs)
            .get(collection)
            .and_then(|c| c.get(id))
            .map(|d| d.json.clone()))
    }

    async fn doc_list(&self, collection: &str, opts: &ListOptions) -> Result<Vec<(String, Json)>> {
        self.open()?;
        let docs = lock(&self.docs);
        let Some(coll) = docs.get(collection) else {
            return Ok(Vec::new());
        };
        let mut hits: Vec<(&String, &Doc)> = coll
            .iter()
            .filter(|(_, d)| metadata::matches(&d.value, &opts.filter))
            .collect();
        // Without sortBy the BTreeMap order holds: id ascending.
        if let Some(path) = &opts.sort_by {
            hits.sort_by(|a, b| {
                let va = metadata::get_path(&a.1.value, path);
                let vb = metadata::get_path(&b.1.value, path);
                compare_values(va, vb).then_with(|| a.0.cmp(b.0))
            });
        }
        if opts.order == Order::Desc {
            hits.reverse();
        }
        Ok(hits
            .into_iter()
            .skip(opts.offset)
            .take(opts.limit.unwrap_or(usize::MAX))
            .map(|(id, d)| (id.clone(), d.json.clone()))
            .collect())
    }

    async fn doc_delete(&self, collection: &str, id: &str) -> Result<bool> {
        self.open()?;
        let mut docs = lock(&self.docs);
        Ok(docs
            .get_mut(collection)
            .is_some_and(|c| c.remove(id).is_some()))
    }

    async fn claim_once(&self, key: &str, owner: &str, ttl_seconds: f64) -> Result<bool> {
        self.open()?;
        let now = self.now();
        let expires = ttl_to_expiry(now, Some(ttl_seconds))?.unwrap_or(u64::MAX);
        let mut claims = lock(&self.claims);
        if claims.get(key).is_some_and(|(_, exp)| *exp > now) {
            return Ok(false);
        }
        claims.insert(key.to_string(), (owner.to_string(), expires));
        Ok(true)
    }

    async fn claim_release(&self, key: &str, owner: &str) -> Result<bool> {
        self.open()?;
        let now = self.now();
        let mut claims = lock(&self.claims);
        if claims
            .get(key)
            .is_some_and(|(o, exp)| o == owner && *exp > now)
        {
            claims.remove(key);
            return Ok(true);
        }
        Ok(false)
    }

    async fn claim_extend(&self, key: &str, owner: &str, ttl_seconds: f64) -> Result<bool> {
        self.open()?;
        let now = self.now();
        let expires = ttl_to_expiry(now, Some(ttl_seconds))?.unwrap_or(u64::MAX);
        let mut claims = lock(&self.claims);
        match claims.get_mut(key) {
            Some((o, exp)) if o == owner && *exp > now => {
                *exp = expires;
                Ok(true)
            }
            _ => Ok(false),
        }
    }

    async fn close(&self) -> Result<()> {
        self.closed.store(true, AtomicOrdering::Release);
        let mut streams = lock(&self.streams);
        streams.subscribers.clear();
        streams.subject_of.clear();
        Ok(())
    }
}

/// Orders JSON values for `sortBy`: missing/null first, then numbers, strings, booleans,
/// then anything else by its JSON text.
pub(crate) fn compare_values(a: Option<&Value>, b: Option<&Value>) -> Ordering {
    fn rank(v: Option<&Value>) -> u8 {
        match v {
            None | Some(Value::Null) => 0,
            Some(Value::Number(_)) => 1,
            Some(Value::String(_)) => 2,
            Some(Value::Bool(_)) => 3,
            Some(_) => 4,
        }
    }
    match (a, b) {
        (Some(Value::Number(x)), Some(Value::Number(y))) => x
            .as_f64()
            .unwrap_or(0.0)
            .total_cmp(&y.as_f64().unwrap_or(0.0)),
        (Some(Value::String(x)), Some(Value::String(y))) => x.cmp(y),
        (Some(Value::Bool(x)), Some(Value::Bool(y))) => x.cmp(y),
        (Some(x), Some(y)) if rank(a) == rank(b) => x.to_string().cmp(&y.to_string()),
        _ => rank(a).cmp(&rank(b)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::value::Limits;
    use serde_json::json;
    use std::sync::atomic::AtomicU64;

    fn clocked() -> (MemoryStoreAdapter, Arc<AtomicU64>) {
        let t = Arc::new(AtomicU64::new(1_000_000));
        let tc = t.clone();
        (
            MemoryStoreAdapter::with_clock(Arc::new(move || tc.load(AtomicOrdering::SeqCst))),
            t,
        )
    }

    fn j(v: Value) -> Json {
        Json::from_text(v.to_string(), &Limits::default()).unwrap()
    }

    fn ev(kind: &str) -> Map<String, Value> {
        let Value::Object(m) = json!({ "type": kind }) else {
            unreachable!()
        };
        m
    }

    #[tokio::test]
    async fn ttl_expires_with_the_clock_and_set_without_ttl_clears_it() {
        let (s, t) = clocked();
        s.kv_set("a", j(json!(1)), Some(1.5)).await.unwrap();
        assert_eq!(s.kv_ttl("a").await.unwrap(), Some(1.5));
        t.fetch_add(1499, AtomicOrdering::SeqCst);
        assert!(s.kv_get("a").await.unwrap().is_some());
        t.fetch_add(1, AtomicOrdering::SeqCst);
        assert!(s.kv_get("a").await.unwrap().is_none());
        assert!(!s.kv_exists("a").await.unwrap());
        s.kv_set("b", j(json!(1)), Some(1.0)).await.unwrap();
        s.kv_set("b", j(json!(2)), None).await.unwrap();
        t.fetch_add(5000, AtomicOrdering::SeqCst);
        assert_eq!(s.kv_get("b").await.unwrap(), Some(j(json!(2))));
        assert_eq!(s.kv_ttl("b").await.unwrap(), None);
        // The expiry index dropped `a` on a later write.
        assert!(!lock(&s.kv).entries.contains_key("a"));
    }

    #[tokio::test]
    async fn ids_stay_increasing_when_the_clock_goes_back() {
        let (s, t) = clocked();
        let a = s.stream_append("s", ev("x")).await.unwrap();
        t.fetch_sub(500, AtomicOrdering::SeqCst);
        let b = s.stream_append("s", ev("x")).await.unwrap();
        let id = |r: &Json| EventId::parse(r.to_value().unwrap()["id"].as_str().unwrap()).unwrap();
        assert!(id(&b) > id(&a));
        assert_eq!(id(&b).seq, 1);
    }

    #[tokio::test]
    async fn index_orders_by_score_then_id_descending() {
        let s = MemoryStoreAdapter::new();
        for (id, score) in [("a", 1.0), ("b", 2.0), ("c", 1.0), ("d", -0.0)] {
            s.index_add("k", id, score, json!({ "version": 0 }))
                .await
                .unwrap();
        }
        let ids: Vec<String> = s
            .index_read("k", &IndexReadOptions::default())
            .await
            .unwrap()
            .into_iter()
            .map(|e| e.id)
            .collect();
        assert_eq!(ids, ["b", "c", "a", "d"]);
    }

    #[tokio::test]
    async fn refused_increment_changes_nothing() {
        let s = MemoryStoreAdapter::new();
        s.index_add("k", "a", 1.0, json!({ "t": "x", "version": 0 }))
            .await
            .unwrap();
        let err = s
            .index_increment("k", "a", &["t".into()], 1.0)
            .await
            .unwrap_err();
        assert_eq!(err.code(), "NVENT_INVALID_ARGUMENT");
        let e = s.index_get("k", "a").await.unwrap().unwrap();
        assert_eq!(e.metadata, json!({ "t": "x", "version": 0 }));
        let err = s
            .index_increment("k", "zz", &["n".into()], 1.0)
            .await
            .unwrap_err();
        assert_eq!(err.code(), "NVENT_NOT_FOUND");
        assert!(s.index_get("k", "zz").await.unwrap().is_none());
    }

    #[tokio::test]
    async fn claims_expire_and_belong_to_their_owner() {
        let (s, t) = clocked();
        assert!(s.claim_once("c", "me", 1.0).await.unwrap());
        assert!(!s.claim_once("c", "you", 1.0).await.unwrap());
        assert!(!s.claim_release("c", "you").await.unwrap());
        t.fetch_add(1000, AtomicOrdering::SeqCst);
        assert!(s.claim_once("c", "you", 1.0).await.unwrap());
        assert!(!s.claim_extend("c", "me", 5.0).await.unwrap());
        assert!(s.claim_release("c", "you").await.unwrap());
    }
}
