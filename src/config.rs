//! Adapter configuration for `createAdapters` (SPEC §8): both accepted shapes, resolved to
//! one, with the defaults filled in.
//!
//! Accepted per kind (`queue`, `stream`, `store`):
//! - `{ adapter: 'file', file: { dataDir }, redis: { ... }, ...rest }` (seed 002 shape), or
//! - `{ type: 'redis', options: { host, ... } }` (registry shape).
//!
//! Resolved: `{ queue: { name, options }, stream: { name, options }, store: { name, options } }`
//! where `options` is what that backend's constructor takes. Defaults: queue `file`,
//! stream `memory`, store `file`; file data under `{connections.file.dataDir | .data}/queue`
//! and `/store`; Redis connection from the kind's own settings, else `connections.redis`.
//! A top-level `values` (`'json' | 'strict'`, SPEC §2) goes into every kind's options
//! unless the kind sets its own; the adapters check it.

use crate::error::{NventError, Result};
use serde_json::{json, Map, Value};

const KINDS: [(&str, &str); 3] = [("queue", "file"), ("stream", "memory"), ("store", "file")];

/// # Errors
/// `NVENT_INVALID_ARGUMENT` for a config that is not an object or a kind whose adapter
/// name is not a string.
pub fn resolve(config: &Value) -> Result<Value> {
    let empty = Map::new();
    let root = match config {
        Value::Null => &empty,
        Value::Object(m) => m,
        _ => {
            return Err(NventError::invalid_argument(
                "adapter config must be an object",
            ))
        }
    };
    let connections = root.get("connections").and_then(Value::as_object);
    let base_dir = connections
        .and_then(|c| c.get("file"))
        .and_then(|f| f.get("dataDir"))
        .and_then(Value::as_str)
        .unwrap_or(".data")
        .trim_end_matches('/')
        .to_string();
    let shared_redis = connections.and_then(|c| c.get("redis")).cloned();
    let values = root.get("values").filter(|v| !v.is_null());
    let mut out = Map::new();
    for (kind, default) in KINDS {
        let section = match root.get(kind) {
            None | Some(Value::Null) => Map::new(),
            Some(Value::String(name)) => {
                let mut m = Map::new();
                m.insert("adapter".into(), Value::String(name.clone()));
                m
            }
            Some(Value::Object(m)) => m.clone(),
            Some(_) => {
                return Err(NventError::invalid_argument(format!(
                    "config.{kind} must be an object like {{ adapter: 'memory' }}"
                )))
            }
        };
        let mut resolved = resolve_kind(kind, default, section, &base_dir, shared_redis.as_ref())?;
        if let (Some(v), Some(Value::Object(options))) = (values, resolved.get_mut("options")) {
            options.entry("values").or_insert_with(|| v.clone());
        }
        out.insert(kind.into(), resolved);
    }
    Ok(Value::Object(out))
}

fn resolve_kind(
    kind: &str,
    default: &str,
    mut section: Map<String, Value>,
    base_dir: &str,
    shared_redis: Option<&Value>,
) -> Result<Value> {
    let name = match section.remove("adapter").or_else(|| section.remove("type")) {
        None | Some(Value::Null) => default.to_string(),
        Some(Value::String(s)) if !s.is_empty() => s,
        Some(_) => {
            return Err(NventError::invalid_argument(format!(
                "config.{kind}.adapter must be a non-empty string"
            )))
        }
    };
    // Registry shape: everything under `options`.
    let mut options = match section.remove("options") {
        Some(Value::Object(m)) => m,
        _ => Map::new(),
    };
    let file = section.remove("file");
    let redis = section.remove("redis");
    // seed 002 calls the job defaults `defaultConfig`.
    if let Some(d) = section.remove("defaultConfig") {
        section.entry("defaultJobOptions").or_insert(d);
    }
    // Remaining keys (defaultJobOptions, worker, prefix, limits, ...) pass through.
    for (k, v) in section {
        options.entry(k).or_insert(v);
    }
    match name.as_str() {
        "file" => {
            if let Some(Value::Object(f)) = file {
                for (k, v) in f {
                    options.entry(k).or_insert(v);
                }
            }
            options
                .entry("dataDir")
                .or_insert_with(|| Value::String(format!("{base_dir}/{kind}")));
        }
        "redis" => {
            let connection = options
                .remove("connection")
                .or(redis)
                .or_else(|| shared_redis.cloned());
            // Registry shape puts host/port straight into options.
            let mut conn = match connection {
                Some(Value::Object(c)) => c,
                _ => Map::new(),
            };
            for key in ["host", "port", "username", "password", "db", "url", "tls"] {
                if let Some(v) = options.remove(key) {
                    conn.entry(key).or_insert(v);
                }
            }
            options.insert("connection".into(), Value::Object(conn));
        }
        _ => {}
    }
    Ok(json!({ "name": name, "options": options }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_file_memory_file_under_data() {
        let r = resolve(&Value::Null).unwrap();
        assert_eq!(
            r["queue"],
            json!({ "name": "file", "options": { "dataDir": ".data/queue" } })
        );
        assert_eq!(r["stream"], json!({ "name": "memory", "options": {} }));
        assert_eq!(r["store"]["options"]["dataDir"], ".data/store");
    }

    #[test]
    fn both_shapes_resolve_alike() {
        let a =
            resolve(&json!({ "queue": { "adapter": "redis", "redis": { "host": "h" } } })).unwrap();
        let b =
            resolve(&json!({ "queue": { "type": "redis", "options": { "host": "h" } } })).unwrap();
        assert_eq!(a["queue"], b["queue"]);
        assert_eq!(a["queue"]["options"]["connection"]["host"], "h");
        let c = resolve(&json!({
            "connections": { "file": { "dataDir": "/srv/d/" }, "redis": { "port": 7 } },
            "store": { "adapter": "file" }, "stream": { "adapter": "redis" },
            "queue": { "adapter": "memory", "defaultJobOptions": { "attempts": 2 } }
        }))
        .unwrap();
        assert_eq!(c["store"]["options"]["dataDir"], "/srv/d/store");
        assert_eq!(c["stream"]["options"]["connection"]["port"], 7);
        assert_eq!(c["queue"]["options"]["defaultJobOptions"]["attempts"], 2);
    }

    #[test]
    fn top_level_values_reaches_every_kind_unless_it_sets_its_own() {
        let r = resolve(
            &json!({ "values": "strict", "store": { "adapter": "memory", "values": "json" } }),
        )
        .unwrap();
        assert_eq!(r["queue"]["options"]["values"], "strict");
        assert_eq!(r["stream"]["options"]["values"], "strict");
        assert_eq!(r["store"]["options"]["values"], "json");
        let d = resolve(&json!({})).unwrap();
        assert!(d["queue"]["options"].get("values").is_none());
        assert!(resolve(&json!({ "queue": { "adapter": 3 } })).is_err());
    }
}
