//! `FileStoreAdapter`: the store on disk (SPEC §9 "file"), the zero-config default.
//!
//! The state lives in memory (the [`MemoryStoreAdapter`] engine) and every change is
//! written to the data dir's write-ahead log before its call resolves, as the durability
//! mode says (`crate::file::wal`). Opening — lock, recovery, replay — happens on first use
//! or in `init()`, on a blocking thread; after that reads are served from memory on the
//! calling thread. Deviations from memory: none in behaviour; TTLs are absolute times, so
//! keys that expired while the store was closed stay invisible.

use super::batch::BatchTurn;
use super::memory::MemoryStoreAdapter;
use super::{
    BatchDone, BatchOp, EventBody, FieldFilter, IndexEntry, IndexReadOptions, KvEntry, ListOptions,
    ReadOptions, StoreAdapter,
};
use crate::callback::Callback;
use crate::error::Result;
use crate::file::dir::{in_place, DataDirOptions, LazyDir, Opened, Place};
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

    /// The opened engine and this call's place in line (see `LazyDir`).
    async fn in_line(&self) -> Result<(Arc<Opened<MemoryStoreAdapter>>, Place<'_>)> {
        let opts = self.opts.clone();
        self.dir
            .get_in_line(move || {
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
        {
            let (o, place) = self.in_line().await?;
            in_place(o.engine.stream_append(subject, event), place).await
        }
    }

    /// Holds the turn while the data dir opens: the first batches of a fresh store all
    /// wait for the open, and must still apply in the order they were made.
    async fn batch(&self, ops: Vec<BatchOp>, turn: &BatchTurn<'_>) -> Vec<Result<BatchDone>> {
        match self.in_line().await {
            Ok((o, place)) => in_place(o.engine.batch(ops, turn), place).await,
            Err(e) => ops.iter().map(|_| Err(e.clone())).collect(),
        }
    }

    async fn stream_read(&self, subject: &str, opts: &ReadOptions) -> Result<Vec<Json>> {
        {
            let (o, place) = self.in_line().await?;
            in_place(o.engine.stream_read(subject, opts), place).await
        }
    }

    async fn stream_subscribe(&self, subject: &str, handler: Arc<dyn Callback>) -> Result<u64> {
        {
            let (o, place) = self.in_line().await?;
            in_place(o.engine.stream_subscribe(subject, handler), place).await
        }
    }

    async fn stream_unsubscribe(&self, id: u64) -> Result<bool> {
        {
            let (o, place) = self.in_line().await?;
            in_place(o.engine.stream_unsubscribe(id), place).await
        }
    }

    async fn stream_delete(&self, subject: &str) -> Result<bool> {
        {
            let (o, place) = self.in_line().await?;
            in_place(o.engine.stream_delete(subject), place).await
        }
    }

    async fn stream_count(&self, subject: &str) -> Result<u64> {
        {
            let (o, place) = self.in_line().await?;
            in_place(o.engine.stream_count(subject), place).await
        }
    }

    async fn kv_get(&self, key: &str) -> Result<Option<Json>> {
        {
            let (o, place) = self.in_line().await?;
            in_place(o.engine.kv_get(key), place).await
        }
    }

    async fn kv_set(&self, key: &str, value: Json, ttl_seconds: Option<f64>) -> Result<()> {
        {
            let (o, place) = self.in_line().await?;
            in_place(o.engine.kv_set(key, value, ttl_seconds), place).await
        }
    }

    async fn kv_delete(&self, key: &str) -> Result<bool> {
        {
            let (o, place) = self.in_line().await?;
            in_place(o.engine.kv_delete(key), place).await
        }
    }

    async fn kv_clear(&self, pattern: &str) -> Result<u64> {
        {
            let (o, place) = self.in_line().await?;
            in_place(o.engine.kv_clear(pattern), place).await
        }
    }

    async fn kv_increment(&self, key: &str, by: f64) -> Result<f64> {
        {
            let (o, place) = self.in_line().await?;
            in_place(o.engine.kv_increment(key, by), place).await
        }
    }

    async fn kv_exists(&self, key: &str) -> Result<bool> {
        {
            let (o, place) = self.in_line().await?;
            in_place(o.engine.kv_exists(key), place).await
        }
    }

    async fn kv_expire(&self, key: &str, ttl_seconds: f64) -> Result<bool> {
        {
            let (o, place) = self.in_line().await?;
            in_place(o.engine.kv_expire(key, ttl_seconds), place).await
        }
    }

    async fn kv_ttl(&self, key: &str) -> Result<Option<f64>> {
        {
            let (o, place) = self.in_line().await?;
            in_place(o.engine.kv_ttl(key), place).await
        }
    }

    async fn kv_mget(&self, keys: &[String]) -> Result<Vec<Option<Json>>> {
        {
            let (o, place) = self.in_line().await?;
            in_place(o.engine.kv_mget(keys), place).await
        }
    }

    async fn kv_mset(&self, entries: Vec<KvEntry>) -> Result<()> {
        {
            let (o, place) = self.in_line().await?;
            in_place(o.engine.kv_mset(entries), place).await
        }
    }

    async fn index_add(&self, key: &str, id: &str, score: f64, metadata: Value) -> Result<()> {
        {
            let (o, place) = self.in_line().await?;
            in_place(o.engine.index_add(key, id, score, metadata), place).await
        }
    }

    async fn index_get(&self, key: &str, id: &str) -> Result<Option<IndexEntry>> {
        {
            let (o, place) = self.in_line().await?;
            in_place(o.engine.index_get(key, id), place).await
        }
    }

    async fn index_read(&self, key: &str, opts: &IndexReadOptions) -> Result<Vec<IndexEntry>> {
        {
            let (o, place) = self.in_line().await?;
            in_place(o.engine.index_read(key, opts), place).await
        }
    }

    async fn index_count(&self, key: &str, filter: &[FieldFilter]) -> Result<u64> {
        {
            let (o, place) = self.in_line().await?;
            in_place(o.engine.index_count(key, filter), place).await
        }
    }

    async fn index_update(
        &self,
        key: &str,
        id: &str,
        partial: Map<String, Value>,
        expected_version: Option<u64>,
    ) -> Result<bool> {
        {
            let (o, place) = self.in_line().await?;
            in_place(
                o.engine.index_update(key, id, partial, expected_version),
                place,
            )
            .await
        }
    }

    async fn index_increment(&self, key: &str, id: &str, field: &[String], by: f64) -> Result<f64> {
        {
            let (o, place) = self.in_line().await?;
            in_place(o.engine.index_increment(key, id, field, by), place).await
        }
    }

    async fn index_delete(&self, key: &str, id: &str) -> Result<bool> {
        {
            let (o, place) = self.in_line().await?;
            in_place(o.engine.index_delete(key, id), place).await
        }
    }

    async fn doc_save(&self, collection: &str, id: &str, doc: Json) -> Result<()> {
        {
            let (o, place) = self.in_line().await?;
            in_place(o.engine.doc_save(collection, id, doc), place).await
        }
    }

    async fn doc_get(&self, collection: &str, id: &str) -> Result<Option<Json>> {
        {
            let (o, place) = self.in_line().await?;
            in_place(o.engine.doc_get(collection, id), place).await
        }
    }

    async fn doc_list(&self, collection: &str, opts: &ListOptions) -> Result<Vec<(String, Json)>> {
        {
            let (o, place) = self.in_line().await?;
            in_place(o.engine.doc_list(collection, opts), place).await
        }
    }

    async fn doc_delete(&self, collection: &str, id: &str) -> Result<bool> {
        {
            let (o, place) = self.in_line().await?;
            in_place(o.engine.doc_delete(collection, id), place).await
        }
    }

    async fn claim_once(&self, key: &str, owner: &str, ttl_seconds: f64) -> Result<bool> {
        {
            let (o, place) = self.in_line().await?;
            in_place(o.engine.claim_once(key, owner, ttl_seconds), place).await
        }
    }

    async fn claim_release(&self, key: &str, owner: &str) -> Result<bool> {
        {
            let (o, place) = self.in_line().await?;
            in_place(o.engine.claim_release(key, owner), place).await
        }
    }

    async fn claim_extend(&self, key: &str, owner: &str, ttl_seconds: f64) -> Result<bool> {
        {
            let (o, place) = self.in_line().await?;
            in_place(o.engine.claim_extend(key, owner, ttl_seconds), place).await
        }
    }

    async fn init(&self) -> Result<()> {
        self.in_line().await.map(|_| ())
    }

    async fn recovery_report(&self) -> Result<Option<String>> {
        self.in_line().await?.0.report_json()
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
