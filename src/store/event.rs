//! An event on its way into a stream: checked once, in one parse that also notes where each
//! top-level field sits in the text, so that a backend storing fields apart (Redis: one
//! stream field per event field) needs no second parse.

use super::EventId;
use crate::error::{NventError, Result};
use crate::value::{Json, Limits};
use serde_json::value::RawValue;
use serde_json::Value;
use std::borrow::Cow;
use std::ops::Range;

/// An event to append, checked by the facade: JSON text of an object without `id` and
/// `ts`, and its string `type`.
#[derive(Debug, Clone, PartialEq)]
pub struct EventBody {
    pub kind: String,
    pub json: Json,
    /// The top-level fields, in order, as places in `json`.
    fields: Vec<Field>,
}

#[derive(Debug, Clone, PartialEq)]
struct Field {
    key: Key,
    /// The value's JSON text.
    value: Range<usize>,
}

/// A field name: where it sits in the text, or, when the text spells it with escapes,
/// the name itself.
#[derive(Debug, Clone, PartialEq)]
enum Key {
    At(Range<usize>),
    Unescaped(String),
}

impl EventBody {
    /// Checks `text` as an event: an object (within `limits`) with a string `type` and no
    /// repeated `type`, `id` or `ts`. The store owns `id` and `ts`, so a caller's are
    /// dropped — which needs a second parse only when they are there.
    ///
    /// # Errors
    /// `NVENT_INVALID_ARGUMENT` (not an object, no string `type`), value errors.
    pub fn parse(text: &str, limits: &Limits) -> Result<EventBody> {
        let not_object = || NventError::invalid_argument("an event must be an object");
        if !text.trim_start().starts_with('{') {
            return Err(not_object());
        }
        let (json, head) = Json::read_with::<Head>(text, limits, |_| not_object())?;
        let kind = head
            .kind
            .and_then(|raw| serde_json::from_str::<String>(raw.get()).ok())
            .ok_or_else(|| NventError::invalid_argument("an event needs a string 'type'"))?;
        if !head.id_or_ts {
            let fields = head.fields(text);
            return Ok(EventBody { kind, json, fields });
        }
        let Value::Object(mut map) = json.to_value()? else {
            return Err(not_object());
        };
        // Shifting keeps the other fields in the caller's order.
        map.shift_remove("id");
        map.shift_remove("ts");
        let json = Json::from_value(&Value::Object(map));
        // Text the engine wrote: it parses, with the same fields in the same order.
        let mut de = serde_json::Deserializer::from_str(json.as_str());
        de.disable_recursion_limit();
        let head = <Head as serde::Deserialize>::deserialize(&mut de)
            .map_err(|e| NventError::internal(format!("re-encoded event: {e}")))?;
        let fields = head.fields(json.as_str());
        Ok(EventBody { kind, json, fields })
    }

    /// The top-level fields in order: name, and the value's JSON text as the caller's
    /// JSON gave it.
    pub fn fields(&self) -> impl ExactSizeIterator<Item = (&str, &str)> + '_ {
        let text = self.json.as_str();
        self.fields.iter().map(move |f| {
            let key = match &f.key {
                Key::At(r) => text.get(r.clone()).unwrap_or(""),
                Key::Unescaped(k) => k.as_str(),
            };
            (key, text.get(f.value.clone()).unwrap_or("null"))
        })
    }

    /// The stored record's text: `{"id":…,"ts":…,` followed by the event's own fields.
    pub fn record(&self, id: EventId) -> Json {
        let body = self.json.as_str();
        let rest = body
            .trim_start()
            .strip_prefix('{')
            .unwrap_or("}")
            .trim_start();
        let mut out = String::with_capacity(body.len() + 48);
        let mut digits = itoa::Buffer::new();
        out.push_str("{\"id\":\"");
        out.push_str(digits.format(id.ms));
        out.push('-');
        out.push_str(digits.format(id.seq));
        out.push_str("\",\"ts\":");
        out.push_str(digits.format(id.ms));
        if !rest.starts_with('}') {
            out.push(',');
        }
        out.push_str(rest);
        Json::trusted(out)
    }
}

/// What one parse of an event reads: its `type` value, whether `id` or `ts` are there,
/// and every field (name and value text, borrowed from the text where possible). A
/// repeated `type`, `id` or `ts` is refused (a data error), as is a top level that is not
/// an object.
struct Head<'de> {
    kind: Option<&'de RawValue>,
    id_or_ts: bool,
    fields: Vec<(Cow<'de, str>, &'de RawValue)>,
}

