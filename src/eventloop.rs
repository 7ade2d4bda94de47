//! The JS thread's event loop as a place where engine work can run.
//!
//! Work normally runs on the engine runtime's threads, and a result reaches JS through the
//! outbox: a call from JS to Redis and back then wakes three threads in turn (a runtime
//! worker to send, the same or another to read the reply, the JS thread to settle). On a
//! machine whose CPUs idle between requests each wake-up costs tens of microseconds, which
//! is most of the time an idle pickup takes.
//!
//! When the binding installs a [`Driver`] for the JS thread, a socket can be watched by the
//! JS thread's own event loop (libuv): a command is written from the JS thread, its reply
//! is read there when the loop sees the socket readable, and the future that waited for it
//! goes on there too, so the settlement is queued without any other thread waking.
//!
//! Futures started here ([`start`]) are polled on this thread while what they wait for is
//! a reply read by this thread's loop ([`mark_used`]); a future woken from anywhere else
//! (a runtime timer, another connection) moves to the engine runtime and finishes there.
//! Nothing is ever polled on two threads at once, and a future never waits for a loop turn
//! that might not come: only wakes during a loop turn ([`turn`]) keep it here.
//!
//! Without a driver (core tests, other threads) nothing changes: [`here`] is false and
//! every caller takes the runtime path.

use std::cell::{Cell, RefCell};
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll, Wake, Waker};
use std::thread::ThreadId;

/// A future the event loop may run.
pub type Work = Pin<Box<dyn Future<Output = ()> + Send>>;

/// What a watched socket's owner is told when its socket is ready.
pub trait Io: Send + Sync {
    /// Called on the loop's thread, inside a [`turn`]. `failed` reports a poll error (the
    /// socket should be read anyway: the read returns the error).
    fn ready(&self, readable: bool, writable: bool, failed: bool);
}

/// A watch on one socket; dropping it stops the watch (on the loop's thread only).
pub trait Watch {
    /// Asks to be told when the socket can take more bytes (`true`) or no longer (`false`).
    fn want_writable(&self, on: bool);
}

/// The binding's access to the JS thread's event loop.
pub trait Driver {
    /// Watches `fd` for readability until the returned watch is dropped. `None` when the
    /// loop refused it (the caller then stays on the runtime path).
    fn watch(&self, fd: i32, io: Arc<dyn Io>) -> Option<Box<dyn Watch>>;

    /// A handle other threads use to run work on this loop's thread.
    fn poster(&self) -> Option<Arc<dyn Post>>;
}

/// Runs work on one loop's thread, from any thread.
pub trait Post: Send + Sync {
    /// Queues `f` to run on the loop's thread, inside a [`turn`], soon. False when that loop
    /// is gone (its environment was torn down): `f` is dropped.
    fn post(&self, f: Box<dyn FnOnce() + Send>) -> bool;
}

thread_local! {
    static DRIVER: RefCell<Option<Rc<dyn Driver>>> = const { RefCell::new(None) };
    /// Inside a loop turn: wakes from this thread keep their task here.
    static IN_TURN: Cell<bool> = const { Cell::new(false) };
    /// Tasks woken during the current turn, polled at its end.
    static READY: RefCell<Vec<Arc<Task>>> = const { RefCell::new(Vec::new()) };
    /// Set by a loop connection when the future being polled sent on it.
    static USED: Cell<bool> = const { Cell::new(false) };
    /// The watches of this thread's sockets, by owner key. A watch is not `Send`: it may
    /// only be touched, and dropped, on its loop's thread, so it is kept here.
    static WATCHES: RefCell<Vec<(usize, Box<dyn Watch>)>> = const { RefCell::new(Vec::new()) };
    /// Run once the current turn is over (see [`after_turn`]).
    static AFTER: RefCell<Vec<Box<dyn FnOnce()>>> = const { RefCell::new(Vec::new()) };
}

/// Installs this thread's driver (the binding does, once per JS thread).
pub fn install(driver: Rc<dyn Driver>) {
    DRIVER.with(|d| *d.borrow_mut() = Some(driver));
}

/// Removes this thread's driver and stops every watch (its environment is going away:
/// the loop must hold no handle of ours when it closes).
pub fn uninstall() {
    DRIVER.with(|d| *d.borrow_mut() = None);
    let watches = WATCHES.with(|w| std::mem::take(&mut *w.borrow_mut()));
    drop(watches);
}

/// Whether this thread has an event loop the engine may use.
pub fn here() -> bool {
    DRIVER.with(|d| d.borrow().is_some())
}

/// Watches `fd` with this thread's loop (see [`Driver::watch`]).
fn watch(fd: i32, io: Arc<dyn Io>) -> Option<Box<dyn Watch>> {
    let driver = DRIVER.with(|d| d.borrow().clone())?;
    driver.watch(fd, io)
}

