//! The `StoreAdapter` operations of [`MemoryStoreAdapter`]. Mutations log their
//! [`Change`] under the tier lock and wait for the journal's acknowledgement after
//! releasing it (see the module docs).

use super::tiers::{compare_values, entry, lock, number_of, ttl_to_expiry, Doc, Record, Score};
use super::MemoryStoreAdapter;
use crate::callback::Callback;
use crate::error::{NventError, Result};
use crate::glob::Glob;
use crate::journal::{Ack, Records};
use crate::store::batch::BatchTurn;
use crate::store::change::{Change, StreamAppendRef};
use crate::store::metadata::{self, FieldFilter};
use crate::store::{
    BatchDone, BatchOp, EventBody, EventId, IndexEntry, IndexReadOptions, KvEntry, ListOptions,
    Order, ReadOptions, StoreAdapter,
};
use crate::value::Json;
use async_trait::async_trait;
use serde_json::{Map, Value};
use std::sync::atomic::Ordering as AtomicOrdering;
use std::sync::Arc;

impl MemoryStoreAdapter {
    /// Appends under the streams lock and tells the subject's subscribers (under the lock,
    /// so that they see appends in order; callbacks only queue the record). With `log`,
    /// the change record goes there (before `event.kind` moves into the stored record).
    fn append_locked(
        &self,
        streams: &mut super::tiers::Streams,
        subject: &str,
        event: EventBody,
        now: u64,
        log: Option<&mut Records>,
    ) -> (EventId, Json) {
        let records = match streams.subjects.get_mut(subject) {
            Some(r) => r,
            None => streams.subjects.entry(subject.to_string()).or_default(),
        };
        let id = EventId::next(records.last().map(|r| r.id), now);
        let json = event.record(id);
        if let Some(log) = log {
            let change = StreamAppendRef {
                subject,
                ms: id.ms,
                seq: id.seq,
                kind: &event.kind,
                record: json.as_str(),
            };
            log.push_with(|out| change.encode_into(out));
        }
        records.push(Record {
            id,
            kind: event.kind,
            json: json.clone(),
        });
        if let Some(subs) = streams.subscribers.get(subject) {
            for (_, cb) in subs {
                cb.call(&json);
            }
        }
        (id, json)
    }

    /// Submits the change records of appends (none without a journal).
    fn log_appends(&self, changes: Option<Records>) -> Ack {
        match (&self.journal, changes) {
            (Some(j), Some(c)) => j.submit_many(c),
            _ => Ack::Done,
        }
    }

    /// Appends a run of events under one lock and one clock reading (they happen together;
    /// ids stay strictly increasing), with one journal submission: the records and the
    /// acknowledgement to wait for.
    fn append_run(&self, run: Vec<(String, EventBody)>) -> Result<(Vec<Json>, Ack)> {
        self.open()?;
        let mut streams = lock(&self.streams);
        let mut changes = self.journal.is_some().then(Records::default);
        let now = self.now();
        let records: Vec<Json> = run
            .into_iter()
            .map(|(subject, event)| {
                self.append_locked(&mut streams, &subject, event, now, changes.as_mut())
                    .1
            })
            .collect();
        Ok((records, self.log_appends(changes)))
    }

    /// Sets a key in memory and submits its change: the acknowledgement to wait for.
    fn kv_set_now(&self, key: &str, value: Json, ttl_seconds: Option<f64>) -> Result<Ack> {
        self.open()?;
        let now = self.now();
        let expires = ttl_to_expiry(now, ttl_seconds)?;
        let mut kv = lock(&self.kv);
        kv.purge_expired(now);
        let ack = self.log(|| Change::KvPut {
            key: key.to_string(),
            value: value.as_str().to_string(),
            expires,
        });
        kv.put(key, value, expires);
        Ok(ack)
    }

    /// Waits for a change's acknowledgement, then offers the journal a compaction.
    async fn settle(&self, ack: Ack) -> Result<()> {
        ack.wait().await?;
        self.maybe_compact();
        Ok(())
    }
}

