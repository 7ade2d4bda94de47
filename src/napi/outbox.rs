//! The outbox: how the core reaches JS. Every callback the core invokes (subscribers, bus
//! handlers, queue signals, calls into JS-registered adapters) appends `(target, payload)`
//! here; one weak thread-safe function wakes the JS side, which drains everything queued so
//! far in one call and dispatches it in order. One wake-up per batch, not per message, and
//! a weak TSFN: an idle outbox never keeps Node alive.

use crate::callback::Callback;
use crate::error::NventError;
use crate::value::Json;
use napi::bindgen_prelude::*;
use napi::sys;
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
    /// The same JS function, called directly on its own thread (see [`Direct`]).
    direct: Option<Direct>,
    next_call: AtomicU64,
    calls: Mutex<HashMap<u64, oneshot::Sender<crate::Result<Json>>>>,
}

/// The wake function as its own JS thread calls it once an event-loop turn that queued
/// payloads is over (`eventloop::after_turn`): the payloads reach JS in the same loop
/// iteration, where the thread-safe function would first wake the loop again (an
/// eventfd write, one more poll). Raw handles of the outbox's environment, used only on
/// `thread`; the reference is never released (one per environment, which outlives
/// nothing it holds).
struct Direct {
    thread: std::thread::ThreadId,
    env: usize,
    func: usize,
    context: usize,
}

impl OutboxCore {
    pub(crate) fn push(self: &Arc<Self>, target: u32, payload: Json) {
        self.items
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push((target, payload));
        if !self.scheduled.swap(true, Ordering::AcqRel) {
            let here = self
                .direct
                .as_ref()
                .is_some_and(|d| d.thread == std::thread::current().id());
            if here {
                let me = self.clone();
                if crate::eventloop::after_turn(Box::new(move || me.wake_here())) {
                    return;
                }
            }
            self.wake_later();
        }
    }

    /// Wakes JS through the thread-safe function. A closing environment refuses the
    /// call; nothing is left to deliver to then.
    fn wake_later(&self) {
        let _ = self.wake.call((), ThreadsafeFunctionCallMode::NonBlocking);
    }

    /// Calls the wake function now, on its thread, outside any JS frame (see [`Direct`]);
    /// through the thread-safe function if that fails. An exception it throws is the
    /// process's, as from any callback.
    fn wake_here(&self) {
        let Some(d) = &self.direct else {
            return self.wake_later();
        };
        let env = d.env as sys::napi_env;
        let ok = sys::Status::napi_ok;
        // SAFETY: this is the environment's own thread (checked when queued) and the loop
        // is running it, so the environment is alive (its teardown stops the loop's turns
        // first); the handle scope bounds every value made here.
        let called = unsafe {
            let mut scope = std::ptr::null_mut();
            if sys::napi_open_handle_scope(env, &mut scope) != ok {
                return self.wake_later();
            }
            let mut func = std::ptr::null_mut();
            // The receiver must be an object for napi_make_callback: the global one.
            let mut recv = std::ptr::null_mut();
            let mut result = std::ptr::null_mut();
            let status = if sys::napi_get_reference_value(env, d.func as sys::napi_ref, &mut func)
                == ok
                && !func.is_null()
                && sys::napi_get_global(env, &mut recv) == ok
            {
                sys::napi_make_callback(
                    env,
                    d.context as sys::napi_async_context,
                    recv,
                    func,
                    0,
                    std::ptr::null(),
                    &mut result,
                )
            } else {
                sys::Status::napi_generic_failure
            };
            if status == sys::Status::napi_pending_exception {
                let mut error = std::ptr::null_mut();
                if sys::napi_get_and_clear_last_exception(env, &mut error) == ok {
                    sys::napi_fatal_exception(env, error);
                }
            }
            sys::napi_close_handle_scope(env, scope);
            status == ok || status == sys::Status::napi_pending_exception
        };
        if !called {
            self.wake_later();
        }
    }

    /// Sends a call to a JS-registered adapter (`target`) and waits for its settlement.
    pub(crate) async fn call_js(
        self: &Arc<Self>,
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

/// The handles [`Direct`] calls `func` with: a reference that keeps it and an async
/// context (what async hooks see the calls under). `None` if either cannot be made: the
/// outbox then wakes JS through the thread-safe function only.
fn direct_of(env: &Env, func: sys::napi_value) -> Option<Direct> {
    let raw = env.raw();
    let ok = sys::Status::napi_ok;
    let name = "nvent.outbox";
    // SAFETY: the calling thread's environment, inside the constructor call.
    unsafe {
        let mut reference = std::ptr::null_mut();
        if sys::napi_create_reference(raw, func, 1, &mut reference) != ok {
            return None;
        }
        let mut resource_name = std::ptr::null_mut();
        let mut context = std::ptr::null_mut();
        if sys::napi_create_string_utf8(
            raw,
            name.as_ptr().cast(),
            name.len() as isize,
            &mut resource_name,
        ) != ok
            || sys::napi_async_init(raw, std::ptr::null_mut(), resource_name, &mut context) != ok
        {
            sys::napi_delete_reference(raw, reference);
            return None;
        }
        Some(Direct {
            thread: std::thread::current().id(),
            env: raw as usize,
            func: reference as usize,
            context: context as usize,
        })
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
    pub fn new(env: Env, wake: Function<(), ()>) -> napi::Result<Self> {
        let direct = direct_of(&env, wake.value().value);
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
                direct,
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
