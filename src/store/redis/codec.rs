//! How store values sit in Redis (seed 003, SPEC §9): every leaf JSON-encoded, index
//! metadata flattened to dot-path hash fields. Values written by the TypeScript reference
//! adapter (raw strings, not JSON) still read back: text that is not JSON is a string.
//!
//! Nothing here trusts what is stored: another client, an older engine or a hand-made
//! `HSET` may have written it. Whatever it is, reading it never recurses deeper than
//! [`MAX_DEPTH_LIMIT`] (deeper would overflow the reading thread's stack and kill the
//! process — every process that reads the key). Text nesting deeper than that reads as a
//! string, like any text that is not JSON; a hash field of more segments than can nest is
//! not split (see [`stored_path`]).

use crate::value::{nests_deeper_than, MAX_DEPTH_LIMIT};
use serde::de::IgnoredAny;
use serde_json::{Map, Value};
use std::collections::HashMap;

/// True when `text` is one complete JSON value that nests at most [`MAX_DEPTH_LIMIT`]
/// levels.
pub fn is_json(text: &str) -> bool {
    is_json_within(text, MAX_DEPTH_LIMIT)
}

/// True when `text` is one complete JSON value that nests at most `max` levels.
fn is_json_within(text: &str, max: usize) -> bool {
    if nests_deeper_than(text, max) {
        return false;
    }
    let mut de = serde_json::Deserializer::from_str(text);
    // Bounded by the check above.
    de.disable_recursion_limit();
    serde::Deserialize::deserialize(&mut de)
        .map(|_: IgnoredAny| ())
        .and_then(|_| de.end())
        .is_ok()
}

/// The JSON text of a stored value: itself when it is JSON, else a JSON string of it.
pub fn json_text(raw: String) -> String {
    if is_json(&raw) {
        raw
    } else {
        Value::String(raw).to_string()
    }
}

/// A stored leaf as a value.
pub fn leaf(raw: &str) -> Value {
    leaf_within(raw, MAX_DEPTH_LIMIT)
}

/// A stored leaf as a value whose nesting may take at most `max` levels.
fn leaf_within(raw: &str, max: usize) -> Value {
    if nests_deeper_than(raw, max) {
        return Value::String(raw.to_string());
    }
    let mut de = serde_json::Deserializer::from_str(raw);
    // Bounded by the check above.
    de.disable_recursion_limit();
    match serde::Deserialize::deserialize(&mut de) {
        Ok(v) if de.end().is_ok() => v,
        _ => Value::String(raw.to_string()),
    }
}

/// Where a stored hash field goes when metadata is rebuilt: its segments, and the nesting
/// its leaf may still take. The metadata object is level 1 and each segment but the last
/// adds one, so a field of `n` segments leaves `MAX_DEPTH_LIMIT - n` levels to its leaf.
/// Everything this engine writes fits (its values nest at most [`MAX_DEPTH_LIMIT`]); a
/// field of more segments than that (written by someone else) is kept whole, as one
/// top-level key holding its full dotted name, so the entry still reads and shows it.
fn stored_path(path: &str) -> (Vec<&str>, usize) {
    let dots = memchr::memchr_iter(b'.', path.as_bytes()).count();
    if dots >= MAX_DEPTH_LIMIT {
        return (vec![path], MAX_DEPTH_LIMIT - 1);
    }
    let segments: Vec<&str> = path.split('.').collect();
    let room = MAX_DEPTH_LIMIT - segments.len();
    (segments, room)
}

/// Flattens metadata to `(dot path, JSON leaf)` pairs in key order. Objects are walked
/// (keys never contain `.`: the facade expanded dot keys); an empty object is a `{}` leaf
/// so that it survives; arrays and scalars are leaves.
pub fn flatten(v: &Map<String, Value>) -> Vec<(String, String)> {
    fn walk(path: &mut String, m: &Map<String, Value>, out: &mut Vec<(String, String)>) {
        for (k, v) in m {
            let len = enter(path, k);
            match v {
                Value::Object(inner) if !inner.is_empty() => walk(path, inner, out),
                other => out.push((path.clone(), other.to_string())),
            }
            path.truncate(len);
        }
    }
    let mut out = Vec::new();
    walk(&mut String::new(), v, &mut out);
    out
}

