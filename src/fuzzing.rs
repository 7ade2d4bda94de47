//! Entry points for the fuzz targets in `fuzz/`, compiled only with `--cfg fuzzing` (which
//! `cargo fuzz` sets). The decoders of Redis replies are private to their backends; a
//! target must run exactly the code a reply goes through, so each backend lends it its
//! own functions here instead of the targets copying them.

pub use crate::queue::redis::fuzzing as queue_redis;
pub use crate::store::redis::fuzzing as store_redis;
