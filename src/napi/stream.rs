//! `NativeStream`: the stream adapter for JS (`js/stream.js`).

use super::outbox::{Outbox, OutboxCore, ToJs};
use super::{settle, sync, Settled};
use crate::coordinator::{Publisher, StreamPublisher};
use crate::options::{Opts, MAX_COUNT};
use crate::stream::memory::{MemoryStreamAdapter, DEFAULT_RETAIN};
use crate::stream::{prepare_event, StreamAdapter, SubscribeOptions};
use crate::value::{check_name, parse_value, Limits};
use napi::bindgen_prelude::*;
use napi_derive::napi;
use std::sync::Arc;

#[napi]
pub struct NativeStream {
    adapter: Arc<dyn StreamAdapter>,
    outbox: Arc<OutboxCore>,
    limits: Limits,
}

impl NativeStream {
    /// Wraps a core stream adapter for JS (see `NativeStore::from_store`).
    pub(crate) fn from_adapter(
        adapter: Arc<dyn StreamAdapter>,
        outbox: &Outbox,
        limits: Limits,
    ) -> NativeStream {
        NativeStream {
            adapter,
            outbox: outbox.core.clone(),
            limits,
        }
    }
}

#[napi]
impl NativeStream {
    /// A memory stream. `options` is JSON text of `{ retain?, limits? }` (`retain`:
    /// messages kept per topic for `fromBeginning`, default 1000).
    #[napi(factory)]
    pub fn memory(outbox: &Outbox, options: Option<String>) -> napi::Result<Self> {
        sync(|| {
            let limits = super::limits(options.as_deref())?;
            let o = Opts::parse("stream options", options.as_deref())?;
            let retain = o
                .count("retain", 0, MAX_COUNT)?
                .map_or(DEFAULT_RETAIN, |r| r as usize);
            Ok(NativeStream::from_adapter(
                Arc::new(MemoryStreamAdapter::new(retain)),
                outbox,
                limits,
            ))
        })
    }

    #[napi]
    pub fn as_publisher(&self) -> crate::napi::coordinator::NativePublisher {
        crate::napi::coordinator::NativePublisher {
            publisher: Arc::new(StreamPublisher(self.adapter.clone())) as Arc<dyn Publisher>,
        }
    }

    #[napi]
    pub fn publish<'e>(
        &self,
        env: &'e Env,
        topic: String,
        event: String,
    ) -> napi::Result<Settled<'e, ()>> {
        let a = self.adapter.clone();
        let limits = self.limits;
        settle(env, async move {
            check_name("topic", &topic, &limits)?;
            let event = prepare_event(parse_value(&event, &limits)?)?;
            a.publish(&topic, event).await
        })
    }

    /// `opts` is JSON text of `{ group?, filter?, fromBeginning? }` (a string filter; RegExp
    /// filters are applied in JS).
    #[napi]
    pub fn subscribe<'e>(
        &self,
        env: &'e Env,
        topic: String,
        target: u32,
        opts: Option<String>,
    ) -> napi::Result<Settled<'e, f64>> {
        let a = self.adapter.clone();
        let limits = self.limits;
        let cb = Arc::new(ToJs {
            outbox: self.outbox.clone(),
            target,
        });
        settle(env, async move {
            check_name("topic", &topic, &limits)?;
            let o = Opts::parse("subscribe options", opts.as_deref())?;
            let group = o.str("group")?.map(String::from);
            if let Some(g) = &group {
                check_name("group", g, &limits)?;
            }
            let opts = SubscribeOptions {
                group,
                filter: o.str("filter")?.map(String::from),
                from_beginning: o.bool("fromBeginning")?.unwrap_or(false),
            };
            a.subscribe(&topic, cb, opts).await.map(|id| id as f64)
        })
    }

    #[napi]
    pub fn unsubscribe<'e>(&self, env: &'e Env, id: f64) -> napi::Result<Settled<'e, bool>> {
        let a = self.adapter.clone();
        settle(env, async move { a.unsubscribe(id as u64).await })
    }

    #[napi]
    pub fn list_topics<'e>(&self, env: &'e Env) -> napi::Result<Settled<'e, Vec<String>>> {
        let a = self.adapter.clone();
        settle(env, async move { a.list_topics().await })
    }

    #[napi]
    pub fn subscription_count<'e>(
        &self,
        env: &'e Env,
        topic: String,
    ) -> napi::Result<Settled<'e, f64>> {
        let a = self.adapter.clone();
        let limits = self.limits;
        settle(env, async move {
            check_name("topic", &topic, &limits)?;
            a.subscription_count(&topic).await.map(|n| n as f64)
        })
    }

    #[napi]
    pub fn shutdown<'e>(&self, env: &'e Env) -> napi::Result<Settled<'e, ()>> {
        let a = self.adapter.clone();
        settle(env, async move { a.shutdown().await })
    }
}
