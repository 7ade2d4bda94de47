//! The JS thread's libuv loop as the engine's [`eventloop::Driver`]: sockets watched with
//! `uv_poll_t` handles, whose callbacks run engine work on the JS thread (see
//! `src/eventloop.rs` for why).
//!
//! Node exports libuv's symbols to addons (Node-API documents `napi_get_uv_event_loop` for
//! this use); only the handful below are used. Handles are unreferenced, so an idle
//! connection never keeps Node alive (an open settlement does, see `js/settle.js`), and an
//! environment cleanup hook stops them all before the loop closes (worker threads).

use crate::eventloop::{self, Driver, Io, Watch};
use napi::sys;
use std::alloc::Layout;
use std::ffi::{c_int, c_void};
use std::rc::Rc;
use std::sync::{Arc, OnceLock};

type PollCb = extern "C" fn(handle: *mut c_void, status: c_int, events: c_int);
type CloseCb = extern "C" fn(handle: *mut c_void);

extern "C" {
    fn uv_handle_size(kind: c_int) -> usize;
    fn uv_poll_init_socket(lp: *mut c_void, handle: *mut c_void, fd: c_int) -> c_int;
    fn uv_poll_start(handle: *mut c_void, events: c_int, cb: PollCb) -> c_int;
    fn uv_poll_stop(handle: *mut c_void) -> c_int;
    fn uv_close(handle: *mut c_void, cb: CloseCb);
    fn uv_unref(handle: *mut c_void);
}

/// `UV_POLL` of `uv_handle_type`, and the poll events (uv.h).
const UV_POLL: c_int = 8;
const UV_READABLE: c_int = 1;
const UV_WRITABLE: c_int = 2;

/// A `uv_poll_t`'s size and alignment (its size from libuv itself).
fn layout() -> Option<Layout> {
    static LAYOUT: OnceLock<Option<Layout>> = OnceLock::new();
    *LAYOUT.get_or_init(|| {
        // SAFETY: a pure query of libuv's handle table.
        let size = unsafe { uv_handle_size(UV_POLL) };
        Layout::from_size_align(size.max(64), 16).ok()
    })
}

/// A handle's `data` (the first field of every libuv handle) holds this, boxed.
type Data = Arc<dyn Io>;

struct UvDriver {
    lp: *mut c_void,
}

impl Driver for UvDriver {
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
            *(h as *mut *mut Data) = Box::into_raw(Box::new(io));
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
    let io: &Data = unsafe { &**(h as *const *const Data) };
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
        eventloop::install(Rc::new(UvDriver {
            lp: lp as *mut c_void,
        }));
    }
}
