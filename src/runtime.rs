//! The engine's tokio runtime: timers (delays, retries, timeouts, cron), the coordinator's
//! persistence worker and, later, file and Redis I/O. Created on first use with two worker
//! threads (the machines we target have two cores; work here is I/O and timers, not CPU).

use crate::error::{NventError, Result};
use std::future::Future;
use std::sync::OnceLock;
use tokio::runtime::{Builder, Handle, Runtime};

static RUNTIME: OnceLock<std::result::Result<Runtime, String>> = OnceLock::new();

/// The runtime to spawn on: the current one when called from inside a runtime (tests,
/// engine tasks), the engine's own otherwise (calls from the JS thread).
pub fn handle() -> Result<Handle> {
    if let Ok(h) = Handle::try_current() {
        return Ok(h);
    }
    let rt = RUNTIME.get_or_init(|| {
        Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("nvent-engine")
            .enable_all()
            .build()
            .map_err(|e| e.to_string())
    });
    match rt {
        Ok(rt) => Ok(rt.handle().clone()),
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
