//! Names: `check_name`, scopes (no two scopes may share a key), event ids, globs, job
//! states and the Redis key builders (no two names may give one key). The first byte
//! picks what the rest is; names that come in pairs split at the first `\u{1}`.
#![no_main]

use libfuzzer_sys::fuzz_target;
use nvent_engine::glob::{escape, Glob};
use nvent_engine::queue::job::State;
use nvent_engine::redis::keys;
use nvent_engine::store::EventId;
use nvent_engine::value::{check_name, Limits};
use nvent_fuzz::{block_on, memory_store, skipped};

fn pair(s: &str) -> (&str, &str) {
    s.split_once('\u{1}').unwrap_or((s, ""))
}

fuzz_target!(|data: &[u8]| {
    let Some((&pick, rest)) = data.split_first() else {
        return;
    };
    let Ok(s) = std::str::from_utf8(rest) else {
        return;
    };
    let limits = Limits::default();
    match pick % 6 {
        0 => {
            if check_name("key", s, &limits).is_ok() {
                assert!(!s.is_empty() && s.len() <= limits.max_name_bytes && !s.contains('\0'));
            }
        }
        1 => {
            // Two different scopes never see each other's keys.
            let (a, b) = pair(s);
            let store = memory_store();
            let (Ok(x), Ok(y)) = (store.scope(a, b), store.scope(&format!("{a}:{b}"), "")) else {
                return;
            };
            let _ = y;
            let Ok(z) = store.scope(b, a) else { return };
            block_on(x.kv_set("k", "1".into(), None)).expect("set in a scope");
            if a != b {
                assert_eq!(
                    block_on(z.kv_get("k")).unwrap(),
                    None,
                    "scope ({a:?},{b:?}) leaks into ({b:?},{a:?})"
                );
            }
            block_on(x.kv_delete("k")).unwrap();
        }
        2 => {
            if let Some(id) = EventId::parse(s) {
                assert_eq!(EventId::parse(&id.to_string()), Some(id));
            }
        }
        3 => {
            // Escaped, any text matches itself only as a literal; a topic pattern always
            // matches its own text.
            let g = Glob::new(&escape(s)).expect("an escaped pattern compiles");
            assert!(g.is_match(s));
            assert!(Glob::topic(s).is_match(s));
            if let Ok(g) = Glob::new(s) {
                if !s.contains('\\') {
                    assert!(g.is_match(s), "pattern {s:?} does not match itself");
                }
            }
            let _ = keys::store_glob(s);
            let _ = keys::store_glob_literal(s);
            let _ = keys::topic_pattern(s);
        }
        4 => {
            if let Ok(st) = State::parse(s) {
                assert_eq!(State::parse(st.as_str()).unwrap(), st);
            }
        }
        _ => {
            // Key builders are one-to-one: two different names never give one key, and a
            // topic's stream never is another topic's dead letters.
            let (a, b) = pair(s);
            if a != b {
                assert_ne!(keys::queue_base("p", a), keys::queue_base("p", b));
                assert_ne!(keys::topic_stream("p", a), keys::topic_stream("p", b));
                assert_ne!(keys::dead_letters("p", a), keys::dead_letters("p", b));
            }
            if !skipped("dead-letter-key") {
                assert_ne!(
                    keys::topic_stream("p", a),
                    keys::dead_letters("p", b),
                    "topic {a:?} is the dead-letter stream of {b:?}"
                );
            }
            // An index entry's metadata hash belongs to one (index key, id) pair.
            let parts: Vec<&str> = s.split('\u{1}').collect();
            if let [k1, id1, k2, id2] = parts[..] {
                if (k1, id1) != (k2, id2) && !skipped("index-meta-key") {
                    assert_ne!(
                        keys::index_meta(k1, id1),
                        keys::index_meta(k2, id2),
                        "index entries ({k1:?}, {id1:?}) and ({k2:?}, {id2:?}) share a metadata hash"
                    );
                }
            }
        }
    }
});