#[async_trait]
impl StoreAdapter for MemoryStoreAdapter {
    async fn stream_append(&self, subject: &str, event: EventBody) -> Result<Json> {
        self.open()?;
        let (json, ack) = {
            let mut streams = lock(&self.streams);
            let mut changes = self.journal.is_some().then(Records::default);
            let (_, json) =
                self.append_locked(&mut streams, subject, event, self.now(), changes.as_mut());
            (json, self.log_appends(changes))
        };
        self.settle(ack).await?;
        Ok(json)
    }

    /// Applies every op before its first suspension, in order (runs of appends under one
    /// lock with one journal submission), passes the turn, and only then waits for the
    /// journal's acknowledgements: a later batch can never take effect between two ops of
    /// this one (a batch that waited for an ack mid-way let the next one in).
    async fn batch(&self, ops: Vec<BatchOp>, turn: &BatchTurn<'_>) -> Vec<Result<BatchDone>> {
        // Per op its result, and per group of ops the acknowledgement they wait for.
        let mut out: Vec<Result<BatchDone>> = Vec::with_capacity(ops.len());
        let mut acks: Vec<(std::ops::Range<usize>, Ack)> = Vec::new();
        let mut ops = ops.into_iter().peekable();
        while let Some(op) = ops.next() {
            let from = out.len();
            match op {
                BatchOp::Append { subject, event } => {
                    let mut run = vec![(subject, event)];
                    while let Some(BatchOp::Append { .. }) = ops.peek() {
                        if let Some(BatchOp::Append { subject, event }) = ops.next() {
                            run.push((subject, event));
                        }
                    }
                    let n = run.len();
                    match self.append_run(run) {
                        Ok((records, ack)) => {
                            out.extend(records.into_iter().map(|r| Ok(BatchDone::Value(Some(r)))));
                            acks.push((from..out.len(), ack));
                        }
                        Err(e) => out.extend((0..n).map(|_| Err(e.clone()))),
                    }
                }
                BatchOp::KvGet { key } => out.push(self.kv_get(&key).await.map(BatchDone::Value)),
                BatchOp::KvSet { key, value, ttl } => match self.kv_set_now(&key, value, ttl) {
                    Ok(ack) => {
                        out.push(Ok(BatchDone::Value(None)));
                        acks.push((from..from + 1, ack));
                    }
                    Err(e) => out.push(Err(e)),
                },
            }
        }
        turn.pass();
        for (ops, ack) in acks {
            if let Err(e) = self.settle(ack).await {
                for r in &mut out[ops] {
                    *r = Err(e.clone());
                }
            }
        }
        out
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
        let (existed, ack) = {
            let mut streams = lock(&self.streams);
            let existed = streams.subjects.remove(subject).is_some();
            let ack = if existed {
                self.log(|| Change::StreamDel {
                    subject: subject.to_string(),
                })
            } else {
                Ack::Done
            };
            (existed, ack)
        };
        self.settle(ack).await?;
        Ok(existed)
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
        Ok(kv.live(key, now).map(|(v, _)| v.clone()))
    }

    async fn kv_set(&self, key: &str, value: Json, ttl_seconds: Option<f64>) -> Result<()> {
        let ack = self.kv_set_now(key, value, ttl_seconds)?;
        self.settle(ack).await
    }

    async fn kv_delete(&self, key: &str) -> Result<bool> {
        self.open()?;
        let now = self.now();
        let (existed, ack) = {
            let mut kv = lock(&self.kv);
            kv.purge_expired(now);
            let existed = kv.remove(key);
            let ack = if existed {
                self.log(|| Change::KvDel {
                    keys: vec![key.to_string()],
                })
            } else {
                Ack::Done
            };
            (existed, ack)
        };
        self.settle(ack).await?;
        Ok(existed)
    }

    async fn kv_clear(&self, pattern: &str) -> Result<u64> {
        self.open()?;
        let glob = Glob::new(pattern)?;
        let now = self.now();
        let (count, ack) = {
            let mut kv = lock(&self.kv);
            kv.purge_expired(now);
            let doomed: Vec<String> = if glob.is_literal() {
                kv.entries
                    .contains_key(pattern)
                    .then(|| pattern.to_string())
                    .into_iter()
                    .collect()
            } else {
                kv.entries
                    .keys()
                    .filter(|k| glob.is_match(k))
                    .cloned()
                    .collect()
            };
            for k in &doomed {
                kv.remove(k);
            }
            let count = doomed.len() as u64;
            let ack = if doomed.is_empty() {
                Ack::Done
            } else {
                self.log(|| Change::KvDel { keys: doomed })
            };
            (count, ack)
        };
        self.settle(ack).await?;
        Ok(count)
    }

