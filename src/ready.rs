//! Running engine futures on the caller's thread when they can finish without waiting.
//!
//! Memory-backend operations never suspend: their futures are ready at the first poll. The
//! binding polls once on the JS thread and hands back an already-settled result, saving a
//! thread hop each way (~27 µs measured here); only futures that really wait (file I/O,
//! Redis) are driven further by [`drive`].
//!
//! [`drive`] polls a waiting future again whenever it is woken: on the tokio runtime, or
//! right on the waking thread when that thread has declared it safe ([`polling_inline`]).
//! The file log's writer does so while it acknowledges a batch, so a file write's caller
//! finishes on the writer thread without a hop to the runtime and back (each hop is a
//! wake-up of a parked thread, measured at several µs per append).

use crate::error::{NventError, Result};
use futures::FutureExt;
use std::cell::Cell;
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Wake, Waker};

/// Polls `fut` once. `Ready` carries its output; `Pending` gives the future back so the
/// caller can spawn it. A panic during the poll becomes `NVENT_INTERNAL`.
pub enum Polled<F: Future> {
    Ready(F::Output),
    Pending(F),
}

pub fn poll_once<T, F>(fut: F) -> Polled<impl Future<Output = Result<T>>>
where
    F: Future<Output = Result<T>>,
{
    let mut fut = Box::pin(AssertUnwindSafe(fut).catch_unwind().map(flatten_panic));
    match (&mut fut).now_or_never() {
        Some(out) => Polled::Ready(out),
        None => Polled::Pending(fut),
    }
}

thread_local! {
    /// Wakes on this thread may poll the woken task in place (see [`polling_inline`]).
    static INLINE: Cell<bool> = const { Cell::new(false) };
}

/// Runs `f` with wakes made on this thread polling their tasks in place. Only for code
/// that holds no lock a woken task could need (the task runs inside the wake call).
pub fn polling_inline<R>(f: impl FnOnce() -> R) -> R {
    let was = INLINE.with(|i| i.replace(true));
    let out = f();
    INLINE.with(|i| i.set(was));
    out
}

const IDLE: u8 = 0;
const POLLING: u8 = 1;
const NOTIFIED: u8 = 2;
const DONE: u8 = 3;

type Done<T> = Box<dyn FnOnce(T) + Send>;
/// The future and what gets its output; empty once done.
type Slot<F> = Option<(Pin<Box<F>>, Done<<F as Future>::Output>)>;

/// A future driven by its wakes; `done` gets its output.
struct Task<F: Future> {
    state: AtomicU8,
    slot: Mutex<Slot<F>>,
}

/// Drives `fut` to completion, polling it whenever it is woken (first poll here and now),
/// and hands its output to `done` on the thread that finished it. `fut` must not panic
/// (wrap it with [`catch_panics`]).
pub fn drive<F>(fut: F, done: impl FnOnce(F::Output) + Send + 'static)
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    let task = Arc::new(Task {
        state: AtomicU8::new(POLLING),
        slot: Mutex::new(Some((Box::pin(fut), Box::new(done) as Done<F::Output>))),
    });
    task.run();
}

impl<F> Task<F>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    /// Polls until the future is done or pending with no wake in between. Called only by
    /// whoever moved the state to `POLLING`.
    fn run(self: &Arc<Self>) {
        let waker = Waker::from(self.clone());
        let mut cx = Context::from_waker(&waker);
        // Tasks woken on a foreign thread (the log writer) may use tokio timers and spawns.
        let _rt = match tokio::runtime::Handle::try_current() {
            Ok(_) => None,
            Err(_) => crate::runtime::handle().ok(),
        };
        let _entered = _rt.as_ref().map(|h| h.enter());
        loop {
            let mut slot = self.slot.lock().unwrap_or_else(|p| p.into_inner());
            let Some((fut, _)) = slot.as_mut() else {
                self.state.store(DONE, Ordering::Release);
                return;
            };
            match fut.as_mut().poll(&mut cx) {
                Poll::Ready(out) => {
                    let taken = slot.take();
                    drop(slot);
                    self.state.store(DONE, Ordering::Release);
                    if let Some((_, done)) = taken {
                        done(out);
                    }
                    return;
                }
                Poll::Pending => {
                    drop(slot);
                    match self.state.compare_exchange(
                        POLLING,
                        IDLE,
                        Ordering::AcqRel,
                        Ordering::Acquire,
                    ) {
                        Ok(_) => return,
                        // Woken while polling: poll again.
                        Err(_) => self.state.store(POLLING, Ordering::Release),
                    }
                }
            }
        }
    }
}

