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
    FieldFilter, IndexEntry, IndexReadOptions, KvEntry, ListOptions, ReadOptions, StoreAdapter,
};
use crate::callback::Callback;
use crate::error::{NventError, Result};
use crate::file::lock::DirLock;
use crate::file::wal::{RecoveryReport, Wal, WalConfig};
use crate::value::Json;
use async_trait::async_trait;
use serde_json::{Map, Value};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

#[derive(Debug, Clone)]
pub struct FileStoreOptions {
    pub data_dir: PathBuf,
    pub wal: WalConfig,
}

struct Opened {
    store: MemoryStoreAdapter,
    wal: Arc<Wal>,
    report: RecoveryReport,
    _lock: DirLock,
}

enum State {
    Fresh,
    Open(Arc<Opened>),
    Closed,
}

pub struct FileStoreAdapter {
    opts: FileStoreOptions,
    state: Mutex<State>,
    opening: tokio::sync::Mutex<()>,
}

fn open(opts: FileStoreOptions) -> Result<Opened> {
    let lock = DirLock::acquire(&opts.data_dir)?;
    let (wal, recovered) = Wal::open(&opts.data_dir, opts.wal)?;
    let wal = Arc::new(wal);
    let store = MemoryStoreAdapter::new().with_journal(wal.clone());
    store.replay(&recovered.records)?;
    Ok(Opened {
        store,
        wal,
        report: recovered.report,
        _lock: lock,
    })
}

impl FileStoreOptions {
    /// Reads `{ dataDir, durability?, recovery?, syncWindowMs?, compactAfterBytes? }`.
    ///
    /// # Errors
    /// `NVENT_INVALID_ARGUMENT` for a missing `dataDir` or a bad option.
    pub fn parse(o: &crate::options::Opts) -> Result<FileStoreOptions> {
        let dir = o.str("dataDir")?.filter(|d| !d.is_empty()).ok_or_else(|| {
            NventError::invalid_argument("the file store needs options.dataDir (a directory path)")
        })?;
        Ok(FileStoreOptions {
            data_dir: PathBuf::from(dir),
            wal: WalConfig::from_options(o)?,
        })
    }
}

impl FileStoreAdapter {
    /// Does no I/O; the data dir is opened on first use.
    pub fn new(opts: FileStoreOptions) -> FileStoreAdapter {
        FileStoreAdapter {
            opts,
            state: Mutex::new(State::Fresh),
            opening: tokio::sync::Mutex::new(()),
        }
    }

    fn current(&self) -> Result<Option<Arc<Opened>>> {
        match &*self.state.lock().unwrap_or_else(|p| p.into_inner()) {
            State::Fresh => Ok(None),
            State::Open(o) => Ok(Some(o.clone())),
            State::Closed => Err(NventError::closed("the store")),
        }
    }

    /// The opened store; opens it on first use (off the calling thread).
    async fn opened(&self) -> Result<Arc<Opened>> {
        if let Some(o) = self.current()? {
            return Ok(o);
        }
        let _one_opener = self.opening.lock().await;
        if let Some(o) = self.current()? {
            return Ok(o);
        }
        let opts = self.opts.clone();
        let opened = crate::runtime::handle()?
            .spawn_blocking(move || open(opts))
            .await
            .map_err(|e| NventError::internal(format!("opening the store: {e}")))??;
        let opened = Arc::new(opened);
        let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        if matches!(*state, State::Closed) {
            return Err(NventError::closed("the store"));
        }
        *state = State::Open(opened.clone());
        Ok(opened)
    }
}

#[async_trait]
impl StoreAdapter for FileStoreAdapter {
    async fn stream_append(&self, subject: &str, event: super::EventBody) -> Result<Json> {
        self.opened()
            .await?
            .store
            .stream_append(subject, event)
            .await
    }

    async fn stream_read(&self, subject: &str, opts: &ReadOptions) -> Result<Vec<Json>> {
        self.opened().await?.store.stream_read(subject, opts).await
    }

    async fn stream_subscribe(&self, subject: &str, handler: Arc<dyn Callback>) -> Result<u64> {
        self.opened()
            .await?
            .store
            .stream_subscribe(subject, handler)
            .await
    }

    async fn stream_unsubscribe(&self, id: u64) -> Result<bool> {
        self.opened().await?.store.stream_unsubscribe(id).await
    }

    async fn stream_delete(&self, subject: &str) -> Result<bool> {
        self.opened().await?.store.stream_delete(subject).await
    }

    async fn stream_count(&self, subject: &str) -> Result<u64> {
        self.opened().await?.store.stream_count(subject).await
    }