    async fn kv_increment(&self, key: &str, by: f64) -> Result<f64> {
        self.open()?;
        let now = self.now();
        let (new, ack) = {
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
            let value = Json::from_value(&metadata::number(new)?);
            // An increment keeps the key's expiry, as Redis INCRBYFLOAT does.
            let ack = self.log(|| Change::KvPut {
                key: key.to_string(),
                value: value.as_str().to_string(),
                expires,
            });
            kv.put(key, value, expires);
            (new, ack)
        };
        self.settle(ack).await?;
        Ok(new)
    }

    async fn kv_exists(&self, key: &str) -> Result<bool> {
        self.open()?;
        let now = self.now();
        Ok(lock(&self.kv).live(key, now).is_some())
    }

    async fn kv_expire(&self, key: &str, ttl_seconds: f64) -> Result<bool> {
        self.open()?;
        let now = self.now();
        let expires = ttl_to_expiry(now, Some(ttl_seconds))?;
        let ack = {
            let mut kv = lock(&self.kv);
            kv.purge_expired(now);
            let Some((value, _)) = kv.entries.get(key).cloned() else {
                return Ok(false);
            };
            let ack = self.log(|| Change::KvPut {
                key: key.to_string(),
                value: value.as_str().to_string(),
                expires,
            });
            kv.put(key, value, expires);
            ack
        };
        self.settle(ack).await?;
        Ok(true)
    }

    async fn kv_ttl(&self, key: &str) -> Result<Option<f64>> {
        self.open()?;
        let now = self.now();
        let kv = lock(&self.kv);
        Ok(kv
            .live(key, now)
            .and_then(|(_, exp)| *exp)
            .map(|at| (at - now) as f64 / 1000.0))
    }