impl Head<'_> {
    /// The fields as places in `text`, the text this head was read from.
    fn fields(self, text: &str) -> Vec<Field> {
        let base = text.as_ptr() as usize;
        let at = |s: &str| {
            let start = (s.as_ptr() as usize).wrapping_sub(base);
            start..start + s.len()
        };
        self.fields
            .into_iter()
            .map(|(k, v)| Field {
                key: match k {
                    Cow::Borrowed(k) => Key::At(at(k)),
                    Cow::Owned(k) => Key::Unescaped(k),
                },
                value: at(v.get()),
            })
            .collect()
    }
}

/// A field name, borrowed from the text unless the text spells it with escapes.
struct Name<'de>(Cow<'de, str>);

impl<'de> serde::Deserialize<'de> for Name<'de> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = Name<'de>;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a field name")
            }
            fn visit_borrowed_str<E: serde::de::Error>(
                self,
                k: &'de str,
            ) -> std::result::Result<Name<'de>, E> {
                Ok(Name(Cow::Borrowed(k)))
            }
            fn visit_str<E: serde::de::Error>(self, k: &str) -> std::result::Result<Name<'de>, E> {
                Ok(Name(Cow::Owned(k.to_string())))
            }
        }
        d.deserialize_str(V)
    }
}

impl<'de> serde::Deserialize<'de> for Head<'de> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        use serde::de::{Error, MapAccess, Visitor};
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Head<'de>;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("an object")
            }
            fn visit_map<A: MapAccess<'de>>(
                self,
                mut map: A,
            ) -> std::result::Result<Head<'de>, A::Error> {
                let mut head = Head {
                    kind: None,
                    id_or_ts: false,
                    fields: Vec::with_capacity(8),
                };
                let (mut id, mut ts) = (false, false);
                while let Some(Name(key)) = map.next_key::<Name<'de>>()? {
                    let value: &'de RawValue = map.next_value()?;
                    match &*key {
                        "type" if head.kind.is_some() => {
                            return Err(A::Error::duplicate_field("type"))
                        }
                        "type" => head.kind = Some(value),
                        "id" | "ts" => {
                            let seen = if key == "id" { &mut id } else { &mut ts };
                            if std::mem::replace(seen, true) {
                                return Err(A::Error::custom("duplicate field"));
                            }
                        }
                        _ => {}
                    }
                    head.fields.push((key, value));
                }
                head.id_or_ts = id || ts;
                Ok(head)
            }
        }
        d.deserialize_map(V)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(t: &str) -> Result<EventBody> {
        EventBody::parse(t, &Limits::default())
    }

    fn fields(b: &EventBody) -> Vec<(String, String)> {
        b.fields()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn one_parse_gives_type_and_every_field_as_written() {
        let b = parse(r#" { "type" : "a.b", "n": 1.50, "o": {"x": [1, "}"]}, "s\"q": "\u00e9" } "#)
            .unwrap();
        assert_eq!(b.kind, "a.b");
        assert_eq!(
            fields(&b),
            [
                ("type", r#""a.b""#),
                ("n", "1.50"),
                ("o", r#"{"x": [1, "}"]}"#),
                ("s\"q", r#""\u00e9""#),
            ]
            .map(|(k, v)| (k.to_string(), v.to_string()))
        );
    }

    #[test]
    fn caller_id_and_ts_are_dropped_and_the_fields_follow_the_new_text() {
        let b = parse(r#"{"id":"x","type":"t","ts":5,"k":[1]}"#).unwrap();
        assert_eq!(b.json.as_str(), r#"{"type":"t","k":[1]}"#);
        assert_eq!(
            fields(&b),
            [("type", r#""t""#), ("k", "[1]")].map(|(k, v)| (k.to_string(), v.to_string()))
        );
    }

    #[test]
    fn refuses_what_is_not_an_event() {
        for bad in [
            "[1]",
            r#"{"n":1}"#,
            r#"{"type":1}"#,
            r#"{"type":"a","type":"b"}"#,
            r#"{"type":"a","id":1,"id":2}"#,
            r#"{"type":"a""#,
        ] {
            assert!(parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn records_splice_id_and_ts_before_the_event_fields() {
        let id = EventId { ms: 5, seq: 1 };
        assert_eq!(
            parse(r#"{"type":"t"}"#).unwrap().record(id).as_str(),
            r#"{"id":"5-1","ts":5,"type":"t"}"#
        );
        assert_eq!(
            parse(r#" { "type":"t" } "#).unwrap().record(id).as_str(),
            r#"{"id":"5-1","ts":5,"type":"t" } "#
        );
    }
}