/// This thread's loop's [`Post`] handle, if it has a loop.
pub fn poster() -> Option<Arc<dyn Post>> {
    let driver = DRIVER.with(|d| d.borrow().clone())?;
    driver.poster()
}

/// Watches `fd` with this thread's loop and keeps the watch under `key` (see
/// [`with_watch`], [`unwatch`]). False when there is no loop or it refused the socket.
pub fn keep_watch(key: usize, fd: i32, io: Arc<dyn Io>) -> bool {
    match watch(fd, io) {
        Some(w) => {
            WATCHES.with(|ws| ws.borrow_mut().push((key, w)));
            true
        }
        None => false,
    }
}

/// Calls `f` with the watch kept under `key`, if this thread keeps one.
pub fn with_watch(key: usize, f: impl FnOnce(&dyn Watch)) {
    WATCHES.with(|w| {
        if let Some((_, watch)) = w.borrow().iter().find(|(k, _)| *k == key) {
            f(watch.as_ref());
        }
    });
}

/// Stops the watch kept under `key`.
pub fn unwatch(key: usize) {
    let gone = WATCHES.with(|w| {
        let mut w = w.borrow_mut();
        w.iter()
            .position(|(k, _)| *k == key)
            .map(|i| w.swap_remove(i))
    });
    // Dropped outside the borrow: stopping a watch may call back into this module.
    drop(gone);
}

/// Records that the future being polled waits for a reply this thread's loop will read.
pub fn mark_used() {
    USED.with(|u| u.set(true));
}

/// Runs `f` as one loop turn (the driver calls every socket callback through this), then
/// polls the tasks its wakes made ready.
pub fn turn(f: impl FnOnce()) {
    let outer = IN_TURN.with(|t| t.replace(true));
    // A panic must not unwind into the C loop; the socket owner sees its own state.
    let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(f));
    loop {
        let ready = READY.with(|r| std::mem::take(&mut *r.borrow_mut()));
        if ready.is_empty() {
            break;
        }
        for task in ready {
            task.run(false);
        }
    }
    IN_TURN.with(|t| t.set(outer));
    if !outer {
        loop {
            let after = AFTER.with(|a| std::mem::take(&mut *a.borrow_mut()));
            if after.is_empty() {
                break;
            }
            for f in after {
                let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(f));
            }
        }
    }
}

/// Runs `f` on this thread once the current loop turn is over, outside it, before the
/// loop goes on; false (and `f` dropped) when this thread is not in a turn. The binding
/// calls into JS from there: what a turn queued for JS reaches it in the same loop
/// iteration, without a wake-up of its own.
pub fn after_turn(f: Box<dyn FnOnce()>) -> bool {
    if !IN_TURN.with(|t| t.get()) {
        return false;
    }
    AFTER.with(|a| a.borrow_mut().push(f));
    true
}

/// Starts `work` on this thread: it is polled now, and stays here only while it waits for
/// a loop connection's reply (see the module docs). Without a loop it goes to the runtime.
pub fn start(work: Work) {
    begin(work, false);
}

/// Takes over `work`, which was polled once already (with a waker that will not wake it)
/// and is waiting for a loop connection's reply ([`used`] said so): it is polled again
/// with a real waker and stays here.
pub fn adopt(work: Work) {
    begin(work, true);
}

fn begin(work: Work, waiting_here: bool) {
    if !here() {
        let _ = crate::runtime::spawn(work);
        return;
    }
    let task = Task::new(work);
    // As a turn: what this first poll wakes on this thread is polled before returning.
    turn(|| task.run(waiting_here));
}

/// Clears the record of loop use before a poll; [`used`] reads it after.
pub fn reset_used() {
    USED.with(|u| u.set(false));
}

/// Whether a loop connection was sent on since [`reset_used`].
pub fn used() -> bool {
    USED.with(|u| u.get())
}

enum State {
    /// Waiting; holds the future.
    Idle(Work),
    /// Being polled; `woken` records a wake that came meanwhile.
    Polling { woken: bool },
    /// Finished, or moved to the runtime.
    Gone,
}

struct Task {
    thread: ThreadId,
    state: Mutex<State>,
}

fn lock(m: &Mutex<State>) -> MutexGuard<'_, State> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// Hands a future to the engine runtime (which polls it at once with its own waker).
fn migrate(work: Work) {
    // Without a runtime nothing can run it; dropping it drops its waiters, which see
    // their channels closed.
    let _ = crate::runtime::spawn(work);
}

impl Task {
    fn new(work: Work) -> Arc<Task> {
        Arc::new(Task {
            thread: std::thread::current().id(),
            state: Mutex::new(State::Idle(work)),
        })
    }

