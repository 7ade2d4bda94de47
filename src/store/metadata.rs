//! Index metadata and document rules (SPEC §3.3): dot keys are paths, `null` drops or
//! deletes, deep merge replaces arrays, `version` belongs to the store, filters match
//! dotted paths.

use crate::error::{NventError, Result};
use crate::value::{field_path, Limits};
use serde_json::{Map, Value};

/// Expands dot keys (`'stats.total': 1` → `{ stats: { total: 1 } }`) at every object level
/// and refuses prototype-polluting segments. `keep_nulls` keeps `null` leaves (an update's
/// delete markers); otherwise they are dropped (an `add`). Arrays are copied as they are,
/// nulls inside them included.
///
/// Every key is a field path (SPEC §2 limits), and the expanded value must nest no deeper
/// than the nesting limit: nested objects and dot keys together could otherwise build a
/// value deeper than any parse of it can recurse, which the file store could not reopen
/// and whose serialization or drop would overflow the stack.
///
/// # Errors
/// `NVENT_INVALID_NAME` for a bad key, `NVENT_NESTING_TOO_DEEP` when the expansion nests
/// deeper than `limits` allow.
pub fn expand(value: Value, keep_nulls: bool, limits: &Limits) -> Result<Value> {
    expand_at(value, keep_nulls, 1, limits.depth())
}

/// [`expand`] of a value that sits at nesting level `level` of the result (1: the top).
fn expand_at(value: Value, keep_nulls: bool, level: usize, max: usize) -> Result<Value> {
    match value {
        Value::Object(map) => {
            if level > max {
                return Err(too_deep(max));
            }
            let mut out = Map::new();
            for (key, v) in map {
                if v.is_null() && !keep_nulls {
                    continue;
                }
                let segments = field_path(&key)?;
                // Each segment but the last is an object below this one; the value sits
                // one level below the last of them.
                let below = level + segments.len();
                if below - 1 > max {
                    return Err(at_key(too_deep(max), &key));
                }
                let v = expand_at(v, keep_nulls, below, max).map_err(|e| at_key(e, &key))?;
                insert_path(&mut out, &segments, v);
            }
            Ok(Value::Object(out))
        }
        // Arrays are stored as given: JSON.parse never pollutes a prototype, and the
        // engine's merges only walk objects. Their nesting still counts.
        Value::Array(items) => {
            let v = Value::Array(items);
            if level + nesting(&v) - 1 > max {
                return Err(too_deep(max));
            }
            Ok(v)
        }
        other => Ok(other),
    }
}

/// Container levels of a value (0 for a scalar). Recursion is bounded: the value was
/// parsed under the nesting limit.
fn nesting(v: &Value) -> usize {
    match v {
        Value::Array(items) => 1 + items.iter().map(nesting).max().unwrap_or(0),
        Value::Object(m) => 1 + m.values().map(nesting).max().unwrap_or(0),
        _ => 0,
    }
}

fn too_deep(limit: usize) -> NventError {
    NventError::NestingTooDeep {
        path: "$".into(),
        limit,
    }
}

/// Prefixes the JSON path of a nesting error with the key it was found under.
fn at_key(e: NventError, key: &str) -> NventError {
    match e {
        NventError::NestingTooDeep { path, limit } => NventError::NestingTooDeep {
            path: format!("$.{key}{}", path.strip_prefix('$').unwrap_or(&path)),
            limit,
        },
        other => other,
    }
}

/// Inserts `v` at `segments`, merging with objects already there (two dot keys sharing a
/// prefix both land).
fn insert_path(target: &mut Map<String, Value>, segments: &[&str], v: Value) {
    let Some((first, rest)) = segments.split_first() else {
        return;
    };
    if rest.is_empty() {
        match (target.get_mut(*first), v) {
            (Some(Value::Object(existing)), Value::Object(incoming)) => {
                for (k, iv) in incoming {
                    insert_path(existing, &[k.as_str()], iv);
                }
            }
            (_, v) => {
                target.insert((*first).to_string(), v);
            }
        }
        return;
    }
    let slot = target
        .entry((*first).to_string())
        .or_insert_with(|| Value::Object(Map::new()));
    if !slot.is_object() {
        *slot = Value::Object(Map::new());
    }
    if let Value::Object(inner) = slot {
        insert_path(inner, rest, v);
    }
}

/// Normalizes the metadata of an `add`: expanded, nulls dropped, `version: 0`.
pub fn for_add(metadata: Option<Value>, limits: &Limits) -> Result<Value> {
    let mut out = match metadata {
        None | Some(Value::Null) => Map::new(),
        Some(v @ Value::Object(_)) => match expand(v, false, limits)? {
            Value::Object(m) => m,
            _ => Map::new(),
        },
        Some(_) => {
            return Err(NventError::invalid_argument(
                "index metadata must be an object",
            ))
        }
    };
    out.insert("version".into(), Value::from(0));
    Ok(Value::Object(out))
}

