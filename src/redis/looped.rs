//! A command connection driven by the JS thread's event loop (`crate::eventloop`).
//!
//! Commands made on the JS thread are written to this socket right there, and their
//! replies are read when the loop sees the socket readable, so a round trip wakes only
//! redis-server and the JS thread (see the module docs of `eventloop` for why that
//! matters). Everything else about commands stays as on the shared connection:
//! - replies come back in order, one pending entry per command or pipeline;
//! - a command unanswered after `commandTimeout` fails, with every command behind it, as
//!   `NVENT_BACKEND_UNAVAILABLE`, and the connection is dropped (its later replies could no
//!   longer be matched to their commands); a watchdog task on the runtime checks this. A
//!   reply that came but waits for a busy JS thread to read it is not a timeout: the
//!   watchdog sees the bytes in the socket and leaves the command be, as the shared
//!   connection would have read it in time;
//! - a dropped connection fails what it had in flight; the next commands use the shared
//!   connection while a new one is opened in the background.
//!
//! Only the thread whose loop watches the socket writes to it; commands from any other
//! thread (runtime tasks) go to the shared connection.

use super::connection::RedisConfig;
use crate::eventloop;
use bytes::BytesMut;
use redis::{RedisError, RedisResult, Value};
use std::collections::VecDeque;
use std::io::{ErrorKind, Read, Write};
use std::net::{Shutdown, TcpStream};
use std::sync::{Arc, Mutex, MutexGuard, Weak};
use std::thread::ThreadId;
use std::time::{Duration, Instant};
use tokio::sync::oneshot;
use tokio_util::codec::Decoder;

type Reply = oneshot::Sender<RedisResult<Vec<Value>>>;

struct Pending {
    /// Replies this entry takes (1 for a command; a pipeline's count, MULTI/EXEC included).
    expect: usize,
    replies: Vec<Value>,
    reply: Reply,
    sent: Instant,
}

struct ConnState {
    /// Bytes the socket has not taken yet.
    out: Vec<u8>,
    input: BytesMut,
    codec: redis::ValueCodec,
    pending: VecDeque<Pending>,
    writable_wanted: bool,
    broken: bool,
}

/// Called once when a connection breaks, with how long it had been open.
pub(crate) type OnBreak = Box<dyn FnOnce(Duration) + Send>;

pub(crate) struct LoopConn {
    owner: ThreadId,
    stream: TcpStream,
    timeout: Duration,
    state: Mutex<ConnState>,
    born: Instant,
    on_break: Mutex<Option<OnBreak>>,
}

fn key(c: &LoopConn) -> usize {
    c as *const LoopConn as usize
}

fn with_watch(c: &LoopConn, f: impl FnOnce(&dyn eventloop::Watch)) {
    eventloop::with_watch(key(c), f);
}

fn unwatch(c: &LoopConn) {
    eventloop::unwatch(key(c));
}

fn dropped() -> RedisError {
    RedisError::from(std::io::Error::new(
        ErrorKind::ConnectionReset,
        "the connection was dropped",
    ))
}

fn timed_out() -> RedisError {
    RedisError::from(std::io::Error::new(ErrorKind::TimedOut, "no reply in time"))
}

impl LoopConn {
    /// Watches `stream` (connected, handshake done) with this thread's loop.
    pub(crate) fn open(
        stream: TcpStream,
        timeout: Duration,
        on_break: OnBreak,
    ) -> Option<Arc<LoopConn>> {
        use std::os::fd::AsRawFd;
        stream.set_nonblocking(true).ok()?;
        // The server may have closed it between the handshake and now: nothing may be
        // waiting in it, not even the end of the stream.
        match stream.peek(&mut [0u8; 1]) {
            Err(e) if e.kind() == ErrorKind::WouldBlock => {}
            _ => return None,
        }
        let conn = Arc::new(LoopConn {
            owner: std::thread::current().id(),
            stream,
            timeout,
            state: Mutex::new(ConnState {
                out: Vec::new(),
                input: BytesMut::with_capacity(64 * 1024),
                codec: redis::ValueCodec::default(),
                pending: VecDeque::new(),
                writable_wanted: false,
                broken: false,
            }),
            born: Instant::now(),
            on_break: Mutex::new(Some(on_break)),
        });
        if !eventloop::keep_watch(key(&conn), conn.stream.as_raw_fd(), conn.clone()) {
            return None;
        }
        let weak = Arc::downgrade(&conn);
        // An idle connection's watchdog wakes a few times per timeout (one timer wake each);
        // with a command in flight it sleeps until that command's deadline exactly.
        let period = (timeout / 4).max(Duration::from_millis(5));
        if crate::runtime::spawn(watchdog(weak, period)).is_err() {
            conn.close();
            return None;
        }
        Some(conn)
    }

