//! Jobs: what callers enqueue, the options they may give (SPEC §5), and the job record
//! every backend keeps and renders the same way.

use crate::error::{NventError, Result};
use crate::options::{Opts, Zero, MAX_COUNT, MAX_DURATION_MS};
use crate::value::Json;
use serde_json::{Map, Value};

/// A job as enqueued: `name`, `data` (validated JSON text) and its options.
#[derive(Debug, Clone, PartialEq)]
pub struct NewJob {
    pub name: String,
    pub data: Json,
    pub opts: JobOptions,
}

/// How many finished jobs to keep (`removeOnComplete` / `removeOnFail`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Keep {
    #[default]
    All,
    /// `true`: remove the job as soon as it finishes.
    None,
    /// A number: keep the newest N.
    Newest(usize),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backoff {
    Fixed(u64),
    Exponential(u64),
}

impl Backoff {
    /// The delay before attempt `attempts_made + 1`, after `attempts_made` failed ones.
    pub fn delay(&self, attempts_made: u32) -> u64 {
        match *self {
            Backoff::Fixed(d) => d,
            Backoff::Exponential(d) => {
                // Capped like every duration (SPEC §2): due times stay far from overflow.
                let exp = attempts_made.saturating_sub(1).min(40);
                d.saturating_mul(1u64 << exp).min(MAX_DURATION_MS)
            }
        }
    }
}

/// Parsed job options. `raw` keeps what the caller gave (merged over the adapter's
/// `defaultJobOptions`), which is what `job.opts` shows.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct JobOptions {
    pub job_id: Option<String>,
    pub attempts: u32,
    pub backoff: Option<Backoff>,
    pub delay: u64,
    pub priority: Option<i64>,
    pub timeout: Option<u64>,
    pub remove_on_complete: Keep,
    pub remove_on_fail: Keep,
    pub lifo: bool,
    pub raw: Map<String, Value>,
}

impl JobOptions {
    /// Parses `opts` over `defaults` (both JSON objects; `opts` wins key by key).
    ///
    /// # Errors
    /// `NVENT_INVALID_ARGUMENT` naming the bad option.
    pub fn parse(defaults: &Map<String, Value>, opts: Map<String, Value>) -> Result<JobOptions> {
        let mut raw = defaults.clone();
        raw.extend(opts);
        raw.retain(|_, v| !v.is_null());
        let o = Opts::from_map("job options", raw);
        let job_id = match o.raw("jobId") {
            None => None,
            Some(Value::String(s)) if !s.is_empty() => Some(s.clone()),
            Some(Value::String(_)) => {
                return Err(NventError::InvalidName {
                    what: "jobId",
                    reason: "must not be empty".into(),
                })
            }
            // Names are never coerced (docs/DECISIONS.md): `jobId: 42` and `'42'` silently
            // naming the same job would hide a bug.
            Some(other) => {
                return Err(NventError::InvalidName {
                    what: "jobId",
                    reason: format!("must be a string, got {}", json_kind(other)),
                })
            }
        };
        // 0 means the default, one attempt (as before counts were bounded).
        let attempts = match o.count("attempts", 0, MAX_COUNT)? {
            None | Some(0) => 1,
            Some(n) => u32::try_from(n).unwrap_or(u32::MAX),
        };
        let backoff = match o.raw("backoff") {
            None => None,
            Some(Value::Number(_)) => Some(Backoff::Fixed(
                o.duration_ms("backoff", Zero::Allowed)?.unwrap_or(0),
            )),
            Some(Value::Object(m)) => {
                let b = Opts::from_map("job options.backoff", m.clone());
                let delay = b.duration_ms("delay", Zero::Allowed)?.unwrap_or(0);
                match b.choice("type", &["fixed", "exponential"])? {
                    Some("exponential") => Some(Backoff::Exponential(delay)),
                    _ => Some(Backoff::Fixed(delay)),
                }
            }
            Some(_) => {
                return Err(NventError::invalid_argument(
                    "job options.backoff must be a number of ms or { type: 'fixed'|'exponential', delay }",
                ))
            }
        };
        let priority = match o.f64("priority")? {
            None => None,
            Some(p) if p.fract() == 0.0 => Some(p as i64),
            Some(_) => {
                return Err(NventError::invalid_argument(
                    "job options.priority must be an integer",
                ))
            }
        };
        let keep = |key: &str| -> Result<Keep> {
            match o.raw(key) {
                None | Some(Value::Bool(false)) => Ok(Keep::All),
                Some(Value::Bool(true)) => Ok(Keep::None),
                Some(Value::Number(_)) => Ok(match o.count(key, 0, MAX_COUNT)? {
                    Some(0) => Keep::None,
                    Some(n) => Keep::Newest(n as usize),
                    None => Keep::All,
                }),
                Some(_) => Err(NventError::invalid_argument(format!(
                    "job options.{key} must be true, false or a number of jobs to keep"
                ))),
            }
        };
        let remove_on_complete = keep("removeOnComplete")?;
        let remove_on_fail = keep("removeOnFail")?;
        Ok(JobOptions {
            job_id,
            attempts,
            backoff,
            delay: o.duration_ms("delay", Zero::Allowed)?.unwrap_or(0),
            priority,
            // 0 means no timeout.
            timeout: o.duration_ms("timeout", Zero::Allowed)?.filter(|t| *t > 0),
            remove_on_complete,
            remove_on_fail,
            lifo: o.bool("lifo")?.unwrap_or(false),
            raw: o.into_map(),
        })
    }
}