/// Normalizes the partial of an `update`: expanded, nulls kept as delete markers, any
/// caller `version` removed (the store owns it).
pub fn for_update(partial: Value, limits: &Limits) -> Result<Value> {
    match partial {
        v @ Value::Object(_) => {
            let mut v = expand(v, true, limits)?;
            if let Value::Object(m) = &mut v {
                m.remove("version");
            }
            Ok(v)
        }
        _ => Err(NventError::invalid_argument(
            "index update must be an object",
        )),
    }
}

/// Deep-merges `partial` into `target`: objects merge at every level, arrays and scalars
/// replace, `null` deletes the key and everything under it.
pub fn deep_merge(target: &mut Map<String, Value>, partial: Map<String, Value>) {
    for (key, v) in partial {
        match v {
            Value::Null => {
                target.remove(&key);
            }
            Value::Object(inner) => match target.get_mut(&key) {
                Some(Value::Object(existing)) => deep_merge(existing, inner),
                _ => {
                    let mut fresh = Map::new();
                    deep_merge(&mut fresh, inner);
                    target.insert(key, Value::Object(fresh));
                }
            },
            other => {
                target.insert(key, other);
            }
        }
    }
}

/// The stored version of a metadata object.
pub fn version(metadata: &Value) -> u64 {
    metadata.get("version").and_then(Value::as_u64).unwrap_or(0)
}

pub fn set_version(metadata: &mut Value, version: u64) {
    if let Value::Object(m) = metadata {
        m.insert("version".into(), Value::from(version));
    }
}

/// The value at a dotted path.
pub fn get_path<'a>(v: &'a Value, segments: &[String]) -> Option<&'a Value> {
    segments
        .iter()
        .try_fold(v, |cur, seg| cur.get(seg.as_str()))
}

/// Adds `by` to the number at `segments`, creating missing objects and a missing leaf as 0.
///
/// # Errors
/// `NVENT_INVALID_ARGUMENT` when something other than a number (or an object on the way)
/// is there.
pub fn increment_path(v: &mut Value, segments: &[String], by: f64, field: &str) -> Result<f64> {
    let not_number = || {
        NventError::invalid_argument(format!(
            "field '{field}' holds a value that is not a number"
        ))
    };
    let mut cur = v;
    for (i, seg) in segments.iter().enumerate() {
        let Value::Object(map) = cur else {
            return Err(not_number());
        };
        if i + 1 == segments.len() {
            let old = match map.get(seg.as_str()) {
                None | Some(Value::Null) => 0.0,
                Some(Value::Number(n)) => n.as_f64().ok_or_else(not_number)?,
                Some(_) => return Err(not_number()),
            };
            let new = old + by;
            map.insert(seg.clone(), number(new)?);
            return Ok(new);
        }
        cur = map
            .entry(seg.clone())
            .or_insert_with(|| Value::Object(Map::new()));
    }
    Err(not_number())
}

/// A JSON number for `f`, written as an integer when it is one (so `1 + 1` reads back as
/// `2`, not `2.0`).
pub fn number(f: f64) -> Result<Value> {
    if !f.is_finite() {
        return Err(NventError::invalid_argument(
            "the result is not a finite number",
        ));
    }
    if f.fract() == 0.0 && f.abs() < 9_007_199_254_740_992.0 {
        return Ok(Value::from(f as i64));
    }
    serde_json::Number::from_f64(f)
        .map(Value::Number)
        .ok_or_else(|| NventError::invalid_argument("the result is not a finite number"))
}

/// One condition of an index/document filter: the value at `path` must equal one of
/// `any_of`.
#[derive(Debug, Clone, PartialEq)]
pub struct FieldFilter {
    pub path: Vec<String>,
    pub any_of: Vec<Value>,
}

/// Parses `{ field: value | [values] }` (field = top-level key or dotted path).
///
/// # Errors
/// `NVENT_INVALID_ARGUMENT` for a filter that is not an object, `NVENT_INVALID_NAME` for a
/// bad path.
pub fn parse_filter(filter: Option<&Value>) -> Result<Vec<FieldFilter>> {
    let Some(filter) = filter else {
        return Ok(Vec::new());
    };
    let Value::Object(map) = filter else {
        if filter.is_null() {
            return Ok(Vec::new());
        }
        return Err(NventError::invalid_argument(
            "filter must be an object of { field: value | [values] }",
        ));
    };
    map.iter()
        .map(|(field, want)| {
            let path = field_path(field)?.into_iter().map(String::from).collect();
            let any_of = match want {
                Value::Array(items) => items.clone(),
                other => vec![other.clone()],
            };
            Ok(FieldFilter { path, any_of })
        })
        .collect()
}

pub fn matches(v: &Value, filter: &[FieldFilter]) -> bool {
    filter.iter().all(|f| {
        let got = get_path(v, &f.path).unwrap_or(&Value::Null);
        f.any_of.iter().any(|want| json_eq(got, want))
    })
}

