//! Values and names: what the engine accepts, and the limits it enforces (SPEC §2).
//!
//! Values cross into the core as JSON text, made by `JSON.stringify` (values mode `'json'`,
//! the default) or after the JS layer's strict walk (mode `'strict'`, which has already
//! refused what JSON cannot carry exactly and reported the offending path). The core checks
//! everything it can see in the text itself — syntax, size, depth, lone surrogates (which
//! `JSON.stringify` writes as `\udXXX` escapes) — because it must never trust its caller;
//! a refusal names the JSON path of the offender, found in the text ([`path_at`]).

use crate::error::{NventError, Result};
use serde_json::Value;
use std::sync::Arc;

/// The largest nesting limit a caller may configure: deeper values would risk the stack
/// of the thread that parses them.
pub const MAX_DEPTH_LIMIT: usize = 1024;

/// Configurable limits. Defaults are the ones of SPEC §2.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Maximum serialized JSON size of one value, in bytes.
    pub max_value_bytes: usize,
    /// Maximum nesting of containers (objects and arrays) in one value.
    pub max_depth: usize,
    /// Maximum length of a name (key, subject, topic, queue, id), in UTF-8 bytes.
    pub max_name_bytes: usize,
}

impl Limits {
    /// The nesting limit in force: the configured one, capped at [`MAX_DEPTH_LIMIT`].
    pub fn depth(&self) -> usize {
        self.max_depth.min(MAX_DEPTH_LIMIT)
    }
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_value_bytes: 16 * 1024 * 1024,
            max_depth: 128,
            max_name_bytes: 1024,
        }
    }
}

/// Checks a name: 1..=max bytes of UTF-8 without NUL. Rust strings are valid UTF-8, so a
/// lone surrogate from JS has already been refused at the boundary.
pub fn check_name(what: &'static str, name: &str, limits: &Limits) -> Result<()> {
    if name.is_empty() {
        return Err(NventError::InvalidName {
            what,
            reason: "must not be empty".into(),
        });
    }
    if name.len() > limits.max_name_bytes {
        return Err(NventError::InvalidName {
            what,
            reason: format!(
                "is {} bytes long; the limit is {} bytes",
                name.len(),
                limits.max_name_bytes
            ),
        });
    }
    if name.contains('\0') {
        return Err(NventError::InvalidName {
            what,
            reason: "must not contain NUL".into(),
        });
    }
    Ok(())
}

/// Segments of a dotted field path that could reach a JS prototype.
/// `__proto__`, `prototype` and `constructor` could reach a JS prototype; serde_json's
/// raw-value marker is a key its parser will not take back as an object's first key, so
/// metadata holding it could be stored but never replayed (found by the `field_path` fuzz
/// target).
const FORBIDDEN_SEGMENTS: [&str; 4] = [
    "__proto__",
    "prototype",
    "constructor",
    "$serde_json::private::RawValue",
];

/// The longest field path (SPEC §2), in UTF-8 bytes. Fixed, not configurable: Redis
/// scripts walk a path's prefixes on the server, so this bound is what keeps one increment
/// or merge from holding the shared server for seconds (issue 14, item 8).
pub const MAX_FIELD_PATH_BYTES: usize = 1024;

/// The most segments a field path may have (SPEC §2). Each segment but the last becomes
/// an object level when a path is expanded, so this also bounds the nesting a path alone
/// can create, well within [`MAX_DEPTH_LIMIT`].
pub const MAX_FIELD_PATH_SEGMENTS: usize = 128;

