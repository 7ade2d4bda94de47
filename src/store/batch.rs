//! Batches: the per-value store calls (`kv.get`, `kv.set`, `stream.append`) that the JS
//! layer sends together when they are made in one JS turn (`js/batch.js`).
//!
//! Each call is validated like a single call and succeeds or fails on its own (a refused
//! call sends nothing). Batches take effect in the order the JS thread made them: each
//! takes a number on the calling thread, and a batch starts its backend call only after
//! the one before has **ordered** its calls — applied them (memory, file) or queued its
//! pipeline on the connection (Redis) — which the backend says by passing its
//! [`BatchTurn`]. "Its first poll returned" is not that moment: a file store's first call
//! waits for the data dir to open, and a batch resumed after that on a runtime thread
//! raced the later batches (appends of one turn got ids out of call order).

use super::facade::{check_ttl, Store};
use super::{BatchDone, BatchOp, EventBody, EventId};
use crate::error::{NventError, Result};
use serde_json::Value;
use std::collections::BTreeSet;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Mutex;
use tokio::sync::Notify;

/// Numbers batches in call order and lets them start in that order.
#[derive(Default)]
pub struct BatchOrder {
    issued: AtomicU64,
    /// The batch whose turn it is, and later batches that finished before their turn
    /// (refused whole): the turn skips them.
    state: Mutex<(u64, BTreeSet<u64>)>,
    notify: Notify,
}

impl BatchOrder {
    fn issue(&self) -> u64 {
        self.issued.fetch_add(1, Ordering::AcqRel)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, (u64, BTreeSet<u64>)> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    async fn wait(&self, seq: u64) {
        loop {
            let notified = self.notify.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            if self.lock().0 == seq {
                return;
            }
            notified.await;
        }
    }

    /// Batch `seq` started (or will never start): the next may.
    fn done(&self, seq: u64) {
        {
            let mut st = self.lock();
            if st.0 == seq {
                st.0 += 1;
                loop {
                    let next = st.0;
                    if !st.1.remove(&next) {
                        break;
                    }
                    st.0 += 1;
                }
            } else {
                st.1.insert(seq);
            }
        }
        self.notify.notify_waiters();
    }
}

/// A batch's place in line ([`super::StoreAdapter::batch`]). The backend calls
/// [`BatchTurn::pass`] once every call of its batch has taken effect or been queued in
/// order; the next batch starts only then. Dropping it passes too (an error, a cancelled
/// task), so a batch can never hold up the ones after it for good.
pub struct BatchTurn<'a> {
    order: &'a BatchOrder,
    seq: u64,
    passed: AtomicBool,
}

impl BatchTurn<'_> {
    /// The calls of this batch are ordered: later batches may start. Idempotent.
    pub fn pass(&self) {
        if !self.passed.swap(true, Ordering::AcqRel) {
            self.order.done(self.seq);
        }
    }
}

impl Drop for BatchTurn<'_> {
    fn drop(&mut self) {
        self.pass();
    }
}

impl BatchOrder {
    /// The next place in line (numbered now: call it on the thread that orders calls).
    pub fn turn(&self) -> BatchTurn<'_> {
        BatchTurn {
            seq: self.issue(),
            order: self,
            passed: AtomicBool::new(false),
        }
    }
}

impl Store {
    /// The per-value calls of one JS turn, sent together (see
    /// [`super::StoreAdapter::batch`]). `kinds` has one letter per call, each taking its
    /// arguments in order from `keys` (names joined by NUL, which no valid name holds),
    /// `values` (JSON texts joined by `\n`, which JSON text written without indentation
    /// never holds: one string crosses instead of one per call) and `ttls`: `g` kv get
    /// (key), `s` kv set (key, value, ttl; a negative ttl means none), `a` append (subject,
    /// event).
    ///
    /// Returns JSON text `{"v":[result, ...],"e":[[index, code, path, message], ...]}`:
    /// a get's value or `null`, `null` for a set or a failed call; for an append the new
    /// id as a string when the record is that id, its `ts` and the event exactly as sent
    /// (the caller builds it from what it sent: no record crosses back), else the record.
    ///
    /// # Errors
    /// `NVENT_INVALID_ARGUMENT` when the arguments do not match `kinds`.
    pub async fn batch(
        &self,
        kinds: &str,
        keys: &str,
        values: &str,
        ttls: Vec<f64>,
    ) -> Result<String> {
        // Numbered on the calling JS thread, before the first suspension.
        let turn = self.order.turn();
        // Validated and started on the calling thread, with no suspension before the backend
        // call: an open memory or file store applies the calls there, so a call the JS layer
        // makes after this batch (settle.js sends a gathered batch before any other native
        // call) sees its effects; Redis queues its pipeline in turn. The backend passes the
        // turn when its calls are ordered (see `BatchTurn`); passing again here is a no-op.
        let (ops, mut results, replies) = self.batch_ops(kinds, keys, values, ttls)?;
        self.order.wait(turn.seq).await;
        let done = self.backend().batch(ops, &turn).await;
        turn.pass();
        let mut done = done.into_iter();
        for r in results.iter_mut().filter(|r| r.is_none()) {
            *r = Some(
                done.next()
                    .unwrap_or_else(|| Err(NventError::internal("a batch result is missing"))),
            );
        }
        Ok(batch_text(results, &replies))
    }

