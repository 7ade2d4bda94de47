//! The N-API binding: the only code that names napi.
//!
//! Each binding method converts its arguments, calls the core, and converts the result.
//! Values cross as JSON text (measured ~2x cheaper than napi's serde conversion for 200 B
//! objects); the JS layer (`js/`) validates and stringifies them and parses results.
//!
//! Errors cross as a JS `Error` whose message is `\u{1}CODE\u{1}PATH\u{1}MESSAGE`; the JS
//! layer turns it into an `NventError` with `code` and `path`. Encoding the code in the
//! message keeps it on async rejections too, where napi-rs would report `GenericFailure`.

use crate::error::NventError;
use crate::options::Opts;
use crate::ready::{poll_once, Polled};
use crate::value::Limits;
use napi::bindgen_prelude::*;
use napi_derive::napi;
use std::future::Future;

mod bus;
mod coordinator;
mod diagnostics;
mod fast;
mod outbox;
mod queue;
mod store;
mod stream;
// After `store` and `stream`: napi-derive must have seen the structs it adds factories to.
mod redis;

/// napi's futures (pending engine calls) run on the engine runtime: a Redis reply then
/// wakes its caller inside one thread pool instead of hopping between two.
#[napi_derive::module_init]
fn init() {
    if let Ok(rt) = crate::runtime::build() {
        if crate::runtime::install(rt.handle().clone()) {
            napi::bindgen_prelude::create_custom_tokio_runtime(rt);
        }
    }
}

/// Converts a core error into the JS error the JS layer decodes.
pub(crate) fn js_err(e: NventError) -> napi::Error {
    let path = e.path().unwrap_or("");
    napi::Error::new(
        Status::GenericFailure,
        format!("\u{1}{}\u{1}{}\u{1}{}", e.code(), path, e),
    )
}

/// Either a value computed on the calling thread or a Promise of it.
pub(crate) type Settled<'env, T> = Either<T, PromiseRaw<'env, T>>;

/// Runs `fut` on the calling thread if it completes without waiting (memory backends);
/// otherwise spawns it on the runtime and returns a Promise. Panics become `NVENT_INTERNAL`.
pub(crate) fn settle<'env, T, F>(env: &'env Env, fut: F) -> napi::Result<Settled<'env, T>>
where
    T: ToNapiValue + Send + 'static,
    F: Future<Output = crate::Result<T>> + Send + 'static,
{
    match poll_once(fut) {
        Polled::Ready(out) => out.map(Either::A).map_err(js_err),
        Polled::Pending(rest) => {
            let promise = env.spawn_future(async move { rest.await.map_err(js_err) })?;
            Ok(Either::B(promise))
        }
    }
}

/// Runs a synchronous core call, turning panics into `NVENT_INTERNAL` and errors into JS
/// errors.
pub(crate) fn sync<T>(f: impl FnOnce() -> crate::Result<T>) -> napi::Result<T> {
    crate::ready::catch_sync(f).map_err(js_err)
}

/// Reads `limits: { maxValueBytes?, maxDepth?, maxNameBytes? }` from adapter options.
pub(crate) fn limits(options: Option<&str>) -> crate::Result<Limits> {
    let o = Opts::parse("adapter options", options)?;
    let d = Limits::default();
    let Some(serde_json::Value::Object(l)) = o.raw("limits") else {
        return Ok(d);
    };
    let l = Opts::from_map("adapter options.limits", l.clone());
    Ok(Limits {
        max_value_bytes: l
            .uint("maxValueBytes")?
            .map_or(d.max_value_bytes, |v| v as usize),
        max_depth: l.uint("maxDepth")?.map_or(d.max_depth, |v| v as usize),
        max_name_bytes: l
            .uint("maxNameBytes")?
            .map_or(d.max_name_bytes, |v| v as usize),
    })
}

/// Resolves an adapter config of either shape (SPEC §8) to
/// `{ queue: { name, options }, stream: ..., store: ... }` (JSON text).
// napi-derive registers exported functions from a static constructor that rustc cannot
// see, so it counts them as unused.
#[allow(dead_code)]
#[napi]
pub fn resolve_adapter_config(config: Option<String>) -> napi::Result<String> {
    sync(|| {
        let v = match config {
            None => serde_json::Value::Null,
            Some(t) => crate::value::parse_value(&t, &Limits::default())?,
        };
        Ok(crate::config::resolve(&v)?.to_string())
    })
}