/// Appends `.key` (or `key` at the top) to the path being walked; returns the length to
/// truncate back to. One buffer per walk: building each level's path anew cost the square
/// of a deep path's length per leaf.
fn enter(path: &mut String, key: &str) -> usize {
    let len = path.len();
    if len > 0 {
        path.push('.');
    }
    path.push_str(key);
    len
}

/// One step of a merge script (`updateEntry-2.lua`).
pub enum MergeOp {
    Set(String, String),
    Delete(String),
    EnsureObject(String),
}

/// The merge steps of a partial (expanded, nulls as delete markers): deep merge at every
/// level, arrays replaced, `null` deleting a subtree.
pub fn merge_ops(partial: &Map<String, Value>) -> Vec<MergeOp> {
    fn walk(path: &mut String, m: &Map<String, Value>, out: &mut Vec<MergeOp>) {
        for (k, v) in m {
            let len = enter(path, k);
            match v {
                Value::Null => out.push(MergeOp::Delete(path.clone())),
                Value::Object(inner) if inner.is_empty() => {
                    out.push(MergeOp::EnsureObject(path.clone()))
                }
                Value::Object(inner) => {
                    // A non-object at `path` is replaced by an object: the script drops a
                    // leaf ancestor before setting a leaf below it.
                    let before = out.len();
                    walk(path, inner, out);
                    if out[before..]
                        .iter()
                        .all(|o| matches!(o, MergeOp::Delete(_)))
                    {
                        out.push(MergeOp::EnsureObject(path.clone()));
                    }
                }
                other => out.push(MergeOp::Set(path.clone(), other.to_string())),
            }
            path.truncate(len);
        }
    }
    let mut out = Vec::new();
    walk(&mut String::new(), partial, &mut out);
    out
}

/// Rebuilds metadata from hash fields, in field order.
pub fn unflatten(fields: Vec<(String, String)>) -> Value {
    let mut root = Map::new();
    for (path, raw) in fields {
        let (segments, room) = stored_path(&path);
        insert(&mut root, &segments, leaf_within(&raw, room));
    }
    Value::Object(root)
}