    async fn kv_mget(&self, keys: &[String]) -> Result<Vec<Option<Json>>> {
        self.open()?;
        let now = self.now();
        let kv = lock(&self.kv);
        Ok(keys
            .iter()
            .map(|k| kv.live(k, now).map(|(v, _)| v.clone()))
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
        let ack = {
            let mut kv = lock(&self.kv);
            kv.purge_expired(now);
            let ack = self.log(|| {
                Change::Batch(
                    entries
                        .iter()
                        .zip(&expiries)
                        .map(|(e, exp)| Change::KvPut {
                            key: e.key.clone(),
                            value: e.value.as_str().to_string(),
                            expires: *exp,
                        })
                        .collect(),
                )
            });
            for (e, exp) in entries.into_iter().zip(expiries) {
                kv.put(&e.key, e.value, exp);
            }
            ack
        };
        self.settle(ack).await
    }

    async fn index_add(&self, key: &str, id: &str, score: f64, metadata: Value) -> Result<()> {
        self.open()?;
        let score = if score == 0.0 { 0.0 } else { score };
        let ack = {
            let mut indexes = lock(&self.indexes);
            let index = indexes.entry(key.to_string()).or_default();
            let ack = self.log(|| Change::IndexPut {
                key: key.to_string(),
                id: id.to_string(),
                score,
                metadata: metadata.to_string(),
            });
            index.remove(id);
            index.order.insert((Score(score), id.to_string()));
            index.by_id.insert(id.to_string(), (score, metadata));
            ack
        };
        self.settle(ack).await
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
        Ok(index
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
            .collect())
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
        let ack = {
            let mut indexes = lock(&self.indexes);
            let Some((score, meta)) = indexes.get_mut(key).and_then(|ix| ix.by_id.get_mut(id))
            else {
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
            self.log(|| Change::IndexPut {
                key: key.to_string(),
                id: id.to_string(),
                score: *score,
                metadata: meta.to_string(),
            })
        };
        self.settle(ack).await?;
        Ok(true)
    }

    async fn index_increment(&self, key: &str, id: &str, field: &[String], by: f64) -> Result<f64> {
        self.open()?;
        let (value, ack) = {
            let mut indexes = lock(&self.indexes);
            let Some((score, meta)) = indexes.get_mut(key).and_then(|ix| ix.by_id.get_mut(id))
            else {
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
            let ack = self.log(|| Change::IndexPut {
                key: key.to_string(),
                id: id.to_string(),
                score: *score,
                metadata: meta.to_string(),
            });
            (value, ack)
        };
        self.settle(ack).await?;
        Ok(value)
    }

    async fn index_delete(&self, key: &str, id: &str) -> Result<bool> {
        self.open()?;
        let (existed, ack) = {
            let mut indexes = lock(&self.indexes);
            let Some(index) = indexes.get_mut(key) else {
                return Ok(false);
            };
            let existed = index.remove(id);
            if index.by_id.is_empty() {
                indexes.remove(key);
            }
            let ack = if existed {
                self.log(|| Change::IndexDel {
                    key: key.to_string(),
                    id: id.to_string(),
                })
            } else {
                Ack::Done
            };
            (existed, ack)
        };
        self.settle(ack).await?;
        Ok(existed)
    }

    async fn doc_save(&self, collection: &str, id: &str, doc: Json) -> Result<()> {
        self.open()?;
        let value = doc.to_value()?;
        let ack = {
            let mut docs = lock(&self.docs);
            let ack = self.log(|| Change::DocPut {
                collection: collection.to_string(),
                id: id.to_string(),
                doc: doc.as_str().to_string(),
            });
            docs.entry(collection.to_string())
                .or_default()
                .insert(id.to_string(), Doc { json: doc, value });
            ack
        };
        self.settle(ack).await
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
        let (existed, ack) = {
            let mut docs = lock(&self.docs);
            let existed = docs
                .get_mut(collection)
                .is_some_and(|c| c.remove(id).is_some());
            let ack = if existed {
                self.log(|| Change::DocDel {
                    collection: collection.to_string(),
                    id: id.to_string(),
                })
            } else {
                Ack::Done
            };
            (existed, ack)
        };
        self.settle(ack).await?;
        Ok(existed)
    }

    async fn claim_once(&self, key: &str, owner: &str, ttl_seconds: f64) -> Result<bool> {
        self.open()?;
        let now = self.now();
        let expires = ttl_to_expiry(now, Some(ttl_seconds))?.unwrap_or(u64::MAX);
        let ack = {
            let mut claims = lock(&self.claims);
            if claims.get(key).is_some_and(|(_, exp)| *exp > now) {
                return Ok(false);
            }
            let ack = self.log(|| Change::ClaimPut {
                key: key.to_string(),
                owner: owner.to_string(),
                expires,
            });
            claims.insert(key.to_string(), (owner.to_string(), expires));
            ack
        };
        self.settle(ack).await?;
        Ok(true)
    }

    async fn claim_release(&self, key: &str, owner: &str) -> Result<bool> {
        self.open()?;
        let now = self.now();
        let ack = {
            let mut claims = lock(&self.claims);
            if !claims
                .get(key)
                .is_some_and(|(o, exp)| o == owner && *exp > now)
            {
                return Ok(false);
            }
            claims.remove(key);
            self.log(|| Change::ClaimDel {
                key: key.to_string(),
            })
        };
        self.settle(ack).await?;
        Ok(true)
    }

    async fn claim_extend(&self, key: &str, owner: &str, ttl_seconds: f64) -> Result<bool> {
        self.open()?;
        let now = self.now();
        let expires = ttl_to_expiry(now, Some(ttl_seconds))?.unwrap_or(u64::MAX);
        let ack = {
            let mut claims = lock(&self.claims);
            match claims.get_mut(key) {
                Some((o, exp)) if o == owner && *exp > now => *exp = expires,
                _ => return Ok(false),
            }
            self.log(|| Change::ClaimPut {
                key: key.to_string(),
                owner: owner.to_string(),
                expires,
            })
        };
        self.settle(ack).await?;
        Ok(true)
    }

    async fn close(&self) -> Result<()> {
        self.closed.store(true, AtomicOrdering::Release);
        let mut streams = lock(&self.streams);
        streams.subscribers.clear();
        streams.subject_of.clear();
        Ok(())
    }
}
