//! Option objects that cross the boundary as JSON text: job options (enqueue, then the
//! job read back shows them), schedule and worker options, stream/index/list read
//! options, adapter config resolution (`config::resolve`) and what each backend's
//! constructor reads from it (Redis connection, data dir and log options). The first byte
//! picks the parser; the rest is the options text.
#![no_main]

use libfuzzer_sys::fuzz_target;
use nvent_engine::config;
use nvent_engine::file::dir::{DataDirKind, DataDirOptions};
use nvent_engine::options::Opts;
use nvent_engine::queue::facade::Queue;
use nvent_engine::queue::job::ScheduleSpec;
use nvent_engine::queue::memory::MemoryQueueAdapter;
use nvent_engine::redis::connection::RedisConfig;
use nvent_engine::value::{parse_value, Limits};
use nvent_fuzz::{block_on, memory_store, must_parse, same};
use serde_json::{Map, Value};
use std::sync::{Arc, OnceLock};

fn queue() -> &'static Queue {
    static Q: OnceLock<Queue> = OnceLock::new();
    Q.get_or_init(|| {
        Queue::new(
            Arc::new(MemoryQueueAdapter::new()),
            &Map::new(),
            Limits::default(),
        )
        .expect("a memory queue with no options")
    })
}

fn check_job_options(text: &str) {
    let q = queue();
    let Ok(id) = block_on(q.enqueue("opts", "n", "{}".into(), Some(text))) else {
        return;
    };
    let job = block_on(q.get_job("opts", &id))
        .unwrap()
        .expect("enqueued job");
    let job = must_parse("job", &job);
    // `job.opts` shows what the caller gave, without nulls.
    let given = match must_parse("options", text) {
        Value::Object(m) => m,
        _ => Map::new(),
    };
    let mut want = given.clone();
    want.retain(|_, v| !v.is_null());
    assert!(same(&job["opts"], &Value::Object(want)), "{job} vs {text}");
    if let Some(Value::String(j)) = given.get("jobId") {
        assert_eq!(&id, j);
    }
    let _ = block_on(q.remove_job("opts", &id));
}

/// Errors of a connection config never echo a password or a url. Text the message holds
/// anyway (its own help text names `rediss://`) is told apart by asking again with the
/// secret replaced.
fn check_redis(conn: Option<&Value>) {
    let Err(e) = RedisConfig::parse(conn) else {
        return;
    };
    let msg = e.to_string();
    for key in ["password", "url"] {
        let Some(Value::String(secret)) = conn.and_then(|c| c.get(key)) else {
            continue;
        };
        if secret.len() < 6 || !msg.contains(secret.as_str()) {
            continue;
        }
        let mut other = conn.cloned().unwrap_or(Value::Null);
        other[key] = Value::String("\u{1}".repeat(secret.len()));
        let again = RedisConfig::parse(Some(&other))
            .err()
            .map(|e| e.to_string());
        assert!(
            again.is_some_and(|m| m.contains(secret.as_str())),
            "error echoes {key}: {msg}"
        );
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&pick, rest)) = data.split_first() else {
        return;
    };
    let Ok(text) = std::str::from_utf8(rest) else {
        return;
    };
    let store = memory_store();
    match pick % 9 {
        0 => check_job_options(text),
        1 => {
            if let Ok(s) = ScheduleSpec::parse(Some(text)) {
                assert!(s.delay.is_some() || s.pattern.is_some() || s.every.is_some());
            }
        }
        2 => {
            if let Ok(w) = queue().worker_options(Some(text)) {
                assert!(w.concurrency >= 1);
            }
            if let Ok(out) = block_on(queue().get_jobs("opts", Some(text))) {
                must_parse("job list", &out);
            }
        }
        3 => {
            static SEEDED: OnceLock<()> = OnceLock::new();
            SEEDED.get_or_init(|| {
                for t in ["a", "b", "a.c"] {
                    let e = format!(r#"{{"type":"{t}","n":1}}"#);
                    block_on(store.stream_append("opts", &e)).expect("seed event");
                }
            });
            if let Ok(out) = block_on(store.stream_read("opts", Some(text))) {
                let v = must_parse("read", &out);
                let n = v.as_array().map_or(0, Vec::len);
                if let Ok(Value::Object(o)) = parse_value(text, &Limits::default()) {
                    if let Some(l) = o.get("limit").and_then(Value::as_u64) {
                        assert!(n as u64 <= l);
                    }
                }
            }
        }
        4 => {
            if let Ok(out) = block_on(store.index_read("opts", Some(text))) {
                must_parse("index page", &out);
            }
            let _ = block_on(store.index_count("opts", Some(text)));
        }
        5 => {
            if let Ok(out) = block_on(store.doc_list("opts", Some(text))) {
                must_parse("doc list", &out);
            }
        }
        6 => {
            let Ok(v) = parse_value(text, &Limits::default()) else {
                return;
            };
            let Ok(r) = config::resolve(&v) else { return };
            for kind in ["queue", "stream", "store"] {
                let name = r[kind]["name"].as_str().expect("resolved name");
                assert!(!name.is_empty());
                let options = r[kind]["options"].as_object().expect("resolved options");
                match name {
                    "redis" => check_redis(options.get("connection")),
                    "file" => {
                        let o = Opts::from_map("options", options.clone());
                        let k = if kind == "queue" {
                            DataDirKind::Queue
                        } else {
                            DataDirKind::Store
                        };
                        let _ = DataDirOptions::parse(&o, k);
                    }
                    _ => {}
                }
            }
        }
        7 => {
            let Ok(v) = parse_value(text, &Limits::default()) else {
                return;
            };
            check_redis(Some(&v));
        }
        _ => {
            let Ok(o) = Opts::parse("options", Some(text)) else {
                return;
            };
            let _ = DataDirOptions::parse(&o, DataDirKind::Store);
        }
    }
});
