//! The connections of one backend: session channels go to the first connection with room, a
//! further connection is dialed when the server's `MaxSessions` refuses more, a lost connection
//! is redialed on the next call (with back-off after failures), and keep-alives probe them all.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use russh::Channel;
use russh::client::Msg;

use crate::error::{Error, ErrorCode, Result};

use super::connection::{Conn, dial};
use super::errors::map;
use super::options::Route;

/// The most connections one backend opens. With OpenSSH's default `MaxSessions` of 10 that is
/// 320 sessions at once, far past what a target should be asked to run.
const MAX_CONNS: usize = 32;

/// The first wait after a failed reconnect; it doubles per failure up to [`BACKOFF_MAX`].
const BACKOFF_FIRST: Duration = Duration::from_secs(1);

/// The longest wait between reconnect attempts.
const BACKOFF_MAX: Duration = Duration::from_secs(30);

/// The longest `send_keep_alive` waits for a reply, so a half-open connection fails fast.
const KEEP_ALIVE_REPLY_MAX: Duration = Duration::from_secs(5);

/// How long a connection beyond the first may sit without a session before it is closed: a
/// burst of sessions grows the pool, and the connections it opened should not outlive it.
const IDLE_MAX: Duration = Duration::from_secs(5);

/// How long `close` waits for each connection's disconnect to be sent.
const DISCONNECT_WAIT: Duration = Duration::from_secs(2);

#[derive(Default)]
struct State {
    closed: bool,
    last_err: Option<Error>,
    failures: u32,
    retry_at: Option<Instant>,
}

/// The connections to one target.
pub(crate) struct Pool {
    route: Route,
    target: String,
    conns: Mutex<Vec<Arc<Conn>>>,
    dialing: tokio::sync::Mutex<()>,
    state: Mutex<State>,
    next_id: AtomicU64,
}

/// A session channel's claim on its connection: counted while held, released on drop.
pub(crate) struct Lease {
    conn: Arc<Conn>,
}

impl Lease {
    /// The connection the channel runs on.
    pub fn conn(&self) -> &Arc<Conn> {
        &self.conn
    }
}

impl Drop for Lease {
    fn drop(&mut self) {
        if self.conn.in_use.fetch_sub(1, Ordering::AcqRel) == 1 {
            *self
                .conn
                .idle_since
                .lock()
                .unwrap_or_else(|p| p.into_inner()) = Some(Instant::now());
        }
        self.conn.confirmed.fetch_sub(1, Ordering::AcqRel);
    }
}

/// Whether `conn` has had no session for [`IDLE_MAX`].
fn idle_too_long(conn: &Conn) -> bool {
    conn.in_use.load(Ordering::Acquire) == 0
        && conn
            .idle_since
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .is_some_and(|t| t.elapsed() >= IDLE_MAX)
}

/// Whether `conn` may take one more session channel.
fn has_room(conn: &Conn) -> bool {
    let limit = conn.capacity.load(Ordering::Acquire);
    limit == 0 || conn.in_use.load(Ordering::Acquire) < limit
}

