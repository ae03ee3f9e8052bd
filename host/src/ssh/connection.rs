//! Dialing one authenticated SSH connection: TCP (or a `direct-tcpip` channel of the previous
//! jump host), the handshake with host-key verification, then user authentication.

use std::borrow::Cow;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use russh::client::{self, DisconnectReason, Handle, Handler};
use russh::keys::PublicKeyOrCertificate;
use russh::{Preferred, cipher};

use crate::error::{Error, ErrorCode, Result};

use super::auth::authenticate;
use super::errors::map;
use super::known_hosts::HostKeyPolicy;
use super::options::{Endpoint, Route};

/// The receive window per channel. russh re-grants it as data arrives, so it bounds what is in
/// flight on a high-latency link; 8 MiB keeps a 1 Gbit/s link with 60 ms RTT busy.
const WINDOW: u32 = 8 << 20;

/// The largest packet SSH allows a peer to send us; bigger packets mean fewer per-packet costs.
const MAX_PACKET: u32 = 65535;

/// Messages (up to a packet each, 32 KiB from OpenSSH) buffered per channel before the
/// connection waits for the channel's reader: bounds the memory a slow reader can pin.
const CHANNEL_BUFFER: usize = 64;

/// Ciphers in our order of preference: AES-GCM first because it runs on the CPU's AES
/// instructions and is the fastest here; ChaCha20 for peers without it.
const CIPHERS: &[cipher::Name] = &[
    cipher::AES_256_GCM,
    cipher::AES_128_GCM,
    cipher::CHACHA20_POLY1305,
    cipher::AES_256_CTR,
    cipher::AES_128_CTR,
];

/// The russh client handler of one hop: verifies the host key and remembers why the connection
/// ended.
pub(crate) struct Client {
    key_name: String,
    host_keys: HostKeyPolicy,
    lost: Arc<Mutex<Option<String>>>,
}

/// Why a handshake failed: our host-key verdict (kept as it is), or russh's error.
#[derive(Debug)]
pub(crate) enum ClientError {
    HostKey(Error),
    Ssh(russh::Error),
}

impl From<russh::Error> for ClientError {
    fn from(e: russh::Error) -> ClientError {
        ClientError::Ssh(e)
    }
}

impl Handler for Client {
    type Error = ClientError;

    async fn check_server_key(
        &mut self,
        key: &PublicKeyOrCertificate,
    ) -> std::result::Result<bool, ClientError> {
        self.host_keys
            .verify(&self.key_name, &key.public_key())
            .map(|()| true)
            .map_err(ClientError::HostKey)
    }

    async fn disconnected(
        &mut self,
        reason: DisconnectReason<ClientError>,
    ) -> std::result::Result<(), ClientError> {
        let why = match &reason {
            DisconnectReason::ReceivedDisconnect(info) => {
                format!("the server closed the connection ({})", info.message)
            }
            DisconnectReason::Error(ClientError::Ssh(e)) => e.to_string(),
            DisconnectReason::Error(ClientError::HostKey(e)) => e.to_string(),
        };
        if let Ok(mut lost) = self.lost.lock() {
            lost.get_or_insert(why);
        }
        match reason {
            DisconnectReason::ReceivedDisconnect(_) => Ok(()),
            DisconnectReason::Error(e) => Err(e),
        }
    }
}

/// One authenticated connection of the pool, with the jump connections it runs through.
pub(crate) struct Conn {
    pub id: u64,
    pub handle: Handle<Client>,
    /// Kept open for as long as the connection through them lives.
    jumps: Vec<Handle<Client>>,
    lost: Arc<Mutex<Option<String>>>,
    dead: AtomicBool,
    /// Session channels opened or being opened on this connection.
    pub in_use: AtomicUsize,
    /// Session channels the server confirmed and we still hold.
    pub confirmed: AtomicUsize,
    /// How many session channels the server allows at once (its `MaxSessions`), as far as a
    /// refusal taught us; 0 until one did.
    pub capacity: AtomicUsize,
    /// When the last session channel on it ended (`None` while one is open or none ever was).
    pub idle_since: Mutex<Option<std::time::Instant>>,
}

impl Conn {
    /// Whether the connection (and every jump under it) is still up.
    pub fn is_alive(&self) -> bool {
        !self.dead.load(Ordering::Acquire)
            && !self.handle.is_closed()
            && self.jumps.iter().all(|j| !j.is_closed())
    }

    /// Marks the connection dead after a failed keep-alive; it is never used again.
    pub fn mark_dead(&self, why: &str) {
        if let Ok(mut lost) = self.lost.lock() {
            lost.get_or_insert_with(|| why.to_string());
        }
        self.dead.store(true, Ordering::Release);
    }