/// A metadata object being rebuilt from hash fields without building values: leaves stay
/// the stored text, borrowed from the reply.
enum Node<'a> {
    /// A leaf stored as JSON text, written as it is.
    Json(&'a str),
    /// A leaf stored as raw text (by another client), written as a JSON string.
    Text(&'a str),
    Obj(Obj<'a>),
}

/// An object's entries in order, found by key through a map once there are many: a linear
/// search per field made an entry of 20,000 fields take seconds to write.
#[derive(Default)]
struct Obj<'a> {
    entries: Vec<(&'a str, Node<'a>)>,
    index: Option<HashMap<&'a str, usize>>,
}

impl<'a> Obj<'a> {
    /// Below this many entries a search is cheaper than a map.
    const INDEXED_FROM: usize = 16;

    fn position(&self, key: &str) -> Option<usize> {
        match &self.index {
            Some(ix) => ix.get(key).copied(),
            None => self.entries.iter().position(|(k, _)| *k == key),
        }
    }

    /// Appends an entry whose key is not there yet; returns its position.
    fn push(&mut self, key: &'a str, v: Node<'a>) -> usize {
        self.entries.push((key, v));
        let i = self.entries.len() - 1;
        match &mut self.index {
            Some(ix) => {
                ix.insert(key, i);
            }
            None if self.entries.len() >= Self::INDEXED_FROM => {
                let ix = self.entries.iter().enumerate().map(|(i, (k, _))| (*k, i));
                self.index = Some(ix.collect());
            }
            None => {}
        }
        i
    }
}

/// Writes the JSON text of the metadata that [`unflatten`] rebuilds from `fields`, with the
/// same result, without building a value tree or copying leaves (a page of 50 entries
/// spent most of its client time there). Falls back to [`unflatten`] when a stored leaf is
/// a non-empty object (never written by this engine or the reference adapter), whose
/// merging with deeper paths only the value tree reproduces.
pub fn write_metadata<K: AsRef<str>, V: AsRef<str>>(fields: &[(K, V)], out: &mut Vec<u8>) {
    let mut root = Obj::default();
    for (path, raw) in fields {
        let (segments, room) = stored_path(path.as_ref());
        let raw = raw.as_ref();
        let node = if is_json_within(raw, room) {
            if raw.trim_start().starts_with('{') {
                if !matches!(leaf_within(raw, room), Value::Object(m) if m.is_empty()) {
                    let owned = fields
                        .iter()
                        .map(|(k, v)| (k.as_ref().to_string(), v.as_ref().to_string()))
                        .collect();
                    // Writing a value into a Vec cannot fail.
                    let _ = serde_json::to_writer(&mut *out, &unflatten(owned));
                    return;
                }
                Node::Obj(Obj::default())
            } else {
                Node::Json(raw)
            }
        } else {
            Node::Text(raw)
        };
        insert_node(&mut root, &segments, node);
    }
    write_obj(&root, out);
}

fn insert_node<'a>(target: &mut Obj<'a>, segments: &[&'a str], v: Node<'a>) {
    let Some((first, rest)) = segments.split_first() else {
        return;
    };
    let pos = target.position(first);
    if rest.is_empty() {
        match (pos, v) {
            // `{}` placeholder below fields already placed: keep the fields.
            (Some(i), Node::Obj(m))
                if m.entries.is_empty() && matches!(target.entries[i].1, Node::Obj(_)) => {}
            (Some(i), v) => target.entries[i].1 = v,
            (None, v) => {
                target.push(first, v);
            }
        }
        return;
    }
    let i = match pos {
        Some(i) => i,
        None => target.push(first, Node::Obj(Obj::default())),
    };
    let slot = &mut target.entries[i].1;
    if !matches!(slot, Node::Obj(_)) {
        *slot = Node::Obj(Obj::default());
    }
    if let Node::Obj(m) = slot {
        insert_node(m, rest, v);
    }
}

fn write_obj(obj: &Obj<'_>, out: &mut Vec<u8>) {
    out.push(b'{');
    for (i, (k, v)) in obj.entries.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        write_str(k, out);
        out.push(b':');
        match v {
            Node::Json(t) => out.extend_from_slice(t.as_bytes()),
            Node::Text(t) => write_str(t, out),
            Node::Obj(m) => write_obj(m, out),
        }
    }
    out.push(b'}');
}

/// Appends `s` as a JSON string.
pub fn write_str(s: &str, out: &mut Vec<u8>) {
    // Writing a string into a Vec cannot fail.
    let _ = serde_json::to_writer(&mut *out, s);
}