    /// Polls the task; `waiting_here` says it is known to wait for a loop reply already.
    fn run(self: &Arc<Self>, mut waiting_here: bool) {
        // One guard for the check and the restore: a wake in between must not be lost.
        let mut work = {
            let mut st = lock(&self.state);
            match std::mem::replace(&mut *st, State::Polling { woken: false }) {
                State::Idle(w) => w,
                other => {
                    *st = other;
                    return;
                }
            }
        };
        let waker = Waker::from(self.clone());
        let mut cx = Context::from_waker(&waker);
        loop {
            let outer_used = USED.with(|u| u.replace(false));
            let polled = {
                let _rt = crate::runtime::handle().ok();
                let _guard = _rt.as_ref().map(|h| h.enter());
                std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                    work.as_mut().poll(&mut cx)
                }))
            };
            let used = USED.with(|u| u.replace(outer_used)) || std::mem::take(&mut waiting_here);
            if !matches!(polled, Ok(Poll::Pending)) {
                *lock(&self.state) = State::Gone;
                return;
            }
            let mut st = lock(&self.state);
            if matches!(*st, State::Polling { woken: true }) {
                *st = State::Polling { woken: false };
                continue;
            }
            if used {
                *st = State::Idle(work);
            } else {
                *st = State::Gone;
                drop(st);
                migrate(work);
            }
            return;
        }
    }
}

impl Wake for Task {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        let mut st = lock(&self.state);
        match &mut *st {
            State::Polling { woken } => *woken = true,
            State::Gone => {}
            State::Idle(_) => {
                if std::thread::current().id() == self.thread && IN_TURN.with(|t| t.get()) {
                    drop(st);
                    READY.with(|r| r.borrow_mut().push(self.clone()));
                } else if let State::Idle(work) = std::mem::replace(&mut *st, State::Gone) {
                    drop(st);
                    migrate(work);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    struct NoLoop;
    impl Driver for NoLoop {
        fn watch(&self, _: i32, _: Arc<dyn Io>) -> Option<Box<dyn Watch>> {
            None
        }
        fn poster(&self) -> Option<Arc<dyn Post>> {
            None
        }
    }

    /// A future that waits for a oneshot "reply" and says it came from the loop.
    fn waiting(
        rx: tokio::sync::oneshot::Receiver<u32>,
        done: Arc<AtomicUsize>,
        on: Arc<Mutex<Option<ThreadId>>>,
    ) -> Work {
        Box::pin(async move {
            mark_used();
            let v = rx.await.unwrap_or(0);
            *on.lock().unwrap() = Some(std::thread::current().id());
            done.store(v as usize, Ordering::SeqCst);
        })
    }

    type Reply = tokio::sync::oneshot::Sender<u32>;
    type Ran = (Arc<AtomicUsize>, Arc<Mutex<Option<ThreadId>>>);

    /// Installs a loop here and starts a task waiting for the returned sender.
    fn started() -> (Reply, Ran) {
        install(Rc::new(NoLoop));
        let (tx, rx) = tokio::sync::oneshot::channel();
        let done = Arc::new(AtomicUsize::new(0));
        let on = Arc::new(Mutex::new(None));
        start(waiting(rx, done.clone(), on.clone()));
        (tx, (done, on))
    }

    fn wait_until_done(done: &AtomicUsize) {
        let t0 = std::time::Instant::now();
        while done.load(Ordering::SeqCst) == 0 && t0.elapsed().as_secs() < 10 {
            std::thread::sleep(std::time::Duration::from_millis(1));
        }
    }

    #[test]
    fn a_task_woken_in_a_turn_finishes_on_this_thread() {
        let (tx, (done, on)) = started();
        assert_eq!(done.load(Ordering::SeqCst), 0);
        turn(|| {
            let _ = tx.send(7);
        });
        assert_eq!(done.load(Ordering::SeqCst), 7);
        assert_eq!(*on.lock().unwrap(), Some(std::thread::current().id()));
        uninstall();
    }

    #[test]
    fn a_task_woken_elsewhere_moves_to_the_runtime() {
        let (tx, (done, on)) = started();
        std::thread::spawn(move || {
            let _ = tx.send(9);
        })
        .join()
        .unwrap();
        wait_until_done(&done);
        assert_eq!(done.load(Ordering::SeqCst), 9);
        assert_ne!(*on.lock().unwrap(), Some(std::thread::current().id()));
        uninstall();
    }

    #[test]
    fn a_task_that_waits_on_something_else_moves_to_the_runtime_at_once() {
        install(Rc::new(NoLoop));
        let done = Arc::new(AtomicUsize::new(0));
        let d = done.clone();
        start(Box::pin(async move {
            tokio::time::sleep(std::time::Duration::from_millis(5)).await;
            d.store(1, Ordering::SeqCst);
        }));
        wait_until_done(&done);
        assert_eq!(done.load(Ordering::SeqCst), 1);
        uninstall();
    }
}
