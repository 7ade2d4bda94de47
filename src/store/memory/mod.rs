//! `MemoryStoreAdapter`: the store in process memory (SPEC §9 "memory"), and the state
//! engine of the file store.
//!
//! Every operation finishes without suspending (std mutexes, never held across an
//! `.await`), so the binding runs it on the JS thread. The tiers keep separate maps: a name
//! used in two tiers names two things here (Redis would share one key space; SPEC §3 lets
//! a backend differ as long as callers use a name in one tier only).
//!
//! Expiry is lazy and bounded: reads treat expired entries as absent, and every write
//! drops the keys whose expiry has passed, oldest first, through an expiry index — no timer
//! and no full scan.
//!
//! **Journal.** With a [`Journal`] attached (the file backend), every change is applied here
//! and its [`Change`] record submitted in the same critical section — the log order is the
//! apply order — and the call resolves when the journal acknowledges it. Once the journal
//! has failed, every call is refused with its `NVENT_IO` error, so an unlogged change can
//! never be read back. [`MemoryStoreAdapter::replay`] rebuilds the state from records.

mod adapter;
mod tiers;

use super::change::Change;
use crate::error::{NventError, Result};
use crate::journal::{Ack, Journal};
use crate::value::{now_ms, Json};
use ahash::AHashMap as HashMap;
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering as AtomicOrdering};
use std::sync::{Arc, Mutex};
/// Document sort order, shared with the Redis store's `list`.
pub(crate) use tiers::compare_values;
use tiers::{lock, Doc, Index, Kv, Record, Score, Streams};

type Clock = Arc<dyn Fn() -> u64 + Send + Sync>;

