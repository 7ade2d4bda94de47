//! Readers of a topic's retained stream, each on a blocking connection of its own.
//!
//! - A `fromBeginning` reader (`XREAD BLOCK`) starts at the oldest retained entry and
//!   follows the stream: the replay, then every new message, in order.
//! - A group reader (`XREADGROUP BLOCK`) is this adapter's one consumer in the Redis
//!   consumer group and spreads what it gets over the local members round-robin. An entry
//!   is acknowledged once handed to a member; entries left pending by a consumer that
//!   died are taken over with `XAUTOCLAIM` after [`CLAIM_IDLE_MS`]; one delivered more
//!   than [`MAX_DELIVERIES`] times is moved to the dead-letter stream instead.

use crate::error::Result;
use crate::redis::Redis;
use crate::value::Json;
use redis::Value as RV;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Default: pending entries idle this long belong to a dead consumer.
pub const CLAIM_IDLE_MS: u64 = 15_000;
/// Default: deliveries after which an entry is a poison message.
pub const MAX_DELIVERIES: u64 = 5;
/// How long one blocking read waits (then the reader checks for reclaims).
const BLOCK_MS: u64 = 1_000;
const BATCH: usize = 100;

pub struct Spec {
    pub redis: Redis,
    pub stream: String,
    pub dead: String,
    pub group: Option<String>,
    pub consumer: String,
    pub from_beginning: bool,
    pub claim_idle_ms: u64,
    pub max_deliveries: u64,
}

pub struct Reader {
    members: Arc<Mutex<Vec<u64>>>,
    task: tokio::task::JoinHandle<()>,
}

type Entry = (String, String);

impl Reader {
    /// Creates the consumer group (if any) before resolving, so that every message
    /// published after `subscribe` resolved reaches the group.
    ///
    /// # Errors
    /// Classified Redis errors.
    pub async fn start<D>(spec: Spec, first: u64, deliver: D) -> Result<Reader>
    where
        D: Fn(u64, &Json) -> bool + Send + Sync + 'static,
    {
        if let Some(g) = &spec.group {
            create_group(&spec.redis, &spec.stream, g, spec.from_beginning).await?;
        }
        let conn = spec.redis.blocking().await?;
        let members = Arc::new(Mutex::new(vec![first]));
        let m = members.clone();
        let task = tokio::spawn(async move { run(spec, conn, m, deliver).await });
        Ok(Reader { members, task })
    }

    pub fn add_member(&self, id: u64) {
        self.members
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(id);
    }

    /// Returns how many members are left.
    pub fn remove_member(&self, id: u64) -> usize {
        let mut m = self.members.lock().unwrap_or_else(|p| p.into_inner());
        m.retain(|x| *x != id);
        m.len()
    }

    pub fn stop(&self) {
        self.task.abort();
    }
}

async fn create_group(redis: &Redis, stream: &str, group: &str, from_start: bool) -> Result<()> {
    let mut conn = redis.conn()?;
    let r: redis::RedisResult<()> = redis::cmd("XGROUP")
        .arg("CREATE")
        .arg(stream)
        .arg(group)
        .arg(if from_start { "0" } else { "$" })
        .arg("MKSTREAM")
        .query_async(&mut conn)
        .await;
    match r {
        Err(e) if e.code() != Some("BUSYGROUP") => Err(redis.error(&e)),
        _ => Ok(()),
    }
}

fn text(v: &RV) -> Option<String> {
    match v {
        RV::BulkString(b) => String::from_utf8(b.clone()).ok(),
        RV::SimpleString(s) => Some(s.clone()),
        _ => None,
    }
}

/// `[id, [field, value, ...]]` entries → `(id, value of field 'e')`.
fn entries(v: &RV) -> Vec<Entry> {
    let RV::Array(items) = v else {
        return Vec::new();
    };
    items
        .iter()
        .filter_map(|e| {
            let RV::Array(pair) = e else { return None };
            let id = text(pair.first()?)?;
            let RV::Array(fields) = pair.get(1)? else {
                return None;
            };
            let payload = fields
                .chunks(2)
                .find(|c| c.first().and_then(text).as_deref() == Some("e"))
                .and_then(|c| c.get(1).and_then(text))?;
            Some((id, payload))
        })
        .collect()
}

/// The entries of a one-stream `XREAD`/`XREADGROUP` reply (nil on timeout).
fn read_reply(v: &RV) -> Vec<Entry> {
    match v {
        RV::Array(streams) => streams
            .iter()
            .flat_map(|s| match s {
                RV::Array(kv) => kv.get(1).map(entries).unwrap_or_default(),
                _ => Vec::new(),
            })
            .collect(),
        RV::Map(m) => m.iter().flat_map(|(_, v)| entries(v)).collect(),
        _ => Vec::new(),
    }
}

struct Cursor {
    rr: AtomicUsize,
}

