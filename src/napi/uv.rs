//! The JS thread's libuv loop as the engine's [`eventloop::Driver`]: sockets watched with
//! `uv_poll_t` handles, whose callbacks run engine work on the JS thread (see
//! `src/eventloop.rs` for why).
//!
//! Node exports libuv's symbols to addons (Node-API documents `napi_get_uv_event_loop` for
//! this use); only the handful below are used. Handles are unreferenced, so an idle
//! connection never keeps Node alive (an open settlement does, see `js/settle.js`), and an
//! environment cleanup hook stops them all before the loop closes (worker threads).

use crate::eventloop::{self, Driver, Io, Post, Watch};
use napi::sys;
use std::alloc::Layout;
use std::ffi::{c_int, c_void};
use std::rc::Rc;
use std::sync::{Arc, Mutex, OnceLock};

type PollCb = extern "C" fn(handle: *mut c_void, status: c_int, events: c_int);
type CloseCb = extern "C" fn(handle: *mut c_void);
type AsyncCb = extern "C" fn(handle: *mut c_void);

extern "C" {
    fn uv_handle_size(kind: c_int) -> usize;
    fn uv_async_init(lp: *mut c_void, handle: *mut c_void, cb: AsyncCb) -> c_int;
    fn uv_async_send(handle: *mut c_void) -> c_int;
    fn uv_poll_init_socket(lp: *mut c_void, handle: *mut c_void, fd: c_int) -> c_int;
    fn uv_poll_start(handle: *mut c_void, events: c_int, cb: PollCb) -> c_int;
    fn uv_poll_stop(handle: *mut c_void) -> c_int;
    fn uv_close(handle: *mut c_void, cb: CloseCb);
    fn uv_unref(handle: *mut c_void);
}

/// `UV_ASYNC` and `UV_POLL` of `uv_handle_type`, and the poll events (uv.h).
const UV_ASYNC: c_int = 1;
const UV_POLL: c_int = 8;
const UV_READABLE: c_int = 1;
const UV_WRITABLE: c_int = 2;

/// A `uv_poll_t`'s or `uv_async_t`'s size and alignment (sizes from libuv itself): one
/// layout for both, so that the close callback frees either.
fn layout() -> Option<Layout> {
    static LAYOUT: OnceLock<Option<Layout>> = OnceLock::new();
    *LAYOUT.get_or_init(|| {
        // SAFETY: pure queries of libuv's handle table.
        let size = unsafe { uv_handle_size(UV_POLL).max(uv_handle_size(UV_ASYNC)) };
        Layout::from_size_align(size.max(64), 16).ok()
    })
}

/// A handle's `data` (the first field of every libuv handle) holds this, boxed.
enum Data {
    Poll(Arc<dyn Io>),
    Async(Arc<UvPoster>),
}

struct UvDriver {
    lp: *mut c_void,
    poster: Option<Arc<UvPoster>>,
}

impl Drop for UvDriver {
    fn drop(&mut self) {
        if let Some(p) = &self.poster {
            p.close();
        }
    }
}

type Posted = Box<dyn FnOnce() + Send>;

/// Work posted from other threads, run by a `uv_async_t` on the loop's thread.
struct UvPoster {
    /// The queued work, and the async handle while the loop lives (null once closed).
    queue: Mutex<(Vec<Posted>, usize)>,
}

impl UvPoster {
    /// On the loop's thread: closes the async handle; later posts are refused.
    fn close(&self) {
        let h = {
            let mut q = self.queue.lock().unwrap_or_else(|p| p.into_inner());
            q.0.clear();
            std::mem::replace(&mut q.1, 0)
        };
        if h != 0 {
            // SAFETY: the handle is open (closed only here, once) and this is its thread.
            unsafe { uv_close(h as *mut c_void, on_close) };
        }
    }
}

impl Post for UvPoster {
    fn post(&self, f: Box<dyn FnOnce() + Send>) -> bool {
        let mut q = self.queue.lock().unwrap_or_else(|p| p.into_inner());
        if q.1 == 0 {
            return false;
        }
        q.0.push(f);
        // SAFETY: uv_async_send may be called from any thread; the handle stays open while
        // this lock is held (close takes it first).
        unsafe { uv_async_send(q.1 as *mut c_void) };
        true
    }
}

extern "C" fn on_async(h: *mut c_void) {
    // SAFETY: `data` holds a boxed `Data`, freed only in the close callback.
    let Data::Async(poster) = (unsafe { &**(h as *const *const Data) }) else {
        return;
    };
    let work = std::mem::take(&mut poster.queue.lock().unwrap_or_else(|p| p.into_inner()).0);
    eventloop::turn(|| {
        for f in work {
            // Each on its own: one that panics must not drop the others.
            let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(f));
        }
    });
}

