//! Hot paths as free functions over an `External` handle.
//!
//! napi-rs 3.16 spends ~0.6 µs per class-method call on borrow tracking (measured here:
//! a class method 0.8 µs, a free function 0.2 µs), which is a third of a memory `kv.get`.
//! The calls JS makes per value or per job therefore go through these functions; the
//! rest stay methods of the classes.

use super::{settle, settle_json, Settled};
use crate::bus::EventBus;
use crate::queue::facade::Queue;
use crate::store::facade::Store;
use crate::value::Json;
use napi::bindgen_prelude::*;
use napi_derive::napi;
use std::sync::Arc;

/// JSON text handed to JS without an intermediate `String`.
pub(crate) struct JsonText(pub Json);

impl ToNapiValue for JsonText {
    unsafe fn to_napi_value(
        env: napi::sys::napi_env,
        val: Self,
    ) -> napi::Result<napi::sys::napi_value> {
        unsafe { <&str as ToNapiValue>::to_napi_value(env, val.0.as_str()) }
    }
}

impl serde::Serialize for JsonText {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.serialize_str(self.0.as_str())
    }
}

impl TypeName for JsonText {
    fn type_name() -> &'static str {
        "string"
    }
    fn value_type() -> ValueType {
        ValueType::String
    }
}

// napi-derive registers exported functions from a static constructor that rustc cannot
// see, so it counts them as unused.

#[allow(dead_code)] // see the note above
#[napi]
pub fn store_kv_get<'e>(
    env: &'e Env,
    h: &External<Store>,
    key: String,
) -> napi::Result<Settled<'e, Option<JsonText>>> {
    let s: Store = (**h).clone();
    settle(
        env,
        async move { s.kv_get(&key).await.map(|v| v.map(JsonText)) },
    )
}

#[allow(dead_code)] // see the note above
#[napi]
pub fn store_kv_set<'e>(
    env: &'e Env,
    h: &External<Store>,
    key: String,
    value: String,
    ttl: Option<f64>,
) -> napi::Result<Settled<'e, ()>> {
    let s: Store = (**h).clone();
    settle(env, async move { s.kv_set(&key, value, ttl).await })
}

#[allow(dead_code)] // see the note above
#[napi]
pub fn store_kv_delete<'e>(
    env: &'e Env,
    h: &External<Store>,
    key: String,
) -> napi::Result<Settled<'e, bool>> {
    let s: Store = (**h).clone();
    settle(env, async move { s.kv_delete(&key).await })
}

#[allow(dead_code)] // see the note above
#[napi]
pub fn store_kv_exists<'e>(
    env: &'e Env,
    h: &External<Store>,
    key: String,
) -> napi::Result<Settled<'e, bool>> {
    let s: Store = (**h).clone();
    settle(env, async move { s.kv_exists(&key).await })
}

#[allow(dead_code)] // see the note above
#[napi]
pub fn store_kv_increment<'e>(
    env: &'e Env,
    h: &External<Store>,
    key: String,
    by: f64,
) -> napi::Result<Settled<'e, f64>> {
    let s: Store = (**h).clone();
    settle(env, async move { s.kv_increment(&key, by).await })
}

#[allow(dead_code)] // see the note above
#[napi]
pub fn store_stream_append<'e>(
    env: &'e Env,
    h: &External<Store>,
    subject: String,
    event: String,
) -> napi::Result<Settled<'e, JsonText>> {
    let s: Store = (**h).clone();
    settle_json(env, async move {
        s.stream_append(&subject, &event).await.map(JsonText)
    })
}

/// See `Store::batch`: the store calls of one JS turn (js/batch.js). The result is JSON
/// and travels as a value.
#[allow(dead_code)] // see the note above
#[napi]
pub fn store_batch<'e>(
    env: &'e Env,
    h: &External<Store>,
    kinds: String,
    keys: String,
    values: String,
    ttls: Vec<f64>,
) -> napi::Result<Settled<'e, JsonText>> {
    let s: Store = (**h).clone();
    settle_json(env, async move {
        s.batch(&kinds, &keys, &values, ttls)
            .await
            .map(|t| JsonText(crate::value::Json::trusted(t)))
    })
}

#[allow(dead_code)] // see the note above
#[napi]
pub fn store_stream_read<'e>(
    env: &'e Env,
    h: &External<Store>,
    subject: String,
    opts: Option<String>,
) -> napi::Result<Settled<'e, JsonText>> {
    let s: Store = (**h).clone();
    settle_json(env, async move {
        s.stream_read(&subject, opts.as_deref())
            .await
            .map(|t| JsonText(crate::value::Json::trusted(t)))
    })
}