    async fn kv_get(&self, key: &str) -> Result<Option<Json>> {
        self.opened().await?.store.kv_get(key).await
    }

    async fn kv_set(&self, key: &str, value: Json, ttl_seconds: Option<f64>) -> Result<()> {
        self.opened()
            .await?
            .store
            .kv_set(key, value, ttl_seconds)
            .await
    }

    async fn kv_delete(&self, key: &str) -> Result<bool> {
        self.opened().await?.store.kv_delete(key).await
    }

    async fn kv_clear(&self, pattern: &str) -> Result<u64> {
        self.opened().await?.store.kv_clear(pattern).await
    }

    async fn kv_increment(&self, key: &str, by: f64) -> Result<f64> {
        self.opened().await?.store.kv_increment(key, by).await
    }

    async fn kv_exists(&self, key: &str) -> Result<bool> {
        self.opened().await?.store.kv_exists(key).await
    }

    async fn kv_expire(&self, key: &str, ttl_seconds: f64) -> Result<bool> {
        self.opened().await?.store.kv_expire(key, ttl_seconds).await
    }

    async fn kv_ttl(&self, key: &str) -> Result<Option<f64>> {
        self.opened().await?.store.kv_ttl(key).await
    }

    async fn kv_mget(&self, keys: &[String]) -> Result<Vec<Option<Json>>> {
        self.opened().await?.store.kv_mget(keys).await
    }

    async fn kv_mset(&self, entries: Vec<KvEntry>) -> Result<()> {
        self.opened().await?.store.kv_mset(entries).await
    }

    async fn index_add(&self, key: &str, id: &str, score: f64, metadata: Value) -> Result<()> {
        self.opened()
            .await?
            .store
            .index_add(key, id, score, metadata)
            .await
    }

    async fn index_get(&self, key: &str, id: &str) -> Result<Option<IndexEntry>> {
        self.opened().await?.store.index_get(key, id).await
    }

    async fn index_read(&self, key: &str, opts: &IndexReadOptions) -> Result<Vec<IndexEntry>> {
        self.opened().await?.store.index_read(key, opts).await
    }

    async fn index_count(&self, key: &str, filter: &[FieldFilter]) -> Result<u64> {
        self.opened().await?.store.index_count(key, filter).await
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
            .store
            .index_update(key, id, partial, expected_version)
            .await
    }

    async fn index_increment(&self, key: &str, id: &str, field: &[String], by: f64) -> Result<f64> {
        self.opened()
            .await?
            .store
            .index_increment(key, id, field, by)
            .await
    }

    async fn index_delete(&self, key: &str, id: &str) -> Result<bool> {
        self.opened().await?.store.index_delete(key, id).await
    }

    async fn doc_save(&self, collection: &str, id: &str, doc: Json) -> Result<()> {
        self.opened()
            .await?
            .store
            .doc_save(collection, id, doc)
            .await
    }

    async fn doc_get(&self, collection: &str, id: &str) -> Result<Option<Json>> {
        self.opened().await?.store.doc_get(collection, id).await
    }

    async fn doc_list(&self, collection: &str, opts: &ListOptions) -> Result<Vec<(String, Json)>> {
        self.opened().await?.store.doc_list(collection, opts).await
    }

    async fn doc_delete(&self, collection: &str, id: &str) -> Result<bool> {
        self.opened().await?.store.doc_delete(collection, id).await
    }

    async fn claim_once(&self, key: &str, owner: &str, ttl_seconds: f64) -> Result<bool> {
        self.opened()
            .await?
            .store
            .claim_once(key, owner, ttl_seconds)
            .await
    }

    async fn claim_release(&self, key: &str, owner: &str) -> Result<bool> {
        self.opened().await?.store.claim_release(key, owner).await
    }

    async fn claim_extend(&self, key: &str, owner: &str, ttl_seconds: f64) -> Result<bool> {
        self.opened()
            .await?
            .store
            .claim_extend(key, owner, ttl_seconds)
            .await
    }

    async fn init(&self) -> Result<()> {
        self.opened().await.map(|_| ())
    }

    async fn recovery_report(&self) -> Result<Option<String>> {
        let o = self.opened().await?;
        serde_json::to_string(&o.report)
            .map(Some)
            .map_err(|e| NventError::internal(e.to_string()))
    }

    /// Writes and fsyncs what is queued, releases the data dir. Idempotent.
    async fn close(&self) -> Result<()> {
        let previous = std::mem::replace(
            &mut *self.state.lock().unwrap_or_else(|p| p.into_inner()),
            State::Closed,
        );
        if let State::Open(o) = previous {
            o.store.close().await?;
            o.wal.close().await?;
        }
        Ok(())
    }
}
