//! Long-lived connections (blocking stream readers, pub/sub): how a dead peer is noticed
//! and how reconnects are paced. One policy for every such connection: the store
//! follower, the stream's group and replay readers, the queue events reader and the
//! pub/sub hub.
//!
//! A connection that only waits sees nothing when its peer vanishes without closing the
//! socket (a NAT or load balancer forgetting an idle flow, a frozen host): it would wait
//! forever, and its listeners would stop without a word. So every such connection
//! - has TCP keepalive (set on every connection the driver opens, `RedisConfig::client`),
//!   which lets the kernel end a flow it can prove dead;
//! - expects each reply within the time the server may legitimately hold it (a `BLOCK`
//!   time) plus `connection.commandTimeout` ([`Tail::query`]); the pub/sub hub, which
//!   waits for nothing in particular, sends a `PING` after [`QUIET`] without traffic and
//!   expects its answer within `commandTimeout` too;
//! - on a miss drops the connection and opens another, paced by [`Retry`]: readers resume
//!   from their cursor (nothing is missed that Redis still holds); the pub/sub hub reports
//!   its gap.

use super::Redis;
use redis::aio::MultiplexedConnection;
use std::time::Duration;

/// How long a tailing read (`XREAD`/`XREADGROUP BLOCK`) waits: with `commandTimeout` it
/// bounds how long a dead peer goes unnoticed, and it bounds how long a reader works on a
/// stale set of streams.
pub const BLOCK: Duration = Duration::from_secs(1);

/// How long the pub/sub hub's connection may stay quiet before it is asked for a `PING`.
pub const QUIET: Duration = Duration::from_secs(1);

/// The pause before the next attempt after a failure: 50 ms, doubling up to 2 s; back to
/// 50 ms after a success.
pub struct Retry {
    delay: Duration,
}

impl Retry {
    const FIRST: Duration = Duration::from_millis(50);
    const MAX: Duration = Duration::from_secs(2);

    pub fn new() -> Retry {
        Retry { delay: Self::FIRST }
    }

    /// Sleeps the current delay and doubles the next one.
    pub async fn wait(&mut self) {
        tokio::time::sleep(self.delay).await;
        self.delay = (self.delay * 2).min(Self::MAX);
    }

    pub fn reset(&mut self) {
        self.delay = Self::FIRST;
    }
}

impl Default for Retry {
    fn default() -> Self {
        Retry::new()
    }
}

/// Why a [`Tail::query`] failed.
pub enum TailError {
    /// No connection, or it died (dropped, or silent past its deadline): it is gone, and
    /// the next query opens another.
    Lost,
    /// The server answered with an error; the connection stays.
    Server(redis::RedisError),
}

/// A dedicated connection for blocking reads that replaces itself when its peer dies.
pub struct Tail {
    redis: Redis,
    conn: Option<MultiplexedConnection>,
    retry: Retry,
    failed: bool,
}

impl Tail {
    pub fn new(redis: Redis) -> Tail {
        Tail {
            redis,
            conn: None,
            retry: Retry::new(),
            failed: false,
        }
    }

    /// A tail starting on a connection opened already (to fail a subscribe early).
    pub fn with(redis: Redis, conn: MultiplexedConnection) -> Tail {
        Tail {
            conn: Some(conn),
            ..Tail::new(redis)
        }
    }

    /// Runs `cmd`, opening a connection first when there is none. `holds`: how long the
    /// server may hold the reply (the command's `BLOCK` time, zero otherwise); no reply
    /// within that plus `commandTimeout` means a dead peer. After a failure the next query
    /// waits the retry delay first, so a caller looping on errors never spins.
    ///
    /// # Cancel safety
    /// Dropping the future drops nothing but the reply; the connection stays usable.
    pub async fn query<T: redis::FromRedisValue>(
        &mut self,
        cmd: &redis::Cmd,
        holds: Duration,
    ) -> Result<T, TailError> {
        if self.failed {
            self.retry.wait().await;
        }
        self.failed = true;
        let conn = match &mut self.conn {
            Some(c) => c,
            None => match self.redis.blocking().await {
                Ok(c) => self.conn.insert(c),
                Err(_) => return Err(TailError::Lost),
            },
        };
        let deadline = holds + self.redis.config().command_timeout;
        let r = match tokio::time::timeout(deadline, cmd.query_async::<T>(conn)).await {
            Ok(r) => r,
            Err(_) => {
                self.conn = None;
                return Err(TailError::Lost);
            }
        };
        match r {
            Ok(v) => {
                self.failed = false;
                self.retry.reset();
                Ok(v)
            }
            Err(e)
                if e.is_io_error() || e.is_connection_dropped() || e.is_unrecoverable_error() =>
            {
                self.conn = None;
                Err(TailError::Lost)
            }
            Err(e) => Err(TailError::Server(e)),
        }
    }
}