#[allow(dead_code)] // see the note above
#[napi]
pub fn store_index_add<'e>(
    env: &'e Env,
    h: &External<Store>,
    key: String,
    id: String,
    score: f64,
    metadata: Option<String>,
) -> napi::Result<Settled<'e, ()>> {
    let s: Store = (**h).clone();
    settle(env, async move {
        s.index_add(&key, &id, score, metadata.as_deref()).await
    })
}

#[allow(dead_code)] // see the note above
#[napi]
pub fn store_index_get<'e>(
    env: &'e Env,
    h: &External<Store>,
    key: String,
    id: String,
) -> napi::Result<Settled<'e, Option<String>>> {
    let s: Store = (**h).clone();
    settle(env, async move { s.index_get(&key, &id).await })
}

#[allow(dead_code)] // see the note above
#[napi]
pub fn store_index_read<'e>(
    env: &'e Env,
    h: &External<Store>,
    key: String,
    opts: Option<String>,
) -> napi::Result<Settled<'e, JsonText>> {
    let s: Store = (**h).clone();
    settle_json(env, async move {
        s.index_read(&key, opts.as_deref())
            .await
            .map(|t| JsonText(crate::value::Json::trusted(t)))
    })
}

#[allow(dead_code)] // see the note above
#[napi]
pub fn store_index_update<'e>(
    env: &'e Env,
    h: &External<Store>,
    key: String,
    id: String,
    partial: String,
    opts: Option<String>,
) -> napi::Result<Settled<'e, bool>> {
    let s: Store = (**h).clone();
    settle(env, async move {
        s.index_update(&key, &id, &partial, opts.as_deref()).await
    })
}

#[allow(dead_code)] // see the note above
#[napi]
pub fn store_index_increment<'e>(
    env: &'e Env,
    h: &External<Store>,
    key: String,
    id: String,
    field: String,
    by: f64,
) -> napi::Result<Settled<'e, f64>> {
    let s: Store = (**h).clone();
    settle(env, async move {
        s.index_increment(&key, &id, &field, by).await
    })
}

#[allow(dead_code)] // see the note above
#[napi]
pub fn queue_enqueue<'e>(
    env: &'e Env,
    h: &External<Queue>,
    queue: String,
    name: String,
    data: String,
    opts: Option<String>,
) -> napi::Result<Settled<'e, String>> {
    let s: Queue = (**h).clone();
    settle(env, async move {
        s.enqueue(&queue, &name, data, opts.as_deref()).await
    })
}

/// Lists joined by NUL, one string each (see `Queue::enqueue_bulk`).
#[allow(dead_code)] // see the note above
#[napi]
pub fn queue_enqueue_bulk<'e>(
    env: &'e Env,
    h: &External<Queue>,
    queue: String,
    count: u32,
    names: String,
    datas: String,
    opts: String,
) -> napi::Result<Settled<'e, String>> {
    let s: Queue = (**h).clone();
    settle(env, async move {
        s.enqueue_bulk(&queue, count as usize, &names, &datas, &opts)
            .await
    })
}

#[allow(dead_code)] // see the note above
#[napi]
pub fn queue_take<'e>(
    env: &'e Env,
    h: &External<Queue>,
    queue: String,
    max: u32,
) -> napi::Result<Settled<'e, String>> {
    let s: Queue = (**h).clone();
    settle(env, async move { s.take(&queue, max as usize).await })
}

#[allow(dead_code)] // see the note above
#[napi]
pub fn queue_finish<'e>(
    env: &'e Env,
    h: &External<Queue>,
    queue: String,
    results: String,
) -> napi::Result<Settled<'e, f64>> {
    let s: Queue = (**h).clone();
    settle(env, async move {
        s.finish(&queue, &results).await.map(|n| n as f64)
    })
}

#[allow(dead_code)] // see the note above
#[napi]
pub fn queue_get_job<'e>(
    env: &'e Env,
    h: &External<Queue>,
    queue: String,
    id: String,
) -> napi::Result<Settled<'e, Option<String>>> {
    let s: Queue = (**h).clone();
    settle(env, async move { s.get_job(&queue, &id).await })
}

/// See `NativeBus::route`.
#[allow(dead_code)] // see the note above
#[napi]
pub fn bus_route(h: &External<Arc<EventBus>>, kind: String, run_id: Option<String>) -> Vec<i32> {
    let route = h.route(&kind, run_id.as_deref());
    let mut out: Vec<i32> = route.js.into_iter().map(|t| t as i32).collect();
    if route.native {
        out.push(-1);
    }
    out
}
