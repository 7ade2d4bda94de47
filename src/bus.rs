//! The in-process event bus (SPEC §6).
//!
//! Subscriptions are kept in the order they were made and filter on the event's `type`
//! (`'*'` = every event) or its `runId`. A publish delivers to every matching subscription
//! in that order. JS handlers are called by the binding: for a publish made on the JS
//! thread, [`EventBus::route`] tells it which handlers to call, synchronously; events
//! published from Rust (the coordinator's stored records, queue events, errors) reach JS
//! handlers through their callbacks — asynchronously, in order. Native subscribers (the
//! coordinator) are called on the publishing thread and must not block.

use crate::callback::Callback;
use crate::error::NventError;
use crate::value::Json;
use serde_json::{json, Value};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, RwLock};

/// What a subscription listens to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Filter {
    Type(String),
    Any,
    RunId(String),
}

impl Filter {
    /// `onType('*')` listens to everything.
    pub fn on_type(kind: &str) -> Filter {
        if kind == "*" {
            Filter::Any
        } else {
            Filter::Type(kind.to_string())
        }
    }

    fn matches(&self, kind: &str, run_id: Option<&str>) -> bool {
        match self {
            Filter::Any => true,
            Filter::Type(t) => t == kind,
            Filter::RunId(r) => run_id == Some(r.as_str()),
        }
    }
}

/// A subscriber living in Rust.
pub trait BusHandler: Send + Sync {
    fn handle(&self, event: &Value);
}

pub enum Target {
    /// A JS handler: `id` is the binding's handle for it, `callback` queues an event for it.
    Js {
        id: u32,
        callback: Arc<dyn Callback>,
    },
    Native(Arc<dyn BusHandler>),
}

struct Subscription {
    id: u64,
    filter: Filter,
    target: Target,
}

/// Which subscriptions a publish from the JS thread reaches.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Route {
    /// JS handler ids, in subscription order.
    pub js: Vec<u32>,
    /// Whether native subscribers matched (the binding then sends the event's JSON).
    pub native: bool,
}

#[derive(Default)]
pub struct EventBus {
    subs: RwLock<Vec<Subscription>>,
    next_id: AtomicU64,
    natives: AtomicUsize,
}

impl EventBus {
    pub fn new() -> EventBus {
        EventBus::default()
    }

    /// Returns the subscription id for [`EventBus::unsubscribe`].
    pub fn subscribe(&self, filter: Filter, target: Target) -> u64 {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed) + 1;
        if matches!(target, Target::Native(_)) {
            self.natives.fetch_add(1, Ordering::Relaxed);
        }
        let mut subs = self.subs.write().unwrap_or_else(|p| p.into_inner());
        subs.push(Subscription { id, filter, target });
        id
    }

    pub fn unsubscribe(&self, id: u64) -> bool {
        let mut subs = self.subs.write().unwrap_or_else(|p| p.into_inner());
        let Some(pos) = subs.iter().position(|s| s.id == id) else {
            return false;
        };
        let removed = subs.remove(pos);
        if matches!(removed.target, Target::Native(_)) {
            self.natives.fetch_sub(1, Ordering::Relaxed);
        }
        true
    }

    /// True when some native subscriber exists (the binding skips serializing events for
    /// the bus otherwise).
    pub fn has_native(&self) -> bool {
        self.natives.load(Ordering::Relaxed) > 0
    }

    pub fn route(&self, kind: &str, run_id: Option<&str>) -> Route {
        let subs = self.subs.read().unwrap_or_else(|p| p.into_inner());
        let mut route = Route::default();
        for s in subs.iter().filter(|s| s.filter.matches(kind, run_id)) {
            match &s.target {
                Target::Js { id, .. } => route.js.push(*id),
                Target::Native(_) => route.native = true,
            }
        }
        route
    }

    /// Delivers `event` to the native subscribers only (JS handlers were called by the
    /// binding after [`EventBus::route`]).
    pub fn publish_native(&self, event: &Value) {
        let (kind, run_id) = keys(event);
        let natives: Vec<Arc<dyn BusHandler>> = {
            let subs = self.subs.read().unwrap_or_else(|p| p.into_inner());
            subs.iter()
                .filter(|s| s.filter.matches(&kind, run_id.as_deref()))
                .filter_map(|s| match &s.target {
                    Target::Native(h) => Some(h.clone()),
                    Target::Js { .. } => None,
                })
                .collect()
        };
        // Called without the lock: a native handler may publish in turn.
        for h in natives {
            h.handle(event);
        }
    }

    /// A publish from Rust: every matching subscriber, JS ones through their callbacks.
    pub fn publish(&self, event: &Value) {
        let (kind, run_id) = keys(event);
        let mut natives: Vec<Arc<dyn BusHandler>> = Vec::new();
        {
            let subs = self.subs.read().unwrap_or_else(|p| p.into_inner());
            let mut text: Option<Json> = None;
            for s in subs
                .iter()
                .filter(|s| s.filter.matches(&kind, run_id.as_deref()))
            {
                match &s.target {
                    Target::Js { callback, .. } => {
                        let t = text.get_or_insert_with(|| Json::from_value(event));
                        callback.call(t);
                    }
                    Target::Native(h) => natives.push(h.clone()),
                }
            }
        }
        for h in natives {
            h.handle(event);
        }
    }

    /// Publishes `{ type: 'nvent.error', data: { source, code, message } }` (SPEC §4, §6).
    pub fn report_error(&self, source: &str, err: &NventError) {
        self.publish(&json!({
            "type": "nvent.error",
            "data": { "source": source, "code": err.code(), "message": err.to_string() },
        }));
    }
}

