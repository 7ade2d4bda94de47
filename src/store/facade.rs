//! `Store`: what the binding calls. It validates every name, value, option and field path
//! (SPEC §2), normalizes metadata, applies the scope prefix, then calls the backend — so
//! backends see only well-formed input and every backend refuses the same things.
//!
//! Values arrive as JSON text (see `value`); results leave as JSON text.

use super::metadata;
use super::{
    EventBody, EventId, IndexEntry, IndexReadOptions, KvEntry, ListOptions, Order, ReadOptions,
    StoreAdapter,
};
use crate::callback::Callback;
use crate::error::{NventError, Result};
use crate::glob;
use crate::options::{seconds_ms, Opts, Zero, MAX_COUNT};
use crate::value::{check_name, field_path, parse_value, Json, Limits};
use serde_json::{Map, Value};
use std::sync::Arc;

/// A store view: the backend plus the scope prefix of this view (empty at the root).
#[derive(Clone)]
pub struct Store {
    backend: Arc<dyn StoreAdapter>,
    prefix: Arc<str>,
    limits: Limits,
    /// Keeps batches in call order (shared by the views of one backend).
    pub(super) order: Arc<super::batch::BatchOrder>,
}

impl Store {
    pub fn new(backend: Arc<dyn StoreAdapter>, limits: Limits) -> Store {
        Store {
            backend,
            prefix: Arc::from(""),
            limits,
            order: Arc::default(),
        }
    }

    pub fn backend(&self) -> &Arc<dyn StoreAdapter> {
        &self.backend
    }

    /// A view whose every key, subject and index key lives under `name:id` of this view.
    /// The segment is length-prefixed, so no choice of `name` and `id` (colons included)
    /// can produce another scope's prefix.
    ///
    /// # Errors
    /// `NVENT_INVALID_NAME` for a bad name or id.
    pub fn scope(&self, name: &str, id: &str) -> Result<Store> {
        check_name("scope name", name, &self.limits)?;
        check_name("scope id", id, &self.limits)?;
        let prefix = format!(
            "{}scope:{}:{}:{}:{}:",
            self.prefix,
            name.len(),
            name,
            id.len(),
            id
        );
        Ok(Store {
            backend: self.backend.clone(),
            prefix: Arc::from(prefix),
            limits: self.limits,
            order: self.order.clone(),
        })
    }

    pub(super) fn name(&self, what: &'static str, name: &str) -> Result<String> {
        check_name(what, name, &self.limits)?;
        Ok(if self.prefix.is_empty() {
            name.to_string()
        } else {
            format!("{}{name}", self.prefix)
        })
    }

    pub(super) fn json(&self, text: String) -> Result<Json> {
        Json::from_text(text, &self.limits)
    }

    /// Checks an event (see [`EventBody::parse`]).
    pub(super) fn event_body(&self, text: &str) -> Result<EventBody> {
        EventBody::parse(text, &self.limits)
    }

    fn value(&self, text: &str) -> Result<Value> {
        parse_value(text, &self.limits)
    }

    // --- event stream ---

    /// # Errors
    /// `NVENT_INVALID_NAME`, `NVENT_INVALID_ARGUMENT` (not an object, no string `type`),
    /// value errors, `NVENT_CLOSED`.
    pub async fn stream_append(&self, subject: &str, event: &str) -> Result<Json> {
        let subject = self.name("subject", subject)?;
        let body = self.event_body(event)?;
        self.backend.stream_append(&subject, body).await
    }

    pub async fn stream_read(&self, subject: &str, opts: Option<&str>) -> Result<String> {
        let subject = self.name("subject", subject)?;
        let opts = read_options(opts)?;
        let records = self.backend.stream_read(&subject, &opts).await?;
        Ok(json_array(records.iter().map(Json::as_str)))
    }

    pub async fn stream_subscribe(&self, subject: &str, handler: Arc<dyn Callback>) -> Result<u64> {
        let subject = self.name("subject", subject)?;
        self.backend.stream_subscribe(&subject, handler).await
    }

    pub async fn stream_unsubscribe(&self, id: u64) -> Result<bool> {
        self.backend.stream_unsubscribe(id).await
    }

    pub async fn stream_delete(&self, subject: &str) -> Result<bool> {
        let subject = self.name("subject", subject)?;
        self.backend.stream_delete(&subject).await
    }

    pub async fn stream_count(&self, subject: &str) -> Result<u64> {
        let subject = self.name("subject", subject)?;
        self.backend.stream_count(&subject).await
    }

