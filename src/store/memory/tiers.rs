//! The data structures of the in-memory store, shared by the memory and file backends.

use super::super::{EventId, IndexEntry};
use crate::callback::Callback;
use crate::error::Result;
use crate::options::{seconds_ms, Zero};
use crate::value::Json;
// aHash: keys are caller-chosen, so the hasher must resist flooding; aHash does, at a
// fraction of SipHash's cost.
use ahash::AHashMap as HashMap;
use serde_json::Value;
use std::cmp::Ordering;
use std::collections::BTreeSet;
use std::sync::{Arc, Mutex, MutexGuard};

#[derive(Default)]
pub(super) struct Streams {
    pub(super) subjects: HashMap<String, Vec<Record>>,
    pub(super) subscribers: HashMap<String, Vec<Subscriber>>,
    pub(super) subject_of: HashMap<u64, String>,
}

/// A live `stream.subscribe`: its id and where records go.
pub(super) type Subscriber = (u64, Arc<dyn Callback>);

pub(super) struct Record {
    pub(super) id: EventId,
    pub(super) kind: String,
    pub(super) json: Json,
}

#[derive(Default)]
pub(super) struct Kv {
    pub(super) entries: HashMap<String, (Json, Option<u64>)>,
    /// `(expires_at_ms, key)` for every entry with an expiry.
    pub(super) expiry: BTreeSet<(u64, String)>,
}

#[derive(Default)]
pub(super) struct Index {
    pub(super) by_id: HashMap<String, (f64, Value)>,
    /// Ascending `(score, id)`; reads walk it backwards (score desc, id desc).
    pub(super) order: BTreeSet<(Score, String)>,
}

pub(super) struct Doc {
    pub(super) json: Json,
    pub(super) value: Value,
}

/// A score with a total order (`-0.0` is stored as `0.0`, as Redis does).
#[derive(Debug, Clone, Copy)]
pub(super) struct Score(pub(super) f64);

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

pub(super) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic while holding the lock was caught at the boundary; the data it guards is
    // still consistent (every mutation completes before anything can panic), so go on.
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// The absolute expiry of a ttl in seconds given now; `None` for no expiry (absent or 0).
pub(super) fn ttl_to_expiry(now: u64, ttl_seconds: Option<f64>) -> Result<Option<u64>> {
    match ttl_seconds {
        None => Ok(None),
        Some(t) => match seconds_ms("ttl", t, Zero::Allowed)? {
            0 => Ok(None),
            // Bounded by `seconds_ms`; saturating all the same, so no clock can wrap an
            // expiry into the past.
            ms => Ok(Some(now.saturating_add(ms))),
        },
    }
}

impl Kv {
    /// The entry at `key` unless it has expired.
    pub(super) fn live(&self, key: &str, now: u64) -> Option<&(Json, Option<u64>)> {
        self.entries
            .get(key)
            .filter(|(_, exp)| exp.is_none_or(|e| e > now))
    }

    pub(super) fn purge_expired(&mut self, now: u64) {
        while let Some((at, _)) = self.expiry.first() {
            if *at > now {
                break;
            }
            if let Some((_, key)) = self.expiry.pop_first() {
                self.entries.remove(&key);
            }
        }
    }

    pub(super) fn put(&mut self, key: &str, value: Json, expires: Option<u64>) {
        if let Some((_, Some(old))) = self.entries.get(key) {
            self.expiry.remove(&(*old, key.to_string()));
        }
        if let Some(at) = expires {
            self.expiry.insert((at, key.to_string()));
        }
        self.entries.insert(key.to_string(), (value, expires));
    }

    pub(super) fn remove(&mut self, key: &str) -> bool {
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
    pub(super) fn remove(&mut self, id: &str) -> bool {
        match self.by_id.remove(id) {
            Some((score, _)) => {
                self.order.remove(&(Score(score), id.to_string()));
                true
            }
            None => false,
        }
    }
}

pub(super) fn entry(id: &str, score: f64, metadata: &Value) -> IndexEntry {
    IndexEntry {
        id: id.to_string(),
        score,
        metadata: metadata.clone(),
    }
}

pub(super) fn number_of(json: &Json) -> Option<f64> {
    match json.to_value() {
        Ok(Value::Number(n)) => n.as_f64(),
        _ => None,
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