/// Splits a dotted field path (`stats.total`) into its segments, refusing empty paths,
/// paths over [`MAX_FIELD_PATH_BYTES`] or [`MAX_FIELD_PATH_SEGMENTS`], empty segments and
/// prototype-polluting ones.
///
/// # Errors
/// `NVENT_INVALID_NAME`.
pub fn field_path(path: &str) -> Result<Vec<&str>> {
    let refuse = |reason: String| {
        Err(NventError::InvalidName {
            what: "field path",
            reason,
        })
    };
    if path.is_empty() {
        return refuse("must not be empty".into());
    }
    if path.len() > MAX_FIELD_PATH_BYTES {
        return refuse(format!(
            "'{}' is {} bytes long; the limit is {MAX_FIELD_PATH_BYTES} bytes",
            shown(path),
            path.len()
        ));
    }
    // Counted before splitting: the bytes bound above already caps the work.
    let segments = memchr::memchr_iter(b'.', path.as_bytes()).count() + 1;
    if segments > MAX_FIELD_PATH_SEGMENTS {
        return refuse(format!(
            "'{}' has {segments} segments; the limit is {MAX_FIELD_PATH_SEGMENTS}",
            shown(path)
        ));
    }
    let segments: Vec<&str> = path.split('.').collect();
    for segment in &segments {
        check_segment(path, segment)?;
    }
    Ok(segments)
}

/// Refuses one object key or path segment that is empty or could reach a JS prototype.
pub fn check_segment(path: &str, segment: &str) -> Result<()> {
    if segment.is_empty() {
        return Err(NventError::InvalidName {
            what: "field path",
            reason: format!("'{}' has an empty segment", shown(path)),
        });
    }
    if FORBIDDEN_SEGMENTS.contains(&segment) {
        return Err(NventError::InvalidName {
            what: "field path",
            reason: format!(
                "'{}' contains the reserved segment '{segment}'",
                shown(path)
            ),
        });
    }
    Ok(())
}

/// A path as messages show it: cut after 64 bytes (at a character boundary), so that a
/// refused megabyte path does not become a megabyte message.
fn shown(path: &str) -> std::borrow::Cow<'_, str> {
    const SHOWN: usize = 64;
    if path.len() <= SHOWN {
        return path.into();
    }
    let mut end = SHOWN;
    while !path.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &path[..end]).into()
}

/// Validated JSON text of one value. Cheap to clone; stored as-is where the engine does
/// not need to look inside (kv values), which saves a parse and a serialization per call.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Json(Arc<str>);

impl Json {
    /// Accepts JSON text after checking syntax, size, depth and lone surrogates. String
    /// escapes are not decoded here (the text is stored as given).
    ///
    /// # Errors
    /// `NVENT_PAYLOAD_TOO_LARGE`, `NVENT_NESTING_TOO_DEEP`, `NVENT_NOT_SERIALIZABLE`.
    pub fn from_text(text: String, limits: &Limits) -> Result<Json> {
        check_size(text.len(), limits)?;
        check_depth(&text, limits)?;
        check_surrogates(&text)?;
        deserialize::<serde::de::IgnoredAny>(&text)?;
        Ok(Json(Arc::from(text)))
    }

    /// Checks JSON text like [`Json::from_text`] and reads it as `T` in the same pass (the
    /// check and a `T` that ignores what it does not need cost one parse, not two).
    ///
    /// # Errors
    /// As [`Json::from_text`]; a `T` that refuses the value gives a data error, told apart
    /// by [`serde_json::Error::is_data`] inside `on_data`.
    pub fn read_with<'de, T: serde::Deserialize<'de>>(
        text: &'de str,
        limits: &Limits,
        on_data: impl FnOnce(serde_json::Error) -> NventError,
    ) -> Result<(Json, T)> {
        check_size(text.len(), limits)?;
        check_depth(text, limits)?;
        check_surrogates(text)?;
        let mut de = serde_json::Deserializer::from_str(text);
        de.disable_recursion_limit();
        let classify = |e: serde_json::Error| {
            if e.is_data() {
                on_data(e)
            } else {
                syntax_error(e)
            }
        };
        let v = T::deserialize(&mut de).map_err(classify)?;
        de.end().map_err(syntax_error)?;
        Ok((Json(Arc::from(text)), v))
    }

    /// Wraps JSON text the engine built itself (known to be valid).
    pub fn trusted(text: String) -> Json {
        Json(Arc::from(text))
    }