    /// Why the connection ended, when it did.
    pub fn lost_reason(&self) -> String {
        self.lost
            .lock()
            .ok()
            .and_then(|l| l.clone())
            .unwrap_or_else(|| "the connection closed".to_string())
    }

    /// Ends the connection politely; the server sees a normal disconnect.
    pub async fn disconnect(&self) {
        self.dead.store(true, Ordering::Release);
        let _ = self
            .handle
            .disconnect(russh::Disconnect::ByApplication, "closed", "en")
            .await;
        for j in self.jumps.iter().rev() {
            let _ = j
                .disconnect(russh::Disconnect::ByApplication, "closed", "en")
                .await;
        }
    }
}

/// The client configuration for one hop: host-key types known for it come first.
fn client_config(route: &Route, ep: &Endpoint) -> Arc<client::Config> {
    let keys = ep
        .host_keys
        .preferred_algorithms(&ep.key_name, &Preferred::DEFAULT.key);
    Arc::new(client::Config {
        window_size: WINDOW,
        maximum_packet_size: MAX_PACKET,
        channel_buffer_size: CHANNEL_BUFFER,
        keepalive_interval: route.keep_alive,
        keepalive_max: usize::try_from(route.keep_alive_max).unwrap_or(usize::MAX),
        nodelay: true,
        preferred: Preferred {
            key: Cow::Owned(keys),
            cipher: Cow::Borrowed(CIPHERS),
            ..Preferred::default()
        },
        ..client::Config::default()
    })
}

/// Dials the route: every jump host in turn, each carrying the next hop in a `direct-tcpip`
/// channel, then the target. Each hop's TCP connect and handshake is bounded by the route's
/// connect timeout; authentication is not, since it may wait for the user's passphrase.
pub(crate) async fn dial(route: &Route, id: u64) -> Result<Conn> {
    let mut handles: Vec<Handle<Client>> = Vec::new();
    let mut lost = Arc::new(Mutex::new(None));
    for ep in route.jumps.iter().chain(std::iter::once(&route.target)) {
        lost = Arc::new(Mutex::new(None));
        let config = client_config(route, ep);
        let client = Client {
            key_name: ep.key_name.clone(),
            host_keys: ep.host_keys.clone(),
            lost: lost.clone(),
        };
        let handshake = async {
            match handles.last() {
                None => {
                    let tcp = tokio::net::TcpStream::connect((ep.host.as_str(), ep.port))
                        .await
                        .map_err(|e| unreachable(ep, e))?;
                    // Without it every small request waits for the previous ACK (Nagle).
                    let _ = tcp.set_nodelay(true);
                    client::connect_stream(config.clone(), tcp, client)
                        .await
                        .map_err(|e| handshake_error(ep, e))
                }
                Some(prev) => {
                    let ch = prev
                        .channel_open_direct_tcpip(
                            ep.host.as_str(),
                            u32::from(ep.port),
                            "127.0.0.1",
                            0,
                        )
                        .await
                        .map_err(|e| map("connect through jump host", &ep.display(), e))?;
                    client::connect_stream(config.clone(), ch.into_stream(), client)
                        .await
                        .map_err(|e| handshake_error(ep, e))
                }
            }
        };
        let mut handle = tokio::time::timeout(route.connect_timeout, handshake)
            .await
            .map_err(|_| {
                Error::new(
                    ErrorCode::Timeout,
                    "connect",
                    ep.display(),
                    format!(
                        "no SSH handshake within {} s (ConnectTimeout)",
                        route.connect_timeout.as_secs()
                    ),
                )
            })??;
        authenticate(&mut handle, ep).await?;
        handles.push(handle);
    }
    let handle = handles
        .pop()
        .ok_or_else(|| Error::new(ErrorCode::Io, "connect", route.target.display(), "no hops"))?;
    Ok(Conn {
        id,
        handle,
        jumps: handles,
        lost,
        dead: AtomicBool::new(false),
        in_use: AtomicUsize::new(0),
        confirmed: AtomicUsize::new(0),
        capacity: AtomicUsize::new(0),
        idle_since: Mutex::new(None),
    })
}

fn unreachable(ep: &Endpoint, e: std::io::Error) -> Error {
    Error::new(
        ErrorCode::ConnectionLost,
        "connect",
        ep.display(),
        format!("cannot reach {}:{}: {e}", ep.host, ep.port),
    )
    .with_source(e)
}

fn handshake_error(ep: &Endpoint, e: ClientError) -> Error {
    match e {
        ClientError::HostKey(e) => e,
        ClientError::Ssh(e) => map("SSH handshake", &ep.display(), e),
    }
}
