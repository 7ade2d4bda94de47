//! The Redis queue's reply decoders, for the fuzz targets (see `crate::fuzzing`).

use crate::error::Result;
use crate::value::Json;

/// A `readJob-12.lua` reply as the job object `getJob` resolves with.
pub fn read_job(id: &str, queue: &str, reply: redis::Value) -> Result<Option<Json>> {
    Ok(super::render::read_job(id, reply)?.map(|(job, paused)| job.render(queue, paused)))
}

/// Taken jobs (a take script's flat reply) as the runner gets them: each the six values
/// of `Job::render_claim`, without brackets.
pub fn claims(reply: &[redis::Value]) -> Result<Vec<String>> {
    Ok(super::render::claims(reply)?
        .into_iter()
        .map(|c| c.json)
        .collect())
}

/// A flat `[field, value, ...]` reply as pairs.
pub fn pairs(v: redis::Value) -> Vec<(String, String)> {
    super::wire::pairs(v)
}
