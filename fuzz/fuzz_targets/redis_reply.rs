//! Redis replies turned into engine values. The first byte picks the decoder; the rest is
//! either a RESP reply (parsed by the driver's own parser, then decoded by ours) or the
//! raw bytes a script returns:
//! - queue: `readJob` (→ the job object of getJob), a take's flat reply (→ the jobs a
//!   handler gets), hash field pairs;
//! - store: an index page (`readPage-1.lua` JSON) and its metadata text, a metadata hash,
//!   a stream entry's record, an `XADD` id, a kv value.
//!
//! Whatever the reply, the result is an error or JSON that parses: JS parses it next.
#![no_main]

use libfuzzer_sys::fuzz_target;
use nvent_engine::fuzzing::{queue_redis, store_redis as codec};
use nvent_fuzz::{must_parse, raw_value_marker, same};

fn metadata_text(fields: &[(String, String)]) {
    let mut out = Vec::new();
    codec::write_metadata(fields, &mut out);
    let text = String::from_utf8(out).expect("metadata text is UTF-8");
    let parsed = must_parse("metadata text", &text);
    assert!(same(&parsed, &codec::unflatten(fields.to_vec())), "{text}");
}

fuzz_target!(|data: &[u8]| {
    let Some((&pick, rest)) = data.split_first() else {
        return;
    };
    if raw_value_marker(&String::from_utf8_lossy(rest)) {
        return;
    }
    match pick % 6 {
        0 => {
            let Ok(v) = redis::parse_redis_value(rest) else {
                return;
            };
            if let Ok(Some(job)) = queue_redis::read_job("7", "q", v) {
                must_parse("getJob result", job.as_str());
            }
        }
        1 => {
            let Ok(v) = redis::parse_redis_value(rest) else {
                return;
            };
            let items = match v {
                redis::Value::Array(a) => a,
                other => vec![other],
            };
            if let Ok(claims) = queue_redis::claims(&items) {
                for c in claims {
                    let v = must_parse("taken job", &format!("[{c}]"));
                    assert_eq!(v.as_array().map(Vec::len), Some(6), "{c}");
                }
            }
        }
        2 => {
            if let Ok(entries) = codec::page_entries(rest) {
                for (_, _, fields) in entries {
                    metadata_text(&fields);
                }
            }
        }
        3 => {
            let Ok(v) = redis::parse_redis_value(rest) else {
                return;
            };
            let fields = queue_redis::pairs(v);
            metadata_text(&fields);
            let rec = codec::event_record("1700000000000-1", fields);
            must_parse("stream record", rec.as_str());
        }
        4 => {
            let Ok(v) = redis::parse_redis_value(rest) else {
                return;
            };
            if let Ok(id) = codec::appended_id(&v) {
                let _ = id.to_string();
            }
        }
        _ => {
            let Ok(s) = std::str::from_utf8(rest) else {
                return;
            };
            must_parse("kv value", &codec::json_text(s.to_string()));
            let _ = codec::leaf(s);
        }
    }
});
