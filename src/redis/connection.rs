//! Connections to one Redis server: configuration (SPEC §1 `connection`), lazy connect,
//! automatic reconnect, per-command timeouts and error classification.
//!
//! - Commands share one multiplexed connection ([`redis::aio::ConnectionManager`]): it
//!   connects on first use and reconnects by itself after a drop. Each command is bounded
//!   by `commandTimeout` (default 5000 ms); a command that cannot be answered in time, or
//!   that finds no connection, rejects with `NVENT_BACKEND_UNAVAILABLE`.
//! - Blocking reads (`XREAD BLOCK`, `XREADGROUP BLOCK`) and pub/sub each get a connection
//!   of their own ([`Redis::blocking`], [`Redis::pubsub`]) without the command timeout, so
//!   they neither stall other commands nor get cut off.
//! - The password is kept only inside the driver's connection info: it is never formatted
//!   into a message, a log line or `Debug` output (see [`RedisConfig`]'s `Debug`).

use super::looped::{self, LoopConn};
use super::resp::{CommandWriter, Packed};
use crate::error::{NventError, Result};
use crate::eventloop;
use crate::options::{Opts, Zero};
use redis::aio::{ConnectionManager, ConnectionManagerConfig, MultiplexedConnection};
use redis::RedisFuture;
use redis::{
    AsyncConnectionConfig, Client, ConnectionAddr, ConnectionInfo, IntoConnectionInfo,
    RedisConnectionInfo, TlsCertificates,
};
use serde_json::Value;
use std::fmt;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

/// Default of `connection.connectTimeout` and `connection.commandTimeout` (SPEC §9).
pub const DEFAULT_TIMEOUT_MS: u64 = 5000;

/// TCP keepalive: first probe after this long idle, then one per interval.
const KEEPALIVE_IDLE: Duration = Duration::from_secs(15);
const KEEPALIVE_INTERVAL: Duration = Duration::from_secs(5);

/// TLS settings of `connection.tls`: `true`, or `{ ca?, cert?, key?, rejectUnauthorized? }`
/// with PEM texts.
#[derive(Clone, Default, PartialEq)]
pub struct TlsConfig {
    pub ca: Option<String>,
    pub cert: Option<String>,
    pub key: Option<String>,
    pub reject_unauthorized: bool,
}

/// A parsed `connection` option.
#[derive(Clone, PartialEq)]
pub struct RedisConfig {
    pub host: String,
    pub port: u16,
    pub username: Option<String>,
    password: Option<String>,
    pub db: i64,
    pub tls: Option<TlsConfig>,
    pub connect_timeout: Duration,
    pub command_timeout: Duration,
}

// Written by hand so that no `{:?}` anywhere can print the password.
impl fmt::Debug for RedisConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisConfig")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("username", &self.username)
            .field("password", &self.password.as_ref().map(|_| "<redacted>"))
            .field("db", &self.db)
            .field("tls", &self.tls.is_some())
            .finish()
    }
}

impl Default for RedisConfig {
    fn default() -> Self {
        RedisConfig {
            host: "127.0.0.1".into(),
            port: 6379,
            username: None,
            password: None,
            db: 0,
            tls: None,
            connect_timeout: Duration::from_millis(DEFAULT_TIMEOUT_MS),
            command_timeout: Duration::from_millis(DEFAULT_TIMEOUT_MS),
        }
    }
}

