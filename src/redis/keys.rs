//! Every Redis key and channel name the engine builds (SPEC §9, seed 003).
//!
//! Store keys are used exactly as given (seed 003): an event stream lives at the subject
//! key, an index at `{key}` with one metadata hash per entry at `{key}:meta:{id}`, a kv
//! value at its key, a document collection as one hash at the collection name. `prefix`
//! names only the engine's own keys and channels:
//! - `{prefix}:store:wake:{instance}` — the stream that wakes a store adapter's
//!   subscription reader (store subscribers read the subject streams themselves);
//! - `{prefix}:stream:{topic}` — the retained messages of a stream topic (a Redis stream,
//!   read by `fromBeginning` and consumer groups); `{prefix}:dead:{topic}` — its dead
//!   letters;
//! - `{prefix}:queue:{name}:*` — a queue (see [`queue_base`] and docs/REDIS.md).
//!
//! The rule that keeps user names from reaching a key of another meaning: each kind of
//! engine key has its own segment right after the prefix, and a user's name is the last,
//! whole component of the key (topics), or sits escaped inside braces with only engine
//! suffixes after it (queues: `{prefix}:queue:{name}:wait`, job ids last again in
//! `...}:job:{id}`). In engine 0.1.0 the dead letters of `orders` were
//! `{prefix}:stream:orders:dead`, which is also the retained stream of the topic
//! `orders:dead` (docs/REDIS.md, "Upgrading").
//!
//! Stream topics are pub/sub channels as written ("pub/sub channel = topic").

/// The key prefix of one queue: `{prefix}:queue:{name}:` with the name escaped so that it
/// holds no brace (`%` → `%25`, `{` → `%7B`, `}` → `%7D`). The braces are Redis Cluster's
/// hash tag: every key of a queue lands in one slot, and distinct names never share keys.
pub fn queue_base(prefix: &str, queue: &str) -> String {
    let mut out = String::with_capacity(prefix.len() + queue.len() + 10);
    out.push_str(prefix);
    out.push_str(":queue:{");
    for c in queue.chars() {
        match c {
            '%' => out.push_str("%25"),
            '{' => out.push_str("%7B"),
            '}' => out.push_str("%7D"),
            _ => out.push(c),
        }
    }
    out.push_str("}:");
    out
}

/// The metadata hash of one index entry.
pub fn index_meta(key: &str, id: &str) -> String {
    format!("{key}:meta:{id}")
}

/// The stream that wakes a store adapter's subscription reader (one per adapter instance).
pub fn store_wake(prefix: &str, instance: &str) -> String {
    format!("{prefix}:store:wake:{instance}")
}

/// The Redis stream that retains a topic's messages.
pub fn topic_stream(prefix: &str, topic: &str) -> String {
    format!("{prefix}:stream:{topic}")
}

/// Where poison messages of a topic's consumer groups go: a namespace of its own, so
/// that no topic's retained stream is another topic's dead letters.
pub fn dead_letters(prefix: &str, topic: &str) -> String {
    format!("{prefix}:dead:{topic}")
}

/// Escapes every Redis glob metacharacter so that `s` matches only itself.
pub fn glob_literal(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if matches!(c, '*' | '?' | '[' | ']' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// A store glob (`*`, `?`, `\` escapes; SPEC §3.2) as a Redis `MATCH` pattern: `[` and `]`
/// are literal for us, classes for Redis, so they are escaped.
pub fn store_glob(pattern: &str) -> String {
    let mut out = String::with_capacity(pattern.len() + 4);
    let mut chars = pattern.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => match chars.next() {
                Some(n) => {
                    out.push('\\');
                    out.push(n);
                }
                None => out.push_str("\\\\"),
            },
            '[' | ']' => {
                out.push('\\');
                out.push(c);
            }
            _ => out.push(c),
        }
    }
    out
}

/// The key a store glob names when it has no wildcard, unescaped.
pub fn store_glob_literal(pattern: &str) -> Option<String> {
    let mut out = String::with_capacity(pattern.len());
    let mut chars = pattern.chars();
    while let Some(c) = chars.next() {
        match c {
            '*' | '?' => return None,
            '\\' => out.push(chars.next().unwrap_or('\\')),
            _ => out.push(c),
        }
    }
    Some(out)
}

/// A Redis pattern with every unescaped `?` (one byte) widened to `*`.
pub fn widen_single(pattern: &str) -> String {
    let mut out = String::with_capacity(pattern.len());
    let mut chars = pattern.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => {
                out.push(c);
                if let Some(n) = chars.next() {
                    out.push(n);
                }
            }
            '?' => out.push('*'),
            _ => out.push(c),
        }
    }
    out
}

/// A topic pattern (only `*` is a wildcard, SPEC §4) as a `PSUBSCRIBE` pattern.
pub fn topic_pattern(topic: &str) -> String {
    let mut out = String::with_capacity(topic.len());
    for c in topic.chars() {
        if matches!(c, '?' | '[' | ']' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// The pub/sub channel on which a hub's flushes come back (`redis::pubsub::Hub::flush`). It
/// starts with NUL, which no topic (a name, SPEC §2) can contain, so no user's channel or
/// message is ever taken for a marker, nor a marker for a user's message.
pub fn hub_marker(instance: &str) -> String {
    format!("\0nvent:hub:{instance}")
}

/// A name no other adapter instance uses, in this process or another: the process id, the
/// time and a counter (consumer names in groups, wake keys of store subscriptions).
pub fn instance_name() -> String {
    static N: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    format!(
        "{}-{}-{}",
        std::process::id(),
        crate::value::now_ms(),
        N.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs_translate_to_redis_patterns() {
        assert_eq!(store_glob("a*[x]\\*"), "a*\\[x\\]\\*");
        assert_eq!(store_glob_literal("a\\*b"), Some("a*b".into()));
        assert_eq!(store_glob_literal("a*"), None);
        assert_eq!(topic_pattern("a:*:?[b]"), "a:*:\\?\\[b\\]");
        assert_eq!(glob_literal("a*b"), "a\\*b");
        assert_eq!(widen_single("a?b\\?"), "a*b\\?");
        assert_eq!(index_meta("k", "i"), "k:meta:i");
        assert_eq!(queue_base("nvent", "a}{%b"), "nvent:queue:{a%7D%7B%25b}:");
        // A topic named like another topic's dead letters is its own topic.
        assert_ne!(
            topic_stream("p", "orders:dead"),
            dead_letters("p", "orders")
        );
        assert_eq!(dead_letters("p", "orders"), "p:dead:orders");
        // Queue names never reach into another queue's keys.
        assert!(!queue_base("p", "q:jobs").starts_with(&queue_base("p", "q")));
    }
}
