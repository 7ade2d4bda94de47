//! The sorted-index tier: a sorted set at `{key}` and one hash of dot-path fields per
//! entry at `{key}:meta:{id}` (seed 003). Mutations are scripts; a page is one script
//! call (ids, scores and metadata together: no N+1), filtered on the server.

use super::codec::{flatten, merge_ops, unflatten, write_metadata, write_str, MergeOp};
use super::RedisStoreAdapter;
use crate::error::{NventError, Result};
use crate::redis::{keys, scripts};
use crate::store::{FieldFilter, IndexEntry, IndexReadOptions};
use serde_json::{Map, Value};
use std::borrow::Cow;

/// One entry of a page reply: id, score text, hash fields in order; borrowed from the
/// reply where cjson wrote them without escapes.
type PageEntry<'a> = (
    Cow<'a, str>,
    Cow<'a, str>,
    Vec<(Cow<'a, str>, Cow<'a, str>)>,
);

/// Decodes the reply of `readPage-1.lua`: the JSON text of `[id, score, [field, value,
/// ...], ...]` (cjson writes an empty list as `{}`). cjson copies bytes that are not UTF-8
/// (a raw value written by another client) as they are; such text is read lossily.
pub(super) fn page_entries(raw: &[u8]) -> Result<Vec<PageEntry<'_>>> {
    let parsed: Vec<PageItem<'_>> = match serde_json::from_slice(raw) {
        Ok(v) => v,
        Err(_) => {
            let text = String::from_utf8_lossy(raw);
            match serde_json::from_str::<Vec<PageItem<'_>>>(&text) {
                Ok(items) => items.into_iter().map(PageItem::into_owned).collect(),
                // `{}`: cjson's empty list.
                Err(_) if text.trim() == "{}" => Vec::new(),
                Err(e) => return Err(corrupt(e)),
            }
        }
    };
    let mut out = Vec::with_capacity(parsed.len() / 3);
    let mut items = parsed.into_iter();
    while let (Some(PageItem::Text(id)), Some(PageItem::Text(s)), Some(fields)) =
        (items.next(), items.next(), items.next())
    {
        let fields = match fields {
            PageItem::Fields(f) => {
                let mut pairs = Vec::with_capacity(f.len() / 2);
                let mut f = f.into_iter();
                while let (Some(k), Some(v)) = (f.next(), f.next()) {
                    pairs.push((k, v));
                }
                pairs
            }
            _ => Vec::new(),
        };
        out.push((id, s, fields));
    }
    Ok(out)
}

fn corrupt(e: serde_json::Error) -> NventError {
    NventError::Corrupt {
        message: format!("index page reply: {e}"),
    }
}

/// An item of the flat page reply: a string (id, score), or an entry's fields (a list,
/// or `{}` when empty). Deserialized by hand: serde's untagged enums buffer every item
/// first, which was a fifth of the page's decoding time.
enum PageItem<'a> {
    Text(Cow<'a, str>),
    Fields(Vec<Cow<'a, str>>),
    Empty,
}

impl PageItem<'_> {
    fn into_owned(self) -> PageItem<'static> {
        let own = |c: Cow<'_, str>| Cow::Owned(c.into_owned());
        match self {
            PageItem::Text(t) => PageItem::Text(own(t)),
            PageItem::Fields(f) => PageItem::Fields(f.into_iter().map(own).collect()),
            PageItem::Empty => PageItem::Empty,
        }
    }
}

/// A string of the reply, borrowed unless it holds escapes (serde's own `Cow` always
/// copies).
struct Str<'a>(Cow<'a, str>);

struct StrVisitor;

impl<'de> serde::de::Visitor<'de> for StrVisitor {
    type Value = Str<'de>;
    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a string")
    }
    fn visit_borrowed_str<E: serde::de::Error>(
        self,
        v: &'de str,
    ) -> std::result::Result<Str<'de>, E> {
        Ok(Str(Cow::Borrowed(v)))
    }
    fn visit_str<E: serde::de::Error>(self, v: &str) -> std::result::Result<Str<'de>, E> {
        Ok(Str(Cow::Owned(v.to_string())))
    }
    fn visit_string<E: serde::de::Error>(self, v: String) -> std::result::Result<Str<'de>, E> {
        Ok(Str(Cow::Owned(v)))
    }
}

