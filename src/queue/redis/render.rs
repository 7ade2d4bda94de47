//! Job hashes (fields written by `scripts/queue/_common.lua`) back into the job objects of
//! SPEC §5, and taken jobs into what the runner hands to handlers.

use super::wire::{array, bad_reply, int, pairs, text};
use crate::error::{NventError, Result};
use crate::queue::job::{push_str, Job, JobOptions, State};
use crate::value::Json;
use redis::Value as RValue;
use serde_json::{Map, Value};

fn corrupt(id: &str, what: &str) -> NventError {
    NventError::Corrupt {
        message: format!("job {id} in redis has a bad '{what}' field"),
    }
}

/// Rebuilds a job from its hash fields.
pub(super) fn job(id: &str, fields: Vec<(String, String)>, logs: Vec<String>) -> Result<Job> {
    let mut name = None;
    let mut data = None;
    let mut opts: Map<String, Value> = Map::new();
    let mut job = Job {
        id: id.to_string(),
        name: String::new(),
        data: Json::trusted("null".into()),
        opts: JobOptions::default(),
        state: State::Waiting,
        timestamp: 0,
        processed_on: None,
        finished_on: None,
        attempts_made: 0,
        returnvalue: None,
        failed_reason: None,
        progress: None,
        logs,
        token: 0,
        // Absent when the id is the creation number (`seqField` in _common.lua).
        seq: id.parse().unwrap_or(0),
    };
    let num = |v: &str, what: &str| v.parse::<u64>().map_err(|_| corrupt(id, what));
    for (f, v) in fields {
        match f.as_str() {
            "name" => name = Some(v),
            "data" => data = Some(v),
            "opts" => match serde_json::from_str(&v) {
                Ok(Value::Object(m)) => opts = m,
                _ => return Err(corrupt(id, "opts")),
            },
            "state" => job.state = State::parse(&v).map_err(|_| corrupt(id, "state"))?,
            "ts" => job.timestamp = num(&v, "ts")?,
            "seq" => job.seq = num(&v, "seq")?,
            "made" => job.attempts_made = num(&v, "made")? as u32,
            "pon" => job.processed_on = Some(num(&v, "pon")?),
            "fon" => job.finished_on = Some(num(&v, "fon")?),
            "rv" => job.returnvalue = Some(Json::trusted(v)),
            "fr" => job.failed_reason = Some(v),
            "prog" => job.progress = Some(Json::trusted(v)),
            _ => {}
        }
    }
    job.name = name.ok_or_else(|| corrupt(id, "name"))?;
    job.data = Json::trusted(data.ok_or_else(|| corrupt(id, "data"))?);
    job.opts = JobOptions::parse(&Map::new(), opts)?;
    Ok(job)
}

/// Decodes the reply of `readJob-12.lua`: `[fields, paused, logs]` (a missing job gives
/// fewer parts), as the job and whether its queue is paused.
pub(super) fn read_job(id: &str, reply: RValue) -> Result<Option<(Job, bool)>> {
    let mut parts = array(reply);
    if parts.len() < 3 {
        return Ok(None);
    }
    let logs = array(parts.pop().unwrap_or_default())
        .iter()
        .filter_map(text)
        .collect();
    let paused = parts.pop().and_then(|v| text(&v)).as_deref() == Some("1");
    let fields = pairs(parts.pop().unwrap_or_default());
    Ok(Some((job(id, fields, logs)?, paused)))
}

/// Decodes taken jobs (flat reply: id, name, data, made, opts, token per job).
pub(super) fn claims(reply: &[RValue]) -> Result<Vec<Claim>> {
    let mut claims = Vec::with_capacity(reply.len() / 6);
    for c in reply.chunks_exact(6) {
        let (Some(id), Some(name), Some(data), Some(made), Some(opts), Some(token)) = (
            text(&c[0]),
            text(&c[1]),
            text(&c[2]),
            int(&c[3]),
            text(&c[4]),
            int(&c[5]),
        ) else {
            return Err(bad_reply("take"));
        };
        claims.push(Claim::new(
            id,
            name,
            &data,
            made.max(0) as u64,
            &opts,
            token.max(0) as u64,
        ));
    }
    Ok(claims)
}

/// A job the take scripts moved to active, as this instance holds it until the runner
/// takes it.
pub(super) struct Claim {
    pub(super) id: String,
    pub(super) token: u64,
    pub(super) name: String,
    /// `id, name, data, attemptsMade, token, opts` (JSON text, see `Job::render_claim`).
    pub(super) json: String,
    pub(super) timeout: Option<u64>,
}

impl Claim {
    /// From the six reply fields id, name, data, attemptsMade (after this start), opts,
    /// token.
    pub(super) fn new(
        id: String,
        name: String,
        data: &str,
        made: u64,
        opts: &str,
        token: u64,
    ) -> Claim {
        // The flat form of `Job::render_claim`.
        let mut out = String::with_capacity(48 + data.len() + opts.len());
        push_str(&mut out, &id);
        out.push(',');
        push_str(&mut out, &name);
        out.push(',');
        out.push_str(data);
        out.push_str(&format!(",{},{token},", made.saturating_sub(1)));
        out.push_str(opts);
        // Only jobs with a timeout pay for parsing their options here.
        let timeout = if opts.contains("\"timeout\"") {
            serde_json::from_str::<Value>(opts)
                .ok()
                .and_then(|o| o.get("timeout").and_then(Value::as_u64))
                .filter(|t| *t > 0)
        } else {
            None
        };
        Claim {
            id,
            token,
            name,
            json: out,
            timeout,
        }
    }
}