fn keys(event: &Value) -> (String, Option<String>) {
    let kind = event
        .get("type")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    let run_id = event.get("runId").and_then(Value::as_str).map(String::from);
    (kind, run_id)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::callback::FnCallback;
    use std::sync::Mutex;

    struct Rec(Arc<Mutex<Vec<String>>>);
    impl BusHandler for Rec {
        fn handle(&self, event: &Value) {
            self.0
                .lock()
                .unwrap()
                .push(event["type"].as_str().unwrap().to_string());
        }
    }

    #[test]
    fn routes_follow_subscription_order_and_filters() {
        let bus = EventBus::new();
        let noop: Arc<dyn Callback> = Arc::new(FnCallback(|_: &Json| {}));
        let a = bus.subscribe(
            Filter::on_type("step.done"),
            Target::Js {
                id: 1,
                callback: noop.clone(),
            },
        );
        bus.subscribe(
            Filter::on_type("*"),
            Target::Js {
                id: 2,
                callback: noop.clone(),
            },
        );
        bus.subscribe(
            Filter::RunId("r1".into()),
            Target::Js {
                id: 3,
                callback: noop,
            },
        );
        assert_eq!(bus.route("step.done", Some("r1")).js, [1, 2, 3]);
        assert_eq!(bus.route("other", Some("r2")).js, [2]);
        assert!(bus.unsubscribe(a));
        assert!(!bus.unsubscribe(a));
        assert_eq!(bus.route("step.done", None).js, [2]);
        assert!(!bus.route("x", None).native);
    }

    #[test]
    fn rust_publishes_reach_js_callbacks_and_natives() {
        let bus = EventBus::new();
        let js = Arc::new(Mutex::new(Vec::new()));
        let j2 = js.clone();
        let cb: Arc<dyn Callback> = Arc::new(FnCallback(move |t: &Json| {
            j2.lock().unwrap().push(t.as_str().to_string())
        }));
        bus.subscribe(
            Filter::Any,
            Target::Js {
                id: 7,
                callback: cb,
            },
        );
        let seen = Arc::new(Mutex::new(Vec::new()));
        bus.subscribe(
            Filter::on_type("a"),
            Target::Native(Arc::new(Rec(seen.clone()))),
        );
        assert!(bus.has_native());
        assert!(bus.route("a", None).native);
        bus.publish(&json!({ "type": "a" }));
        bus.report_error("test", &NventError::invalid_argument("bad"));
        assert_eq!(*seen.lock().unwrap(), ["a"]);
        let js = js.lock().unwrap();
        assert_eq!(js.len(), 2);
        assert!(js[1].contains("NVENT_INVALID_ARGUMENT"));
    }
}