impl RedisConfig {
    /// Parses `{ host?, port?, username?, password?, db?, url?, tls?, connectTimeout?,
    /// commandTimeout? }`. Explicit fields win over the parts of `url`.
    ///
    /// # Errors
    /// `NVENT_INVALID_ARGUMENT` naming the field (never echoing a url or password).
    pub fn parse(v: Option<&Value>) -> Result<RedisConfig> {
        let mut c = RedisConfig::default();
        let map = match v {
            None | Some(Value::Null) => return Ok(c),
            Some(Value::Object(m)) => m.clone(),
            Some(_) => {
                return Err(NventError::invalid_argument(
                    "connection must be an object { host?, port?, username?, password?, db?, url?, tls? }",
                ))
            }
        };
        let o = Opts::from_map("connection", map);
        if let Some(url) = o.str("url")? {
            c.apply_url(url)?;
        }
        if let Some(h) = o.str("host")? {
            c.host = h.to_string();
        }
        if let Some(p) = o.uint("port")? {
            c.port = u16::try_from(p)
                .ok()
                .filter(|p| *p > 0)
                .ok_or_else(|| NventError::invalid_argument("connection.port must be 1..65535"))?;
        }
        if let Some(u) = o.str("username")? {
            c.username = Some(u.to_string()).filter(|u| !u.is_empty());
        }
        if let Some(p) = o.str("password")? {
            c.password = Some(p.to_string()).filter(|p| !p.is_empty());
        }
        if let Some(db) = o.uint("db")? {
            c.db = i64::try_from(db)
                .map_err(|_| NventError::invalid_argument("connection.db is too large"))?;
        }
        match o.raw("tls") {
            None | Some(Value::Null) | Some(Value::Bool(false)) => {}
            Some(Value::Bool(true)) => {
                c.tls.get_or_insert_with(|| TlsConfig {
                    reject_unauthorized: true,
                    ..TlsConfig::default()
                });
            }
            Some(Value::Object(t)) => {
                let t = Opts::from_map("connection.tls", t.clone());
                c.tls = Some(TlsConfig {
                    ca: t.str("ca")?.map(String::from),
                    cert: t.str("cert")?.map(String::from),
                    key: t.str("key")?.map(String::from),
                    reject_unauthorized: t.bool("rejectUnauthorized")?.unwrap_or(true),
                });
            }
            Some(_) => {
                return Err(NventError::invalid_argument(
                    "connection.tls must be true or { ca?, cert?, key?, rejectUnauthorized? }",
                ))
            }
        }
        if let Some(ms) = o.duration_ms("connectTimeout", Zero::Refused)? {
            c.connect_timeout = Duration::from_millis(ms);
        }
        if let Some(ms) = o.duration_ms("commandTimeout", Zero::Refused)? {
            c.command_timeout = Duration::from_millis(ms);
        }
        Ok(c)
    }

    fn apply_url(&mut self, url: &str) -> Result<()> {
        // The driver parses the url; its error may quote the url (and so the password),
        // so it is replaced by our own message.
        let bad = || {
            NventError::invalid_argument(
                "connection.url must look like redis://[user[:password]@]host[:port][/db] or rediss://...",
            )
        };
        if !(url.starts_with("redis://") || url.starts_with("rediss://")) {
            return Err(bad());
        }
        let info = url.into_connection_info().map_err(|_| bad())?;
        match info.addr() {
            ConnectionAddr::Tcp(h, p) => {
                self.host = h.clone();
                self.port = *p;
            }
            ConnectionAddr::TcpTls {
                host,
                port,
                insecure,
                ..
            } => {
                self.host = host.clone();
                self.port = *port;
                self.tls = Some(TlsConfig {
                    reject_unauthorized: !insecure,
                    ..TlsConfig::default()
                });
            }
            _ => return Err(bad()),
        }
        let r = info.redis_settings();
        self.username = r.username().map(String::from);
        self.password = r.password().map(String::from);
        self.db = r.db();
        Ok(())
    }

    /// The password, for the handshake of a connection opened here (never for messages).
    pub(super) fn password(&self) -> Option<&str> {
        self.password.as_deref()
    }

    /// `host:port`, for messages.
    pub fn address(&self) -> String {
        format!("{}:{}", self.host, self.port)
    }