impl<F> Wake for Task<F>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        let mut s = self.state.load(Ordering::Acquire);
        loop {
            let next = match s {
                IDLE => POLLING,
                POLLING => NOTIFIED,
                _ => return,
            };
            match self
                .state
                .compare_exchange(s, next, Ordering::AcqRel, Ordering::Acquire)
            {
                Ok(_) => break,
                Err(now) => s = now,
            }
        }
        if s != IDLE {
            return;
        }
        if INLINE.with(Cell::get) {
            self.run();
            return;
        }
        let task = self.clone();
        let spawned = crate::runtime::handle().map(|h| {
            h.spawn(async move { task.run() });
        });
        if spawned.is_err() {
            // No runtime to hand it to: finish here rather than never.
            self.run();
        }
    }
}

/// Wraps a future so that a panic inside it resolves to `NVENT_INTERNAL` instead of
/// unwinding through the runtime.
pub fn catch_panics<T, F>(fut: F) -> impl Future<Output = Result<T>>
where
    F: Future<Output = Result<T>>,
{
    AssertUnwindSafe(fut).catch_unwind().map(flatten_panic)
}

/// Runs a synchronous closure, turning a panic into `NVENT_INTERNAL`.
pub fn catch_sync<T>(f: impl FnOnce() -> Result<T>) -> Result<T> {
    std::panic::catch_unwind(AssertUnwindSafe(f)).unwrap_or_else(|p| Err(panic_error(p)))
}

fn flatten_panic<T>(r: std::thread::Result<Result<T>>) -> Result<T> {
    r.unwrap_or_else(|p| Err(panic_error(p)))
}

fn panic_error(payload: Box<dyn std::any::Any + Send>) -> NventError {
    let message = payload
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "panic".to_string());
    NventError::internal(format!("caught panic: {message}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ready_futures_complete_on_the_first_poll() {
        match poll_once(async { Ok::<_, NventError>(7) }) {
            Polled::Ready(v) => assert_eq!(v.unwrap(), 7),
            Polled::Pending(_) => panic!("should be ready"),
        }
    }

    #[test]
    fn panics_become_internal_errors() {
        let r: Result<()> = catch_sync(|| panic!("boom"));
        assert_eq!(r.unwrap_err().code(), "NVENT_INTERNAL");
        match poll_once(async {
            if true {
                panic!("async boom")
            }
            Ok::<_, NventError>(())
        }) {
            Polled::Ready(r) => assert!(r.unwrap_err().to_string().contains("async boom")),
            Polled::Pending(_) => panic!("should be ready"),
        }
    }

    #[tokio::test]
    async fn driven_futures_finish_on_wakes_inline_or_on_the_runtime() {
        for inline in [false, true] {
            let (tx, rx) = tokio::sync::oneshot::channel::<u8>();
            let (done_tx, done_rx) = std::sync::mpsc::channel();
            drive(async move { rx.await.unwrap_or(0) }, move |v| {
                let _ = done_tx.send((v, std::thread::current().id()));
            });
            assert!(done_rx.try_recv().is_err());
            let waker = std::thread::spawn(move || {
                let send = move || {
                    let _ = tx.send(9);
                };
                if inline {
                    polling_inline(send);
                } else {
                    send();
                }
                std::thread::current().id()
            })
            .join()
            .unwrap();
            let (v, on) = tokio::task::spawn_blocking(move || done_rx.recv().unwrap())
                .await
                .unwrap();
            assert_eq!(v, 9);
            assert_eq!(on == waker, inline);
        }
    }

    #[tokio::test]
    async fn pending_futures_are_handed_back() {
        let (tx, rx) = tokio::sync::oneshot::channel::<u8>();
        let polled = poll_once(async move { rx.await.map_err(|_| NventError::internal("x")) });
        let Polled::Pending(fut) = polled else {
            panic!("should be pending")
        };
        tx.send(3).unwrap();
        assert_eq!(fut.await.unwrap(), 3);
    }
}
