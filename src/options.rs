//! Reading option objects that crossed the boundary as JSON text. A wrong type is the
//! caller's mistake and gets `NVENT_INVALID_ARGUMENT` naming the option; unknown keys are
//! ignored (SPEC §5: "unknown keys are ignored").
//!
//! Durations and counts (SPEC §2) are checked here and nowhere else: [`duration_ms`],
//! [`seconds_ms`] and [`count`] (and the [`Opts`] methods built on them) are what every
//! option parser and every TTL argument goes through. The bounds keep every later
//! computation (`now + ttl`, a lease deadline, an exponential backoff) far inside the
//! integer and float ranges it runs in, so an accepted value can never wrap into "expired
//! at once" or "never".

use crate::error::{NventError, Result};
use crate::value::{parse_value, Limits};
use serde_json::{Map, Value};

/// The longest duration anything takes: 10 years of 365.25 days, in ms (a TTL, a delay,
/// a backoff, a lease, an interval, a timeout). Far beyond any real use; `now + MAX` stays
/// exact in f64 (below 2^53) and fits every integer type the backends use.
pub const MAX_DURATION_MS: u64 = 315_576_000_000;
/// The largest count: read `limit`/`offset`, keep-N of `removeOnComplete`/`removeOnFail`,
/// `retain`, `trim.maxLen`, `maxStalledCount`, `attempts`, `repeat.limit`.
pub const MAX_COUNT: u64 = 1_000_000_000;
/// The largest worker `concurrency` (slots of one worker in one process).
pub const MAX_CONCURRENCY: u64 = 100_000;

/// Whether a duration of zero is accepted (it means "none" or "at once") or refused (TTLs
/// of claims, lease settings: zero makes no sense there).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Zero {
    Allowed,
    Refused,
}

fn bad_duration(name: &str, unit: &str, zero: Zero, value: f64) -> NventError {
    let low = match zero {
        Zero::Allowed => "a non-negative",
        Zero::Refused => "a positive",
    };
    let max = match unit {
        "seconds" => format!("{}", MAX_DURATION_MS / 1000),
        _ => format!("{MAX_DURATION_MS}"),
    };
    NventError::invalid_argument(format!(
        "{name} must be {low} number of {unit} of at most {max} (10 years), got {value}"
    ))
}

/// A duration given in whole milliseconds: finite, an integer, `0..=MAX_DURATION_MS` (zero
/// refused with [`Zero::Refused`]).
///
/// # Errors
/// `NVENT_INVALID_ARGUMENT` naming `name`.
pub fn duration_ms(name: &str, value: f64, zero: Zero) -> Result<u64> {
    let ok = value.is_finite()
        && value.fract() == 0.0
        && value >= 0.0
        && value <= MAX_DURATION_MS as f64
        && !(zero == Zero::Refused && value == 0.0);
    if ok {
        Ok(value as u64)
    } else {
        Err(bad_duration(name, "ms", zero, value))
    }
}

/// A duration given in seconds, fractions allowed (store TTLs), as milliseconds rounded up
/// (a positive TTL never becomes 0 ms).
///
/// # Errors
/// `NVENT_INVALID_ARGUMENT` naming `name`.
pub fn seconds_ms(name: &str, seconds: f64, zero: Zero) -> Result<u64> {
    let ok = seconds.is_finite()
        && seconds >= 0.0
        && seconds * 1000.0 <= MAX_DURATION_MS as f64
        && !(zero == Zero::Refused && seconds == 0.0);
    if ok {
        Ok((seconds * 1000.0).ceil() as u64)
    } else {
        Err(bad_duration(name, "seconds", zero, seconds))
    }
}

/// A count: an integer in `min..=max`.
///
/// # Errors
/// `NVENT_INVALID_ARGUMENT` naming `name` and the bounds.
pub fn count(name: &str, value: f64, min: u64, max: u64) -> Result<u64> {
    if value.is_finite() && value.fract() == 0.0 && value >= min as f64 && value <= max as f64 {
        Ok(value as u64)
    } else {
        Err(NventError::invalid_argument(format!(
            "{name} must be an integer from {min} to {max}, got {value}"
        )))
    }
}

/// Options as a JSON object; `None`, `null` and `undefined` (absent text) are empty.
pub struct Opts {
    what: &'static str,
    map: Map<String, Value>,
}

impl Opts {
    pub fn parse(what: &'static str, text: Option<&str>) -> Result<Opts> {
        let map = match text {
            None => Map::new(),
            Some(t) => match parse_value(t, &Limits::default())? {
                Value::Null => Map::new(),
                Value::Object(m) => m,
                _ => {
                    return Err(NventError::invalid_argument(format!(
                        "{what} must be an object"
                    )))
                }
            },
        };
        Ok(Opts { what, map })
    }

    pub fn from_map(what: &'static str, map: Map<String, Value>) -> Opts {
        Opts { what, map }
    }

    fn bad(&self, key: &str, want: &str) -> NventError {
        NventError::invalid_argument(format!("{}.{key} must be {want}", self.what))
    }

    pub fn raw(&self, key: &str) -> Option<&Value> {
        self.map.get(key).filter(|v| !v.is_null())
    }

    pub fn take(&mut self, key: &str) -> Option<Value> {
        self.map.remove(key).filter(|v| !v.is_null())
    }