    /// Serializes a value the engine built itself.
    pub fn from_value(value: &Value) -> Json {
        Json(Arc::from(value.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Parses the text into a value (the text is known to be valid).
    pub fn to_value(&self) -> Result<Value> {
        deserialize(&self.0)
    }
}

/// Parses JSON text into a value after checking size and depth.
///
/// # Errors
/// `NVENT_PAYLOAD_TOO_LARGE`, `NVENT_NESTING_TOO_DEEP`, `NVENT_NOT_SERIALIZABLE`.
pub fn parse_value(text: &str, limits: &Limits) -> Result<Value> {
    parse_as(text, limits)
}

/// [`parse_value`] into any type (a shape the engine expects, raw values kept as text).
///
/// # Errors
/// `NVENT_PAYLOAD_TOO_LARGE`, `NVENT_NESTING_TOO_DEEP`, `NVENT_NOT_SERIALIZABLE` (also for
/// text of another shape).
pub fn parse_as<T: serde::de::DeserializeOwned>(text: &str, limits: &Limits) -> Result<T> {
    check_size(text.len(), limits)?;
    check_depth(text, limits)?;
    check_surrogates(text)?;
    deserialize(text)
}

/// Deserializes text whose depth [`check_depth`] has bounded. serde_json's own limit (128
/// levels, counting differently) is off so that ours, configurable, is the one that
/// applies; [`MAX_DEPTH_LIMIT`] keeps the recursion within the stack.
pub fn deserialize<T: serde::de::DeserializeOwned>(text: &str) -> Result<T> {
    let mut de = serde_json::Deserializer::from_str(text);
    de.disable_recursion_limit();
    let v = T::deserialize(&mut de).map_err(syntax_error)?;
    de.end().map_err(syntax_error)?;
    Ok(v)
}

fn check_size(size: usize, limits: &Limits) -> Result<()> {
    if size > limits.max_value_bytes {
        return Err(NventError::PayloadTooLarge {
            size,
            limit: limits.max_value_bytes,
        });
    }
    Ok(())
}

/// Counts container nesting outside strings. serde_json refuses more than 128 levels on
/// its own, but the limit is configurable and the error must say where.
fn check_depth(text: &str, limits: &Limits) -> Result<()> {
    let max = limits.depth();
    if let Some(at) = too_deep_at(text, max) {
        return Err(NventError::NestingTooDeep {
            path: path_at(text, at),
            limit: max,
        });
    }
    Ok(())
}

/// True when JSON text nests containers deeper than `max` (strings skipped), found by a
/// scan without recursion. What passes may be parsed with serde_json's recursion limit off:
/// the parse then recurses at most `max` (or, for invalid text, [`MAX_DEPTH_LIMIT`]) levels.
/// Used on input and on anything read back from storage, which nothing guarantees this
/// engine wrote.
pub fn nests_deeper_than(text: &str, max: usize) -> bool {
    too_deep_at(text, max).is_some()
}

/// The offset of the first container nested deeper than `max`, if any (see
/// [`nests_deeper_than`]).
fn too_deep_at(text: &str, max: usize) -> Option<usize> {
    // Every container takes two bytes, so a valid text this short cannot nest deeper
    // than `max`, and an invalid one fails the parse, whose recursion is bounded by the
    // length: at most MAX_DEPTH_LIMIT, as for any text that passes this check. Most
    // values are this short (a 200-byte value at the default limit).
    if text.len() <= (2 * max).min(MAX_DEPTH_LIMIT) {
        return None;
    }
    let bytes = text.as_bytes();
    let mut depth = 0usize;
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'"' => {
                // Strings are most of the text: jump to the next quote or backslash.
                i += 1;
                loop {
                    let Some(k) = bytes.get(i..).and_then(|r| memchr::memchr2(b'"', b'\\', r))
                    else {
                        // Unterminated: the parser reports it.
                        return None;
                    };
                    i += k;
                    if bytes[i] == b'"' {
                        break;
                    }
                    // A backslash escapes the byte after it.
                    i += 2;
                }
            }
            b'{' | b'[' => {
                depth += 1;
                if depth > max {
                    return Some(i);
                }
            }
            b'}' | b']' => depth = depth.saturating_sub(1),
            _ => {}
        }
        i += 1;
    }
    None
}

/// Refuses a `\\uD800`–`\\uDFFF` escape that is not half of a surrogate pair: such a
/// string has no UTF-8 form, so no backend could store it and read it back. Outside escapes
/// the text is UTF-8 (a Rust string) and cannot hold one. Backslashes occur only inside
/// strings of valid JSON, and each escapes the byte after it, so one pass from backslash to
/// backslash sees every escape; text without a backslash (most values) costs one memchr.
fn check_surrogates(text: &str) -> Result<()> {
    let bytes = text.as_bytes();
    let hex = |at: usize| -> Option<u32> {
        let digits = bytes.get(at..at + 4)?;
        u32::from_str_radix(std::str::from_utf8(digits).ok()?, 16).ok()
    };
    let mut i = 0;
    while let Some(k) = bytes.get(i..).and_then(|r| memchr::memchr(b'\\', r)) {
        let at = i + k;
        i = at + 2;
        if bytes.get(at + 1) != Some(&b'u') {
            continue;
        }
        let Some(unit) = hex(at + 2) else { continue };
        i = at + 6;
        if !(0xD800..=0xDFFF).contains(&unit) {
            continue;
        }
        let paired = unit <= 0xDBFF
            && bytes.get(at + 6..at + 8) == Some(b"\\u")
            && hex(at + 8).is_some_and(|low| (0xDC00..=0xDFFF).contains(&low));
        if !paired {
            return Err(NventError::NotSerializable {
                path: path_at(text, at),
                reason: "string with a lone surrogate".into(),
            });
        }
        i = at + 12;
    }
    Ok(())
}

/// The JSON path (`$.a.b[2]`, as the JS layer writes it) of the value that holds byte
/// `offset` of `text`: the string it falls in, or the container that starts there. Only
/// called to explain a refusal, so it favours simplicity over speed; text that is not
/// valid JSON gives the path as far as it could follow it.
pub fn path_at(text: &str, offset: usize) -> String {
    enum Frame {
        Object { key: Option<String> },
        Array { index: usize },
    }
    let bytes = text.as_bytes();
    let mut stack: Vec<Frame> = Vec::new();
    let format = |stack: &[Frame]| {
        let mut out = String::from("$");
        for frame in stack {
            match frame {
                Frame::Array { index } => out.push_str(&format!("[{index}]")),
                Frame::Object { key: Some(k) } => {
                    let plain = k
                        .chars()
                        .next()
                        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_' || c == '$')
                        && k.chars()
                            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '$');
                    if plain {
                        out.push('.');
                        out.push_str(k);
                    } else {
                        out.push('[');
                        out.push_str(&serde_json::to_string(k).unwrap_or_default());
                        out.push(']');
                    }
                }
                Frame::Object { key: None } => {}
            }
        }
        out
    };
    // Whether the next string in an object is a key (after `{` or `,`), not a value.
    let mut expect_key = false;
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'"' => {
                let start = i;
                i += 1;
                while i < bytes.len() && bytes[i] != b'"' {
                    i += if bytes[i] == b'\\' { 2 } else { 1 };
                }
                let end = (i + 1).min(bytes.len());
                if expect_key {
                    if let Some(Frame::Object { key }) = stack.last_mut() {
                        let raw = text.get(start..end).unwrap_or("");
                        *key = Some(
                            serde_json::from_str::<String>(raw)
                                .unwrap_or_else(|_| raw.trim_matches('"').to_string()),
                        );
                    }
                    expect_key = false;
                } else if offset < end {
                    return format(&stack);
                }
            }
            b'{' | b'[' => {
                if i >= offset {
                    return format(&stack);
                }
                if bytes[i] == b'{' {
                    stack.push(Frame::Object { key: None });
                    expect_key = true;
                } else {
                    stack.push(Frame::Array { index: 0 });
                }
            }
            b'}' | b']' => {
                stack.pop();
                expect_key = false;
            }
            b',' => match stack.last_mut() {
                Some(Frame::Array { index }) => *index += 1,
                Some(Frame::Object { .. }) => expect_key = true,
                None => {}
            },
            _ => {}
        }
        i += 1;
    }
    format(&stack)
}