    fn client(&self) -> Result<Client> {
        let addr = match &self.tls {
            None => ConnectionAddr::Tcp(self.host.clone(), self.port),
            Some(t) => ConnectionAddr::TcpTls {
                host: self.host.clone(),
                port: self.port,
                insecure: !t.reject_unauthorized,
                tls_params: None,
            },
        };
        let mut redis = RedisConnectionInfo::default().set_db(self.db);
        if let Some(u) = &self.username {
            redis = redis.set_username(u);
        }
        if let Some(p) = &self.password {
            redis = redis.set_password(p);
        }
        let info: ConnectionInfo = addr
            .into_connection_info()
            .map_err(|e| classify(&e, self))?
            .set_redis_settings(redis)
            // Without TCP_NODELAY, Nagle holds back the next pipelined command until the
            // previous one is acknowledged: many callers in flight would pay for it.
            // Keepalive lets the kernel end a flow whose peer is gone (see `tail.rs` for
            // the deadlines that catch what keepalive cannot).
            .set_tcp_settings(
                redis::io::tcp::TcpSettings::default()
                    .set_nodelay(true)
                    .set_keepalive(
                        redis::io::tcp::socket2::TcpKeepalive::new()
                            .with_time(KEEPALIVE_IDLE)
                            .with_interval(KEEPALIVE_INTERVAL),
                    ),
            );
        match &self.tls {
            Some(t) if t.ca.is_some() || t.cert.is_some() => {
                install_crypto_provider();
                let client_tls = match (&t.cert, &t.key) {
                    (Some(c), Some(k)) => Some(redis::ClientTlsConfig {
                        client_cert: c.as_bytes().to_vec(),
                        client_key: k.as_bytes().to_vec(),
                    }),
                    (None, None) => None,
                    _ => {
                        return Err(NventError::invalid_argument(
                            "connection.tls needs both cert and key for a client certificate",
                        ))
                    }
                };
                Client::build_with_tls(
                    info,
                    TlsCertificates {
                        client_tls,
                        root_cert: t.ca.as_ref().map(|c| c.as_bytes().to_vec()),
                    },
                )
                .map_err(|e| classify(&e, self))
            }
            Some(_) => {
                install_crypto_provider();
                Client::open(info).map_err(|e| classify(&e, self))
            }
            None => Client::open(info).map_err(|e| classify(&e, self)),
        }
    }
}

/// rustls needs one process-wide crypto provider; ring is the one we build with.
fn install_crypto_provider() {
    static DONE: OnceLock<()> = OnceLock::new();
    DONE.get_or_init(|| {
        // Err means another provider is installed already, which serves as well.
        let _ = rustls::crypto::ring::default_provider().install_default();
    });
}

/// One Redis server as the engine uses it: a lazily connecting, self-reconnecting
/// command connection plus factories for dedicated connections.
#[derive(Clone)]
pub struct Redis {
    inner: Arc<Inner>,
}

struct Inner {
    config: RedisConfig,
    client: Client,
    /// The shared command connection and its generation (see [`Redis::renew_shared`]).
    manager: Mutex<Option<(u64, ConnectionManager)>>,
    /// Whether commands made on a JS thread may use an event-loop connection.
    loop_io: bool,
    looped: Mutex<Slot>,
    /// Commands made on a JS thread that are in flight on the shared connection: the
    /// event-loop connection takes over only when none is, so that it never overtakes them.
    js_in_flight: AtomicUsize,
    /// Counts shared connections made, to name them in [`Redis::renew_shared`].
    generation: std::sync::atomic::AtomicU64,
}

/// The event-loop connection's state (see `looped.rs`).
enum Slot {
    Idle,
    Connecting,
    /// Watched by its thread's loop. `taken_over`: calls from JS use it (set once no call
    /// from JS is in flight on the shared connection, so that none is overtaken).
    Live {
        conn: Arc<LoopConn>,
        taken_over: bool,
    },
    /// Opening one failed; try again after this.
    Retry(Instant),
    /// The adapter closed: commands use the shared connection, none is opened again.
    Closed,
}

impl Drop for Inner {
    fn drop(&mut self) {
        if let Slot::Live { conn, .. } = &*self.looped.lock().unwrap_or_else(|p| p.into_inner()) {
            conn.close();
        }
    }
}

impl Redis {
    /// Builds the client; does no I/O (SPEC §1: constructors never do I/O).
    ///
    /// # Errors
    /// `NVENT_INVALID_ARGUMENT` for a configuration the driver refuses (bad TLS PEM).
    pub fn new(config: RedisConfig) -> Result<Redis> {
        let client = config.client()?;
        // TLS stays on the driver's connection; NVENT_LOOP_IO=0 turns the event-loop
        // connection off (for comparisons, or as an escape hatch).
        let loop_io =
            config.tls.is_none() && std::env::var("NVENT_LOOP_IO").map_or(true, |v| v != "0");
        Ok(Redis {
            inner: Arc::new(Inner {
                config,
                client,
                manager: Mutex::new(None),
                loop_io,
                looped: Mutex::new(Slot::Idle),
                js_in_flight: AtomicUsize::new(0),
                generation: std::sync::atomic::AtomicU64::new(0),
            }),
        })
    }

