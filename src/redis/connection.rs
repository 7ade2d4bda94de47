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

use crate::error::{NventError, Result};
use crate::options::Opts;
use redis::aio::{ConnectionManager, ConnectionManagerConfig, MultiplexedConnection};
use redis::{
    AsyncConnectionConfig, Client, ConnectionAddr, ConnectionInfo, IntoConnectionInfo,
    RedisConnectionInfo, TlsCertificates,
};
use serde_json::Value;
use std::fmt;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

/// Default of `connection.connectTimeout` and `connection.commandTimeout` (SPEC §9).
pub const DEFAULT_TIMEOUT_MS: u64 = 5000;

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
        if let Some(ms) = o.uint("connectTimeout")? {
            c.connect_timeout = Duration::from_millis(ms.max(1));
        }
        if let Some(ms) = o.uint("commandTimeout")? {
            c.command_timeout = Duration::from_millis(ms.max(1));
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
            .set_tcp_settings(redis::io::tcp::TcpSettings::default().set_nodelay(true));
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
    manager: OnceLock<std::result::Result<ConnectionManager, NventError>>,
}

impl Redis {
    /// Builds the client; does no I/O (SPEC §1: constructors never do I/O).
    ///
    /// # Errors
    /// `NVENT_INVALID_ARGUMENT` for a configuration the driver refuses (bad TLS PEM).
    pub fn new(config: RedisConfig) -> Result<Redis> {
        let client = config.client()?;
        Ok(Redis {
            inner: Arc::new(Inner {
                config,
                client,
                manager: OnceLock::new(),
            }),
        })
    }

    pub fn config(&self) -> &RedisConfig {
        &self.inner.config
    }

    /// The shared command connection (cheap to clone). Must be called inside the engine
    /// runtime: the manager's driver task is spawned there.
    pub fn conn(&self) -> Result<ConnectionManager> {
        let c = &self.inner.config;
        self.inner
            .manager
            .get_or_init(|| {
                let cfg = ConnectionManagerConfig::new()
                    .set_connection_timeout(Some(c.connect_timeout))
                    .set_response_timeout(Some(c.command_timeout))
                    .set_number_of_retries(1)
                    .set_max_delay(Duration::from_millis(500));
                ConnectionManager::new_lazy_with_config(self.inner.client.clone(), cfg)
                    .map_err(|e| classify(&e, c))
            })
            .clone()
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
        let mut conn = self.conn()?;
        cmd.query_async(&mut conn).await.map_err(|e| self.error(&e))
    }

    /// Runs a pipeline (atomic when built with `.atomic()`).
    ///
    /// # Errors
    /// Classified driver errors.
    pub async fn pipe<T: redis::FromRedisValue>(&self, pipe: &redis::Pipeline) -> Result<T> {
        let mut conn = self.conn()?;
        pipe.query_async(&mut conn)
            .await
            .map_err(|e| self.error(&e))
    }

    /// Runs a script by SHA, loading it on `NOSCRIPT` (the driver's `Script` does both).
    ///
    /// # Errors
    /// Classified driver errors.
    pub async fn script<T: redis::FromRedisValue>(
        &self,
        inv: &redis::ScriptInvocation<'_>,
    ) -> Result<T> {
        let mut conn = self.conn()?;
        inv.invoke_async(&mut conn)
            .await
            .map_err(|e| self.error(&e))
    }
}

fn unreachable_error(c: &RedisConfig, why: &str) -> NventError {
    NventError::BackendUnavailable {
        message: format!("redis at {} is unreachable ({why})", c.address()),
    }
}

/// Maps a driver error to an engine error. Messages are built from the error's kind and
/// server code, never from the driver's full text (which may quote connection details).
pub fn classify(e: &redis::RedisError, c: &RedisConfig) -> NventError {
    use redis::ErrorKind;
    let code = e.code().unwrap_or("");
    if matches!(code, "WRONGPASS" | "NOAUTH") || matches!(e.kind(), ErrorKind::AuthenticationFailed)
    {
        return NventError::Auth {
            message: format!(
                "redis at {} refused the credentials of user '{}'",
                c.address(),
                c.username.as_deref().unwrap_or("default")
            ),
        };
    }
    if code == "NOPERM" {
        return NventError::Auth {
            message: format!(
                "redis user '{}' lacks a permission the engine needs: {}",
                c.username.as_deref().unwrap_or("default"),
                e.detail().unwrap_or("")
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
    if matches!(code, "LOADING" | "BUSY" | "MASTERDOWN" | "TRYAGAIN") {
        return unreachable_error(c, code);
    }
    if matches!(e.kind(), ErrorKind::InvalidClientConfig) {
        return NventError::invalid_argument(format!(
            "connection settings refused by the redis driver ({})",
            e.category()
        ));
    }
    NventError::internal(format!(
        "redis replied with an unexpected error {} {}",
        if code.is_empty() { e.category() } else { code },
        e.detail().unwrap_or("")
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

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