fn insert(target: &mut Map<String, Value>, segments: &[&str], v: Value) {
    let Some((first, rest)) = segments.split_first() else {
        return;
    };
    if rest.is_empty() {
        match (target.get_mut(*first), v) {
            // `{}` placeholder below fields already placed: keep the fields.
            (Some(Value::Object(_)), Value::Object(m)) if m.is_empty() => {}
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
    if let Value::Object(m) = slot {
        insert(m, rest, v);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn metadata_round_trips_through_fields() {
        let m = json!({ "a": 1, "s": { "t": "x", "e": {}, "l": [1, null] }, "version": 0 });
        let Value::Object(map) = &m else {
            unreachable!()
        };
        let fields = flatten(map);
        assert_eq!(fields[0], ("a".into(), "1".into()));
        assert_eq!(unflatten(fields), m);
    }

    #[test]
    fn metadata_text_equals_the_rebuilt_value() {
        let cases: Vec<Vec<(&str, &str)>> = vec![
            vec![
                ("a", "1"),
                ("s.t", "\"x\""),
                ("s.e", "{}"),
                ("version", "0"),
            ],
            vec![("s.e", "{}"), ("s.e.x", "1"), ("s.e", "{}")],
            vec![
                ("a", "1"),
                ("a.b", "2"),
                ("c", "raw text"),
                ("d", "[1,{\"x\":null}]"),
            ],
            vec![("a.b", "2"), ("a", "3"), ("k\"q", "true")],
            vec![("o", "{\"x\":1}"), ("o.y", "2")],
            vec![],
        ];
        for fields in cases {
            let fields: Vec<(String, String)> = fields
                .into_iter()
                .map(|(k, v)| (k.into(), v.into()))
                .collect();
            let mut out = Vec::new();
            write_metadata(&fields, &mut out);
            let text = String::from_utf8(out).unwrap();
            let parsed: Value = serde_json::from_str(&text).unwrap();
            assert_eq!(parsed, unflatten(fields.clone()), "{fields:?}");
            assert_eq!(text, unflatten(fields).to_string());
        }
    }

    #[test]
    fn stored_data_of_any_depth_reads_without_deep_recursion() {
        // A hash field of 12,000 segments (another client's HSET): kept whole, one key.
        let deep = vec!["a"; 12_000].join(".");
        let fields = vec![(deep.clone(), "1".to_string()), ("ok".into(), "2".into())];
        let mut out = Vec::new();
        write_metadata(&fields, &mut out);
        let text = String::from_utf8(out).unwrap();
        assert_eq!(text, format!("{{\"{deep}\":1,\"ok\":2}}"));
        assert_eq!(unflatten(fields).to_string(), text);
        // A leaf nesting deeper than can be read is its text, a string.
        let deep_leaf = "[".repeat(100_000);
        assert_eq!(leaf(&deep_leaf), Value::String(deep_leaf.clone()));
        assert!(!is_json(&deep_leaf));
        assert_eq!(
            json_text(deep_leaf.clone()),
            Value::String(deep_leaf).to_string()
        );
        // Path and leaf share the budget: 1,000 segments leave 24 levels to the leaf.
        let long = vec!["b"; 1_000].join(".");
        let fits = format!("{}{}", "[".repeat(24), "]".repeat(24));
        let over = format!("{}{}", "[".repeat(25), "]".repeat(25));
        for (raw, json) in [(&fits, true), (&over, false)] {
            let fields = vec![(long.clone(), raw.clone())];
            let v = unflatten(fields.clone());
            let at = (0..1_000).try_fold(&v, |cur, _| cur.get("b")).unwrap();
            assert_eq!(at.is_array(), json);
            let mut out = Vec::new();
            write_metadata(&fields, &mut out);
            assert_eq!(String::from_utf8(out).unwrap(), v.to_string());
        }
        // What this engine writes at the deepest nesting it allows reads back as written.
        let mut v = json!(1);
        for _ in 0..MAX_DEPTH_LIMIT - 1 {
            v = json!({ "n": v });
        }
        let Value::Object(m) = &v else { unreachable!() };
        assert_eq!(unflatten(flatten(m)), v);
    }

    #[test]
    fn wide_objects_write_like_the_rebuilt_value() {
        // Past the size where keys are found through a map: repeats, placeholders and
        // leaves replaced by objects still land as `unflatten` puts them.
        let mut fields: Vec<(String, String)> = Vec::new();
        for i in 0..40 {
            fields.push((format!("k{i}"), i.to_string()));
            fields.push((format!("o.k{i}"), "{}".into()));
        }
        for i in (0..40).step_by(3) {
            fields.push((format!("k{i}.x"), "1".into()));
            fields.push((format!("o.k{i}.y"), "2".into()));
            fields.push((format!("o.k{i}"), "{}".into()));
            fields.push((format!("k{}", i + 1), "\"again\"".into()));
        }
        let mut out = Vec::new();
        write_metadata(&fields, &mut out);
        assert_eq!(
            String::from_utf8(out).unwrap(),
            unflatten(fields).to_string()
        );
    }

    #[test]
    fn raw_text_reads_as_a_string() {
        assert_eq!(leaf("pending"), json!("pending"));
        assert_eq!(leaf("\"5\""), json!("5"));
        assert_eq!(json_text("hello world".into()), "\"hello world\"");
        assert_eq!(json_text("[1,2]".into()), "[1,2]");
    }
}