    /// The event-loop connection, when this thread has a loop and it is up; otherwise
    /// `None`, after starting to open one in the background if none is on its way.
    fn looped(&self) -> Option<Arc<LoopConn>> {
        if !self.inner.loop_io || !eventloop::here() {
            return None;
        }
        let mut slot = self.inner.looped.lock().unwrap_or_else(|p| p.into_inner());
        match &mut *slot {
            Slot::Live { conn, taken_over } if conn.usable() => {
                if !*taken_over && self.inner.js_in_flight.load(Ordering::Acquire) == 0 {
                    *taken_over = true;
                }
                return taken_over.then(|| conn.clone());
            }
            Slot::Live { conn, .. } if !conn.is_owner() => return None,
            Slot::Live { .. } => *slot = Slot::Idle,
            Slot::Retry(at) if Instant::now() >= *at => *slot = Slot::Idle,
            _ => {}
        }
        if matches!(*slot, Slot::Idle) {
            open_loop(&self.inner, &mut slot);
        }
        None
    }

    /// Closes the event-loop connection for good (the adapter is closing): what it has in
    /// flight fails, and later commands use the shared connection.
    pub fn close_loop(&self) {
        let old = std::mem::replace(
            &mut *self.inner.looped.lock().unwrap_or_else(|p| p.into_inner()),
            Slot::Closed,
        );
        if let Slot::Live { conn, .. } = old {
            conn.close();
        }
    }

    /// The command connection: the event-loop one for commands made on a JS thread while
    /// it is up, the shared one otherwise.
    fn commands(&self) -> Result<Commands> {
        let (generation, shared) = self.shared()?;
        Ok(Commands {
            redis: self.clone(),
            shared,
            generation,
        })
    }

    pub fn config(&self) -> &RedisConfig {
        &self.inner.config
    }

    /// The shared command connection (cheap to clone). Must be called inside the engine
    /// runtime: the manager's driver task is spawned there.
    pub fn conn(&self) -> Result<ConnectionManager> {
        self.shared().map(|(_, c)| c)
    }