    /// Fails what the connection had in flight and tells the owner, once, that it broke
    /// (outside every lock).
    fn broke(&self, failed: Vec<(Reply, RedisResult<Vec<Value>>)>) {
        finish(failed);
        let f = self
            .on_break
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take();
        if let Some(f) = f {
            f(self.born.elapsed());
        }
    }

    fn lock(&self) -> MutexGuard<'_, ConnState> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub(crate) fn is_owner(&self) -> bool {
        std::thread::current().id() == self.owner
    }

    /// Usable from this thread now.
    pub(crate) fn usable(&self) -> bool {
        std::thread::current().id() == self.owner && !self.lock().broken
    }

    /// Sends `bytes` (packed commands answered by `expect` replies). `None` when nothing
    /// was sent (wrong thread, connection broken): the caller uses the shared connection.
    pub(crate) fn send(
        &self,
        bytes: &[u8],
        expect: usize,
    ) -> Option<oneshot::Receiver<RedisResult<Vec<Value>>>> {
        if std::thread::current().id() != self.owner {
            return None;
        }
        let mut st = self.lock();
        if st.broken {
            return None;
        }
        let mut written = 0;
        if st.out.is_empty() {
            loop {
                match (&self.stream).write(&bytes[written..]) {
                    Ok(n) => {
                        written += n;
                        if written == bytes.len() {
                            break;
                        }
                    }
                    Err(e) if e.kind() == ErrorKind::Interrupted => {}
                    Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                    Err(_) if written == 0 => {
                        // Nothing of it reached the server: it can go elsewhere.
                        let failed = self.break_up(&mut st, dropped);
                        drop(st);
                        self.broke(failed);
                        return None;
                    }
                    Err(_) => break,
                }
            }
        }
        st.out.extend_from_slice(&bytes[written..]);
        let (tx, rx) = oneshot::channel();
        st.pending.push_back(Pending {
            expect,
            replies: Vec::with_capacity(expect.min(64)),
            reply: tx,
            sent: Instant::now(),
        });
        if !st.out.is_empty() && !st.writable_wanted {
            st.writable_wanted = true;
            drop(st);
            with_watch(self, |w| w.want_writable(true));
        }
        eventloop::mark_used();
        Some(rx)
    }

    /// Marks the connection broken and takes what it had in flight, to be failed with
    /// `why` outside the lock.
    fn break_up(
        &self,
        st: &mut ConnState,
        why: fn() -> RedisError,
    ) -> Vec<(Reply, RedisResult<Vec<Value>>)> {
        st.broken = true;
        let _ = self.stream.shutdown(Shutdown::Both);
        st.pending
            .drain(..)
            .map(|p| (p.reply, Err(why())))
            .collect()
    }

    /// Drops the connection (from any thread): what is in flight fails, and the loop
    /// stops watching the socket when it sees it closed.
    pub(crate) fn close(&self) {
        let failed = {
            let mut st = self.lock();
            self.break_up(&mut st, dropped)
        };
        finish(failed);
    }

    /// The watchdog's check: fails everything once the oldest command waited too long.
    /// Returns how long to sleep before the next check (until the oldest command's deadline,
    /// or `idle` when nothing is in flight or its answer waits to be read), `None` once the
    /// connection is gone. Sleeping to the deadline, not a fixed period, is what keeps a
    /// frozen server's rejection at `commandTimeout` instead of up to 1.25× it.
    fn expire(&self, idle: Duration) -> Option<Duration> {
        let failed = {
            let mut st = self.lock();
            if st.broken {
                return None;
            }
            let Some(p) = st.pending.front() else {
                return Some(idle);
            };
            let waited = p.sent.elapsed();
            if waited < self.timeout {
                return Some(self.timeout - waited);
            }
            if self.answered() {
                return Some(idle);
            }
            self.break_up(&mut st, timed_out)
        };
        self.broke(failed);
        None
    }

    /// Whether bytes wait in the socket: the server answered and the JS thread has not read
    /// them yet (it is busy), which is no reason to give up on the connection.
    fn answered(&self) -> bool {
        matches!(self.stream.peek(&mut [0u8; 1]), Ok(n) if n > 0)
    }

    /// Writes what waits, reads what came: runs on the owner thread, inside a loop turn.
    fn pump(&self, writable: bool) -> Vec<(Reply, RedisResult<Vec<Value>>)> {
        let mut done = Vec::new();
        let mut st = self.lock();
        if st.broken {
            return done;
        }
        if writable || !st.out.is_empty() {
            let mut written = 0;
            while written < st.out.len() {
                match (&self.stream).write(&st.out[written..]) {
                    Ok(n) => written += n,
                    Err(e) if e.kind() == ErrorKind::Interrupted => {}
                    Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                    Err(_) => return self.break_up(&mut st, dropped),
                }
            }
            st.out.drain(..written);
        }
        let mut buf = [0u8; 16 * 1024];
        loop {
            match (&self.stream).read(&mut buf) {
                Ok(0) => {
                    done.extend(self.break_up(&mut st, dropped));
                    return done;
                }
                Ok(n) => st.input.extend_from_slice(&buf[..n]),
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                Err(_) => {
                    done.extend(self.break_up(&mut st, dropped));
                    return done;
                }
            }
        }
        let st = &mut *st;
        loop {
            let value = match st.codec.decode(&mut st.input) {
                Ok(Some(v)) => v,
                Ok(None) => break,
                Err(_) => {
                    done.extend(self.break_up(st, dropped));
                    return done;
                }
            };
            let Some(front) = st.pending.front_mut() else {
                // A reply nobody asked for: the stream is out of step.
                done.extend(self.break_up(st, dropped));
                return done;
            };
            front.replies.push(value);
            if front.replies.len() == front.expect {
                if let Some(p) = st.pending.pop_front() {
                    done.push((p.reply, Ok(p.replies)));
                }
            }
        }
        done
    }
}

