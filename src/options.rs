//! Reading option objects that crossed the boundary as JSON text. A wrong type is the
//! caller's mistake and gets `NVENT_INVALID_ARGUMENT` naming the option; unknown keys are
//! ignored (SPEC §5: "unknown keys are ignored").

use crate::error::{NventError, Result};
use crate::value::{parse_value, Limits};
use serde_json::{Map, Value};

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
