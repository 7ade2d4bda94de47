//! `FileStoreAdapter`: the store on disk (SPEC §9 "file"), the zero-config default.
//!
//! The state lives in memory (the [`MemoryStoreAdapter`] engine) and every change is
//! written to the data dir's write-ahead log before its call resolves, as the durability
//! mode says (`crate::file::wal`). Opening — lock, recovery, replay — happens on first use
//! or in `init()`, on a blocking thread; after that reads are served from memory on the
//! calling thread. Deviations from memory: none in behaviour; TTLs are absolute times, so
//! keys that expired while the store was closed stay invisible.

use super::memory::MemoryStoreAdapter;
use super::{
    BatchDone, BatchOp, EventBody, FieldFilter, IndexEntry, IndexReadOptions, KvEntry, ListOptions,
    ReadOptions, StoreAdapter,
};
use crate::callback::Callback;
use crate::error::Result;
use crate::file::dir::{DataDirOptions, LazyDir, Opened};
use crate::value::Json;
use async_trait::async_trait;
use serde_json::{Map, Value};
use std::sync::Arc;

pub struct FileStoreAdapter {
    opts: DataDirOptions,
    dir: LazyDir<MemoryStoreAdapter>,
}

impl FileStoreAdapter {
    /// Does no I/O; the data dir is opened on first use.
    pub fn new(opts: DataDirOptions) -> FileStoreAdapter {
        FileStoreAdapter {
            opts,
            dir: LazyDir::new("the store"),
        }
    }

    async fn opened(&self) -> Result<Arc<Opened<MemoryStoreAdapter>>> {
        let opts = self.opts.clone();
        self.dir
            .get(move || {
                Opened::open(&opts, |wal, records| {
                    let store = MemoryStoreAdapter::new().with_journal(wal);
                    store.replay(records)?;
                    Ok(store)
                })
            })
            .await
    }
}

#[async_trait]
impl StoreAdapter for FileStoreAdapter {
    async fn stream_append(&self, subject: &str, event: EventBody) -> Result<Json> {
        self.opened()
            .await?
            .engine
            .stream_append(subject, event)
            .await
    }

    async fn batch(&self, ops: Vec<BatchOp>) -> Vec<Result<BatchDone>> {
        match self.opened().await {
            Ok(o) => o.engine.batch(ops).await,
            Err(e) => ops.iter().map(|_| Err(e.clone())).collect(),
        }
    }

    async fn stream_read(&self, subject: &str, opts: &ReadOptions) -> Result<Vec<Json>> {
        self.opened().await?.engine.stream_read(subject, opts).await
    }

    async fn stream_subscribe(&self, subject: &str, handler: Arc<dyn Callback>) -> Result<u64> {
        self.opened()
            .await?
            .engine
            .stream_subscribe(subject, handler)
            .await
    }

    async fn stream_unsubscribe(&self, id: u64) -> Result<bool> {
        self.opened().await?.engine.stream_unsubscribe(id).await
    }

    async fn stream_delete(&self, subject: &str) -> Result<bool> {
        self.opened().await?.engine.stream_delete(subject).await
    }

    async fn stream_count(&self, subject: &str) -> Result<u64> {
        self.opened().await?.engine.stream_count(subject).await
    }

    async fn kv_get(&self, key: &str) -> Result<Option<Json>> {
        self.opened().await?.engine.kv_get(key).await
    }

    async fn kv_set(&self, key: &str, value: Json, ttl_seconds: Option<f64>) -> Result<()> {
        self.opened()
            .await?
            .engine
            .kv_set(key, value, ttl_seconds)
            .await
    }

    async fn kv_delete(&self, key: &str) -> Result<bool> {
        self.opened().await?.engine.kv_delete(key).await
    }

    async fn kv_clear(&self, pattern: &str) -> Result<u64> {
        self.opened().await?.engine.kv_clear(pattern).await
    }

    async fn kv_increment(&self, key: &str, by: f64) -> Result<f64> {
        self.opened().await?.engine.kv_increment(key, by).await
    }