    // --- key-value ---

    pub async fn kv_get(&self, key: &str) -> Result<Option<Json>> {
        let key = self.name("key", key)?;
        self.backend.kv_get(&key).await
    }

    pub async fn kv_set(&self, key: &str, value: String, ttl: Option<f64>) -> Result<()> {
        let key = self.name("key", key)?;
        let value = self.json(value)?;
        check_ttl(ttl)?;
        self.backend.kv_set(&key, value, ttl).await
    }

    pub async fn kv_delete(&self, key: &str) -> Result<bool> {
        let key = self.name("key", key)?;
        self.backend.kv_delete(&key).await
    }

    pub async fn kv_clear(&self, pattern: &str) -> Result<u64> {
        check_name("pattern", pattern, &self.limits)?;
        let pattern = format!("{}{pattern}", glob::escape(&self.prefix));
        // Checked here, for every backend: Redis would take a malformed pattern (a trailing
        // `\`) as its own MATCH syntax, where memory and file refuse it.
        glob::Glob::new(&pattern)?;
        self.backend.kv_clear(&pattern).await
    }

    pub async fn kv_increment(&self, key: &str, by: f64) -> Result<f64> {
        let key = self.name("key", key)?;
        check_finite("by", by)?;
        self.backend.kv_increment(&key, by).await
    }

    pub async fn kv_exists(&self, key: &str) -> Result<bool> {
        let key = self.name("key", key)?;
        self.backend.kv_exists(&key).await
    }

    pub async fn kv_expire(&self, key: &str, ttl: f64) -> Result<bool> {
        let key = self.name("key", key)?;
        check_ttl(Some(ttl))?;
        self.backend.kv_expire(&key, ttl).await
    }

    pub async fn kv_ttl(&self, key: &str) -> Result<Option<f64>> {
        let key = self.name("key", key)?;
        self.backend.kv_ttl(&key).await
    }

    pub async fn kv_mget(&self, keys: Vec<String>) -> Result<String> {
        let keys = keys
            .iter()
            .map(|k| self.name("key", k))
            .collect::<Result<Vec<_>>>()?;
        let values = self.backend.kv_mget(&keys).await?;
        Ok(json_array(
            values
                .iter()
                .map(|v| v.as_ref().map_or("null", Json::as_str)),
        ))
    }

    /// `entries` is JSON text of `[{ key, value, ttl? }]`; all are checked before any is
    /// written.
    pub async fn kv_mset(&self, entries: &str) -> Result<()> {
        let Value::Array(items) = self.value(entries)? else {
            return Err(NventError::invalid_argument(
                "mset takes an array of { key, value, ttl? }",
            ));
        };
        let mut out = Vec::with_capacity(items.len());
        for item in items {
            let Value::Object(map) = item else {
                return Err(NventError::invalid_argument(
                    "mset takes an array of { key, value, ttl? }",
                ));
            };
            let mut o = Opts::from_map("mset entry", map);
            let key = o
                .str("key")?
                .ok_or_else(|| NventError::invalid_argument("mset entry needs a string key"))?;
            let key = self.name("key", key)?;
            let ttl = o.f64("ttl")?;
            check_ttl(ttl)?;
            let value = o.take("value").unwrap_or(Value::Null);
            out.push(KvEntry {
                key,
                value: Json::from_value(&value),
                ttl_seconds: ttl,
            });
        }
        self.backend.kv_mset(out).await
    }

    // --- sorted index ---

    pub async fn index_add(
        &self,
        key: &str,
        id: &str,
        score: f64,
        metadata: Option<&str>,
    ) -> Result<()> {
        let key = self.name("index key", key)?;
        check_name("id", id, &self.limits)?;
        check_finite("score", score)?;
        let metadata = metadata.map(|m| self.value(m)).transpose()?;
        let metadata = metadata::for_add(metadata, &self.limits)?;
        self.backend.index_add(&key, id, score, metadata).await
    }

    pub async fn index_get(&self, key: &str, id: &str) -> Result<Option<String>> {
        let key = self.name("index key", key)?;
        check_name("id", id, &self.limits)?;
        Ok(self
            .backend
            .index_get(&key, id)
            .await?
            .map(|e| entry_json(&e)))
    }