impl<'de> serde::Deserialize<'de> for Str<'de> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        d.deserialize_str(StrVisitor)
    }
}

impl<'de> serde::Deserialize<'de> for PageItem<'de> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = PageItem<'de>;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a string, a list of strings or {}")
            }
            // Strings as `Str` reads them: borrowed unless escaped.
            fn visit_borrowed_str<E: serde::de::Error>(
                self,
                v: &'de str,
            ) -> std::result::Result<PageItem<'de>, E> {
                StrVisitor
                    .visit_borrowed_str(v)
                    .map(|Str(s)| PageItem::Text(s))
            }
            fn visit_str<E: serde::de::Error>(
                self,
                v: &str,
            ) -> std::result::Result<PageItem<'de>, E> {
                StrVisitor.visit_str(v).map(|Str(s)| PageItem::Text(s))
            }
            fn visit_string<E: serde::de::Error>(
                self,
                v: String,
            ) -> std::result::Result<PageItem<'de>, E> {
                StrVisitor.visit_string(v).map(|Str(s)| PageItem::Text(s))
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(
                self,
                mut a: A,
            ) -> std::result::Result<PageItem<'de>, A::Error> {
                let mut out = Vec::with_capacity(a.size_hint().unwrap_or(16));
                while let Some(Str(s)) = a.next_element::<Str<'de>>()? {
                    out.push(s);
                }
                Ok(PageItem::Fields(out))
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut a: A,
            ) -> std::result::Result<PageItem<'de>, A::Error> {
                while a
                    .next_entry::<serde::de::IgnoredAny, serde::de::IgnoredAny>()?
                    .is_some()
                {}
                Ok(PageItem::Empty)
            }
        }
        d.deserialize_any(V)
    }
}

pub(super) fn score(s: &str) -> Result<f64> {
    match s {
        "inf" => Ok(f64::INFINITY),
        "-inf" => Ok(f64::NEG_INFINITY),
        _ => s.parse().map_err(|_| NventError::Corrupt {
            message: format!("index score '{s}' is not a number"),
        }),
    }
}

/// The script arguments of a filter: per filter its path, candidate count, candidates.
fn filter_args(inv: &mut redis::ScriptInvocation<'_>, filter: &[FieldFilter]) {
    inv.arg(filter.len());
    for f in filter {
        inv.arg(f.path.join(".")).arg(f.any_of.len());
        for want in &f.any_of {
            inv.arg(want.to_string());
        }
    }
}

impl RedisStoreAdapter {
    pub(super) async fn add(&self, key: &str, id: &str, score: f64, metadata: Value) -> Result<()> {
        let meta = keys::index_meta(key, id);
        let mut inv = scripts::ADD_ENTRY.key(key);
        inv.key(&meta).arg(score.to_string()).arg(id);
        if let Value::Object(m) = &metadata {
            for (f, v) in flatten(m) {
                inv.arg(f).arg(v);
            }
        }
        let _: i64 = self.redis.script(&inv).await?;
        Ok(())
    }

    pub(super) async fn entry(&self, key: &str, id: &str) -> Result<Option<IndexEntry>> {
        let mut p = redis::pipe();
        p.cmd("ZSCORE")
            .arg(key)
            .arg(id)
            .cmd("HGETALL")
            .arg(keys::index_meta(key, id));
        let (s, fields): (Option<String>, Vec<(String, String)>) = self.redis.pipe(&p).await?;
        let Some(s) = s else { return Ok(None) };
        Ok(Some(IndexEntry {
            id: id.to_string(),
            score: score(&s)?,
            metadata: unflatten(fields),
        }))
    }

    pub(super) async fn page(&self, key: &str, opts: &IndexReadOptions) -> Result<Vec<IndexEntry>> {
        if opts.limit == 0 {
            return Ok(Vec::new());
        }
        let mut inv = scripts::READ_PAGE.key(key);
        inv.arg(opts.offset).arg(opts.limit);
        filter_args(&mut inv, &opts.filter);
        let raw: Vec<u8> = self.redis.script(&inv).await?;
        page_entries(&raw)?
            .into_iter()
            .map(|(id, s, fields)| {
                Ok(IndexEntry {
                    id: id.into_owned(),
                    score: score(&s)?,
                    metadata: unflatten(
                        fields
                            .into_iter()
                            .map(|(k, v)| (k.into_owned(), v.into_owned()))
                            .collect(),
                    ),
                })
            })
            .collect()
    }

