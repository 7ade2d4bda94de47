//! `NativeBus`: the event bus for JS (`js/bus.js` calls the JS handlers).

use super::outbox::{Outbox, OutboxCore, ToJs};
use super::sync;
use crate::bus::{EventBus, Filter, Target};
use crate::value::{parse_value, Limits};
use napi_derive::napi;
use std::sync::Arc;

#[napi]
pub struct NativeBus {
    pub(crate) bus: Arc<EventBus>,
    outbox: Arc<OutboxCore>,
}

#[napi]
impl NativeBus {
    #[napi(constructor)]
    pub fn new(outbox: &Outbox) -> Self {
        NativeBus {
            bus: Arc::new(EventBus::new()),
            outbox: outbox.core.clone(),
        }
    }

    fn target(&self, target: u32) -> Target {
        Target::Js {
            id: target,
            callback: Arc::new(ToJs {
                outbox: self.outbox.clone(),
                target,
            }),
        }
    }

    /// A handle for the hot-path functions of `fast.rs`.
    #[napi]
    pub fn handle(&self) -> napi::bindgen_prelude::External<Arc<EventBus>> {
        napi::bindgen_prelude::External::new(self.bus.clone())
    }

    /// Subscribes JS handler `target` to `type` (`'*'` = every event).
    #[napi]
    pub fn on_type(&self, kind: String, target: u32) -> f64 {
        self.bus
            .subscribe(Filter::on_type(&kind), self.target(target)) as f64
    }

    #[napi]
    pub fn subscribe_run_id(&self, run_id: String, target: u32) -> f64 {
        self.bus
            .subscribe(Filter::RunId(run_id), self.target(target)) as f64
    }

    #[napi]
    pub fn unsubscribe(&self, id: f64) -> bool {
        self.bus.unsubscribe(id as u64)
    }

    #[napi]
    pub fn publish_native(&self, event: String) -> napi::Result<()> {
        sync(|| {
            let v = parse_value(&event, &Limits::default())?;
            self.bus.publish_native(&v);
            Ok(())
        })
    }
}