    pub async fn index_read(&self, key: &str, opts: Option<&str>) -> Result<String> {
        let key = self.name("index key", key)?;
        let o = Opts::parse("index read options", opts)?;
        let defaults = IndexReadOptions::default();
        let opts = IndexReadOptions {
            offset: o
                .count("offset", 0, MAX_COUNT)?
                .map_or(defaults.offset, |v| v as usize),
            limit: o
                .count("limit", 0, MAX_COUNT)?
                .map_or(defaults.limit, |v| v as usize),
            filter: metadata::parse_filter(o.raw("filter"))?,
        };
        self.backend.index_read_json(&key, &opts).await
    }

    pub async fn index_count(&self, key: &str, opts: Option<&str>) -> Result<u64> {
        let key = self.name("index key", key)?;
        let o = Opts::parse("index count options", opts)?;
        let filter = metadata::parse_filter(o.raw("filter"))?;
        self.backend.index_count(&key, &filter).await
    }

    pub async fn index_update(
        &self,
        key: &str,
        id: &str,
        partial: &str,
        opts: Option<&str>,
    ) -> Result<bool> {
        let key = self.name("index key", key)?;
        check_name("id", id, &self.limits)?;
        let partial = self.partial(partial)?;
        let o = Opts::parse("update options", opts)?;
        let expected = o.uint("expectedVersion")?;
        self.backend.index_update(&key, id, partial, expected).await
    }

    /// Merges `partial` and resolves once it is in. Every backend of this engine merges
    /// atomically (memory under its lock, file in its single writer, Redis in one script),
    /// so concurrent callers never conflict and `max_retries` — which bounds
    /// version-conflict retries of a backend that needs them — is never reached.
    ///
    /// # Errors
    /// `NVENT_NOT_FOUND` for a missing entry.
    pub async fn index_update_with_retry(
        &self,
        key: &str,
        id: &str,
        partial: &str,
        _max_retries: u32,
    ) -> Result<()> {
        let full_key = self.name("index key", key)?;
        check_name("id", id, &self.limits)?;
        let partial = self.partial(partial)?;
        if self
            .backend
            .index_update(&full_key, id, partial, None)
            .await?
        {
            Ok(())
        } else {
            Err(NventError::not_found(format!(
                "index entry '{id}' in '{key}'"
            )))
        }
    }

    pub async fn index_increment(&self, key: &str, id: &str, field: &str, by: f64) -> Result<f64> {
        let key = self.name("index key", key)?;
        check_name("id", id, &self.limits)?;
        check_finite("by", by)?;
        let path: Vec<String> = field_path(field)?.into_iter().map(String::from).collect();
        if path.first().is_some_and(|p| p == "version") {
            return Err(NventError::invalid_argument(
                "'version' is owned by the store and cannot be incremented",
            ));
        }
        self.backend.index_increment(&key, id, &path, by).await
    }

    pub async fn index_delete(&self, key: &str, id: &str) -> Result<bool> {
        let key = self.name("index key", key)?;
        check_name("id", id, &self.limits)?;
        self.backend.index_delete(&key, id).await
    }

    fn partial(&self, text: &str) -> Result<Map<String, Value>> {
        match metadata::for_update(self.value(text)?, &self.limits)? {
            Value::Object(m) => Ok(m),
            _ => Err(NventError::invalid_argument(
                "index update must be an object",
            )),
        }
    }

    // --- documents ---

    pub async fn doc_save(&self, collection: &str, id: &str, doc: String) -> Result<()> {
        let collection = self.name("collection", collection)?;
        check_name("id", id, &self.limits)?;
        let doc = self.json(doc)?;
        self.backend.doc_save(&collection, id, doc).await
    }

    pub async fn doc_get(&self, collection: &str, id: &str) -> Result<Option<Json>> {
        let collection = self.name("collection", collection)?;
        check_name("id", id, &self.limits)?;
        self.backend.doc_get(&collection, id).await
    }

    pub async fn doc_list(&self, collection: &str, opts: Option<&str>) -> Result<String> {
        let collection = self.name("collection", collection)?;
        let o = Opts::parse("list options", opts)?;
        let order = o
            .choice("sortOrder", &["asc", "desc"])?
            .or(o.choice("order", &["asc", "desc"])?);
        let opts = ListOptions {
            filter: metadata::parse_filter(o.raw("filter"))?,
            limit: o.count("limit", 0, MAX_COUNT)?.map(|v| v as usize),
            offset: o.count("offset", 0, MAX_COUNT)?.unwrap_or(0) as usize,
            sort_by: o
                .str("sortBy")?
                .map(|p| field_path(p).map(|s| s.into_iter().map(String::from).collect()))
                .transpose()?,
            order: if order == Some("desc") {
                Order::Desc
            } else {
                Order::Asc
            },
        };
        let docs = self.backend.doc_list(&collection, &opts).await?;
        let texts: Vec<String> = docs
            .iter()
            .map(|(id, doc)| {
                format!(
                    "{{\"id\":{},\"doc\":{}}}",
                    Value::String(id.clone()),
                    doc.as_str()
                )
            })
            .collect();
        Ok(json_array(texts.iter().map(String::as_str)))
    }