impl Cursor {
    /// Hands `payload` to one member (round-robin); false when no member took it.
    fn hand<D: Fn(u64, &Json) -> bool>(
        &self,
        members: &Mutex<Vec<u64>>,
        deliver: &D,
        payload: String,
    ) -> bool {
        let list: Vec<u64> = members.lock().unwrap_or_else(|p| p.into_inner()).clone();
        if list.is_empty() {
            return false;
        }
        let json = Json::trusted(payload);
        let start = self.rr.fetch_add(1, Ordering::Relaxed);
        (0..list.len()).any(|i| deliver(list[(start + i) % list.len()], &json))
    }
}

async fn run<D>(
    spec: Spec,
    conn: redis::aio::MultiplexedConnection,
    members: Arc<Mutex<Vec<u64>>>,
    deliver: D,
) where
    D: Fn(u64, &Json) -> bool + Send + Sync + 'static,
{
    let cursor = Cursor {
        rr: AtomicUsize::new(0),
    };
    let mut conn = Some(conn);
    let mut last = "0".to_string();
    let mut last_claim = Instant::now();
    loop {
        let mut c = match conn.take() {
            Some(c) => c,
            None => match spec.redis.blocking().await {
                Ok(c) => c,
                Err(_) => {
                    tokio::time::sleep(Duration::from_millis(250)).await;
                    continue;
                }
            },
        };
        let r: redis::RedisResult<RV> = match &spec.group {
            None => {
                redis::cmd("XREAD")
                    .arg("COUNT")
                    .arg(BATCH)
                    .arg("BLOCK")
                    .arg(BLOCK_MS)
                    .arg("STREAMS")
                    .arg(&spec.stream)
                    .arg(&last)
                    .query_async(&mut c)
                    .await
            }
            Some(g) => {
                redis::cmd("XREADGROUP")
                    .arg("GROUP")
                    .arg(g)
                    .arg(&spec.consumer)
                    .arg("COUNT")
                    .arg(BATCH)
                    .arg("BLOCK")
                    .arg(BLOCK_MS)
                    .arg("STREAMS")
                    .arg(&spec.stream)
                    .arg(">")
                    .query_async(&mut c)
                    .await
            }
        };
        match r {
            Ok(v) => {
                for (id, payload) in read_reply(&v) {
                    let taken = cursor.hand(&members, &deliver, payload);
                    if let Some(g) = &spec.group {
                        if taken {
                            let _: redis::RedisResult<u64> = redis::cmd("XACK")
                                .arg(&spec.stream)
                                .arg(g)
                                .arg(&id)
                                .query_async(&mut c)
                                .await;
                        }
                    }
                    last = id;
                }
                if let Some(g) = &spec.group {
                    let every = Duration::from_millis(BLOCK_MS.min(spec.claim_idle_ms));
                    if last_claim.elapsed() >= every {
                        last_claim = Instant::now();
                        reclaim(&spec, g, &mut c, &cursor, &members, &deliver).await;
                    }
                }
                conn = Some(c);
            }
            Err(e) => {
                if e.code() == Some("NOGROUP") {
                    if let Some(g) = &spec.group {
                        let _ = create_group(&spec.redis, &spec.stream, g, true).await;
                    }
                }
                tokio::time::sleep(Duration::from_millis(250)).await;
            }
        }
    }
}

/// Takes over entries another consumer left pending too long; dead-letters poison ones.
async fn reclaim<D: Fn(u64, &Json) -> bool>(
    spec: &Spec,
    group: &str,
    c: &mut redis::aio::MultiplexedConnection,
    cursor: &Cursor,
    members: &Mutex<Vec<u64>>,
    deliver: &D,
) {
    let r: redis::RedisResult<RV> = redis::cmd("XAUTOCLAIM")
        .arg(&spec.stream)
        .arg(group)
        .arg(&spec.consumer)
        .arg(spec.claim_idle_ms)
        .arg("0-0")
        .arg("COUNT")
        .arg(BATCH)
        .query_async(c)
        .await;
    let Ok(RV::Array(parts)) = r else { return };
    let Some(claimed) = parts.get(1).map(entries) else {
        return;
    };
    for (id, payload) in claimed {
        let info: redis::RedisResult<RV> = redis::cmd("XPENDING")
            .arg(&spec.stream)
            .arg(group)
            .arg(&id)
            .arg(&id)
            .arg(1)
            .query_async(c)
            .await;
        let count = match &info {
            Ok(RV::Array(rows)) => match rows.first() {
                Some(RV::Array(row)) => match row.get(3) {
                    Some(RV::Int(n)) => *n as u64,
                    _ => 0,
                },
                _ => 0,
            },
            _ => 0,
        };
        if count > spec.max_deliveries {
            let _: redis::RedisResult<String> = redis::cmd("XADD")
                .arg(&spec.dead)
                .arg("MAXLEN")
                .arg("~")
                .arg(1000)
                .arg("*")
                .arg("e")
                .arg(&payload)
                .arg("id")
                .arg(&id)
                .arg("group")
                .arg(group)
                .query_async(c)
                .await;
        } else if !cursor.hand(members, deliver, payload) {
            continue;
        }
        let _: redis::RedisResult<u64> = redis::cmd("XACK")
            .arg(&spec.stream)
            .arg(group)
            .arg(&id)
            .query_async(c)
            .await;
    }
}