    fn shared(&self) -> Result<(u64, ConnectionManager)> {
        let mut slot = self.inner.manager.lock().unwrap_or_else(|p| p.into_inner());
        if let Some((generation, c)) = &*slot {
            return Ok((*generation, c.clone()));
        }
        let c = &self.inner.config;
        let cfg = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(c.connect_timeout))
            .set_response_timeout(Some(c.command_timeout))
            .set_number_of_retries(1)
            .set_max_delay(Duration::from_millis(500));
        let manager = ConnectionManager::new_lazy_with_config(self.inner.client.clone(), cfg)
            .map_err(|e| classify(&e, c))?;
        let generation = self.inner.generation.fetch_add(1, Ordering::Relaxed);
        *slot = Some((generation, manager.clone()));
        Ok((generation, manager))
    }

    /// A command on the shared connection got no answer in time. The driver reconnects
    /// only after a connection error, and a peer that vanished without closing the socket
    /// never gives one: every later command would time out too. So the connection of that
    /// generation is replaced (lazily, by the next command); commands in flight on it keep
    /// their own outcome.
    fn renew_shared(&self, generation: u64) {
        let mut slot = self.inner.manager.lock().unwrap_or_else(|p| p.into_inner());
        if matches!(&*slot, Some((g, _)) if *g == generation) {
            *slot = None;
        }
    }

    /// A dedicated connection for blocking reads: no response timeout.
    ///
    /// # Errors
    /// Connection errors, classified.
    pub async fn blocking(&self) -> Result<MultiplexedConnection> {
        let c = &self.inner.config;
        let cfg = AsyncConnectionConfig::new()
            .set_connection_timeout(Some(c.connect_timeout))
            .set_response_timeout(None);
        self.inner
            .client
            .get_multiplexed_async_connection_with_config(&cfg)
            .await
            .map_err(|e| classify(&e, c))
    }

    /// A dedicated pub/sub connection.
    ///
    /// # Errors
    /// Connection errors, classified.
    pub async fn pubsub(&self) -> Result<redis::aio::PubSub> {
        let c = &self.inner.config;
        match tokio::time::timeout(c.connect_timeout, self.inner.client.get_async_pubsub()).await {
            Ok(r) => r.map_err(|e| classify(&e, c)),
            Err(_) => Err(unreachable_error(c, "connect timed out")),
        }
    }

    /// Classifies a driver error of a command on this server.
    pub fn error(&self, e: &redis::RedisError) -> NventError {
        classify(e, &self.inner.config)
    }

    /// Runs one command.
    ///
    /// # Errors
    /// Classified driver errors (see [`classify`]).
    pub async fn query<T: redis::FromRedisValue>(&self, cmd: &redis::Cmd) -> Result<T> {
        let mut conn = self.commands()?;
        cmd.query_async(&mut conn).await.map_err(|e| self.error(&e))
    }

    /// Runs a pipeline (atomic when built with `.atomic()`).
    ///
    /// # Errors
    /// Classified driver errors.
    pub async fn pipe<T: redis::FromRedisValue>(&self, pipe: &redis::Pipeline) -> Result<T> {
        let mut conn = self.commands()?;
        pipe.query_async(&mut conn)
            .await
            .map_err(|e| self.error(&e))
    }

    /// Runs the commands `write` writes as one pipeline, each command succeeding or
    /// failing on its own (a server error answers only its command). On the event-loop
    /// connection the commands are written straight into the bytes sent; otherwise into a
    /// `redis::Pipeline` for the shared connection (`write` may then run twice).
    ///
    /// `queued` is called once the commands hold their place on the connection, so that
    /// commands sent after it run after them: on the event-loop connection as soon as the
    /// bytes are queued (before the first suspension); on the shared connection only when
    /// the replies are in, because the driver may wait for a connection or a channel slot
    /// first, and commands of another task can overtake it there.
    ///
    /// # Errors
    /// Classified driver errors that fail the whole pipeline (connection, timeout).
    pub async fn pipe_written(
        &self,
        size_hint: usize,
        write: impl Fn(&mut dyn CommandWriter),
        queued: impl FnOnce(),
    ) -> Result<Vec<redis::RedisResult<redis::Value>>> {
        if let Some(conn) = self.looped() {
            let mut packed = Packed::with_capacity(size_hint);
            write(&mut packed);
            let (bytes, count) = packed.finish()?;
            if count == 0 {
                queued();
                return Ok(Vec::new());
            }
            if let Some(rx) = conn.send(&bytes, count) {
                queued();
                let replies = rx
                    .await
                    .map_err(|_| no_reply())
                    .and_then(|r| r)
                    .map_err(|e| self.error(&e))?;
                return Ok(replies
                    .into_iter()
                    .map(|v| match v {
                        redis::Value::ServerError(e) => Err(e.into()),
                        v => Ok(v),
                    })
                    .collect());
            }
        }
        let mut p = redis::pipe();
        p.ignore_errors();
        write(&mut p);
        let replies = self.pipe(&p).await;
        queued();
        replies
    }

    /// Runs a script by SHA, loading it on `NOSCRIPT` (the driver's `Script` does both).
    ///
    /// # Errors
    /// Classified driver errors.
    pub async fn script<T: redis::FromRedisValue>(
        &self,
        inv: &redis::ScriptInvocation<'_>,
    ) -> Result<T> {
        let mut conn = self.commands()?;
        inv.invoke_async(&mut conn)
            .await
            .map_err(|e| self.error(&e))
    }
}

/// Starts opening the event-loop connection of this (JS) thread: connected and
/// authenticated on the runtime, then watched by this thread's loop, where the connection
/// is handed back (`eventloop::Post`) so that it is watched at once, used or not (a
/// connection the server closes while idle is then noticed and replaced before the next
/// call needs it).
fn open_loop(inner: &Arc<Inner>, slot: &mut Slot) {
    let Some(poster) = eventloop::poster() else {
        *slot = Slot::Retry(Instant::now() + LOOP_RETRY);
        return;
    };
    *slot = Slot::Connecting;
    let weak = Arc::downgrade(inner);
    let config = inner.config.clone();
    let started = crate::runtime::spawn(async move {
        let opened = looped::connect(&config).await;
        let Some(inner) = weak.upgrade() else { return };
        let stream = match opened {
            Ok(stream) => stream,
            Err(_) => {
                set_if_connecting(&inner, Slot::Retry(Instant::now() + LOOP_RETRY));
                return;
            }
        };
        let weak = Arc::downgrade(&inner);
        let timeout = inner.config.command_timeout;
        let registered = poster.post(Box::new(move || {
            let Some(inner) = weak.upgrade() else { return };
            let on_break = {
                let weak = Arc::downgrade(&inner);
                move |age: Duration| {
                    if let Some(inner) = weak.upgrade() {
                        replace_loop(&inner, age);
                    }
                }
            };
            let next = match LoopConn::open(stream, timeout, Box::new(on_break)) {
                Some(conn) => Slot::Live {
                    conn,
                    taken_over: false,
                },
                None => Slot::Retry(Instant::now() + LOOP_RETRY),
            };
            set_if_connecting(&inner, next);
        }));
        if !registered {
            set_if_connecting(&inner, Slot::Retry(Instant::now() + LOOP_RETRY));
        }
    });
    if started.is_err() {
        *slot = Slot::Retry(Instant::now() + LOOP_RETRY);
    }
}

