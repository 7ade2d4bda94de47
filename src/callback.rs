//! How the core hands data to code outside it (JS handlers, through the binding).
//!
//! A [`Callback`] receives JSON payloads. It must not block and must not call back into the
//! component that invoked it while that component holds a lock: components collect the
//! callbacks to run, release their locks, then call them. Payloads reach JS asynchronously,
//! in the order `call` was invoked (the binding queues them in one outbox per JS thread).

use crate::value::Json;

pub trait Callback: Send + Sync {
    fn call(&self, payload: &Json);
}

/// A callback made of a closure; used by core tests and by native subscribers.
pub struct FnCallback<F: Fn(&Json) + Send + Sync>(pub F);

impl<F: Fn(&Json) + Send + Sync> Callback for FnCallback<F> {
    fn call(&self, payload: &Json) {
        (self.0)(payload)
    }
}