/// `schedule(queue, job, { delay?, cron?, repeat?: { pattern?, every?, limit? } })`.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ScheduleSpec {
    pub delay: Option<u64>,
    pub pattern: Option<String>,
    pub every: Option<u64>,
    pub limit: Option<u32>,
}

impl ScheduleSpec {
    pub fn parse(text: Option<&str>) -> Result<ScheduleSpec> {
        let o = Opts::parse("schedule options", text)?;
        let mut spec = ScheduleSpec {
            delay: o.duration_ms("delay", Zero::Allowed)?,
            pattern: o.str("cron")?.map(String::from),
            ..Default::default()
        };
        if let Some(Value::Object(r)) = o.raw("repeat") {
            let r = Opts::from_map("schedule options.repeat", r.clone());
            if spec.pattern.is_none() {
                spec.pattern = r.str("pattern")?.or(r.str("cron")?).map(String::from);
            }
            // 0 means no `every` (as before durations were bounded).
            spec.every = r.duration_ms("every", Zero::Allowed)?.filter(|e| *e > 0);
            spec.limit = r
                .count("limit", 0, MAX_COUNT)?
                .map(|l| u32::try_from(l).unwrap_or(u32::MAX));
        } else if o.raw("repeat").is_some() {
            return Err(NventError::invalid_argument(
                "schedule options.repeat must be an object { pattern?, every?, limit? }",
            ));
        }
        if spec.pattern.is_none() && spec.every.is_none() && spec.delay.is_none() {
            return Err(NventError::invalid_argument(
                "schedule needs one of delay, cron or repeat",
            ));
        }
        Ok(spec)
    }

    pub fn repeats(&self) -> bool {
        self.pattern.is_some() || self.every.is_some()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum State {
    Waiting,
    Active,
    Completed,
    Failed,
    Delayed,
    Paused,
}

impl State {
    pub fn as_str(self) -> &'static str {
        match self {
            State::Waiting => "waiting",
            State::Active => "active",
            State::Completed => "completed",
            State::Failed => "failed",
            State::Delayed => "delayed",
            State::Paused => "paused",
        }
    }

    pub fn parse(s: &str) -> Result<State> {
        Ok(match s {
            "waiting" | "wait" => State::Waiting,
            "active" => State::Active,
            "completed" => State::Completed,
            "failed" => State::Failed,
            "delayed" => State::Delayed,
            "paused" => State::Paused,
            other => {
                return Err(NventError::invalid_argument(format!(
                    "unknown job state '{other}'; use waiting, active, completed, failed, delayed or paused"
                )))
            }
        })
    }
}

/// The job record every backend keeps.
#[derive(Debug, Clone)]
pub struct Job {
    pub id: String,
    pub name: String,
    pub data: Json,
    pub opts: JobOptions,
    pub state: State,
    pub timestamp: u64,
    pub processed_on: Option<u64>,
    pub finished_on: Option<u64>,
    pub attempts_made: u32,
    pub returnvalue: Option<Json>,
    pub failed_reason: Option<String>,
    pub progress: Option<Json>,
    pub logs: Vec<String>,
    /// Identifies the current attempt; results carrying another token are stale.
    pub token: u64,
    /// Creation order, for listings.
    pub seq: u64,
}

impl Job {
    /// The job object of `getJob` (SPEC §5). `paused` is the state to show for a waiting
    /// job of a paused queue.
    pub fn render(&self, queue: &str, paused: bool) -> Json {
        let state = if self.state == State::Waiting && paused {
            State::Paused
        } else {
            self.state
        };
        let mut out = String::with_capacity(160 + self.data.as_str().len());
        out.push_str("{\"id\":");
        push_str(&mut out, &self.id);
        out.push_str(",\"name\":");
        push_str(&mut out, &self.name);
        out.push_str(",\"queueName\":");
        push_str(&mut out, queue);
        out.push_str(",\"data\":");
        out.push_str(self.data.as_str());
        out.push_str(",\"state\":\"");
        out.push_str(state.as_str());
        out.push_str("\",\"opts\":");
        out.push_str(&Value::Object(self.opts.raw.clone()).to_string());
        out.push_str(&format!(
            ",\"timestamp\":{},\"attemptsMade\":{}",
            self.timestamp, self.attempts_made
        ));
        if let Some(p) = self.processed_on {
            out.push_str(&format!(",\"processedOn\":{p}"));
        }
        if let Some(f) = self.finished_on {
            out.push_str(&format!(",\"finishedOn\":{f}"));
        }
        if let Some(r) = &self.returnvalue {
            out.push_str(",\"returnvalue\":");
            out.push_str(r.as_str());
        }
        if let Some(r) = &self.failed_reason {
            out.push_str(",\"failedReason\":");
            push_str(&mut out, r);
        }
        if let Some(p) = &self.progress {
            out.push_str(",\"progress\":");
            out.push_str(p.as_str());
        }
        if !self.logs.is_empty() {
            out.push_str(",\"logs\":");
            out.push_str(&Value::from(self.logs.clone()).to_string());
        }
        out.push('}');
        Json::trusted(out)
    }

