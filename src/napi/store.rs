//! `NativeStore`: the store facade for JS (`js/store.js` gives it the SPEC's shape).

use super::outbox::{Outbox, ToJs};
use super::{settle, sync, Settled};
use crate::coordinator::EventLog;
use crate::store::facade::Store;
use crate::store::memory::MemoryStoreAdapter;
use napi::bindgen_prelude::*;
use napi_derive::napi;
use std::sync::Arc;

#[napi]
pub struct NativeStore {
    pub(crate) store: Store,
    outbox: Arc<super::outbox::OutboxCore>,
}

fn text(j: crate::value::Json) -> String {
    j.as_str().to_string()
}

impl NativeStore {
    /// Wraps a core store for JS; backend factories (memory here, file and Redis in their
    /// modules) build the core store and call this.
    pub(crate) fn from_store(store: Store, outbox: &Outbox) -> NativeStore {
        NativeStore {
            store,
            outbox: outbox.core.clone(),
        }
    }
}

#[napi]
impl NativeStore {
    /// A memory store. `options` is JSON text of `{ limits? }`.
    #[napi(factory)]
    pub fn memory(outbox: &Outbox, options: Option<String>) -> napi::Result<Self> {
        sync(|| {
            let limits = super::limits(options.as_deref())?;
            Ok(NativeStore::from_store(
                Store::new(Arc::new(MemoryStoreAdapter::new()), limits),
                outbox,
            ))
        })
    }

    /// A file store. `options` is JSON text of `{ dataDir, durability?, recovery?,
    /// syncWindowMs?, compactAfterBytes?, limits? }`. Does no I/O.
    #[napi(factory)]
    pub fn file(outbox: &Outbox, options: String) -> napi::Result<Self> {
        sync(|| {
            let limits = super::limits(Some(&options))?;
            let o = crate::options::Opts::parse("file store options", Some(&options))?;
            let opts =
                crate::file::dir::DataDirOptions::parse(&o, crate::file::dir::DataDirKind::Store)?;
            Ok(NativeStore::from_store(
                Store::new(
                    Arc::new(crate::store::file::FileStoreAdapter::new(opts)),
                    limits,
                ),
                outbox,
            ))
        })
    }

