//! Field paths and index metadata: `value::field_path`, dot-key expansion (`for_add`,
//! `for_update`), filters, increments, and the Redis layout's flattening of what the store
//! accepted. The input is tried as a path and, when it is JSON, as metadata.
#![no_main]

use libfuzzer_sys::fuzz_target;
use nvent_engine::fuzzing::store_redis as codec;
use nvent_engine::store::metadata;
use nvent_engine::value::{field_path, parse_value, Limits};
use nvent_fuzz::{block_on, memory_store, must_parse, raw_value_marker, same};
use serde_json::{json, Map, Value};

/// What a Redis index entry holds for `m` and what a reader rebuilds from it, both ways
/// (value tree and the text writer): the same metadata.
fn redis_round_trip(m: &Map<String, Value>) {
    let fields = codec::flatten(m);
    let rebuilt = codec::unflatten(fields.clone());
    assert!(
        same(&rebuilt, &Value::Object(m.clone())),
        "unflatten(flatten({m:?})) = {rebuilt:?}"
    );
    let mut out = Vec::new();
    codec::write_metadata(&fields, &mut out);
    let text = String::from_utf8(out).expect("metadata text is UTF-8");
    assert!(
        same(&must_parse("metadata text", &text), &rebuilt),
        "{text}"
    );
}

fn check_path(text: &str) {
    let Ok(segments) = field_path(text) else {
        return;
    };
    assert_eq!(segments.join("."), text, "accepted path must re-join");
    assert!(segments
        .iter()
        .all(|s| !s.is_empty() && !["__proto__", "prototype", "constructor"].contains(s)));
    let path: Vec<String> = segments.iter().map(|s| s.to_string()).collect();
    // An increment creates the path; a filter on it then matches.
    let mut v = json!({});
    let n = metadata::increment_path(&mut v, &path, 1.0, text).expect("increment on {}");
    assert_eq!(n, 1.0);
    assert_eq!(metadata::get_path(&v, &path), Some(&json!(1)));
    let f = metadata::parse_filter(Some(&json!({ text: 1 }))).expect("accepted path filters");
    assert!(metadata::matches(&v, &f));
    // As a dot key of an add: expanded, stored on every backend, read back.
    let m = metadata::for_add(Some(json!({ text: 1 })), &Limits::default())
        .expect("accepted path as a dot key");
    // `version` belongs to the store: an add sets it to 0 whatever the caller gave.
    let owned = segments[0] == "version";
    if !owned {
        assert_eq!(metadata::get_path(&m, &path), Some(&json!(1)));
    }
    if let Value::Object(map) = &m {
        redis_round_trip(map);
    }
    let store = memory_store();
    block_on(store.index_add("fp", "e", 1.0, Some(&json!({ text: 1 }).to_string())))
        .expect("memory store takes an accepted path");
    let got = block_on(store.index_get("fp", "e"))
        .unwrap()
        .expect("entry");
    let got = must_parse("index entry", &got);
    assert!(same(&got["metadata"], &m), "{got} vs {m}");
    let by = block_on(store.index_increment("fp", "e", text, 2.0));
    if !owned {
        assert_eq!(by.expect("increment of an accepted path"), 3.0);
    }
}

fn check_metadata(text: &str) {
    let Ok(v) = parse_value(text, &Limits::default()) else {
        return;
    };
    if let Ok(m) = metadata::for_add(Some(v.clone()), &Limits::default()) {
        let Value::Object(map) = &m else {
            panic!("for_add gave {m}")
        };
        redis_round_trip(map);
        let store = memory_store();
        block_on(store.index_add("fm", "e", 1.0, Some(text))).expect("memory store takes it");
        let got = must_parse(
            "index entry",
            &block_on(store.index_get("fm", "e")).unwrap().unwrap(),
        );
        assert!(same(&got["metadata"], &m), "{got} vs {m}");
        // An update merges: what comes back is the merge of the two.
        if let Ok(Value::Object(p)) = metadata::for_update(v.clone(), &Limits::default()) {
            let _ = codec::merge_ops(&p);
            let mut want = map.clone();
            metadata::deep_merge(&mut want, p);
            let ok = block_on(store.index_update("fm", "e", text, None)).expect("update");
            assert!(ok);
            let got = must_parse(
                "index entry",
                &block_on(store.index_get("fm", "e")).unwrap().unwrap(),
            );
            let mut want = Value::Object(want);
            metadata::set_version(&mut want, metadata::version(&got["metadata"]));
            assert!(same(&got["metadata"], &want), "{got} vs {want}");
        }
    }
    let _ = metadata::parse_filter(Some(&v));
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if raw_value_marker(text) {
        return;
    }
    check_path(text);
    check_metadata(text);
});