    async fn kv_exists(&self, key: &str) -> Result<bool> {
        self.opened().await?.engine.kv_exists(key).await
    }

    async fn kv_expire(&self, key: &str, ttl_seconds: f64) -> Result<bool> {
        self.opened()
            .await?
            .engine
            .kv_expire(key, ttl_seconds)
            .await
    }

    async fn kv_ttl(&self, key: &str) -> Result<Option<f64>> {
        self.opened().await?.engine.kv_ttl(key).await
    }

    async fn kv_mget(&self, keys: &[String]) -> Result<Vec<Option<Json>>> {
        self.opened().await?.engine.kv_mget(keys).await
    }

    async fn kv_mset(&self, entries: Vec<KvEntry>) -> Result<()> {
        self.opened().await?.engine.kv_mset(entries).await
    }

    async fn index_add(&self, key: &str, id: &str, score: f64, metadata: Value) -> Result<()> {
        self.opened()
            .await?
            .engine
            .index_add(key, id, score, metadata)
            .await
    }

    async fn index_get(&self, key: &str, id: &str) -> Result<Option<IndexEntry>> {
        self.opened().await?.engine.index_get(key, id).await
    }

    async fn index_read(&self, key: &str, opts: &IndexReadOptions) -> Result<Vec<IndexEntry>> {
        self.opened().await?.engine.index_read(key, opts).await
    }

    async fn index_count(&self, key: &str, filter: &[FieldFilter]) -> Result<u64> {
        self.opened().await?.engine.index_count(key, filter).await
    }

    async fn index_update(
        &self,
        key: &str,
        id: &str,
        partial: Map<String, Value>,
        expected_version: Option<u64>,
    ) -> Result<bool> {
        self.opened()
            .await?
            .engine
            .index_update(key, id, partial, expected_version)
            .await
    }

    async fn index_increment(&self, key: &str, id: &str, field: &[String], by: f64) -> Result<f64> {
        self.opened()
            .await?
            .engine
            .index_increment(key, id, field, by)
            .await
    }

    async fn index_delete(&self, key: &str, id: &str) -> Result<bool> {
        self.opened().await?.engine.index_delete(key, id).await
    }

    async fn doc_save(&self, collection: &str, id: &str, doc: Json) -> Result<()> {
        self.opened()
            .await?
            .engine
            .doc_save(collection, id, doc)
            .await
    }

    async fn doc_get(&self, collection: &str, id: &str) -> Result<Option<Json>> {
        self.opened().await?.engine.doc_get(collection, id).await
    }

    async fn doc_list(&self, collection: &str, opts: &ListOptions) -> Result<Vec<(String, Json)>> {
        self.opened().await?.engine.doc_list(collection, opts).await
    }

    async fn doc_delete(&self, collection: &str, id: &str) -> Result<bool> {
        self.opened().await?.engine.doc_delete(collection, id).await
    }

    async fn claim_once(&self, key: &str, owner: &str, ttl_seconds: f64) -> Result<bool> {
        self.opened()
            .await?
            .engine
            .claim_once(key, owner, ttl_seconds)
            .await
    }

    async fn claim_release(&self, key: &str, owner: &str) -> Result<bool> {
        self.opened().await?.engine.claim_release(key, owner).await
    }

    async fn claim_extend(&self, key: &str, owner: &str, ttl_seconds: f64) -> Result<bool> {
        self.opened()
            .await?
            .engine
            .claim_extend(key, owner, ttl_seconds)
            .await
    }

    async fn init(&self) -> Result<()> {
        self.opened().await.map(|_| ())
    }

    async fn recovery_report(&self) -> Result<Option<String>> {
        self.opened().await?.report_json()
    }

    /// Writes and fsyncs what is queued, releases the data dir. Idempotent.
    async fn close(&self) -> Result<()> {
        if let Some(o) = self.dir.close() {
            o.engine.close().await?;
            o.wal.close().await?;
        }
        Ok(())
    }
}
