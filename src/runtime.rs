//! The engine's tokio runtime: timers (delays, retries, timeouts, cron), the coordinator's
//! persistence worker and, later, file and Redis I/O. Created on first use with two worker
//! threads (the machines we target have two cores; work here is I/O and timers, not CPU).

use crate::error::{NventError, Result};
use std::future::Future;
use std::sync::OnceLock;
use tokio::runtime::{Builder, Handle, Runtime};

static HANDLE: OnceLock<std::result::Result<Handle, String>> = OnceLock::new();
static OWNED: OnceLock<Runtime> = OnceLock::new();

/// The stack of every runtime thread (workers and blocking threads).
pub const RUNTIME_STACK_BYTES: usize = 8 * 1024 * 1024;

/// Builds a runtime of the engine's shape.
///
/// # Errors
/// The OS refused threads.
pub fn build() -> std::io::Result<Runtime> {
    Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name("nvent-engine")
        // Values nest up to `value::MAX_DEPTH_LIMIT` levels, and parsing, cloning,
        // serializing and dropping one recurse once per level; in a debug build that took
        // more than tokio's default 2 MiB (a 1,024-level entry read on a blocking thread
        // crashed). Only touched pages of a stack are ever committed.
        .thread_stack_size(RUNTIME_STACK_BYTES)
        .enable_all()
        .build()
}

/// Makes `handle` the engine runtime (the binding hands napi the runtime it built, so
/// that napi's futures and the engine's I/O share one pool). False if one was set already.
pub fn install(handle: Handle) -> bool {
    HANDLE.set(Ok(handle)).is_ok()
}

/// The runtime to spawn on: the current one when called from inside a runtime (tests,
/// engine tasks), the engine's own otherwise (calls from the JS thread).
pub fn handle() -> Result<Handle> {
    if let Ok(h) = Handle::try_current() {
        return Ok(h);
    }
    let h = HANDLE.get_or_init(|| {
        let rt = build().map_err(|e| e.to_string())?;
        let h = rt.handle().clone();
        let _ = OWNED.set(rt);
        Ok(h)
    });
    match h {
        Ok(h) => Ok(h.clone()),
        Err(e) => Err(NventError::internal(format!(
            "cannot start the runtime: {e}"
        ))),
    }
}

/// Spawns a background task whose panics are caught and dropped (a task must never take
/// the process down); the task's own errors are its business.
pub fn spawn<F>(fut: F) -> Result<()>
where
    F: Future<Output = ()> + Send + 'static,
{
    let h = handle()?;
    h.spawn(async move {
        let _ = crate::ready::catch_panics(async move {
            fut.await;
            Ok(())
        })
        .await;
    });
    Ok(())
}
