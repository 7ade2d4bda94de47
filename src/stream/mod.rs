//! StreamAdapter: cross-instance pub/sub (SPEC §4).
//!
//! Contract: `publish(topic, event)` delivers the event (any JSON object: `type` is
//! optional, as the reference project publishes `{ id, metadata }`), exactly as published
//! (with `timestamp` filled when absent), to every subscription whose topic pattern matches
//! (`*` wildcards) and whose `filter` matches `event.type` — once per subscription; a filter
//! only matches an event whose `type` is a string. A
//! subscription with a `group` shares messages with the other members of that group on
//! the same topic pattern: each message goes to one member. `from_beginning` replays the
//! retained messages of matching topics before live ones. Plain subscriptions are
//! at-most-once; handler failures never stop delivery to others (the binding reports them
//! on the event bus).

pub mod memory;
pub mod redis;

use crate::callback::Callback;
use crate::error::{NventError, Result};
use crate::value::{now_ms, Json};
use async_trait::async_trait;
use serde_json::{Map, Value};
use std::sync::Arc;

/// Options of `subscribe`. A RegExp filter is applied by the binding's JS side (JS regex
/// semantics); a string filter is a glob on `event.type`, applied here.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SubscribeOptions {
    pub group: Option<String>,
    pub filter: Option<String>,
    pub from_beginning: bool,
}

#[async_trait]
pub trait StreamAdapter: Send + Sync {
    /// Publishes `event` (an object, `timestamp` already filled).
    async fn publish(&self, topic: &str, event: Json) -> Result<()>;
    async fn subscribe(
        &self,
        topic: &str,
        handler: Arc<dyn Callback>,
        opts: SubscribeOptions,
    ) -> Result<u64>;
    async fn unsubscribe(&self, id: u64) -> Result<bool>;
    /// The topic patterns this instance subscribes to, as written, once each.
    async fn list_topics(&self) -> Result<Vec<String>>;
    /// Live subscriptions of this instance on exactly `topic` (as written).
    async fn subscription_count(&self, topic: &str) -> Result<u64>;
    async fn shutdown(&self) -> Result<()>;
}

/// Checks a published event and fills `timestamp` when absent. Any JSON object is an event
/// (SPEC §4): `type` is optional and, like every other field, delivered as published; only
/// a filter looks at it, and matches only a string `type`.
///
/// # Errors
/// `NVENT_INVALID_ARGUMENT` for a non-object.
pub fn prepare_event(event: Value) -> Result<Json> {
    let Value::Object(mut map) = event else {
        return Err(NventError::invalid_argument(
            "a stream event must be an object { type?, data?, metadata?, timestamp? }",
        ));
    };
    fill_timestamp(&mut map);
    Ok(Json::from_value(&Value::Object(map)))
}

fn fill_timestamp(map: &mut Map<String, Value>) {
    if map.get("timestamp").is_none_or(Value::is_null) {
        map.insert("timestamp".into(), Value::from(now_ms()));
    }
}
