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

/// Checks that a stored field is JSON text before it is spliced into a result: the JS
/// side parses that result whole, so one field another writer (or damage) left as plain
/// text would fail the whole call, or the whole batch of taken jobs, with a bare
/// `SyntaxError` instead of `NVENT_CORRUPT` naming the job.
fn checked(id: &str, what: &str, text: String) -> Result<String> {
    let mut de = serde_json::Deserializer::from_str(&text);
    // The engine wrote these within the depth limit; the reader's own limit is not ours.
    de.disable_recursion_limit();
    let ok = serde::Deserialize::deserialize(&mut de)
        .and_then(|serde::de::IgnoredAny| de.end())
        .is_ok();
    if ok {
        Ok(text)
    } else {
        Err(corrupt(id, what))
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
            "rv" => job.returnvalue = Some(Json::trusted(checked(id, "rv", v)?)),
            "fr" => job.failed_reason = Some(v),
            "prog" => job.progress = Some(Json::trusted(checked(id, "prog", v)?)),
            _ => {}
        }
    }
    job.name = name.ok_or_else(|| corrupt(id, "name"))?;
    job.data = Json::trusted(checked(
        id,
        "data",
        data.ok_or_else(|| corrupt(id, "data"))?,
    )?);
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
        let data = checked(&id, "data", data)?;
        let opts = checked(&id, "opts", opts)?;
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

#[cfg(test)]
mod tests {
    use super::*;

    fn bulk(s: &str) -> RValue {
        RValue::BulkString(s.as_bytes().to_vec())
    }

    /// Found by the `redis_reply` fuzz target: a stored field that is not JSON was spliced
    /// into the text JS parses.
    #[test]
    fn fields_that_are_not_json_are_corrupt_not_spliced() {
        let taken = |data: &str, opts: &str| {
            claims(&[
                bulk("7"),
                bulk("send"),
                bulk(data),
                RValue::Int(1),
                bulk(opts),
                RValue::Int(42),
            ])
        };
        let ok = taken(r#"{"to":"a"}"#, r#"{"timeout":5}"#).unwrap();
        assert_eq!(ok[0].json, r#""7","send",{"to":"a"},0,42,{"timeout":5}"#);
        for (data, opts) in [
            ("{", "{}"),
            ("plain text", "{}"),
            ("1", r#"{"timeout":5,0}"#),
        ] {
            let Err(e) = taken(data, opts) else {
                panic!("{data} {opts} accepted")
            };
            assert_eq!(e.code(), "NVENT_CORRUPT", "{data} {opts}");
        }
        let read = |field: &str, value: &str| {
            let mut fields = vec![("name".to_string(), "n".to_string())];
            fields.push(("data".into(), "1".into()));
            fields.push((field.to_string(), value.to_string()));
            job("7", fields, Vec::new())
        };
        assert!(read("rv", "[1]").is_ok());
        for field in ["data", "rv", "prog"] {
            let Err(e) = read(field, "not json") else {
                panic!("{field} accepted")
            };
            assert_eq!(e.code(), "NVENT_CORRUPT", "{field}");
        }
    }
}