fn syntax_error(e: serde_json::Error) -> NventError {
    // Lone surrogates arrive as `\ud800` escapes and are refused here: Rust strings are
    // UTF-8 and cannot hold them.
    NventError::NotSerializable {
        path: "$".into(),
        reason: format!("not valid JSON ({e})"),
    }
}

/// Milliseconds since the Unix epoch.
pub fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_checked() {
        let l = Limits::default();
        assert!(check_name("key", "a", &l).is_ok());
        assert_eq!(
            check_name("key", "", &l).unwrap_err().code(),
            "NVENT_INVALID_NAME"
        );
        assert_eq!(
            check_name("key", "a\0b", &l).unwrap_err().code(),
            "NVENT_INVALID_NAME"
        );
        assert!(check_name("key", &"x".repeat(1024), &l).is_ok());
        assert!(check_name("key", &"x".repeat(1025), &l).is_err());
    }

    #[test]
    fn prototype_segments_are_refused() {
        assert!(field_path("stats.total").is_ok());
        for bad in [
            "__proto__",
            "a.__proto__.b",
            "constructor",
            "a.prototype",
            "a.$serde_json::private::RawValue",
            "$serde_json::private::RawValue.b",
            "a..b",
            "",
        ] {
            assert_eq!(
                field_path(bad).unwrap_err().code(),
                "NVENT_INVALID_NAME",
                "{bad}"
            );
        }
    }

    #[test]
    fn field_paths_are_bounded_in_bytes_and_segments() {
        // At the limits: 1024 bytes, 128 segments.
        let longest = "x".repeat(MAX_FIELD_PATH_BYTES);
        assert!(field_path(&longest).is_ok());
        let most = vec!["a"; MAX_FIELD_PATH_SEGMENTS].join(".");
        assert_eq!(field_path(&most).unwrap().len(), MAX_FIELD_PATH_SEGMENTS);
        // One over either limit is refused, whatever the rest of the path holds.
        let too_long = "x".repeat(MAX_FIELD_PATH_BYTES + 1);
        let too_many = vec!["a"; MAX_FIELD_PATH_SEGMENTS + 1].join(".");
        let huge = vec!["a"; 12_000].join(".");
        let megabyte = "y".repeat(1 << 20);
        for bad in [&too_long, &too_many, &huge, &megabyte] {
            let e = field_path(bad).unwrap_err();
            assert_eq!(e.code(), "NVENT_INVALID_NAME");
            // The message names the path without repeating all of it.
            assert!(e.to_string().len() < 300, "{}", e.to_string().len());
        }
        assert!(field_path(&too_many)
            .unwrap_err()
            .to_string()
            .contains("129 segments"));
        // Multi-byte characters are cut at a boundary in messages.
        let wide = "é".repeat(600);
        assert!(field_path(&wide).unwrap_err().to_string().contains('…'));
    }

    #[test]
    fn nesting_is_measured_without_recursion() {
        let deep = "[".repeat(100_000);
        assert!(nests_deeper_than(&deep, MAX_DEPTH_LIMIT));
        let at = format!("{}{}", "[".repeat(1024), "]".repeat(1024));
        assert!(!nests_deeper_than(&at, 1024));
        assert!(nests_deeper_than(&at, 1023));
        assert!(nests_deeper_than("[]", 0));
        assert!(!nests_deeper_than("1", 0));
    }

    #[test]
    fn depth_counts_containers_outside_strings() {
        let l = Limits {
            max_depth: 2,
            ..Limits::default()
        };
        assert!(parse_value(r#"{"a":[1]}"#, &l).is_ok());
        assert!(parse_value(r#"{"a":"[[[[{{{"}"#, &l).is_ok());
        assert!(parse_value(r#"{"a":"\"[[["}"#, &l).is_ok());
        assert!(parse_value(r#"{"a":"x\\","b":"[[["}"#, &l).is_ok());
        assert!(parse_value(r#"{"a\\":["\\\"[["]}"#, &l).is_ok());
        assert_eq!(
            parse_value(r#"{"a":[[1]]}"#, &l).unwrap_err().code(),
            "NVENT_NESTING_TOO_DEEP"
        );
        assert_eq!(
            parse_value(r#"{"a\\":"\\","b":[[1]]}"#, &l)
                .unwrap_err()
                .code(),
            "NVENT_NESTING_TOO_DEEP"
        );
        // A text of at most twice the limit is not scanned: valid, it cannot be too deep;
        // invalid, the parse refuses it.
        let three = Limits {
            max_depth: 3,
            ..Limits::default()
        };
        assert!(parse_value("[[[]]]", &three).is_ok());
        assert_eq!(
            parse_value("[[[[]]]]", &three).unwrap_err().code(),
            "NVENT_NESTING_TOO_DEEP"
        );
        assert_eq!(
            parse_value("[[[[[[", &three).unwrap_err().code(),
            "NVENT_NOT_SERIALIZABLE"
        );
        // Unterminated strings and a trailing backslash are syntax errors, not a panic.
        for bad in [r#"{"a":"[[[["#, r#"{"a":"\"#, "\"\\"] {
            assert_eq!(
                parse_value(bad, &l).unwrap_err().code(),
                "NVENT_NOT_SERIALIZABLE"
            );
        }
    }

    #[test]
    fn size_and_syntax_are_checked() {
        let l = Limits {
            max_value_bytes: 8,
            ..Limits::default()
        };
        assert_eq!(
            parse_value("\"123456789\"", &l).unwrap_err().code(),
            "NVENT_PAYLOAD_TOO_LARGE"
        );
        assert_eq!(
            parse_value("{", &Limits::default()).unwrap_err().code(),
            "NVENT_NOT_SERIALIZABLE"
        );
        assert_eq!(
            parse_value("\"\\ud800\"", &Limits::default())
                .unwrap_err()
                .code(),
            "NVENT_NOT_SERIALIZABLE"
        );
    }

    #[test]
    fn lone_surrogates_are_refused_with_their_path() {
        let l = Limits::default();
        for ok in [
            r#""\ud83d\ude00""#,
            r#"{"a":"x\\ud800"}"#,
            r#"["\u00e9","\\","\"\ud83d\ude00"]"#,
        ] {
            assert!(Json::from_text(ok.into(), &l).is_ok(), "{ok}");
        }
        for (bad, path) in [
            (r#""\ud800""#, "$"),
            (r#"{"a":{"b":["x","\udc00"]}}"#, "$.a.b[1]"),
            (r#"{"a b":"\ud83d\u0041"}"#, r#"$["a b"]"#),
            (r#"{"k":"\ud83d"}"#, "$.k"),
        ] {
            let e = Json::from_text(bad.into(), &l).unwrap_err();
            assert_eq!(e.code(), "NVENT_NOT_SERIALIZABLE", "{bad}");
            assert_eq!(e.path(), Some(path), "{bad}");
        }
    }

    #[test]
    fn path_at_names_the_value_at_an_offset() {
        let t = r#"{"a":[1,{"b":[[]]}],"c d":"x"}"#;
        assert_eq!(path_at(t, t.find("[[").unwrap() + 1), "$.a[1].b[0]");
        assert_eq!(path_at(t, t.find("\"x").unwrap()), r#"$["c d"]"#);
        assert_eq!(path_at("[[", 1), "$[0]");
        assert_eq!(path_at("{\"a", 2), "$.a");
    }

    #[test]
    fn values_round_trip_exactly() {
        let text = r#"{"z":1,"a":"123","n":0.1,"f":false,"e":"","x":null,"big":12345678901234567}"#;
        let v = parse_value(text, &Limits::default()).unwrap();
        assert_eq!(v.to_string(), text);
    }
}
