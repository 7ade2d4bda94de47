//! The N-API binding: the only code that names napi.
//!
//! Each binding method converts its arguments, calls the core, and converts the result.
//! Values cross as JSON text (measured ~2x cheaper than napi's serde conversion for 200 B
//! objects); the JS layer (`js/`) validates and stringifies them and parses results.
//!
//! Errors cross as a JS `Error` whose message is `\u{1}CODE\u{1}PATH\u{1}MESSAGE`; the JS
//! layer turns it into an `NventError` with `code` and `path`.
//!
//! **Settlement tickets.** A call whose future must wait (file, Redis) returns
//! `{ nventTicket }` instead of a napi Promise; the future runs on the engine runtime and its
//! result (JSON text, or the error's code, path and message) is queued in the outbox for the
//! JS settlement target, which resolves the JS Promise of that ticket. Many results reach JS
//! in one wake-up, where a napi Promise would cost a thread-safe call each (measured: the file
//! store's appends went from ~21k/s to the figures in the bench with this).

use crate::error::NventError;
use crate::options::Opts;
use crate::ready::{poll_once, Polled};
use crate::value::Json;
use crate::value::Limits;
use fast::JsonText;
use napi::bindgen_prelude::*;
use napi_derive::napi;
use outbox::OutboxCore;
use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

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
mod uv;

/// `mi_option_purge_delay` in mimalloc's `mi_option_e` (the same index in v2 and v3).
const MI_OPTION_PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;

/// napi's futures (pending engine calls) run on the engine runtime: a Redis reply then
/// wakes its caller inside one thread pool instead of hopping between two.
///
/// mimalloc returns freed memory to the OS 10 ms after it is freed by default, so a burst of
/// jobs or writes refaults (and zeroes) fresh huge pages over and over: measured here, a bulk
/// enqueue of 100k jobs after an earlier one was freed spent 37% of its time in the kernel's
/// `clear_page` (1.7 µs per job), against 0.9 µs per job with a 10 s delay (1 s was not
/// enough between rounds). Idle memory still goes back to the OS after 10 s, jemalloc's
/// default decay. `MIMALLOC_PURGE_DELAY` in the environment still wins.
#[napi_derive::module_init]
fn init() {
    // SAFETY: runs once at load, on the loading thread, before the engine starts any
    // thread of its own; the call only stores the value.
    unsafe { libmimalloc_sys::mi_option_set_default(MI_OPTION_PURGE_DELAY, 10_000) };
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

/// Either a value computed on the calling thread or a settlement ticket `{ nventTicket }`.
pub(crate) type Settled<'env, T> = Either<T, Object<'env>>;

thread_local! {
    /// Where this JS thread's settlements go: its outbox and the JS target that resolves
    /// tickets (set once per thread by `setSettlementTarget`).
    static SETTLER: std::cell::RefCell<Option<(Arc<OutboxCore>, u32)>> =
        const { std::cell::RefCell::new(None) };
}

static NEXT_TICKET: AtomicU64 = AtomicU64::new(1);

/// Registers the JS target that resolves this thread's settlement tickets.
// napi-derive registers exported functions from a static constructor that rustc cannot
// see, so it counts them as unused.
#[allow(dead_code)]
#[napi]
pub fn set_settlement_target(env: Env, outbox: &outbox::Outbox, target: u32) {
    SETTLER.with(|s| *s.borrow_mut() = Some((outbox.core.clone(), target)));
    uv::install(env.raw());
}

/// Runs `fut` on the calling thread if it completes without waiting (memory backends);
/// otherwise runs it on the engine runtime and returns a ticket that its result settles
/// through the outbox. Panics become `NVENT_INTERNAL`.
pub(crate) fn settle<'env, T, F>(env: &'env Env, fut: F) -> napi::Result<Settled<'env, T>>
where
    T: ToNapiValue + serde::Serialize + Send + 'static,
    F: Future<Output = crate::Result<T>> + Send + 'static,
{
    settle_as(env, fut, |ticket, v: &T| {
        serde_json::to_string(v)
            .map(|text| format!("{{\"t\":{ticket},\"v\":{text}}}"))
            .map_err(|e| NventError::internal(e.to_string()))
    })
}

/// Like [`settle`] for results that are JSON text: a ticket's payload carries the value
/// itself (`"r"`), which the outbox's one `JSON.parse` decodes, instead of a string to
/// parse again.
pub(crate) fn settle_json<'env, F>(env: &'env Env, fut: F) -> napi::Result<Settled<'env, JsonText>>
where
    F: Future<Output = crate::Result<JsonText>> + Send + 'static,
{
    settle_as(env, fut, |ticket, v: &JsonText| {
        Ok(format!("{{\"t\":{ticket},\"r\":{}}}", v.0.as_str()))
    })
}

fn settle_as<'env, T, F>(
    env: &'env Env,
    fut: F,
    payload: fn(u64, &T) -> crate::Result<String>,
) -> napi::Result<Settled<'env, T>>
where
    T: ToNapiValue + Send + 'static,
    F: Future<Output = crate::Result<T>> + Send + 'static,
{
    crate::eventloop::reset_used();
    match poll_once(fut) {
        Polled::Ready(out) => out.map(Either::A).map_err(js_err),
        Polled::Pending(rest) => {
            let Some((outbox, target)) = SETTLER.with(|s| s.borrow().clone()) else {
                return Err(js_err(NventError::internal(
                    "no settlement target on this thread (load the engine through its JS entry)",
                )));
            };
            let ticket = NEXT_TICKET.fetch_add(1, Ordering::Relaxed);
            let settle = async move {
                let text = rest
                    .await
                    .and_then(|v| payload(ticket, &v))
                    .unwrap_or_else(|e| error_payload(ticket, &e));
                outbox.push(target, Json::trusted(text));
            };
            // Waiting for a reply this thread's loop reads: it goes on here (see
            // src/eventloop.rs); anything else waits on the runtime.
            if crate::eventloop::used() {
                crate::eventloop::adopt(Box::pin(settle));
            } else {
                crate::runtime::spawn(settle).map_err(js_err)?;
            }
            let mut obj = Object::new(env)?;
            obj.set("nventTicket", ticket as f64)?;
            Ok(Either::B(obj))
        }
    }
}

/// The number of a ticket that settles (with `null`) once JS has been handed everything queued in this
/// thread's outbox before the call: the outbox is one FIFO, so its settlement comes after
/// them. `unsubscribe()` waits for it before dropping a subscriber's target, so that what
/// the engine queued for a subscriber before it was unsubscribed is still delivered
/// (SPEC §3.1, §4).
// napi-derive registers exported functions from a static constructor that rustc cannot
// see, so it counts them as unused.
#[allow(dead_code)]
#[napi]
pub fn outbox_barrier() -> napi::Result<f64> {
    let Some((outbox, target)) = SETTLER.with(|s| s.borrow().clone()) else {
        return Err(js_err(NventError::internal(
            "no settlement target on this thread (load the engine through its JS entry)",
        )));
    };
    let ticket = NEXT_TICKET.fetch_add(1, Ordering::Relaxed);
    outbox.push(
        target,
        Json::trusted(format!("{{\"t\":{ticket},\"v\":null}}")),
    );
    Ok(ticket as f64)
}

fn error_payload(ticket: u64, e: &NventError) -> String {
    serde_json::json!({ "t": ticket, "e": [e.code(), e.path().unwrap_or(""), e.to_string()] })
        .to_string()
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