/// Moves a connecting slot on; a slot closed (or changed) meanwhile is left as it is, and a
/// connection handed in is then dropped.
fn set_if_connecting(inner: &Inner, next: Slot) {
    let mut slot = inner.looped.lock().unwrap_or_else(|p| p.into_inner());
    if matches!(*slot, Slot::Connecting) {
        *slot = next;
    } else if let Slot::Live { conn, .. } = next {
        drop(slot);
        conn.close();
    }
}

/// The live event-loop connection broke after `age`. One that had been open a while (the
/// server closing it while idle, a restart) is replaced at once, from its loop's thread;
/// one that broke young waits `LOOP_RETRY`, so that a server refusing connections is not
/// hammered. Calls go to the shared connection meanwhile.
fn replace_loop(inner: &Arc<Inner>, age: Duration) {
    let mut slot = inner.looped.lock().unwrap_or_else(|p| p.into_inner());
    if !matches!(*slot, Slot::Live { .. }) {
        return;
    }
    if age >= LOOP_RETRY * 2 && eventloop::here() {
        *slot = Slot::Idle;
        open_loop(inner, &mut slot);
    } else {
        *slot = Slot::Retry(Instant::now() + LOOP_RETRY);
    }
}

/// How long to wait before opening another event-loop connection after one failed.
const LOOP_RETRY: Duration = Duration::from_millis(500);

/// The connection [`Redis::query`], [`Redis::pipe`] and [`Redis::script`] send on: each
/// command goes to the event-loop connection when it is usable from the calling thread,
/// to the shared connection otherwise.
struct Commands {
    redis: Redis,
    shared: ConnectionManager,
    generation: u64,
}

impl Commands {
    /// Notes a timeout of the shared connection (see [`Redis::renew_shared`]).
    fn check<T>(&self, r: redis::RedisResult<T>) -> redis::RedisResult<T> {
        if matches!(&r, Err(e) if e.is_timeout()) {
            self.redis.renew_shared(self.generation);
        }
        r
    }
}

/// Counts a command made on a JS thread while it is in flight on the shared connection.
struct InFlight(Option<Arc<Inner>>);

impl InFlight {
    fn new(redis: &Redis) -> InFlight {
        if !redis.inner.loop_io || !eventloop::here() {
            return InFlight(None);
        }
        redis.inner.js_in_flight.fetch_add(1, Ordering::AcqRel);
        InFlight(Some(redis.inner.clone()))
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        if let Some(inner) = &self.0 {
            inner.js_in_flight.fetch_sub(1, Ordering::AcqRel);
        }
    }
}

fn no_reply() -> redis::RedisError {
    redis::RedisError::from(std::io::Error::new(
        std::io::ErrorKind::ConnectionReset,
        "the connection was dropped before replying",
    ))
}

impl redis::aio::ConnectionLike for Commands {
    fn req_packed_command<'a>(&'a mut self, cmd: &'a redis::Cmd) -> RedisFuture<'a, redis::Value> {
        if let Some(rx) = self
            .redis
            .looped()
            .and_then(|c| c.send(&cmd.get_packed_command(), 1))
        {
            return Box::pin(async move {
                rx.await
                    .map_err(|_| no_reply())??
                    .pop()
                    .ok_or_else(no_reply)
            });
        }
        let counted = InFlight::new(&self.redis);
        Box::pin(async move {
            let r = self.shared.req_packed_command(cmd).await;
            drop(counted);
            self.check(r)
        })
    }