    /// A page as the JSON text the caller gets, written without building values.
    pub(super) async fn page_json(&self, key: &str, opts: &IndexReadOptions) -> Result<String> {
        if opts.limit == 0 {
            return Ok("[]".into());
        }
        let mut inv = scripts::READ_PAGE.key(key);
        inv.arg(opts.offset).arg(opts.limit);
        filter_args(&mut inv, &opts.filter);
        let raw: Vec<u8> = self.redis.script(&inv).await?;
        let entries = page_entries(&raw)?;
        let mut out = Vec::with_capacity(raw.len() + 32 * entries.len());
        out.push(b'[');
        for (i, (id, s, fields)) in entries.iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            out.extend_from_slice(b"{\"id\":");
            write_str(id, &mut out);
            out.extend_from_slice(b",\"score\":");
            match serde_json::Number::from_f64(score(s)?) {
                Some(n) => out.extend_from_slice(n.to_string().as_bytes()),
                None => out.extend_from_slice(b"null"),
            }
            out.extend_from_slice(b",\"metadata\":");
            write_metadata(fields, &mut out);
            out.push(b'}');
        }
        out.push(b']');
        // Written from `str`s and serde_json's output: UTF-8 throughout.
        String::from_utf8(out).map_err(|e| NventError::internal(format!("index page text: {e}")))
    }

    pub(super) async fn count(&self, key: &str, filter: &[FieldFilter]) -> Result<u64> {
        if filter.is_empty() {
            return self.redis.query(redis::cmd("ZCARD").arg(key)).await;
        }
        let mut inv = scripts::READ_PAGE.key(key);
        inv.arg(0).arg("count");
        filter_args(&mut inv, filter);
        self.redis.script(&inv).await
    }

    pub(super) async fn update(
        &self,
        key: &str,
        id: &str,
        partial: Map<String, Value>,
        expected: Option<u64>,
    ) -> Result<bool> {
        let meta = keys::index_meta(key, id);
        let mut inv = scripts::UPDATE_ENTRY.key(key);
        inv.key(&meta)
            .arg(id)
            .arg(expected.map(|v| v.to_string()).unwrap_or_default());
        for op in merge_ops(&partial) {
            match op {
                MergeOp::Set(p, v) => inv.arg("s").arg(p).arg(v),
                MergeOp::Delete(p) => inv.arg("d").arg(p).arg(""),
                MergeOp::EnsureObject(p) => inv.arg("e").arg(p).arg(""),
            };
        }
        let n: i64 = self.redis.script(&inv).await?;
        Ok(n == 1)
    }

    pub(super) async fn increment_field(
        &self,
        key: &str,
        id: &str,
        field: &[String],
        by: f64,
    ) -> Result<f64> {
        let path = field.join(".");
        let meta = keys::index_meta(key, id);
        let r: Vec<String> = self
            .redis
            .script(
                scripts::INCREMENT_FIELD
                    .key(key)
                    .key(&meta)
                    .arg(id)
                    .arg(&path)
                    .arg(by.to_string()),
            )
            .await?;
        match r.first().map(String::as_str) {
            Some("ok") => r
                .get(1)
                .and_then(|v| v.parse().ok())
                .ok_or_else(|| NventError::internal("increment result")),
            Some("missing") => Err(NventError::not_found(format!(
                "index entry '{id}' in '{key}'"
            ))),
            _ => Err(NventError::invalid_argument(format!(
                "field '{path}' holds a value that is not a number"
            ))),
        }
    }

    pub(super) async fn remove(&self, key: &str, id: &str) -> Result<bool> {
        let mut p = redis::pipe();
        p.atomic()
            .cmd("ZREM")
            .arg(key)
            .arg(id)
            .cmd("DEL")
            .arg(keys::index_meta(key, id))
            .ignore();
        let (n,): (u64,) = self.redis.pipe(&p).await?;
        Ok(n > 0)
    }
}