/// Opens the loop's async handle for posted work.
fn open_poster(lp: *mut c_void) -> Option<Arc<UvPoster>> {
    let layout = layout()?;
    let poster = Arc::new(UvPoster {
        queue: Mutex::new((Vec::new(), 0)),
    });
    // SAFETY: as for poll handles: a zeroed block initialised by libuv, freed in on_close
    // together with its boxed data.
    unsafe {
        let h = std::alloc::alloc_zeroed(layout) as *mut c_void;
        if h.is_null() {
            return None;
        }
        if uv_async_init(lp, h, on_async) != 0 {
            std::alloc::dealloc(h as *mut u8, layout);
            return None;
        }
        *(h as *mut *mut Data) = Box::into_raw(Box::new(Data::Async(poster.clone())));
        uv_unref(h);
        poster.queue.lock().unwrap_or_else(|p| p.into_inner()).1 = h as usize;
    }
    Some(poster)
}

impl Driver for UvDriver {
    fn poster(&self) -> Option<Arc<dyn Post>> {
        self.poster.clone().map(|p| p as Arc<dyn Post>)
    }

    fn watch(&self, fd: i32, io: Arc<dyn Io>) -> Option<Box<dyn Watch>> {
        let layout = layout()?;
        // SAFETY: a zeroed block of the handle's size, initialised by libuv before use and
        // freed only in the close callback, after libuv is done with it.
        unsafe {
            let h = std::alloc::alloc_zeroed(layout) as *mut c_void;
            if h.is_null() {
                return None;
            }
            if uv_poll_init_socket(self.lp, h, fd) != 0 {
                std::alloc::dealloc(h as *mut u8, layout);
                return None;
            }
            *(h as *mut *mut Data) = Box::into_raw(Box::new(Data::Poll(io)));
            uv_unref(h);
            if uv_poll_start(h, UV_READABLE, on_poll) != 0 {
                uv_close(h, on_close);
                return None;
            }
            Some(Box::new(UvWatch { h }))
        }
    }
}

struct UvWatch {
    h: *mut c_void,
}

impl Watch for UvWatch {
    fn want_writable(&self, on: bool) {
        let events = if on {
            UV_READABLE | UV_WRITABLE
        } else {
            UV_READABLE
        };
        // SAFETY: the handle is open until this watch drops. A refusal leaves the old
        // events; the connection's watchdog then fails what cannot be sent.
        unsafe {
            uv_poll_start(self.h, events, on_poll);
        }
    }
}

impl Drop for UvWatch {
    fn drop(&mut self) {
        // SAFETY: watches live in a thread-local of the loop's thread and drop there.
        unsafe {
            uv_poll_stop(self.h);
            uv_close(self.h, on_close);
        }
    }
}

extern "C" fn on_poll(h: *mut c_void, status: c_int, events: c_int) {
    // SAFETY: `data` was set to a boxed `Data` before the poll started and is freed only
    // in the close callback, which libuv runs after the last poll callback.
    let Data::Poll(io) = (unsafe { &**(h as *const *const Data) }) else {
        return;
    };
    let readable = events & UV_READABLE != 0;
    let writable = events & UV_WRITABLE != 0;
    eventloop::turn(|| io.ready(readable || status < 0, writable, status < 0));
}

extern "C" fn on_close(h: *mut c_void) {
    // SAFETY: libuv is done with the handle; `data` and the block are ours to free.
    unsafe {
        let data = *(h as *mut *mut Data);
        if !data.is_null() {
            drop(Box::from_raw(data));
        }
        if let Some(layout) = layout() {
            std::alloc::dealloc(h as *mut u8, layout);
        }
    }
}

unsafe extern "C" fn on_env_cleanup(_arg: *mut c_void) {
    eventloop::uninstall();
}

/// Makes this JS thread's loop the engine's event loop (once per thread).
pub(crate) fn install(env: sys::napi_env) {
    if eventloop::here() || layout().is_none() {
        return;
    }
    let mut lp: *mut sys::uv_loop_s = std::ptr::null_mut();
    // SAFETY: `env` is the calling thread's environment.
    let ok = unsafe { sys::napi_get_uv_event_loop(env, &mut lp) } == sys::Status::napi_ok;
    if !ok || lp.is_null() {
        return;
    }
    // SAFETY: as above; the hook runs when this environment is torn down.
    let hooked =
        unsafe { sys::napi_add_env_cleanup_hook(env, Some(on_env_cleanup), std::ptr::null_mut()) }
            == sys::Status::napi_ok;
    if hooked {
        let lp = lp as *mut c_void;
        eventloop::install(Rc::new(UvDriver {
            lp,
            poster: open_poster(lp),
        }));
    }
}
