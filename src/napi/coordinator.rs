//! The coordinator for JS, and the bridges that let JS-registered adapters serve as its
//! event log and publisher.

use super::bus::NativeBus;
use super::outbox::{Outbox, OutboxCore};
use super::sync;
use crate::coordinator::{Coordinator, CoordinatorOptions, EventLog, Publisher};
use crate::options::Opts;
use crate::value::Json;
use async_trait::async_trait;
use napi_derive::napi;
use serde_json::Value;
use std::sync::Arc;

#[napi]
pub struct NativeEventLog {
    pub(crate) log: Arc<dyn EventLog>,
}

#[napi]
pub struct NativePublisher {
    pub(crate) publisher: Arc<dyn Publisher>,
}

/// A JS object reached through the outbox: calls become `{ call, method, args }`
/// payloads for its target, settled by `Outbox.settleCall`.
struct JsBridge {
    outbox: Arc<OutboxCore>,
    target: u32,
}

#[async_trait]
impl EventLog for JsBridge {
    async fn append(&self, subject: &str, event: &str) -> crate::Result<Json> {
        let args = format!("[{},{event}]", Value::String(subject.to_string()));
        self.outbox.call_js(self.target, "append", args).await
    }
}

#[async_trait]
impl Publisher for JsBridge {
    async fn publish(&self, topic: &str, event: Json) -> crate::Result<()> {
        let args = format!("[{},{}]", Value::String(topic.to_string()), event.as_str());
        self.outbox
            .call_js(self.target, "publish", args)
            .await
            .map(|_| ())
    }
}

#[napi]
impl NativeEventLog {
    /// A JS store (any object with `append` or `stream.append`), served by target `target`.
    #[napi(factory)]
    pub fn from_js(outbox: &Outbox, target: u32) -> Self {
        NativeEventLog {
            log: Arc::new(JsBridge {
                outbox: outbox.core.clone(),
                target,
            }),
        }
    }
}

#[napi]
impl NativePublisher {
    /// A JS stream adapter (any object with `publish`), served by target `target`.
    #[napi(factory)]
    pub fn from_js(outbox: &Outbox, target: u32) -> Self {
        NativePublisher {
            publisher: Arc::new(JsBridge {
                outbox: outbox.core.clone(),
                target,
            }),
        }
    }
}

#[napi]
pub struct NativeCoordinator {
    inner: Coordinator,
}

#[napi]
impl NativeCoordinator {
    /// `options` is JSON text of `{ prefix?, channels?: { storeSync?, flowEvents?,
    /// clientMessages? }, enableStoreSync?, enableFlowEvents?, enableClientMessages?,
    /// instanceId? }`.
    #[napi(constructor)]
    pub fn new(
        bus: &NativeBus,
        log: &NativeEventLog,
        publisher: &NativePublisher,
        options: Option<String>,
    ) -> napi::Result<Self> {
        sync(|| {
            let o = Opts::parse("coordinator options", options.as_deref())?;
            let channels = match o.raw("channels") {
                Some(Value::Object(m)) => Opts::from_map("coordinator options.channels", m.clone()),
                _ => Opts::from_map("coordinator options.channels", Default::default()),
            };
            let flag = |channel: &str, flat: &str| -> crate::Result<bool> {
                Ok(channels.bool(channel)?.or(o.bool(flat)?).unwrap_or(true))
            };
            let defaults = CoordinatorOptions::default();
            let opts = CoordinatorOptions {
                prefix: o.str("prefix")?.map_or(defaults.prefix, String::from),
                store_sync: flag("storeSync", "enableStoreSync")?,
                flow_events: flag("flowEvents", "enableFlowEvents")?,
                client_messages: flag("clientMessages", "enableClientMessages")?,
                instance_id: o
                    .str("instanceId")?
                    .map_or(defaults.instance_id, String::from),
            };
            Ok(NativeCoordinator {
                inner: Coordinator::new(
                    bus.bus.clone(),
                    log.log.clone(),
                    publisher.publisher.clone(),
                    opts,
                ),
            })
        })
    }

    #[napi(getter)]
    pub fn instance_id(&self) -> String {
        self.inner.instance_id().to_string()
    }

    #[napi]
    pub fn start(&self) -> napi::Result<()> {
        sync(|| self.inner.start())
    }

    #[napi]
    pub fn stop(&self) {
        self.inner.stop()
    }
}
