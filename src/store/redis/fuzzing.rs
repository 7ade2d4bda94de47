//! The Redis store's reply decoders, for the fuzz targets (see `crate::fuzzing`).

pub use super::codec::{flatten, is_json, json_text, leaf, merge_ops, unflatten, write_metadata};
use crate::error::Result;
use crate::value::Json;

/// Decodes a `readPage-1.lua` reply: `(id, score, fields)` per entry.
pub fn page_entries(raw: &[u8]) -> Result<Vec<(String, f64, Vec<(String, String)>)>> {
    super::index::page_entries(raw)?
        .into_iter()
        .map(|(id, s, fields)| {
            Ok((
                id.into_owned(),
                super::index::score(&s)?,
                fields
                    .into_iter()
                    .map(|(k, v)| (k.into_owned(), v.into_owned()))
                    .collect(),
            ))
        })
        .collect()
}

/// The record text of one stream entry.
pub fn event_record(id: &str, fields: Vec<(String, String)>) -> Json {
    super::events::record(id, fields)
}

/// The id an `XADD` answered with.
pub fn appended_id(reply: &redis::Value) -> Result<crate::store::EventId> {
    super::events::appended_id(reply)
}
