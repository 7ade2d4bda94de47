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
use crate::redis::tail::{self, Tail, TailError};
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
const BLOCK_MS: u64 = tail::BLOCK.as_millis() as u64;
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
        // Dead-peer detection and reconnects: see `redis/tail.rs`.
        let tail = Tail::with(spec.redis.clone(), conn);
        let members = Arc::new(Mutex::new(vec![first]));
        let m = members.clone();
        let task = tokio::spawn(async move { run(spec, tail, m, deliver).await });
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

async fn run<D>(spec: Spec, mut tail: Tail, members: Arc<Mutex<Vec<u64>>>, deliver: D)
where
    D: Fn(u64, &Json) -> bool + Send + Sync + 'static,
{
    let cursor = Cursor {
        rr: AtomicUsize::new(0),
    };
    let mut last = "0".to_string();
    let mut last_claim = Instant::now();
    let block = Duration::from_millis(BLOCK_MS);
    // After a lost connection, entries Redis delivered to this consumer may never have
    // arrived (a reply lost with the connection): they sit in this consumer's pending list,
    // where `>` never returns them. The first group read after a reconnect reads that list
    // (id 0) instead of waiting for `XAUTOCLAIM`'s idle time.
    let mut own_pending = false;
    loop {
        let mut cmd = match &spec.group {
            None => redis::cmd("XREAD"),
            Some(g) => {
                let mut c = redis::cmd("XREADGROUP");
                c.arg("GROUP").arg(g).arg(&spec.consumer);
                c
            }
        };
        cmd.arg("COUNT")
            .arg(BATCH)
            .arg("BLOCK")
            .arg(BLOCK_MS)
            .arg("STREAMS")
            .arg(&spec.stream)
            .arg(match &spec.group {
                None => last.as_str(),
                Some(_) if own_pending => "0",
                Some(_) => ">",
            });
        own_pending = false;
        // A lost connection is replaced by the next query (after the retry delay); the
        // replay goes on after `last`, the group after what it acknowledged.
        match tail.query::<RV>(&cmd, block).await {
            Ok(v) => {
                for (id, payload) in read_reply(&v) {
                    let taken = cursor.hand(&members, &deliver, payload);
                    if let Some(g) = &spec.group {
                        if taken {
                            let _ = tail
                                .query::<u64>(
                                    redis::cmd("XACK").arg(&spec.stream).arg(g).arg(&id),
                                    Duration::ZERO,
                                )
                                .await;
                        }
                    }
                    last = id;
                }
                if let Some(g) = &spec.group {
                    let every = Duration::from_millis(BLOCK_MS.min(spec.claim_idle_ms));
                    if last_claim.elapsed() >= every {
                        last_claim = Instant::now();
                        reclaim(&spec, g, &mut tail, &cursor, &members, &deliver).await;
                    }
                }
            }
            Err(TailError::Server(e)) if e.code() == Some("NOGROUP") => {
                if let Some(g) = &spec.group {
                    let _ = create_group(&spec.redis, &spec.stream, g, true).await;
                }
            }
            Err(TailError::Lost) => own_pending = true,
            Err(TailError::Server(_)) => {}
        }
    }
}

/// Takes over entries another consumer left pending too long; dead-letters poison ones.
async fn reclaim<D: Fn(u64, &Json) -> bool>(
    spec: &Spec,
    group: &str,
    tail: &mut Tail,
    cursor: &Cursor,
    members: &Mutex<Vec<u64>>,
    deliver: &D,
) {
    let r = tail
        .query::<RV>(
            redis::cmd("XAUTOCLAIM")
                .arg(&spec.stream)
                .arg(group)
                .arg(&spec.consumer)
                .arg(spec.claim_idle_ms)
                .arg("0-0")
                .arg("COUNT")
                .arg(BATCH),
            Duration::ZERO,
        )
        .await;
    let Ok(RV::Array(parts)) = r else { return };
    let Some(claimed) = parts.get(1).map(entries) else {
        return;
    };
    for (id, payload) in claimed {
        let info = tail
            .query::<RV>(
                redis::cmd("XPENDING")
                    .arg(&spec.stream)
                    .arg(group)
                    .arg(&id)
                    .arg(&id)
                    .arg(1),
                Duration::ZERO,
            )
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
            let _ = tail
                .query::<String>(
                    redis::cmd("XADD")
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
                        .arg(group),
                    Duration::ZERO,
                )
                .await;
        } else if !cursor.hand(members, deliver, payload) {
            continue;
        }
        let _ = tail
            .query::<u64>(
                redis::cmd("XACK").arg(&spec.stream).arg(group).arg(&id),
                Duration::ZERO,
            )
            .await;
    }
}
