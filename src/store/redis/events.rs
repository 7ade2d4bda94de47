//! The event-stream tier: one Redis stream per subject (seed 003). Each event field is a
//! stream field with its JSON-encoded value; `id` is the stream entry id and `ts` its
//! milliseconds (a `ts` field written by the TypeScript adapter wins).

use super::codec::{is_json, leaf};
use super::RedisStoreAdapter;
use crate::error::{NventError, Result};
use crate::redis::resp::CommandWriter;
use crate::store::{EventBody, EventId, Order, ReadOptions};
use crate::value::Json;
use serde_json::Value;

/// Entries fetched per round trip while a `types` filter skips some.
const BATCH: usize = 512;

type Entry = (String, Vec<(String, String)>);

impl RedisStoreAdapter {
    /// Writes the `XADD` of one event (seed 003): one stream field per event field, its
    /// value the field's JSON text as the caller's JSON gave it.
    pub(super) fn write_xadd(&self, w: &mut dyn CommandWriter, subject: &str, event: &EventBody) {
        let trim = match (self.opts.max_len, self.opts.approx) {
            (0, _) => 0,
            (_, true) => 3,
            (_, false) => 2,
        };
        w.begin(3 + trim + 2 * event.fields().len(), "XADD");
        w.arg(subject.as_bytes());
        if trim > 0 {
            w.arg(b"MAXLEN");
            if self.opts.approx {
                w.arg(b"~");
            }
            w.arg(itoa::Buffer::new().format(self.opts.max_len).as_bytes());
        }
        w.arg(b"*");
        for (k, v) in event.fields() {
            w.arg(k.as_bytes());
            w.arg(v.as_bytes());
        }
    }

    /// A bare `XADD` (no script, no announcement: subscribers read the stream itself).
    pub(super) async fn append(&self, subject: &str, event: EventBody) -> Result<Json> {
        let mut cmd = redis::Cmd::new();
        self.write_xadd(&mut cmd, subject, &event);
        let reply: redis::Value = self.redis.query(&cmd).await?;
        Ok(event.record(appended_id(&reply)?))
    }

    pub(super) async fn read(&self, subject: &str, opts: &ReadOptions) -> Result<Vec<Json>> {
        let Some((lo, hi)) = bounds(opts) else {
            return Ok(Vec::new());
        };
        let desc = opts.order == Order::Desc;
        let (mut start, end) = if desc { (hi, lo) } else { (lo, hi) };
        let limit = opts.limit.unwrap_or(usize::MAX);
        let mut out = Vec::new();
        if limit == 0 {
            return Ok(out);
        }
        loop {
            let want = if opts.types.is_some() {
                BATCH
            } else {
                limit.clamp(1, 100_000)
            };
            let count = if opts.types.is_none() && opts.limit.is_none() {
                None
            } else {
                Some(want)
            };
            let mut cmd = redis::cmd(if desc { "XREVRANGE" } else { "XRANGE" });
            cmd.arg(subject).arg(&start).arg(&end);
            if let Some(c) = count {
                cmd.arg("COUNT").arg(c);
            }
            let batch: Vec<Entry> = self.redis.query(&cmd).await?;
            let n = batch.len();
            let last = batch.last().map(|(id, _)| id.clone());
            for (id, fields) in batch {
                if let Some(types) = &opts.types {
                    let t = fields
                        .iter()
                        .find(|(k, _)| k == "type")
                        .map(|(_, v)| leaf(v));
                    let ok = matches!(&t, Some(Value::String(s)) if types.iter().any(|x| x == s));
                    if !ok {
                        continue;
                    }
                }
                out.push(record(&id, fields));
                if out.len() >= limit {
                    return Ok(out);
                }
            }
            match (count, last) {
                // The next batch starts after the last entry, in either direction.
                (Some(c), Some(last)) if n >= c => start = format!("({last}"),
                _ => return Ok(out),
            }
        }
    }
}

/// The id an `XADD` answered with.
pub(super) fn appended_id(reply: &redis::Value) -> Result<EventId> {
    let id = match reply {
        redis::Value::BulkString(b) => std::str::from_utf8(b).ok(),
        redis::Value::SimpleString(s) => Some(s.as_str()),
        _ => None,
    };
    id.and_then(EventId::parse)
        .ok_or_else(|| NventError::internal(format!("XADD answered {reply:?}")))
}

/// The record text `{ id, ts, ...fields }` of one entry.
pub(super) fn record(id: &str, fields: Vec<(String, String)>) -> Json {
    let ms = id.split('-').next().unwrap_or("0");
    let mut ts: Option<String> = None;
    let mut rest = String::new();
    for (k, v) in fields {
        if k == "id" {
            continue;
        }
        let text = if is_json(&v) {
            v
        } else {
            Value::String(v).to_string()
        };
        if k == "ts" {
            ts = Some(text);
            continue;
        }
        rest.push(',');
        rest.push_str(&Value::String(k).to_string());
        rest.push(':');
        rest.push_str(&text);
    }
    Json::trusted(format!(
        "{{\"id\":\"{id}\",\"ts\":{}{rest}}}",
        ts.as_deref().unwrap_or(ms)
    ))
}

/// XRANGE bounds `(low, high)` from exclusive ids and inclusive ms; `None` when empty.
fn bounds(opts: &ReadOptions) -> Option<(String, String)> {
    let mut lo = "-".to_string();
    let mut lo_id = EventId { ms: 0, seq: 0 };
    if let Some(from) = opts.from {
        if from > 0.0 {
            let ms = from.ceil();
            if ms >= u64::MAX as f64 {
                return None;
            }
            lo_id = EventId {
                ms: ms as u64,
                seq: 0,
            };
            lo = lo_id.to_string();
        }
    }
    if let Some(a) = opts.after {
        if a >= lo_id {
            if a.ms == u64::MAX && a.seq == u64::MAX {
                return None;
            }
            lo = format!("({a}");
        }
    }
    let mut hi = "+".to_string();
    let mut hi_id = EventId {
        ms: u64::MAX,
        seq: u64::MAX,
    };
    if let Some(to) = opts.to {
        if to < 0.0 {
            return None;
        }
        if to < u64::MAX as f64 {
            hi_id = EventId {
                ms: to.floor() as u64,
                seq: u64::MAX,
            };
            hi = hi_id.to_string();
        }
    }
    if let Some(b) = opts.before {
        if b <= hi_id {
            if b.ms == 0 && b.seq == 0 {
                return None;
            }
            hi = format!("({b}");
        }
    }
    Some((lo, hi))
}