    fn req_packed_commands<'a>(
        &'a mut self,
        pipeline: &'a redis::Pipeline,
        offset: usize,
        count: usize,
    ) -> RedisFuture<'a, Vec<redis::Value>> {
        if offset + count == 0 {
            // An empty pipeline: nothing to send, no reply to wait for.
            return Box::pin(async { Ok(Vec::new()) });
        }
        if let Some(rx) = self
            .redis
            .looped()
            .and_then(|c| c.send(&pipeline.get_packed_pipeline(), offset + count))
        {
            return Box::pin(async move {
                let mut replies = rx.await.map_err(|_| no_reply())??;
                // A transaction's MULTI and QUEUED replies are skipped; an error among them
                // means the server refused the transaction.
                if let Some(e) = replies.iter().take(offset).find_map(|v| match v {
                    redis::Value::ServerError(e) => Some(e.clone()),
                    _ => None,
                }) {
                    return Err(e.into());
                }
                Ok(replies.split_off(offset.min(replies.len())))
            });
        }
        let counted = InFlight::new(&self.redis);
        Box::pin(async move {
            let r = self
                .shared
                .req_packed_commands(pipeline, offset, count)
                .await;
            drop(counted);
            self.check(r)
        })
    }

    fn get_db(&self) -> i64 {
        self.shared.get_db()
    }
}

fn unreachable_error(c: &RedisConfig, why: &str) -> NventError {
    NventError::BackendUnavailable {
        message: format!("redis at {} is unreachable ({why})", c.address()),
    }
}

/// Maps a driver error to an engine error: the one place where a driver error gets its
/// code. Messages are built from the error's kind and server code (and, for server
/// errors, the server's own detail), never from the driver's full text (which may quote
/// connection details). `NVENT_INTERNAL` is left for what can only be an engine bug: a
/// server error the engine does not know.
pub fn classify(e: &redis::RedisError, c: &RedisConfig) -> NventError {
    use redis::ErrorKind;
    let code = e.code().unwrap_or("");
    let detail = e.detail().unwrap_or("");
    // Redis answers an unauthenticated client's long command (more than 10 arguments, as
    // every queue script call has) with this protocol error instead of NOAUTH, and closes.
    let unauthenticated = detail.contains("unauthenticated");
    if matches!(code, "WRONGPASS" | "NOAUTH")
        || unauthenticated
        || matches!(e.kind(), ErrorKind::AuthenticationFailed)
    {
        return NventError::Auth {
            message: format!(
                "redis at {} refused the credentials of user '{}'{}",
                c.address(),
                c.username.as_deref().unwrap_or("default"),
                if c.password.is_none() {
                    " (no password was given)"
                } else {
                    ""
                }
            ),
        };
    }
    if code == "NOPERM" {
        return NventError::Auth {
            message: format!(
                "redis user '{}' lacks a permission the engine needs: {detail}",
                c.username.as_deref().unwrap_or("default"),
            ),
        };
    }
    if code == "WRONGTYPE" {
        return NventError::invalid_argument(
            "the key holds another kind of value (a name is used in two store tiers)",
        );
    }
    if e.is_timeout() {
        return unreachable_error(
            c,
            &format!("no answer within {} ms", c.command_timeout.as_millis()),
        );
    }
    if e.is_io_error() || e.is_connection_dropped() || e.is_connection_refusal() {
        return unreachable_error(c, "connection failed or dropped");
    }
    if matches!(
        code,
        "LOADING" | "BUSY" | "MASTERDOWN" | "TRYAGAIN" | "OOM" | "READONLY" | "MISCONF"
    ) || matches!(code, "CLUSTERDOWN" | "NOREPLICAS" | "NOTBUSY")
    {
        return unreachable_error(c, code);
    }
    if matches!(e.kind(), ErrorKind::InvalidClientConfig) {
        return NventError::invalid_argument(format!(
            "connection settings refused by the redis driver ({})",
            e.category()
        ));
    }
    if detail.starts_with("DB index is out of range") {
        return NventError::invalid_argument(format!(
            "connection.db {} does not exist on redis at {} (see its `databases` setting)",
            c.db,
            c.address()
        ));
    }
    if detail.starts_with("invalid expire time") {
        return NventError::invalid_argument(format!("redis refused the TTL: {detail}"));
    }
    // A script or command found a value of the wrong shape under a key the engine wrote
    // (`version` no longer an integer, a score no longer a number): someone else changed
    // the data.
    if detail.contains("is not an integer") || detail.contains("is not a valid float") {
        return NventError::Corrupt {
            message: format!(
                "redis refused to compute on a stored value: {}",
                without_script_location(detail)
            ),
        };
    }
    // A reply of another shape than the command returns is data someone else wrote under
    // an engine key, not a state the engine makes.
    if matches!(e.kind(), ErrorKind::UnexpectedReturnType | ErrorKind::Parse) {
        return NventError::Corrupt {
            message: format!(
                "redis replied with a value of an unexpected shape ({})",
                e.category()
            ),
        };
    }
    NventError::internal(format!(
        "redis replied with an unexpected error {} {}",
        if code.is_empty() { e.category() } else { code },
        detail
    ))
}

