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
use crate::ready::{poll_once, Polled};
use napi::bindgen_prelude::*;
use std::future::Future;

mod bus;
mod coordinator;
mod diagnostics;
mod js_adapter;
mod queue;
mod registry;
mod store;
mod stream;

/// Converts a core error into the JS error the JS layer decodes.
pub(crate) fn js_err(e: NventError) -> napi::Error {
    let path = e.path().unwrap_or("");
    napi::Error::new(Status::GenericFailure, format!("\u{1}{}\u{1}{}\u{1}{}", e.code(), path, e))
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
