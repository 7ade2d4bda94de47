//! The outbox: how the core reaches JS. Every callback the core invokes (subscribers, bus
//! handlers, queue signals, calls into JS-registered adapters) appends `(target, payload)`
//! here; one weak thread-safe function wakes the JS side, which drains everything queued so
//! far in one call and dispatches it in order. One wake-up per batch, not per message, and
//! a weak TSFN: an idle outbox never keeps Node alive.

use crate::callback::Callback;
use crate::error::NventError;
use crate::value::Json;
use napi::bindgen_prelude::*;
use napi::threadsafe_function::{ThreadsafeFunction, ThreadsafeFunctionCallMode};
use napi_derive::napi;
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use tokio::sync::oneshot;

type Wake = ThreadsafeFunction<(), (), (), Status, false, true, 0>;

pub(crate) struct OutboxCore {
    items: Mutex<Vec<(u32, Json)>>,
    scheduled: AtomicBool,
    wake: Wake,
    next_call: AtomicU64,
    calls: Mutex<HashMap<u64, oneshot::Sender<crate::Result<Json>>>>,
}

impl OutboxCore {
    pub(crate) fn push(&self, target: u32, payload: Json) {
        self.items
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push((target, payload));
        if !self.scheduled.swap(true, Ordering::AcqRel) {
            // A closing environment refuses the call; nothing is left to deliver to then.
            let _ = self.wake.call((), ThreadsafeFunctionCallMode::NonBlocking);
        }
    }

    /// Sends a call to a JS-registered adapter (`target`) and waits for its settlement.
    pub(crate) async fn call_js(
        &self,
        target: u32,
        method: &str,
        args: String,
    ) -> crate::Result<Json> {
        let id = self.next_call.fetch_add(1, Ordering::Relaxed) + 1;
        let (tx, rx) = oneshot::channel();
        self.calls
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(id, tx);
        let payload = format!(
            "{{\"call\":{id},\"method\":{},\"args\":{args}}}",
            serde_json::Value::String(method.to_string())
        );
        self.push(target, Json::trusted(payload));
        rx.await
            .unwrap_or_else(|_| Err(NventError::closed("the JS adapter bridge")))
    }
}

/// A core callback that queues payloads for one JS target.
pub(crate) struct ToJs {
    pub outbox: Arc<OutboxCore>,
    pub target: u32,
}

impl Callback for ToJs {
    fn call(&self, payload: &Json) {
        self.outbox.push(self.target, payload.clone());
    }
}

#[napi]
pub struct Outbox {
    pub(crate) core: Arc<OutboxCore>,
}

#[napi]
impl Outbox {
    /// `wake` is called (with no arguments, asynchronously) when payloads are waiting.
    #[napi(constructor)]
    pub fn new(wake: Function<(), ()>) -> napi::Result<Self> {
        let wake: Wake = wake
            .build_threadsafe_function::<()>()
            .weak::<true>()
            .callee_handled::<false>()
            .build_callback(|_ctx| Ok(()))?;
        Ok(Outbox {
            core: Arc::new(OutboxCore {
                items: Mutex::new(Vec::new()),
                scheduled: AtomicBool::new(false),
                wake,
                next_call: AtomicU64::new(0),
                calls: Mutex::new(HashMap::new()),
            }),
        })
    }

    /// Everything queued so far, as JSON text `[[target, payload], ...]`, in order.
    #[napi]
    pub fn drain(&self) -> String {
        self.core.scheduled.store(false, Ordering::Release);
        let items = std::mem::take(&mut *self.core.items.lock().unwrap_or_else(|p| p.into_inner()));
        let mut out = String::with_capacity(
            items
                .iter()
                .map(|(_, p)| p.as_str().len() + 8)
                .sum::<usize>()
                + 2,
        );
        out.push('[');
        for (i, (target, payload)) in items.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            out.push('[');
            out.push_str(&target.to_string());
            out.push(',');
            out.push_str(payload.as_str());
            out.push(']');
        }
        out.push(']');
        out
    }

    /// Settles a call made by `call_js`: `ok` with the JSON text of the result, or an
    /// error given as `code` and `message`.
    #[napi]
    pub fn settle_call(&self, id: f64, ok: bool, result: String, code: Option<String>) {
        let Some(tx) = self
            .core
            .calls
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(&(id as u64))
        else {
            return;
        };
        let settled = if ok {
            Json::from_text(result, &crate::value::Limits::default())
        } else {
            Err(NventError::from_code(
                code.as_deref().unwrap_or("NVENT_INTERNAL"),
                result,
                None,
            ))
        };
        let _ = tx.send(settled);
    }
}