    /// The calls of a batch: the ops to send, a result slot per call (filled for calls
    /// refused here), and per call how to answer it.
    #[allow(clippy::type_complexity)] // three parallel lists, named at the one caller
    fn batch_ops(
        &self,
        kinds: &str,
        keys: &str,
        values: &str,
        ttls: Vec<f64>,
    ) -> Result<(Vec<BatchOp>, Vec<Option<Result<BatchDone>>>, Vec<Reply>)> {
        let mismatch = || NventError::invalid_argument("batch arguments do not match their kinds");
        let mut keys = keys.split('\0');
        let mut values = values.split('\n');
        let mut values_used = 0;
        let mut ttls = ttls.into_iter();
        let mut results = Vec::with_capacity(kinds.len());
        let mut replies = Vec::with_capacity(kinds.len());
        let mut ops = Vec::with_capacity(kinds.len());
        for kind in kinds.bytes() {
            let key = keys.next().ok_or_else(mismatch)?;
            let mut reply = Reply::Value;
            let op = match kind {
                b'g' => self.name("key", key).map(|key| BatchOp::KvGet { key }),
                b's' => {
                    let value = values.next().ok_or_else(mismatch)?;
                    values_used += 1;
                    let ttl = ttls.next().ok_or_else(mismatch)?;
                    let ttl = (ttl >= 0.0).then_some(ttl);
                    (|| {
                        let key = self.name("key", key)?;
                        let value = self.json(value.to_string())?;
                        check_ttl(ttl)?;
                        Ok(BatchOp::KvSet { key, value, ttl })
                    })()
                }
                b'a' => {
                    let text = values.next().ok_or_else(mismatch)?;
                    values_used += 1;
                    (|| {
                        let subject = self.name("subject", key)?;
                        let event = self.event_body(text)?;
                        // Unchanged text: no caller `id`/`ts` was dropped, and the caller
                        // builds the record from what it sent.
                        reply = if event.json.as_str() == text {
                            Reply::Id
                        } else {
                            Reply::Record(event.clone())
                        };
                        Ok(BatchOp::Append { subject, event })
                    })()
                }
                _ => return Err(mismatch()),
            };
            replies.push(reply);
            match op {
                Ok(op) => {
                    ops.push(op);
                    results.push(None);
                }
                Err(e) => results.push(Some(Err(e))),
            }
        }
        // Left over: a name or value held its separator (the JS layer refuses NUL in
        // names, and JSON.stringify writes no raw newline), so the calls cannot be told
        // apart. With no call or no value, `keys` or `values` is the one empty text.
        let keys_left = keys
            .next()
            .is_some_and(|k| !kinds.is_empty() || !k.is_empty());
        let values_left = values
            .next()
            .is_some_and(|v| values_used > 0 || !v.is_empty());
        if keys_left || keys.next().is_some() || values_left || values.next().is_some() {
            return Err(mismatch());
        }
        if ttls.next().is_some() {
            return Err(mismatch());
        }
        Ok((ops, results, replies))
    }
}

/// How a call of a batch is answered.
enum Reply {
    /// Its value (a get; a set: `null`).
    Value,
    /// An append the caller builds the record of: its id alone.
    Id,
    /// An append whose event lost the caller's `id`/`ts`: the record.
    Record(EventBody),
}

/// The reply text of a batch (see [`Store::batch`]).
fn batch_text(results: Vec<Option<Result<BatchDone>>>, replies: &[Reply]) -> String {
    let mut out = String::from("{\"v\":[");
    let mut errors = Vec::new();
    let mut digits = itoa::Buffer::new();
    for (i, r) in results.into_iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        let reply = replies.get(i).unwrap_or(&Reply::Value);
        match r.unwrap_or(Ok(BatchDone::Value(None))) {
            Ok(BatchDone::Appended(id)) => match reply {
                Reply::Record(event) => out.push_str(event.record(id).as_str()),
                _ => {
                    out.push('"');
                    out.push_str(digits.format(id.ms));
                    out.push('-');
                    out.push_str(digits.format(id.seq));
                    out.push('"');
                }
            },
            Ok(BatchDone::Value(Some(v))) => match matches!(reply, Reply::Id)
                .then(|| record_id(v.as_str()))
                .flatten()
            {
                Some(id) => {
                    out.push('"');
                    out.push_str(id);
                    out.push('"');
                }
                None => out.push_str(v.as_str()),
            },
            Ok(BatchDone::Value(None)) => out.push_str("null"),
            Err(e) => {
                out.push_str("null");
                errors.push(serde_json::json!([
                    i,
                    e.code(),
                    e.path().unwrap_or(""),
                    e.to_string()
                ]));
            }
        }
    }
    out.push_str("],\"e\":");
    out.push_str(&Value::Array(errors).to_string());
    out.push('}');
    out
}

