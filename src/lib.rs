//! nvent engine: queue, stream and store adapters with an event bus and a stream
//! coordinator, for Nuxt (SPEC.md).
//!
//! The core (everything but `napi`) knows nothing of Node: its tests run with plain
//! `cargo test --no-default-features`. The `napi` module is the only code that names napi;
//! it converts arguments, calls the core and converts results. JS callbacks enter the core
//! through [`callback::Callback`], which the binding implements.

pub mod bus;
pub mod callback;
pub mod config;
pub mod coordinator;
pub mod error;
pub mod eventloop;
pub mod file;
#[cfg(fuzzing)]
pub mod fuzzing;
pub mod glob;
pub mod journal;
pub mod options;
pub mod queue;
pub mod ready;
pub mod redis;
pub mod runtime;
pub mod store;
pub mod stream;
pub mod value;

#[cfg(feature = "napi")]
mod napi;

// The addon allocates many small, short-lived objects (job records, JSON texts); mimalloc
// measured ~2x faster than glibc malloc on the queue benchmark here.
#[cfg(feature = "napi")]
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

pub use error::{NventError, Result};