/// JSON equality where numbers compare by value (`1` equals `1.0`).
fn json_eq(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x.as_f64() == y.as_f64(),
        _ => a == b,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn add_expands_dot_keys_drops_nulls_and_sets_version() {
        let m = for_add(
            Some(json!({
                "stats.total": 0, "stats.ok": 1, "a": null, "n": { "x": null, "y": [null, 1] }, "version": 9
            })),
            &Limits::default(),
        )
        .unwrap();
        assert_eq!(
            m,
            json!({ "stats": { "total": 0, "ok": 1 }, "n": { "y": [null, 1] }, "version": 0 })
        );
        assert_eq!(
            for_add(None, &Limits::default()).unwrap(),
            json!({ "version": 0 })
        );
    }

    #[test]
    fn merge_is_deep_replaces_arrays_and_null_deletes_subtrees() {
        let mut m = json!({ "a": { "b": 1, "c": { "d": 2 } }, "arr": [1, 2], "gone": { "x": 1 } });
        let partial = for_update(
            json!({ "a.c.e": 3, "arr": [9], "gone": null, "version": 7 }),
            &Limits::default(),
        )
        .unwrap();
        let (Value::Object(t), Value::Object(p)) = (&mut m, partial) else {
            unreachable!()
        };
        deep_merge(t, p);
        assert_eq!(
            m,
            json!({ "a": { "b": 1, "c": { "d": 2, "e": 3 } }, "arr": [9] })
        );
    }

    #[test]
    fn prototype_segments_are_refused() {
        for bad in ["__proto__", "a.constructor", "prototype.x"] {
            let e = for_add(Some(json!({ bad: 1 })), &Limits::default()).unwrap_err();
            assert_eq!(e.code(), "NVENT_INVALID_NAME", "{bad}");
        }
        let e = for_update(
            json!({ "a": { "__proto__": { "x": 1 } } }),
            &Limits::default(),
        )
        .unwrap_err();
        assert_eq!(e.code(), "NVENT_INVALID_NAME");
    }

    #[test]
    fn keys_are_field_paths_and_expansion_respects_the_nesting_limit() {
        let l = Limits::default();
        let path = |n: usize| vec!["a"; n].join(".");
        // 128 segments: the metadata object and 127 objects below it, the limit.
        assert!(for_add(Some(json!({ path(128): 1 })), &l).is_ok());
        assert!(for_update(json!({ path(128): 1 }), &l).is_ok());
        assert!(for_update(json!({ path(127): { "b": 1 } }), &l).is_ok());
        assert!(for_add(Some(json!({ path(127): [1] })), &l).is_ok());
        // One more level, from the value under the path, is too deep.
        let e = for_update(json!({ path(128): { "b": 1 } }), &l).unwrap_err();
        assert_eq!(e.code(), "NVENT_NESTING_TOO_DEEP");
        let e = for_add(Some(json!({ path(128): [] })), &l).unwrap_err();
        assert_eq!(e.code(), "NVENT_NESTING_TOO_DEEP");
        let e = for_add(Some(json!({ path(127): [[1]] })), &l).unwrap_err();
        assert_eq!(e.code(), "NVENT_NESTING_TOO_DEEP");
        let e = for_update(json!({ "x": { path(127): { "b": 1 } } }), &l).unwrap_err();
        assert_eq!(e.code(), "NVENT_NESTING_TOO_DEEP");
        // Nested objects whose dot keys each pass still add up.
        let mut nested = json!(1);
        for _ in 0..10 {
            nested = json!({ path(20): nested });
        }
        let e = for_add(Some(nested), &l).unwrap_err();
        assert_eq!(e.code(), "NVENT_NESTING_TOO_DEEP");
        assert!(e.path().is_some_and(|p| p.starts_with("$.a.a")));
        // Over the path limits: an invalid name, before any expansion.
        for bad in [path(129), path(12_000), "k".repeat(1025)] {
            let e = for_update(json!({ bad.clone(): 1 }), &l).unwrap_err();
            assert_eq!(e.code(), "NVENT_INVALID_NAME");
            let e = parse_filter(Some(&json!({ bad: 1 }))).unwrap_err();
            assert_eq!(e.code(), "NVENT_INVALID_NAME");
        }
    }

    #[test]
    fn increments_create_paths_and_refuse_non_numbers() {
        let mut m = json!({ "s": { "n": 1 }, "t": "x" });
        let p = |s: &str| s.split('.').map(String::from).collect::<Vec<_>>();
        assert_eq!(increment_path(&mut m, &p("s.n"), 2.0, "s.n").unwrap(), 3.0);
        assert_eq!(increment_path(&mut m, &p("s.f"), 0.5, "s.f").unwrap(), 0.5);
        assert_eq!(m["s"]["n"], json!(3));
        assert!(increment_path(&mut m, &p("t"), 1.0, "t").is_err());
        assert!(increment_path(&mut m, &p("t.x"), 1.0, "t.x").is_err());
    }

    #[test]
    fn filters_match_values_lists_and_dotted_paths() {
        let v = json!({ "status": "ok", "stats": { "n": 2 } });
        let f = parse_filter(Some(&json!({ "status": ["ok", "x"], "stats.n": 2.0 }))).unwrap();
        assert!(matches(&v, &f));
        let f = parse_filter(Some(&json!({ "status": "no" }))).unwrap();
        assert!(!matches(&v, &f));
    }
}