/// The id of a record text `{"id":"<ms>-<seq>","ts":...` as [`super::EventBody::record`]
/// writes it.
fn record_id(record: &str) -> Option<&str> {
    let rest = record.strip_prefix("{\"id\":\"")?;
    let end = rest.find('"')?;
    let id = &rest[..end];
    (EventId::parse(id).is_some() && rest[end..].starts_with("\",\"ts\":")).then_some(id)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[tokio::test]
    async fn arguments_that_do_not_line_up_with_the_kinds_are_refused_whole() {
        let store = Store::new(
            Arc::new(crate::store::memory::MemoryStoreAdapter::new()),
            crate::value::Limits::default(),
        );
        let batch =
            |kinds: &'static str, keys: &'static str, values: &'static str, ttls: Vec<f64>| {
                let store = store.clone();
                async move { store.batch(kinds, keys, values, ttls).await }
            };
        let ok = batch("sga", "k\0k\0s", "1\n{\"type\":\"t\"}", vec![-1.0])
            .await
            .unwrap();
        assert!(ok.starts_with(r#"{"v":[null,1,""#), "{ok}");
        assert!(batch("g", "k", "", vec![]).await.is_ok());
        assert!(batch("", "", "", vec![]).await.is_ok());
        for (kinds, keys, values, ttls) in [
            // A name holding the separator: one key too many.
            ("gg", "a\0b\0c", "", vec![]),
            ("g", "a\0b", "", vec![]),
            ("g", "k", "1", vec![]),
            ("s", "k", "1\n2", vec![-1.0]),
            ("s", "k", "1", vec![-1.0, -1.0]),
            ("s", "k", "1", vec![]),
            ("gg", "k", "", vec![]),
            ("x", "k", "", vec![]),
        ] {
            let r = batch(kinds, keys, values, ttls).await;
            assert_eq!(
                r.map_err(|e| e.code()),
                Err("NVENT_INVALID_ARGUMENT"),
                "{kinds} {keys:?} {values:?}"
            );
        }
        // Nothing refused whole was applied.
        assert_eq!(
            batch("g", "k", "", vec![]).await.unwrap(),
            r#"{"v":[1],"e":[]}"#
        );
    }

    #[test]
    fn record_ids_are_read_only_from_engine_records() {
        assert_eq!(record_id(r#"{"id":"5-1","ts":5,"type":"t"}"#), Some("5-1"));
        assert_eq!(record_id(r#"{"type":"t","id":"5-1","ts":5}"#), None);
        assert_eq!(record_id(r#"{"id":"x","ts":5}"#), None);
    }

    #[tokio::test]
    async fn batches_start_in_the_order_they_were_numbered() {
        let order = Arc::new(BatchOrder::default());
        let seqs: Vec<u64> = (0..20).map(|_| order.issue()).collect();
        let started = Arc::new(std::sync::Mutex::new(Vec::new()));
        let mut tasks = Vec::new();
        for seq in seqs.into_iter().rev() {
            let (order, started) = (order.clone(), started.clone());
            tasks.push(tokio::spawn(async move {
                let turn = BatchTurn {
                    order: &order,
                    seq,
                    passed: AtomicBool::new(false),
                };
                order.wait(seq).await;
                started.lock().unwrap().push(seq);
                if seq % 3 == 0 {
                    // Dropped without passing explicitly (an error path).
                    return;
                }
                turn.pass();
            }));
        }
        // A batch refused whole before its turn: dropped early, it must not block others.
        let early = order.issue();
        drop(BatchTurn {
            order: &order,
            seq: early,
            passed: AtomicBool::new(false),
        });
        for t in tasks {
            t.await.unwrap();
        }
        assert_eq!(*started.lock().unwrap(), (0..20).collect::<Vec<_>>());
        let next = order.issue();
        tokio::time::timeout(std::time::Duration::from_secs(5), order.wait(next))
            .await
            .expect("the turn skipped the batch dropped early");
    }
}
