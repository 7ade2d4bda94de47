//! Exports that prove the boundary's guarantees in tests: a panic in a sync export or in
//! an async one becomes `NVENT_INTERNAL` and never aborts Node.

use super::{settle, sync};
use crate::error::NventError;
use napi::bindgen_prelude::*;
use napi_derive::napi;

// napi-derive registers exported functions from a static constructor that rustc cannot
// see, so it counts them as unused.

/// The engine version (the crate version).
#[allow(dead_code)]
#[napi]
pub fn engine_version() -> String {
    env!("CARGO_PKG_VERSION").to_string()
}

/// Panics inside the engine; `mode` is `"sync"`, `"ready"` or `"async"`. For tests only.
#[allow(dead_code)]
#[napi]
pub fn debug_panic(env: &Env, mode: String) -> napi::Result<Either<String, Object<'_>>> {
    match mode.as_str() {
        "sync" => sync(|| -> crate::Result<String> { panic!("debug panic (sync)") }).map(Either::A),
        "ready" => settle(env, async { panic!("debug panic (ready future)") }),
        "async" => settle(env, async {
            tokio::task::yield_now().await;
            if true {
                panic!("debug panic (async)");
            }
            Ok(String::new())
        }),
        _ => Err(super::js_err(NventError::invalid_argument(format!(
            "unknown panic mode '{mode}'"
        )))),
    }
}

/// Fails with the given code, synchronously or after a runtime hop. For tests only.
#[allow(dead_code)]
#[napi]
pub fn debug_fail(
    env: &Env,
    code: String,
    asynchronous: bool,
) -> napi::Result<Either<String, Object<'_>>> {
    let err = NventError::from_code(&code, format!("debug failure {code}"), None);
    if asynchronous {
        settle(env, async move {
            tokio::task::yield_now().await;
            Err(err)
        })
    } else {
        Err(super::js_err(err))
    }
}

/// The SHA1 a queue script (`file` under `src/redis/scripts/queue/`) runs under, as sent
/// to the server; `None` for an unknown file. For tests that watch which scripts run.
#[allow(dead_code)]
#[napi]
pub fn debug_queue_script_sha(file: String) -> Option<String> {
    crate::redis::scripts::QUEUE_SCRIPTS
        .iter()
        .find(|(f, _)| *f == file)
        .map(|(_, s)| s.get_hash().to_string())
}
