//! The stream coordinator (SPEC §7): wiring between the event bus, the store and the
//! stream adapter.
//!
//! - **Persistence**: an ingress bus event (no `id`/`ts`) with a `runId` is appended to
//!   `{prefix}:flow:run:{runId}`; an ingress `trigger.*` event to
//!   `{prefix}:trigger:event:{name}` (name = `triggerName`, else `data.name`, else `name`).
//!   The stored record is published on the bus again.
//! - **Forwarding**: events that carry `id` and `ts` go to the channels that are on
//!   (`channels` module). `flow.stats.updated` is not a log event: it is forwarded to the
//!   stats topic as it arrives.
//! - Messages carry `metadata.instanceId`; bus events stamped by another instance are
//!   ignored, so two instances never echo each other.
//! - Order: one worker task handles events in bus order, so a run's records are appended
//!   and forwarded in the order they were published. Failures (store or stream) are
//!   reported on the bus as `nvent.error` with source `coordinator`; the worker goes on.

pub mod channels;

use crate::bus::{BusHandler, EventBus, Filter, Target};
use crate::error::Result;
use crate::store::facade::Store;
use crate::stream::{prepare_event, StreamAdapter};
use crate::value::Json;
use async_trait::async_trait;
use serde_json::{json, Value};
use std::sync::{Arc, Mutex};
use tokio::sync::mpsc;

/// Where the coordinator persists events: a store's event stream.
#[async_trait]
pub trait EventLog: Send + Sync {
    /// Appends `event` (JSON text of an object) and returns the stored record.
    async fn append(&self, subject: &str, event: &str) -> Result<Json>;
}

/// Where the coordinator sends messages: a stream adapter.
#[async_trait]
pub trait Publisher: Send + Sync {
    async fn publish(&self, topic: &str, event: Json) -> Result<()>;
}

#[async_trait]
impl EventLog for Store {
    async fn append(&self, subject: &str, event: &str) -> Result<Json> {
        self.stream_append(subject, event).await
    }
}

/// A native stream adapter as a publisher.
pub struct StreamPublisher(pub Arc<dyn StreamAdapter>);

#[async_trait]
impl Publisher for StreamPublisher {
    async fn publish(&self, topic: &str, event: Json) -> Result<()> {
        self.0.publish(topic, event).await
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct CoordinatorOptions {
    pub prefix: String,
    pub store_sync: bool,
    pub flow_events: bool,
    pub client_messages: bool,
    pub instance_id: String,
}

impl Default for CoordinatorOptions {
    fn default() -> Self {
        CoordinatorOptions {
            prefix: "nvent".into(),
            store_sync: true,
            flow_events: true,
            client_messages: true,
            instance_id: new_instance_id(),
        }
    }
}

/// A random-enough id for this process's coordinator (pid + time + address entropy).
pub fn new_instance_id() -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    let local = 0u8;
    let addr = &local as *const u8 as usize;
    format!("{:x}-{:x}", std::process::id(), (nanos as usize) ^ addr)
}

pub struct Coordinator {
    bus: Arc<EventBus>,
    log: Arc<dyn EventLog>,
    publisher: Arc<dyn Publisher>,
    opts: Arc<CoordinatorOptions>,
    running: Mutex<Option<u64>>,
}

struct Listener {
    tx: mpsc::UnboundedSender<Value>,
    instance_id: String,
}

impl BusHandler for Listener {
    fn handle(&self, event: &Value) {
        let foreign = event
            .pointer("/metadata/instanceId")
            .and_then(Value::as_str)
            .is_some_and(|id| id != self.instance_id);
        if !foreign {
            let _ = self.tx.send(event.clone());
        }
    }
}

impl Coordinator {
    pub fn new(
        bus: Arc<EventBus>,
        log: Arc<dyn EventLog>,
        publisher: Arc<dyn Publisher>,
        opts: CoordinatorOptions,
    ) -> Coordinator {
        Coordinator {
            bus,
            log,
            publisher,
            opts: Arc::new(opts),
            running: Mutex::new(None),
        }
    }

    pub fn instance_id(&self) -> &str {
        &self.opts.instance_id
    }

    /// Subscribes to the bus and starts the worker. Idempotent.
    pub fn start(&self) -> Result<()> {
        let mut running = self.running.lock().unwrap_or_else(|p| p.into_inner());
        if running.is_some() {
            return Ok(());
        }
        let (tx, rx) = mpsc::unbounded_channel();
        let work = Work {
            bus: self.bus.clone(),
            log: self.log.clone(),
            publisher: self.publisher.clone(),
            opts: self.opts.clone(),
        };
        crate::runtime::spawn(work.run(rx))?;
        let listener = Listener {
            tx,
            instance_id: self.opts.instance_id.clone(),
        };
        let id = self
            .bus
            .subscribe(Filter::Any, Target::Native(Arc::new(listener)));
        *running = Some(id);
        Ok(())
    }

    /// Unsubscribes; the worker finishes what it already received, then ends. Idempotent.
    pub fn stop(&self) {
        let mut running = self.running.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(id) = running.take() {
            self.bus.unsubscribe(id);
        }
    }
}

impl Drop for Coordinator {
    fn drop(&mut self) {
        self.stop();
    }
}

struct Work {
    bus: Arc<EventBus>,
    log: Arc<dyn EventLog>,
    publisher: Arc<dyn Publisher>,
    opts: Arc<CoordinatorOptions>,
}

impl Work {
    async fn run(self, mut rx: mpsc::UnboundedReceiver<Value>) {
        while let Some(event) = rx.recv().await {
            if let Err(e) = self.handle(event).await {
                self.bus.report_error("coordinator", &e);
            }
        }
    }

