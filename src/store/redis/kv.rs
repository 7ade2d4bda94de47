//! The kv tier (plain keys with expiry), kv.clear and document lists.

use super::codec::{json_text, leaf};
use super::RedisStoreAdapter;
use crate::error::{NventError, Result};
use crate::redis::resp::CommandWriter;
use crate::redis::{keys, scripts};
use crate::store::{KvEntry, ListOptions, Order};
use crate::value::Json;
use serde_json::Value;

/// Keys asked for per SCAN step and deleted per script call: bounds the time one call
/// blocks the server.
const CLEAR_BATCH: usize = 500;

/// A ttl in seconds as Redis milliseconds: rounded up, at least 1.
pub(super) fn ttl_ms(ttl_seconds: f64) -> u64 {
    ((ttl_seconds * 1000.0).ceil() as u64).max(1)
}

/// Writes `SET key value [PX ms]` (a ttl of 0 or none: no expiry).
pub(super) fn write_set(w: &mut dyn CommandWriter, key: &str, value: &str, ttl: Option<f64>) {
    let ttl = ttl.filter(|t| *t > 0.0);
    w.begin(if ttl.is_some() { 5 } else { 3 }, "SET");
    w.arg(key.as_bytes());
    w.arg(value.as_bytes());
    if let Some(t) = ttl {
        w.arg(b"PX");
        w.arg(itoa::Buffer::new().format(ttl_ms(t)).as_bytes());
    }
}

fn number_result(key: &str, r: Vec<String>) -> Result<f64> {
    match r.as_slice() {
        [ok, v] if ok == "ok" => v
            .parse::<f64>()
            .map_err(|_| NventError::internal("increment result")),
        _ => Err(NventError::invalid_argument(format!(
            "'{key}' holds a value that is not a number"
        ))),
    }
}

impl RedisStoreAdapter {
    pub(super) async fn get(&self, key: &str) -> Result<Option<Json>> {
        let v: Option<String> = self.redis.query(redis::cmd("GET").arg(key)).await?;
        Ok(v.map(|t| Json::trusted(json_text(t))))
    }

    pub(super) async fn set(&self, key: &str, value: Json, ttl: Option<f64>) -> Result<()> {
        let mut cmd = redis::Cmd::new();
        write_set(&mut cmd, key, value.as_str(), ttl);
        self.redis.query(&cmd).await
    }

    pub(super) async fn mget(&self, keys: &[String]) -> Result<Vec<Option<Json>>> {
        if keys.is_empty() {
            return Ok(Vec::new());
        }
        let v: Vec<Option<String>> = self.redis.query(redis::cmd("MGET").arg(keys)).await?;
        Ok(v.into_iter()
            .map(|o| o.map(|t| Json::trusted(json_text(t))))
            .collect())
    }

    pub(super) async fn mset(&self, entries: Vec<KvEntry>) -> Result<()> {
        if entries.is_empty() {
            return Ok(());
        }
        let mut p = redis::pipe();
        p.atomic();
        for e in &entries {
            write_set(&mut p, &e.key, e.value.as_str(), e.ttl_seconds);
            p.ignore();
        }
        self.redis.pipe(&p).await
    }

    pub(super) async fn increment(&self, key: &str, by: f64) -> Result<f64> {
        let r: Vec<String> = self
            .redis
            .script(scripts::INCREMENT_VALUE.key(key).arg(by.to_string()))
            .await?;
        number_result(key, r)
    }

    pub(super) async fn expire(&self, key: &str, ttl: f64) -> Result<bool> {
        let mut p = redis::pipe();
        p.atomic().cmd("EXISTS").arg(key);
        if ttl > 0.0 {
            p.cmd("PEXPIRE").arg(key).arg(ttl_ms(ttl)).ignore();
        } else {
            p.cmd("PERSIST").arg(key).ignore();
        }
        let (n,): (u64,) = self.redis.pipe(&p).await?;
        Ok(n > 0)
    }

    /// SCAN with the translated glob, deleting the kv keys of each batch in one script.
    pub(super) async fn clear(&self, pattern: &str) -> Result<u64> {
        if let Some(key) = keys::store_glob_literal(pattern) {
            return self.redis.script(&scripts::DELETE_STRINGS.arg(key)).await;
        }
        // Redis's `?` is one byte, ours one character: with a `?` the server matches a
        // wider pattern and the exact glob filters here.
        let exact = if pattern.contains('?') {
            Some(crate::glob::Glob::new(pattern)?)
        } else {
            None
        };
        let glob = keys::store_glob(pattern);
        let glob = if exact.is_some() {
            keys::widen_single(&glob)
        } else {
            glob
        };
        let mut cursor = 0u64;
        let mut total = 0u64;
        loop {
            let (next, found): (u64, Vec<String>) = self
                .redis
                .query(
                    redis::cmd("SCAN")
                        .arg(cursor)
                        .arg("MATCH")
                        .arg(&glob)
                        .arg("COUNT")
                        .arg(CLEAR_BATCH),
                )
                .await?;
            let found: Vec<String> = match &exact {
                Some(g) => found.into_iter().filter(|k| g.is_match(k)).collect(),
                None => found,
            };
            if !found.is_empty() {
                let n: u64 = self
                    .redis
                    .script(&scripts::DELETE_STRINGS.arg(&found))
                    .await?;
                total += n;
            }
            if next == 0 {
                return Ok(total);
            }
            cursor = next;
        }
    }

    /// Documents of a collection (one hash), filtered and sorted here: lists are not a
    /// hot path, and a hash has no order to page by.
    pub(super) async fn list(
        &self,
        collection: &str,
        opts: &ListOptions,
    ) -> Result<Vec<(String, Json)>> {
        let all: Vec<(String, String)> = self
            .redis
            .query(redis::cmd("HGETALL").arg(collection))
            .await?;
        let mut docs: Vec<(String, Value, String)> = all
            .into_iter()
            .map(|(id, raw)| (id, leaf(&raw), json_text(raw)))
            .filter(|(_, v, _)| crate::store::metadata::matches(v, &opts.filter))
            .collect();
        docs.sort_by(|a, b| a.0.cmp(&b.0));
        if let Some(path) = &opts.sort_by {
            docs.sort_by(|a, b| {
                let va = crate::store::metadata::get_path(&a.1, path);
                let vb = crate::store::metadata::get_path(&b.1, path);
                crate::store::memory::compare_values(va, vb).then_with(|| a.0.cmp(&b.0))
            });
        }
        if opts.order == Order::Desc {
            docs.reverse();
        }
        Ok(docs
            .into_iter()
            .skip(opts.offset)
            .take(opts.limit.unwrap_or(usize::MAX))
            .map(|(id, _, text)| (id, Json::trusted(text)))
            .collect())
    }
}