fn finish(done: Vec<(Reply, RedisResult<Vec<Value>>)>) {
    for (reply, result) in done {
        let _ = reply.send(result);
    }
}

impl eventloop::Io for LoopConn {
    fn ready(&self, _readable: bool, writable: bool, _failed: bool) {
        let done = self.pump(writable);
        let (broken, idle_writer) = {
            let st = self.lock();
            (st.broken, st.writable_wanted && st.out.is_empty())
        };
        if idle_writer {
            self.lock().writable_wanted = false;
            with_watch(self, |w| w.want_writable(false));
        }
        // Replies first: their waiters run at the end of this turn.
        if broken {
            unwatch(self);
            self.broke(done);
        } else {
            finish(done);
        }
    }
}

/// The client name of event-loop connections (`CLIENT LIST` shows it).
pub const LOOP_CLIENT_NAME: &str = "nvent-loop";

/// Opens a plain TCP connection to the configured server and authenticates it and selects
/// its database, as the driver does for its own connections.
///
/// # Errors
/// As the driver's connections: classified (`NVENT_AUTH`, `NVENT_BACKEND_UNAVAILABLE`).
pub(crate) async fn connect(c: &RedisConfig) -> crate::Result<TcpStream> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let unreachable = |why: &str| crate::NventError::BackendUnavailable {
        message: format!("redis at {} is unreachable ({why})", c.address()),
    };
    let handshake = async {
        let mut s = tokio::net::TcpStream::connect((c.host.as_str(), c.port))
            .await
            .map_err(|_| unreachable("connect failed"))?;
        s.set_nodelay(true)
            .map_err(|_| unreachable("connect failed"))?;
        let mut hello = Vec::new();
        let mut expect = 0;
        if let Some(p) = c.password() {
            let mut auth = redis::cmd("AUTH");
            if let Some(u) = &c.username {
                auth.arg(u.as_str());
            }
            auth.arg(p).write_packed_command(&mut hello);
            expect += 1;
        }
        if c.db != 0 {
            redis::cmd("SELECT")
                .arg(c.db)
                .write_packed_command(&mut hello);
            expect += 1;
        }
        // Named, so that `CLIENT LIST` tells it apart; a user not allowed CLIENT (a
        // least-privilege ACL) gets an error here, which is ignored.
        redis::cmd("CLIENT")
            .arg("SETNAME")
            .arg(LOOP_CLIENT_NAME)
            .write_packed_command(&mut hello);
        let named = expect;
        expect += 1;
        let mut seen = 0;
        s.write_all(&hello)
            .await
            .map_err(|_| unreachable("connection dropped"))?;
        let mut codec = redis::ValueCodec::default();
        let mut input = BytesMut::new();
        while expect > 0 {
            match codec.decode(&mut input) {
                Ok(Some(redis::Value::ServerError(e))) if seen != named => {
                    return Err(super::connection::classify(&e.into(), c));
                }
                Ok(Some(_)) => {
                    expect -= 1;
                    seen += 1;
                }
                Ok(None) => {
                    if s.read_buf(&mut input)
                        .await
                        .map_err(|_| unreachable("connection dropped"))?
                        == 0
                    {
                        return Err(unreachable("connection dropped"));
                    }
                }
                Err(_) => return Err(unreachable("bad reply")),
            }
        }
        s.into_std().map_err(|_| unreachable("connect failed"))
    };
    tokio::time::timeout(c.connect_timeout, handshake)
        .await
        .map_err(|_| unreachable("connect timed out"))?
}

async fn watchdog(conn: Weak<LoopConn>, idle: Duration) {
    let mut next = idle;
    loop {
        tokio::time::sleep(next).await;
        match conn.upgrade().and_then(|c| c.expire(idle)) {
            Some(n) => next = n,
            None => return,
        }
    }
}