    #[napi]
    pub fn init<'e>(&self, env: &'e Env) -> napi::Result<Settled<'e, ()>> {
        let s = self.store.clone();
        settle(env, async move { s.init().await })
    }

    /// JSON text of what opening the data found (file backend), or null.
    #[napi]
    pub fn recovery_report<'e>(&self, env: &'e Env) -> napi::Result<Settled<'e, Option<String>>> {
        let s = self.store.clone();
        settle(env, async move { s.recovery_report().await })
    }

    #[napi]
    pub fn scope(&self, name: String, id: String) -> napi::Result<NativeStore> {
        sync(|| {
            Ok(NativeStore {
                store: self.store.scope(&name, &id)?,
                outbox: self.outbox.clone(),
            })
        })
    }

    /// A handle for the hot-path functions of `fast.rs`.
    #[napi]
    pub fn handle(&self) -> External<Store> {
        External::new(self.store.clone())
    }

    /// This store as the coordinator's event log.
    #[napi]
    pub fn as_event_log(&self) -> crate::napi::coordinator::NativeEventLog {
        crate::napi::coordinator::NativeEventLog {
            log: Arc::new(self.store.clone()) as Arc<dyn EventLog>,
        }
    }

    /// Delivers later records of `subject` to the JS handler registered as `target`.
    #[napi]
    pub fn stream_subscribe<'e>(
        &self,
        env: &'e Env,
        subject: String,
        target: u32,
    ) -> napi::Result<Settled<'e, f64>> {
        let s = self.store.clone();
        let cb = Arc::new(ToJs {
            outbox: self.outbox.clone(),
            target,
        });
        settle(env, async move {
            s.stream_subscribe(&subject, cb).await.map(|id| id as f64)
        })
    }

    #[napi]
    pub fn stream_unsubscribe<'e>(&self, env: &'e Env, id: f64) -> napi::Result<Settled<'e, bool>> {
        let s = self.store.clone();
        settle(env, async move { s.stream_unsubscribe(id as u64).await })
    }

    #[napi]
    pub fn stream_delete<'e>(
        &self,
        env: &'e Env,
        subject: String,
    ) -> napi::Result<Settled<'e, bool>> {
        let s = self.store.clone();
        settle(env, async move { s.stream_delete(&subject).await })
    }

    #[napi]
    pub fn stream_count<'e>(
        &self,
        env: &'e Env,
        subject: String,
    ) -> napi::Result<Settled<'e, f64>> {
        let s = self.store.clone();
        settle(env, async move {
            s.stream_count(&subject).await.map(|n| n as f64)
        })
    }

    #[napi]
    pub fn kv_clear<'e>(&self, env: &'e Env, pattern: String) -> napi::Result<Settled<'e, f64>> {
        let s = self.store.clone();
        settle(
            env,
            async move { s.kv_clear(&pattern).await.map(|n| n as f64) },
        )
    }

    #[napi]
    pub fn kv_expire<'e>(
        &self,
        env: &'e Env,
        key: String,
        ttl: f64,
    ) -> napi::Result<Settled<'e, bool>> {
        let s = self.store.clone();
        settle(env, async move { s.kv_expire(&key, ttl).await })
    }

    #[napi]
    pub fn kv_ttl<'e>(&self, env: &'e Env, key: String) -> napi::Result<Settled<'e, Option<f64>>> {
        let s = self.store.clone();
        settle(env, async move { s.kv_ttl(&key).await })
    }

    #[napi]
    pub fn kv_mget<'e>(
        &self,
        env: &'e Env,
        keys: Vec<String>,
    ) -> napi::Result<Settled<'e, String>> {
        let s = self.store.clone();
        settle(env, async move { s.kv_mget(keys).await })
    }

    #[napi]
    pub fn kv_mset<'e>(&self, env: &'e Env, entries: String) -> napi::Result<Settled<'e, ()>> {
        let s = self.store.clone();
        settle(env, async move { s.kv_mset(&entries).await })
    }

    #[napi]
    pub fn index_count<'e>(
        &self,
        env: &'e Env,
        key: String,
        opts: Option<String>,
    ) -> napi::Result<Settled<'e, f64>> {
        let s = self.store.clone();
        settle(env, async move {
            s.index_count(&key, opts.as_deref()).await.map(|n| n as f64)
        })
    }

    #[napi]
    pub fn index_update_with_retry<'e>(
        &self,
        env: &'e Env,
        key: String,
        id: String,
        partial: String,
        max_retries: u32,
    ) -> napi::Result<Settled<'e, ()>> {
        let s = self.store.clone();
        settle(env, async move {
            s.index_update_with_retry(&key, &id, &partial, max_retries)
                .await
        })
    }

    #[napi]
    pub fn index_delete<'e>(
        &self,
        env: &'e Env,
        key: String,
        id: String,
    ) -> napi::Result<Settled<'e, bool>> {
        let s = self.store.clone();
        settle(env, async move { s.index_delete(&key, &id).await })
    }

    #[napi]
    pub fn doc_save<'e>(
        &self,
        env: &'e Env,
        collection: String,
        id: String,
        doc: String,
    ) -> napi::Result<Settled<'e, ()>> {
        let s = self.store.clone();
        settle(env, async move { s.doc_save(&collection, &id, doc).await })
    }

    #[napi]
    pub fn doc_get<'e>(
        &self,
        env: &'e Env,
        collection: String,
        id: String,
    ) -> napi::Result<Settled<'e, Option<String>>> {
        let s = self.store.clone();
        settle(env, async move {
            s.doc_get(&collection, &id).await.map(|v| v.map(text))
        })
    }

    #[napi]
    pub fn doc_list<'e>(
        &self,
        env: &'e Env,
        collection: String,
        opts: Option<String>,
    ) -> napi::Result<Settled<'e, String>> {
        let s = self.store.clone();
        settle(env, async move {
            s.doc_list(&collection, opts.as_deref()).await
        })
    }

    #[napi]
    pub fn doc_delete<'e>(
        &self,
        env: &'e Env,
        collection: String,
        id: String,
    ) -> napi::Result<Settled<'e, bool>> {
        let s = self.store.clone();
        settle(env, async move { s.doc_delete(&collection, &id).await })
    }

    #[napi]
    pub fn claim_once<'e>(
        &self,
        env: &'e Env,
        key: String,
        owner: String,
        ttl: f64,
    ) -> napi::Result<Settled<'e, bool>> {
        let s = self.store.clone();
        settle(env, async move { s.claim_once(&key, &owner, ttl).await })
    }

    #[napi]
    pub fn claim_release<'e>(
        &self,
        env: &'e Env,
        key: String,
        owner: String,
    ) -> napi::Result<Settled<'e, bool>> {
        let s = self.store.clone();
        settle(env, async move { s.claim_release(&key, &owner).await })
    }

    #[napi]
    pub fn claim_extend<'e>(
        &self,
        env: &'e Env,
        key: String,
        owner: String,
        ttl: f64,
    ) -> napi::Result<Settled<'e, bool>> {
        let s = self.store.clone();
        settle(env, async move { s.claim_extend(&key, &owner, ttl).await })
    }

    #[napi]
    pub fn close<'e>(&self, env: &'e Env) -> napi::Result<Settled<'e, ()>> {
        let s = self.store.clone();
        settle(env, async move { s.close().await })
    }
}