    pub fn f64(&self, key: &str) -> Result<Option<f64>> {
        match self.raw(key) {
            None => Ok(None),
            Some(Value::Number(n)) => Ok(n.as_f64()),
            Some(_) => Err(self.bad(key, "a number")),
        }
    }

    /// A non-negative integer (a count, an offset, milliseconds).
    pub fn uint(&self, key: &str) -> Result<Option<u64>> {
        match self.f64(key)? {
            None => Ok(None),
            Some(f) if f >= 0.0 && f.fract() == 0.0 && f <= 9_007_199_254_740_991.0 => {
                Ok(Some(f as u64))
            }
            Some(_) => Err(self.bad(key, "a non-negative integer")),
        }
    }

    /// The option's name in messages: `job options.delay`.
    fn name(&self, key: &str) -> String {
        format!("{}.{key}", self.what)
    }

    /// A duration in ms ([`duration_ms`]).
    pub fn duration_ms(&self, key: &str, zero: Zero) -> Result<Option<u64>> {
        self.f64(key)?
            .map(|v| duration_ms(&self.name(key), v, zero))
            .transpose()
    }

    /// A count in `min..=max` ([`count`]).
    pub fn count(&self, key: &str, min: u64, max: u64) -> Result<Option<u64>> {
        self.f64(key)?
            .map(|v| count(&self.name(key), v, min, max))
            .transpose()
    }

    pub fn str(&self, key: &str) -> Result<Option<&str>> {
        match self.raw(key) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s)),
            Some(_) => Err(self.bad(key, "a string")),
        }
    }

    pub fn bool(&self, key: &str) -> Result<Option<bool>> {
        match self.raw(key) {
            None => Ok(None),
            Some(Value::Bool(b)) => Ok(Some(*b)),
            Some(_) => Err(self.bad(key, "a boolean")),
        }
    }

    /// A string or an array of strings.
    pub fn strings(&self, key: &str) -> Result<Option<Vec<String>>> {
        match self.raw(key) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(vec![s.clone()])),
            Some(Value::Array(items)) => items
                .iter()
                .map(|v| match v {
                    Value::String(s) => Ok(s.clone()),
                    _ => Err(self.bad(key, "a string or an array of strings")),
                })
                .collect::<Result<Vec<_>>>()
                .map(Some),
            Some(_) => Err(self.bad(key, "a string or an array of strings")),
        }
    }

    /// One of `choices`.
    pub fn choice(&self, key: &str, choices: &[&'static str]) -> Result<Option<&'static str>> {
        match self.str(key)? {
            None => Ok(None),
            Some(s) => choices
                .iter()
                .find(|c| **c == s)
                .copied()
                .map(Some)
                .ok_or_else(|| self.bad(key, &format!("one of {}", choices.join(", ")))),
        }
    }

    pub fn into_map(self) -> Map<String, Value> {
        self.map
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_are_finite_non_negative_and_at_most_ten_years() {
        assert_eq!(duration_ms("d", 0.0, Zero::Allowed).unwrap(), 0);
        assert_eq!(
            duration_ms("d", MAX_DURATION_MS as f64, Zero::Refused).unwrap(),
            MAX_DURATION_MS
        );
        for bad in [
            -1.0,
            1.5,
            f64::NAN,
            f64::INFINITY,
            MAX_DURATION_MS as f64 + 1.0,
            1e17,
        ] {
            let e = duration_ms("job options.delay", bad, Zero::Allowed).unwrap_err();
            assert_eq!(e.code(), "NVENT_INVALID_ARGUMENT");
            assert!(e.to_string().contains("job options.delay"), "{e}");
        }
        assert!(duration_ms("lockDuration", 0.0, Zero::Refused).is_err());
    }

    #[test]
    fn seconds_round_up_to_whole_ms_within_ten_years() {
        assert_eq!(seconds_ms("ttl", 0.0001, Zero::Allowed).unwrap(), 1);
        assert_eq!(seconds_ms("ttl", 1.5, Zero::Allowed).unwrap(), 1500);
        assert_eq!(seconds_ms("ttl", 0.0, Zero::Allowed).unwrap(), 0);
        assert_eq!(
            seconds_ms("ttl", 315_576_000.0, Zero::Allowed).unwrap(),
            MAX_DURATION_MS
        );
        for bad in [1e17, 315_576_000.001, -0.5, f64::NAN, f64::NEG_INFINITY] {
            let e = seconds_ms("ttl", bad, Zero::Allowed).unwrap_err();
            assert_eq!(e.code(), "NVENT_INVALID_ARGUMENT", "{bad}");
        }
        assert!(seconds_ms("claim ttl", 0.0, Zero::Refused).is_err());
    }

    #[test]
    fn counts_are_integers_within_their_bounds() {
        assert_eq!(count("n", 1.0, 1, 10).unwrap(), 1);
        assert_eq!(count("n", 10.0, 1, 10).unwrap(), 10);
        for bad in [0.0, 11.0, 2.5, f64::NAN, -1.0] {
            let e = count("worker options.concurrency", bad, 1, 10).unwrap_err();
            assert!(e.to_string().contains("worker options.concurrency"), "{e}");
        }
        let o = Opts::parse("read options", Some(r#"{"limit":1e12}"#)).unwrap();
        let e = o.count("limit", 0, MAX_COUNT).unwrap_err();
        assert!(e.to_string().contains("read options.limit"), "{e}");
    }
}