    async fn handle(&self, event: Value) -> Result<()> {
        let kind = event.get("type").and_then(Value::as_str).unwrap_or("");
        if kind.is_empty() || kind == "nvent.error" {
            return Ok(());
        }
        if kind == "flow.stats.updated" {
            return self.forward_stats(&event).await;
        }
        let persisted = event.get("id").is_some() && event.get("ts").is_some();
        if persisted {
            return self.forward(&event).await;
        }
        let subject = if kind.starts_with("trigger.") {
            match trigger_name(&event) {
                Some(name) => channels::trigger_subject(&self.opts.prefix, name),
                None => return Ok(()),
            }
        } else {
            match event.get("runId").and_then(Value::as_str) {
                Some(run_id) => channels::flow_run_subject(&self.opts.prefix, run_id),
                None => return Ok(()),
            }
        };
        let record = self.log.append(&subject, &event.to_string()).await?;
        let record = record.to_value()?;
        self.bus.publish(&record);
        Ok(())
    }

    fn message(&self, kind: &str, data: Value) -> Result<Json> {
        prepare_event(json!({
            "type": kind,
            "data": data,
            "metadata": { "instanceId": self.opts.instance_id },
        }))
    }

    async fn forward(&self, record: &Value) -> Result<()> {
        let kind = record.get("type").and_then(Value::as_str).unwrap_or("");
        let prefix = &self.opts.prefix;
        let (subject, run_id, trigger) = if kind.starts_with("trigger.") {
            let Some(name) = trigger_name(record) else {
                return Ok(());
            };
            (channels::trigger_subject(prefix, name), None, Some(name))
        } else {
            let Some(run_id) = record.get("runId").and_then(Value::as_str) else {
                return Ok(());
            };
            (
                channels::flow_run_subject(prefix, run_id),
                Some(run_id),
                None,
            )
        };
        if self.opts.store_sync {
            let msg = self.message(
                "store.append",
                json!({ "subject": subject, "event": record }),
            )?;
            self.publisher
                .publish(&channels::store_sync(&subject), msg)
                .await?;
        }
        if let Some(run_id) = run_id {
            if self.opts.flow_events && channels::is_lifecycle(kind) {
                let msg = self.message(kind, json!({ "runId": run_id, "event": record }))?;
                self.publisher
                    .publish(&channels::flow_events(run_id), msg)
                    .await?;
            }
            if self.opts.client_messages {
                let msg = self.message("flow.event", json!({ "event": record }))?;
                self.publisher
                    .publish(&channels::client_flow(run_id), msg.clone())
                    .await?;
                self.publisher
                    .publish(&channels::client_flow_reference(prefix, run_id), msg)
                    .await?;
            }
        }
        if let (Some(name), true) = (trigger, self.opts.client_messages) {
            let msg = self.message(kind, json!({ "event": record }))?;
            self.publisher
                .publish(&channels::client_trigger(prefix, name), msg)
                .await?;
        }
        Ok(())
    }

    async fn forward_stats(&self, event: &Value) -> Result<()> {
        if !self.opts.client_messages {
            return Ok(());
        }
        let msg = self.message("flow.stats.updated", json!({ "event": event }))?;
        self.publisher
            .publish(&channels::client_stats(&self.opts.prefix), msg)
            .await
    }
}

fn trigger_name(event: &Value) -> Option<&str> {
    event
        .get("triggerName")
        .or_else(|| event.pointer("/data/name"))
        .or_else(|| event.get("name"))
        .and_then(Value::as_str)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::memory::MemoryStoreAdapter;
    use crate::value::Limits;
    use std::time::Duration;

    struct Recorder(Mutex<Vec<(String, Value)>>);
    #[async_trait]
    impl Publisher for Recorder {
        async fn publish(&self, topic: &str, event: Json) -> Result<()> {
            self.0
                .lock()
                .unwrap()
                .push((topic.to_string(), event.to_value()?));
            Ok(())
        }
    }

    #[tokio::test]
    async fn persists_ingress_events_and_forwards_the_records() {
        let bus = Arc::new(EventBus::new());
        let store = Store::new(Arc::new(MemoryStoreAdapter::new()), Limits::default());
        let rec = Arc::new(Recorder(Mutex::new(Vec::new())));
        let opts = CoordinatorOptions {
            prefix: "p".into(),
            instance_id: "me".into(),
            ..Default::default()
        };
        let c = Coordinator::new(bus.clone(), Arc::new(store.clone()), rec.clone(), opts);
        c.start().unwrap();
        c.start().unwrap();
        bus.publish_native(&json!({ "type": "step.completed", "runId": "r1", "flowName": "f" }));
        bus.publish_native(
            &json!({ "type": "step.other", "runId": "r1", "metadata": { "instanceId": "them" } }),
        );
        for _ in 0..200 {
            if rec.0.lock().unwrap().len() >= 4 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        let got = rec.0.lock().unwrap().clone();
        let topics: Vec<&str> = got.iter().map(|(t, _)| t.as_str()).collect();
        assert_eq!(
            topics,
            [
                "store-sync:append:p:flow:run:r1",
                "flow:event:r1",
                "client:flow:r1",
                "p:stream:flow:events:r1"
            ]
        );
        assert_eq!(got[1].1["data"]["event"]["flowName"], "f");
        assert_eq!(got[1].1["metadata"]["instanceId"], "me");
        assert_eq!(store.stream_count("p:flow:run:r1").await.unwrap(), 1);
        c.stop();
    }
}