/// A script error's detail without the script SHA and line the server appends.
fn without_script_location(s: &str) -> &str {
    s.split(" script:").next().unwrap_or(s).trim()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// A driver error as the driver makes it from a server's error line.
    fn server_error(line: &str) -> redis::RedisError {
        match redis::parse_redis_value(format!("-{line}\r\n").as_bytes()) {
            Ok(redis::Value::ServerError(e)) => e.into(),
            other => panic!("not a server error: {other:?}"),
        }
    }

    #[test]
    fn server_errors_get_the_code_of_their_cause() {
        let c = RedisConfig::default();
        let code = |line: &str| classify(&server_error(line), &c).code();
        assert_eq!(code("NOAUTH Authentication required."), "NVENT_AUTH");
        assert_eq!(
            code("WRONGPASS invalid username-password pair"),
            "NVENT_AUTH"
        );
        assert_eq!(
            code("ERR Protocol error: unauthenticated multibulk length"),
            "NVENT_AUTH"
        );
        assert_eq!(code("NOPERM this user has no permissions"), "NVENT_AUTH");
        assert_eq!(
            code("ERR DB index is out of range"),
            "NVENT_INVALID_ARGUMENT"
        );
        assert_eq!(
            code("ERR invalid expire time in 'set' command"),
            "NVENT_INVALID_ARGUMENT"
        );
        assert_eq!(
            code("WRONGTYPE Operation against a key"),
            "NVENT_INVALID_ARGUMENT"
        );
        assert_eq!(
            code("ERR hash value is not an integer script: 34ca, on @user_script:62."),
            "NVENT_CORRUPT"
        );
        assert_eq!(code("ERR value is not a valid float"), "NVENT_CORRUPT");
        for busy in [
            "OOM command not allowed",
            "READONLY You can't write",
            "LOADING loading",
            "BUSY script",
        ] {
            assert_eq!(code(busy), "NVENT_BACKEND_UNAVAILABLE", "{busy}");
        }
        // Only what the engine cannot explain is its own bug.
        assert_eq!(code("ERR unknown command 'FOO'"), "NVENT_INTERNAL");
        let corrupt = classify(
            &server_error("ERR hash value is not an integer script: 34ca, on @user_script:62."),
            &c,
        );
        assert!(!corrupt.to_string().contains("34ca"), "{corrupt}");
    }

    #[test]
    fn parses_fields_and_urls_without_leaking_the_password() {
        let c = RedisConfig::parse(Some(&json!({ "url": "redis://bob:s3cret@h:7000/2" }))).unwrap();
        assert_eq!((c.host.as_str(), c.port, c.db), ("h", 7000, 2));
        assert_eq!(c.username.as_deref(), Some("bob"));
        assert!(!format!("{c:?}").contains("s3cret"));
        let c = RedisConfig::parse(Some(&json!({ "url": "rediss://h", "port": 7001, "db": 3 })))
            .unwrap();
        assert!(c.tls.is_some());
        assert_eq!((c.port, c.db), (7001, 3));
        let e = RedisConfig::parse(Some(&json!({ "url": "http://x:pw@h" }))).unwrap_err();
        assert_eq!(e.code(), "NVENT_INVALID_ARGUMENT");
        assert!(!e.to_string().contains("pw"));
        assert!(RedisConfig::parse(Some(&json!({ "port": 0 }))).is_err());
    }
}