pub struct MemoryStoreAdapter {
    clock: Clock,
    closed: AtomicBool,
    next_sub: AtomicU64,
    journal: Option<Arc<dyn Journal>>,
    streams: Mutex<Streams>,
    kv: Mutex<Kv>,
    indexes: Mutex<HashMap<String, Index>>,
    docs: Mutex<HashMap<String, BTreeMap<String, Doc>>>,
    claims: Mutex<HashMap<String, (String, u64)>>,
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
            journal: None,
            streams: Mutex::default(),
            kv: Mutex::default(),
            indexes: Mutex::default(),
            docs: Mutex::default(),
            claims: Mutex::default(),
        }
    }

    /// Attaches the journal that makes changes durable (after [`Self::replay`]).
    pub fn with_journal(mut self, journal: Arc<dyn Journal>) -> Self {
        self.journal = Some(journal);
        self
    }

    fn now(&self) -> u64 {
        (self.clock)()
    }

    fn open(&self) -> Result<()> {
        if self.closed.load(AtomicOrdering::Acquire) {
            return Err(NventError::closed("the store"));
        }
        if let Some(e) = self.journal.as_ref().and_then(|j| j.failure()) {
            return Err(e);
        }
        Ok(())
    }

    /// Submits a change (call with the lock of the tier it changed held).
    fn log(&self, change: impl FnOnce() -> Change) -> Ack {
        self.log_encoded(|| change().encode())
    }

    /// [`Self::log`] for a change already encoded.
    fn log_encoded(&self, change: impl FnOnce() -> Vec<u8>) -> Ack {
        match &self.journal {
            None => Ack::Done,
            Some(j) => j.submit(change()),
        }
    }

    /// Compacts the journal when it asks for it: dumps the whole state under every tier
    /// lock (so no change slips between the dump and the new log) and hands it over.
    fn maybe_compact(&self) {
        let Some(j) = &self.journal else { return };
        if !j.wants_compaction() {
            return;
        }
        let streams = lock(&self.streams);
        let kv = lock(&self.kv);
        let indexes = lock(&self.indexes);
        let docs = lock(&self.docs);
        let claims = lock(&self.claims);
        let mut out = Vec::new();
        for (subject, records) in &streams.subjects {
            for r in records {
                out.push(
                    Change::StreamAppend {
                        subject: subject.clone(),
                        ms: r.id.ms,
                        seq: r.id.seq,
                        kind: r.kind.clone(),
                        record: r.json.as_str().to_string(),
                    }
                    .encode(),
                );
            }
        }
        let now = self.now();
        for (key, (value, expires)) in &kv.entries {
            if expires.is_none_or(|e| e > now) {
                out.push(
                    Change::KvPut {
                        key: key.clone(),
                        value: value.as_str().to_string(),
                        expires: *expires,
                    }
                    .encode(),
                );
            }
        }
        for (key, index) in indexes.iter() {
            for (id, (score, metadata)) in &index.by_id {
                out.push(
                    Change::IndexPut {
                        key: key.clone(),
                        id: id.clone(),
                        score: *score,
                        metadata: metadata.to_string(),
                    }
                    .encode(),
                );
            }
        }
        for (collection, coll) in docs.iter() {
            for (id, doc) in coll {
                out.push(
                    Change::DocPut {
                        collection: collection.clone(),
                        id: id.clone(),
                        doc: doc.json.as_str().to_string(),
                    }
                    .encode(),
                );
            }
        }
        for (key, (owner, expires)) in claims.iter() {
            if *expires > now {
                out.push(
                    Change::ClaimPut {
                        key: key.clone(),
                        owner: owner.clone(),
                        expires: *expires,
                    }
                    .encode(),
                );
            }
        }
        // The rotation settles in the background; its failure fails the journal.
        let _ = j.rotate(out);
    }

    /// Rebuilds state from journal records (before any call; subscribers are not told).
    ///
    /// # Errors
    /// `NVENT_CORRUPT` for a record that does not decode.
    pub fn replay(&self, records: &[Vec<u8>]) -> Result<()> {
        for (i, bytes) in records.iter().enumerate() {
            // A record that decodes but holds what no call could have stored (text that is
            // not JSON, a value too deep) is damage as well: a caller's code such as
            // NVENT_NOT_SERIALIZABLE would blame a call that nobody made.
            self.apply(Change::decode(bytes)?).map_err(|e| match e {
                NventError::Corrupt { .. } => e,
                other => NventError::Corrupt {
                    message: format!("store record {i} cannot be replayed: {other}"),
                },
            })?;
        }
        Ok(())
    }

    fn apply(&self, change: Change) -> Result<()> {
        let limits = crate::value::Limits {
            max_value_bytes: usize::MAX,
            max_depth: crate::value::MAX_DEPTH_LIMIT,
            max_name_bytes: usize::MAX,
        };
        match change {
            Change::KvPut {
                key,
                value,
                expires,
            } => {
                lock(&self.kv).put(&key, Json::trusted(value), expires);
            }
            Change::KvDel { keys } => {
                let mut kv = lock(&self.kv);
                for k in keys {
                    kv.remove(&k);
                }
            }
            Change::StreamAppend {
                subject,
                ms,
                seq,
                kind,
                record,
            } => {
                lock(&self.streams)
                    .subjects
                    .entry(subject)
                    .or_default()
                    .push(Record {
                        id: super::EventId { ms, seq },
                        kind,
                        json: Json::trusted(record),
                    });
            }
            Change::StreamDel { subject } => {
                lock(&self.streams).subjects.remove(&subject);
            }
            Change::IndexPut {
                key,
                id,
                score,
                metadata,
            } => {
                let metadata = crate::value::parse_value(&metadata, &limits)?;
                let mut indexes = lock(&self.indexes);
                let index = indexes.entry(key).or_default();
                index.remove(&id);
                index.order.insert((Score(score), id.clone()));
                index.by_id.insert(id, (score, metadata));
            }
            Change::IndexDel { key, id } => {
                let mut indexes = lock(&self.indexes);
                if let Some(index) = indexes.get_mut(&key) {
                    index.remove(&id);
                    if index.by_id.is_empty() {
                        indexes.remove(&key);
                    }
                }
            }
            Change::DocPut {
                collection,
                id,
                doc,
            } => {
                let value = crate::value::parse_value(&doc, &limits)?;
                lock(&self.docs).entry(collection).or_default().insert(
                    id,
                    Doc {
                        json: Json::trusted(doc),
                        value,
                    },
                );
            }
            Change::DocDel { collection, id } => {
                if let Some(c) = lock(&self.docs).get_mut(&collection) {
                    c.remove(&id);
                }
            }
            Change::ClaimPut {
                key,
                owner,
                expires,
            } => {
                lock(&self.claims).insert(key, (owner, expires));
            }
            Change::ClaimDel { key } => {
                lock(&self.claims).remove(&key);
            }
            Change::Batch(changes) => {
                for c in changes {
                    self.apply(c)?;
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{EventId, IndexReadOptions, StoreAdapter};
    use crate::value::Limits;
    use serde_json::json;
    use serde_json::Value;
    use std::sync::atomic::AtomicU64;

    fn clocked() -> (MemoryStoreAdapter, Arc<AtomicU64>) {
        let t = Arc::new(AtomicU64::new(1_000_000));
        let tc = t.clone();
        (
            MemoryStoreAdapter::with_clock(Arc::new(move || tc.load(AtomicOrdering::SeqCst))),
            t,
        )
    }

    /// Found by the `wal_open` fuzz target: a well-framed record holding metadata that is
    /// not JSON failed the open with NVENT_NOT_SERIALIZABLE, a caller's code.
    #[test]
    fn a_record_that_cannot_be_replayed_is_corrupt() {
        let bad = Change::IndexPut {
            key: "k".into(),
            id: "e".into(),
            score: 1.0,
            metadata: "{not json".into(),
        };
        let e = MemoryStoreAdapter::new()
            .replay(&[bad.encode()])
            .expect_err("refused");
        assert_eq!(e.code(), "NVENT_CORRUPT");
        assert!(e.to_string().contains("store record 0"), "{e}");
        let e = MemoryStoreAdapter::new()
            .replay(&[b"\xff\xff".to_vec()])
            .expect_err("refused");
        assert_eq!(e.code(), "NVENT_CORRUPT");
    }

    fn j(v: Value) -> Json {
        Json::from_text(v.to_string(), &Limits::default()).unwrap()
    }

    fn ev(kind: &str) -> crate::store::EventBody {
        crate::store::EventBody::parse(&json!({ "type": kind }).to_string(), &Limits::default())
            .unwrap()
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