    pub async fn doc_delete(&self, collection: &str, id: &str) -> Result<bool> {
        let collection = self.name("collection", collection)?;
        check_name("id", id, &self.limits)?;
        self.backend.doc_delete(&collection, id).await
    }

    // --- claims ---

    pub async fn claim_once(&self, key: &str, owner: &str, ttl: f64) -> Result<bool> {
        let key = self.name("claim key", key)?;
        check_name("owner", owner, &self.limits)?;
        check_claim_ttl(ttl)?;
        self.backend.claim_once(&key, owner, ttl).await
    }

    pub async fn claim_release(&self, key: &str, owner: &str) -> Result<bool> {
        let key = self.name("claim key", key)?;
        check_name("owner", owner, &self.limits)?;
        self.backend.claim_release(&key, owner).await
    }

    pub async fn claim_extend(&self, key: &str, owner: &str, ttl: f64) -> Result<bool> {
        let key = self.name("claim key", key)?;
        check_name("owner", owner, &self.limits)?;
        check_claim_ttl(ttl)?;
        self.backend.claim_extend(&key, owner, ttl).await
    }

    pub async fn close(&self) -> Result<()> {
        self.backend.close().await
    }

    pub async fn init(&self) -> Result<()> {
        self.backend.init().await
    }

    pub async fn recovery_report(&self) -> Result<Option<String>> {
        self.backend.recovery_report().await
    }
}

fn check_finite(what: &str, v: f64) -> Result<()> {
    if v.is_finite() {
        Ok(())
    } else {
        Err(NventError::invalid_argument(format!(
            "{what} must be a finite number"
        )))
    }
}

/// A kv ttl in seconds: 0 means no expiry (SPEC §3.2).
pub(super) fn check_ttl(ttl: Option<f64>) -> Result<()> {
    ttl.map_or(Ok(()), |t| seconds_ms("ttl", t, Zero::Allowed).map(drop))
}

fn check_claim_ttl(ttl: f64) -> Result<()> {
    seconds_ms("claim ttl", ttl, Zero::Refused).map(drop)
}

/// Parses stream read options, accepting the seed names `fromId` (= `after`) and
/// `direction: 'forward' | 'backward'`.
fn read_options(text: Option<&str>) -> Result<ReadOptions> {
    let o = Opts::parse("read options", text)?;
    let id = |key: &str| -> Result<Option<EventId>> {
        match o.str(key)? {
            None => Ok(None),
            Some(s) => EventId::parse(s).map(Some).ok_or_else(|| {
                NventError::invalid_argument(format!(
                    "read options.{key} must be an event id like '1700000000000-0', got '{s}'"
                ))
            }),
        }
    };
    let after = match id("after")? {
        Some(a) => Some(a),
        None => id("fromId")?,
    };
    let order = match (
        o.choice("order", &["asc", "desc"])?,
        o.choice("direction", &["forward", "backward"])?,
    ) {
        (Some("desc"), _) | (None, Some("backward")) => Order::Desc,
        _ => Order::Asc,
    };
    Ok(ReadOptions {
        types: o.strings("types")?,
        after,
        before: id("before")?,
        from: o.f64("from")?,
        to: o.f64("to")?,
        limit: o.count("limit", 0, MAX_COUNT)?.map(|v| v as usize),
        order,
    })
}

pub(crate) fn entry_json(e: &IndexEntry) -> String {
    // Written around the metadata rather than from a copy of it: no clone of a tree that
    // may nest a thousand levels.
    let score = serde_json::Number::from_f64(e.score).map_or(Value::Null, Value::Number);
    format!(
        "{{\"id\":{},\"score\":{score},\"metadata\":{}}}",
        Value::String(e.id.clone()),
        e.metadata
    )
}

/// Joins JSON texts into the text of an array.
pub fn json_array<'a>(items: impl Iterator<Item = &'a str>) -> String {
    let mut out = String::from("[");
    for (i, item) in items.enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str(item);
    }
    out.push(']');
    out
}
