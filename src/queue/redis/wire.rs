//! How the Redis queue talks to its scripts: the keys of one queue, script invocations with
//! the arguments every queue script takes, job arguments, and reply decoding.

use crate::error::{NventError, Result};
use crate::queue::job::{Backoff, Keep, NewJob};
use crate::redis::keys::queue_base;
use crate::value::now_ms;
use redis::{Script, ScriptInvocation, Value as RValue};
use serde_json::Value;

/// The 12 keys every queue script takes (order: `scripts/queue/_common.lua`), the prefix of
/// its job hashes and its signal channel.
pub(super) struct QueueKeys {
    pub(super) keys: [String; 12],
    pub(super) base: String,
    pub(super) channel: String,
    /// The idle workers' set (`K_IDLE` in `_common.lua`, built there from the prefix).
    pub(super) idle: String,
}

const SUFFIXES: [&str; 12] = [
    "meta",
    "wait",
    "prio",
    "active",
    "delayed",
    "completed",
    "failed",
    "events",
    "listen",
    "sched",
    "schedNext",
    "stall",
];

impl QueueKeys {
    pub(super) fn new(prefix: &str, queue: &str) -> QueueKeys {
        let base = queue_base(prefix, queue);
        QueueKeys {
            keys: SUFFIXES.map(|s| format!("{base}{s}")),
            channel: format!("{base}signal"),
            idle: format!("{base}idle"),
            base,
        }
    }

    pub(super) fn meta(&self) -> &str {
        &self.keys[0]
    }
    pub(super) fn events(&self) -> &str {
        &self.keys[7]
    }
    pub(super) fn sched(&self) -> &str {
        &self.keys[9]
    }
    pub(super) fn sched_next(&self) -> &str {
        &self.keys[10]
    }

    /// An invocation of `script` with the keys and the common arguments (prefix, now,
    /// channel, events MAXLEN); the caller adds the script's own arguments.
    pub(super) fn invoke<'a>(&self, script: &'a Script, max_len: u64) -> ScriptInvocation<'a> {
        let mut inv = script.prepare_invoke();
        for k in &self.keys {
            inv.key(k.as_str());
        }
        inv.arg(self.base.as_str())
            .arg(now_ms())
            .arg(self.channel.as_str())
            .arg(max_len);
        inv
    }
}

/// Largest |priority| the Redis layout orders exactly (priority × 2³² + order must stay
/// within a double's 53 bits).
pub(super) const MAX_PRIORITY: i64 = 1 << 20;

/// Checks what the Redis layout cannot hold before anything is sent.
pub(super) fn check_job(job: &NewJob) -> Result<()> {
    match job.opts.priority {
        Some(p) if p.abs() > MAX_PRIORITY => Err(NventError::invalid_argument(format!(
            "job options.priority must be between -{MAX_PRIORITY} and {MAX_PRIORITY} on redis"
        ))),
        _ => Ok(()),
    }
}

fn keep_arg(k: Keep) -> String {
    match k {
        Keep::All => "-1".into(),
        Keep::None => "0".into(),
        Keep::Newest(n) => n.to_string(),
    }
}

/// Separates field and value in the options argument of a job (ASCII unit separator).
const SEP: char = '\u{1f}';

/// The 6 arguments of one job (see `addJob` in `_common.lua`): only options that differ
/// from the defaults are sent (and stored).
pub(super) fn push_job(inv: &mut ScriptInvocation<'_>, job: &NewJob) {
    let o = &job.opts;
    let extra = extra_options(job);
    let opts = if o.raw.is_empty() {
        String::new()
    } else {
        Value::Object(o.raw.clone()).to_string()
    };
    inv.arg(o.job_id.as_deref().unwrap_or(""))
        .arg(job.name.as_str())
        .arg(job.data.as_str())
        .arg(opts)
        .arg(o.delay)
        .arg(extra);
}

/// Whether every option of `job` is at its default, so that its 6 arguments would be
/// `''`, name, data, `''`, 0, `''`: what `addJob-12.lua` takes for granted. Options can be
/// set without the caller giving any (`schedule` sets the delay).
pub(super) fn is_plain(job: &NewJob) -> bool {
    let o = &job.opts;
    o.raw.is_empty() && o.job_id.is_none() && o.delay == 0 && extra_options(job).is_empty()
}

/// The options the scripts act on that differ from their defaults, as
/// `field\x1fvalue\x1f…` (see `addJob` in `_common.lua`).
fn extra_options(job: &NewJob) -> String {
    let o = &job.opts;
    let mut extra = String::new();
    let mut put = |f: &str, v: &str| {
        extra.push_str(f);
        extra.push(SEP);
        extra.push_str(v);
        extra.push(SEP);
    };
    if let Some(p) = o.priority {
        put("pri", &p.to_string());
    }
    if o.lifo {
        put("lifo", "1");
    }
    if o.attempts != 1 {
        put("att", &o.attempts.to_string());
    }
    match o.backoff {
        None => {}
        Some(Backoff::Fixed(d)) => {
            put("bo", "f");
            put("bd", &d.to_string());
        }
        Some(Backoff::Exponential(d)) => {
            put("bo", "e");
            put("bd", &d.to_string());
        }
    }
    if let Some(t) = o.timeout {
        put("to", &t.to_string());
    }
    if o.remove_on_complete != Keep::All || o.remove_on_fail != Keep::All {
        put(
            "keep",
            &format!(
                "{}:{}",
                keep_arg(o.remove_on_complete),
                keep_arg(o.remove_on_fail)
            ),
        );
    }
    extra
}

/// A reply element as text (bulk strings, simple strings and integers).
pub(super) fn text(v: &RValue) -> Option<String> {
    match v {
        RValue::BulkString(b) => String::from_utf8(b.clone()).ok(),
        RValue::SimpleString(s) => Some(s.clone()),
        RValue::Int(n) => Some(n.to_string()),
        RValue::Double(d) => Some(d.to_string()),
        RValue::Okay => Some("OK".into()),
        _ => None,
    }
}

pub(super) fn int(v: &RValue) -> Option<i64> {
    match v {
        RValue::Int(n) => Some(*n),
        RValue::Double(d) => Some(*d as i64),
        other => text(other).and_then(|t| t.parse::<f64>().ok().map(|f| f as i64)),
    }
}

pub(super) fn array(v: RValue) -> Vec<RValue> {
    match v {
        RValue::Array(a) | RValue::Set(a) => a,
        RValue::Nil => Vec::new(),
        other => vec![other],
    }
}

/// A flat `[field, value, ...]` reply (or a RESP3 map) as pairs.
pub(super) fn pairs(v: RValue) -> Vec<(String, String)> {
    match v {
        RValue::Map(m) => m
            .iter()
            .filter_map(|(k, v)| Some((text(k)?, text(v)?)))
            .collect(),
        other => {
            let a = array(other);
            a.chunks_exact(2)
                .filter_map(|c| Some((text(&c[0])?, text(&c[1])?)))
                .collect()
        }
    }
}

/// A reply shape the scripts never produce: a bug or a foreign writer of our keys.
pub(super) fn bad_reply(what: &str) -> NventError {
    NventError::internal(format!("unexpected reply of the redis queue script {what}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_share_the_hash_tag() {
        let k = QueueKeys::new("p", "a{b}");
        assert!(k
            .keys
            .iter()
            .all(|key| key.starts_with("p:queue:{a%7Bb%7D}:")));
        assert_eq!(k.channel, "p:queue:{a%7Bb%7D}:signal");
    }
}