    /// Appends the job as a handler gets it, in the flat form of a take (see
    /// `Queue::take`): `id, name, data, attemptsMade, token, opts` (six JSON values, no
    /// brackets; arrays parse at half the cost of objects in V8), with `attemptsMade` as
    /// it was before this attempt.
    pub fn render_claim(&self, out: &mut String) {
        push_str(out, &self.id);
        out.push(',');
        push_str(out, &self.name);
        out.push(',');
        out.push_str(self.data.as_str());
        out.push(',');
        let mut digits = itoa::Buffer::new();
        out.push_str(digits.format(self.attempts_made.saturating_sub(1)));
        out.push(',');
        out.push_str(digits.format(self.token));
        if self.opts.raw.is_empty() {
            out.push_str(",{}");
        } else {
            out.push(',');
            out.push_str(&Value::Object(self.opts.raw.clone()).to_string());
        }
    }
}

/// Appends `s` as a JSON string literal.
pub fn push_str(out: &mut String, s: &str) {
    let needs_escape = s.bytes().any(|b| b < 0x20 || b == b'"' || b == b'\\');
    if needs_escape {
        out.push_str(&Value::String(s.to_string()).to_string());
    } else {
        out.push('"');
        out.push_str(s);
        out.push('"');
    }
}

/// How a refusal names the JSON type of a value it did not expect.
fn json_kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn parse(v: Value) -> Result<JobOptions> {
        let Value::Object(m) = v else { unreachable!() };
        JobOptions::parse(&Map::new(), m)
    }

    #[test]
    fn options_parse_with_defaults_and_backoffs() {
        let o =
            parse(json!({ "attempts": 3, "backoff": 50, "priority": 2, "removeOnComplete": 10 }))
                .unwrap();
        assert_eq!(o.attempts, 3);
        assert_eq!(o.backoff, Some(Backoff::Fixed(50)));
        assert_eq!(o.priority, Some(2));
        assert_eq!(o.remove_on_complete, Keep::Newest(10));
        let e = parse(json!({ "backoff": { "type": "exponential", "delay": 10 } })).unwrap();
        let b = e.backoff.unwrap();
        assert_eq!([b.delay(1), b.delay(2), b.delay(3)], [10, 20, 40]);
        assert_eq!(parse(json!({})).unwrap().attempts, 1);
        assert!(parse(json!({ "attempts": "x" })).is_err());
        assert!(parse(json!({ "backoff": { "type": "weird" } })).is_err());
        let Value::Object(defaults) = json!({ "attempts": 5, "lifo": true }) else {
            unreachable!()
        };
        let Value::Object(given) = json!({ "attempts": 2 }) else {
            unreachable!()
        };
        let merged = JobOptions::parse(&defaults, given).unwrap();
        assert_eq!((merged.attempts, merged.lifo), (2, true));
    }

    #[test]
    fn schedules_need_a_trigger() {
        assert!(ScheduleSpec::parse(Some("{}")).is_err());
        let s =
            ScheduleSpec::parse(Some(r#"{"repeat":{"pattern":"* * * * *","limit":2}}"#)).unwrap();
        assert_eq!(s.pattern.as_deref(), Some("* * * * *"));
        assert_eq!(s.limit, Some(2));
    }
}