impl Pool {
    pub fn new(route: Route, target: String) -> Pool {
        Pool {
            route,
            target,
            conns: Mutex::new(Vec::new()),
            dialing: tokio::sync::Mutex::new(()),
            state: Mutex::new(State::default()),
            next_id: AtomicU64::new(1),
        }
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn check_open(&self, op: &str) -> Result<()> {
        if self.state().closed {
            return Err(Error::new(
                ErrorCode::ConnectionLost,
                op,
                &self.target,
                "the backend is closed",
            ));
        }
        Ok(())
    }

    /// The live connections, forgetting (and remembering the loss of) dead ones, and closing
    /// those beyond the first that sat idle for [`IDLE_MAX`].
    fn live(&self) -> Vec<Arc<Conn>> {
        let mut conns = self.conns.lock().unwrap_or_else(|p| p.into_inner());
        let mut lost = None;
        conns.retain(|c| {
            let alive = c.is_alive();
            if !alive {
                lost = Some(c.lost_reason());
            }
            alive
        });
        // Closing takes a runtime to send the disconnect on; without one, idle ones wait.
        let rt = tokio::runtime::Handle::try_current().ok();
        let mut idle = Vec::new();
        let mut first = true;
        conns.retain(|c| {
            let keep = std::mem::take(&mut first) || rt.is_none() || !idle_too_long(c);
            if !keep {
                idle.push(c.clone());
            }
            keep
        });
        let live = conns.clone();
        drop(conns);
        if let Some(rt) = rt.filter(|_| !idle.is_empty()) {
            tracing::debug!(
                target = self.target,
                n = idle.len(),
                "closing idle connections"
            );
            rt.spawn(async move {
                let bye = idle
                    .iter()
                    .map(|c| tokio::time::timeout(DISCONNECT_WAIT, c.disconnect()));
                futures::future::join_all(bye).await;
            });
        }
        if let Some(why) = lost {
            tracing::debug!(target = self.target, why, "connection lost");
            self.state().last_err = Some(Error::new(
                ErrorCode::ConnectionLost,
                "connection",
                &self.target,
                why,
            ));
        }
        live
    }

    /// Dials the first connection.
    pub async fn start(&self) -> Result<()> {
        self.check_open("start")?;
        if self.live().is_empty() {
            self.grow(true).await?;
        }
        Ok(())
    }

    pub fn is_connected(&self) -> bool {
        let closed = self.state().closed;
        !closed && !self.live().is_empty()
    }

    pub fn last_err(&self) -> Option<Error> {
        self.live();
        self.state().last_err.clone()
    }

    /// Opens a session channel on the first connection with room, dialing another connection
    /// when every one refuses (the server's `MaxSessions`) or none is left.
    pub async fn open_session(&self) -> Result<(Channel<Msg>, Lease)> {
        self.check_open("open session")?;
        for _ in 0..=MAX_CONNS {
            for conn in self.live() {
                if !has_room(&conn) {
                    continue;
                }
                conn.in_use.fetch_add(1, Ordering::AcqRel);
                match conn.handle.channel_open_session().await {
                    Ok(ch) => {
                        conn.confirmed.fetch_add(1, Ordering::AcqRel);
                        return Ok((ch, Lease { conn }));
                    }
                    Err(russh::Error::ChannelOpenFailure(reason)) => {
                        conn.in_use.fetch_sub(1, Ordering::AcqRel);
                        // The sessions open right now are what this server allows at once.
                        let open = conn.confirmed.load(Ordering::Acquire).max(1);
                        conn.capacity.fetch_max(open, Ordering::AcqRel);
                        tracing::debug!(conn = conn.id, open, ?reason, "session refused");
                    }
                    Err(e) => {
                        conn.in_use.fetch_sub(1, Ordering::AcqRel);
                        conn.mark_dead(&map("open session", &self.target, e).to_string());
                    }
                }
            }
            self.grow(false).await?;
        }
        Err(Error::new(
            ErrorCode::Busy,
            "open session",
            &self.target,
            "no connection could take another session",
        ))
    }

    /// Dials one more connection, unless one with room appeared while we waited for our turn.
    /// Refuses during the back-off that follows a failed dial.
    async fn grow(&self, first: bool) -> Result<()> {
        let _turn = self.dialing.lock().await;
        self.check_open("connect")?;
        let live = self.live();
        if (first && !live.is_empty()) || (!first && live.iter().any(|c| has_room(c))) {
            return Ok(());
        }
        if live.len() >= MAX_CONNS {
            return Err(Error::new(
                ErrorCode::Busy,
                "open session",
                &self.target,
                format!(
                    "the server refused more sessions on all {} connections (MaxSessions)",
                    live.len()
                ),
            ));
        }
        let (retry_at, failures, last) = {
            let st = self.state();
            (st.retry_at, st.failures, st.last_err.clone())
        };
        let now = Instant::now();
        if let Some(at) = retry_at.filter(|at| *at > now) {
            return Err(Error::new(
                ErrorCode::ConnectionLost,
                "reconnect",
                &self.target,
                format!(
                    "waiting {:.1} s before the next attempt after {failures} failed; last error: {}",
                    (at - now).as_secs_f64(),
                    last.map_or_else(|| "none".to_string(), |e| e.to_string())
                ),
            ));
        }
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        match dial(&self.route, id).await {
            Ok(conn) => {
                tracing::debug!(target = self.target, conn = id, "connected");
                self.conns
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .push(Arc::new(conn));
                let mut st = self.state();
                st.failures = 0;
                st.retry_at = None;
                st.last_err = None;
                Ok(())
            }
            Err(e) => {
                let mut st = self.state();
                st.failures += 1;
                let wait = BACKOFF_FIRST
                    .saturating_mul(1 << st.failures.saturating_sub(1).min(5))
                    .min(BACKOFF_MAX);
                st.retry_at = Some(Instant::now() + wait);
                st.last_err = Some(e.clone());
                Err(e)
            }
        }
    }

    /// Asks every connection for a reply to `keepalive@openssh.com`; a connection that does
    /// not answer in time (half-open) or is gone is marked dead and the error returned.
    pub async fn keep_alive(&self) -> Result<()> {
        self.check_open("keep-alive")?;
        let conns = self.live();
        if conns.is_empty() {
            return Err(self.state().last_err.clone().unwrap_or_else(|| {
                Error::new(
                    ErrorCode::ConnectionLost,
                    "keep-alive",
                    &self.target,
                    "not connected",
                )
            }));
        }
        let wait = self
            .route
            .keep_alive
            .unwrap_or(KEEP_ALIVE_REPLY_MAX)
            .min(KEEP_ALIVE_REPLY_MAX);
        let probes = conns.iter().map(|c| async move {
            let reply = tokio::time::timeout(
                wait,
                c.handle
                    .send_global_request("keepalive@openssh.com", &[], true),
            )
            .await;
            match reply {
                // OpenSSH answers an unknown global request with a failure: still an answer.
                Ok(Ok(_) | Err(russh::Error::RequestDenied)) => Ok(()),
                Ok(Err(e)) => {
                    let err = map("keep-alive", &self.target, e);
                    c.mark_dead(err.message());
                    Err(err)
                }
                Err(_) => {
                    let why = format!("no keep-alive reply within {} ms", wait.as_millis());
                    c.mark_dead(&why);
                    Err(Error::new(
                        ErrorCode::ConnectionLost,
                        "keep-alive",
                        &self.target,
                        why,
                    ))
                }
            }
        });
        let results = futures::future::join_all(probes).await;
        self.live();
        results.into_iter().collect::<Result<Vec<()>>>().map(drop)
    }

    /// Closes every connection; later calls fail.
    pub async fn close(&self) {
        self.state().closed = true;
        let conns: Vec<Arc<Conn>> =
            std::mem::take(&mut *self.conns.lock().unwrap_or_else(|p| p.into_inner()));
        let bye = conns
            .iter()
            .map(|c| tokio::time::timeout(DISCONNECT_WAIT, c.disconnect()));
        futures::future::join_all(bye).await;
    }

    /// The number of live connections (for tests and diagnostics).
    pub fn connections(&self) -> usize {
        self.live().len()
    }
}
