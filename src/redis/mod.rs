//! What every Redis backend shares: connections and error classification
//! ([`connection`]), key and channel names ([`keys`]), Lua scripts ([`scripts`]) and the
//! pub/sub hub ([`pubsub`]), commands written straight into the bytes sent ([`resp`]), and
//! the dead-peer and retry policy of every long-lived connection ([`tail`]).
//!
//! Redis futures need the engine's tokio runtime (their sockets and timers are registered
//! with its reactor), but the binding may poll them on the JS thread or on napi's runtime.
//! [`on_runtime`] makes every poll enter the engine runtime, so no thread hop is needed.

pub mod connection;
pub mod keys;
mod looped;
pub mod pubsub;
pub mod resp;
pub mod scripts;
pub mod tail;

pub use connection::{Redis, RedisConfig};

use crate::error::Result;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

/// Wraps `fut` so that each poll runs inside the engine runtime's context.
pub fn on_runtime<T, F>(fut: F) -> impl Future<Output = Result<T>>
where
    F: Future<Output = Result<T>>,
{
    InRuntime {
        handle: crate::runtime::handle(),
        fut: Box::pin(fut),
    }
}

struct InRuntime<F> {
    handle: Result<tokio::runtime::Handle>,
    fut: Pin<Box<F>>,
}

impl<T, F: Future<Output = Result<T>>> Future for InRuntime<F> {
    type Output = Result<T>;
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = &mut *self;
        match &this.handle {
            Ok(h) => {
                let _guard = h.enter();
                this.fut.as_mut().poll(cx)
            }
            Err(e) => Poll::Ready(Err(e.clone())),
        }
    }
}
