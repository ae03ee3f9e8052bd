//! A fault-injecting TCP proxy for tests: it sits between a client and a real server on
//! loopback and can add latency, throttle bandwidth, stall (keep the sockets open but silently
//! drop every byte, as a half-open connection does), cut connections after N bytes, and reset
//! them. Faults can be changed while connections are open; they apply to every connection.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::tcp::{ReadHalf, WriteHalf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Notify, watch};
use tokio::task::JoinHandle;

/// Bytes read per forwarding step; small enough that throttling and cuts are precise.
const STEP: usize = 16 * 1024;

/// The faults in force; shared by every connection of a proxy.
#[derive(Debug, Default)]
struct Faults {
    latency_us: AtomicU64,
    bytes_per_sec: AtomicU64,
    stalled: AtomicBool,
    /// Cut a connection once this many bytes crossed it (both directions) since the cut was
    /// set or the connection opened; 0 = never.
    cut_after: AtomicU64,
    /// Bumped by every `cut_after`, so each connection counts from the moment it was set.
    cut_generation: AtomicU64,
    dropped: AtomicU64,
    cuts: AtomicU64,
    connections: AtomicUsize,
}

/// What one connection has carried, shared by its two directions.
#[derive(Debug)]
struct Crossed {
    /// Bytes both ways since the connection opened.
    total: AtomicU64,
    /// The cut generation this connection last saw, and `total` at that moment.
    generation: AtomicU64,
    base: AtomicU64,
}

/// A running proxy; stops (and closes every connection) on drop.
#[derive(Debug)]
pub struct FaultProxy {
    addr: SocketAddr,
    faults: Arc<Faults>,
    reset: watch::Sender<u64>,
    accept: JoinHandle<()>,
}

impl FaultProxy {
    /// Listens on an ephemeral loopback port and forwards each connection to `upstream`.
    pub async fn start(upstream: SocketAddr) -> std::io::Result<FaultProxy> {
        FaultProxy::start_on(SocketAddr::from(([127, 0, 0, 1], 0)), upstream).await
    }

    /// Listens on `bind` (a fleet node's public address, say, so that the node's known_hosts
    /// entry names the proxy) and forwards each connection to `upstream`.
    pub async fn start_on(bind: SocketAddr, upstream: SocketAddr) -> std::io::Result<FaultProxy> {
        let listener = TcpListener::bind(bind).await?;
        let addr = listener.local_addr()?;
        let faults = Arc::new(Faults::default());
        let (reset, reset_rx) = watch::channel(0u64);
        let f = faults.clone();
        let accept = tokio::spawn(async move {
            let mut conns = tokio::task::JoinSet::new();
            while let Ok((client, _)) = listener.accept().await {
                let f = f.clone();
                let reset_rx = reset_rx.clone();
                conns.spawn(async move {
                    if let Ok(server) = TcpStream::connect(upstream).await {
                        f.connections.fetch_add(1, Ordering::SeqCst);
                        relay(client, server, f.clone(), reset_rx).await;
                        f.connections.fetch_sub(1, Ordering::SeqCst);
                    }
                });
                while conns.try_join_next().is_some() {}
            }
        });
        Ok(FaultProxy {
            addr,
            faults,
            reset,
            accept,
        })
    }

    /// The address clients connect to.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Delays every forwarded chunk by `latency`.
    pub fn set_latency(&self, latency: Duration) {
        let us = u64::try_from(latency.as_micros()).unwrap_or(u64::MAX);
        self.faults.latency_us.store(us, Ordering::SeqCst);
    }

    /// Limits each direction of each connection to `bytes_per_sec`; `None` lifts the limit.
    pub fn set_bandwidth(&self, bytes_per_sec: Option<u64>) {
        self.faults
            .bytes_per_sec
            .store(bytes_per_sec.unwrap_or(0), Ordering::SeqCst);
    }

    /// Starts or ends a stall: bytes are read and dropped, nothing is forwarded, nothing is
    /// closed, so neither side learns anything (a half-open connection).
    pub fn set_stalled(&self, stalled: bool) {
        self.faults.stalled.store(stalled, Ordering::SeqCst);
    }

    /// Cuts the first connection (both sockets closed) that carries `bytes` more, counted from
    /// now for open connections and from their start for new ones; once, then the cut is spent.
    /// `None` disarms it.
    pub fn cut_after(&self, bytes: Option<u64>) {
        self.faults
            .cut_after
            .store(bytes.unwrap_or(0), Ordering::SeqCst);
        self.faults.cut_generation.fetch_add(1, Ordering::SeqCst);
    }

    /// Whether a cut is armed and has not fired yet.
    pub fn cut_pending(&self) -> bool {
        self.faults.cut_after.load(Ordering::SeqCst) > 0
    }

    /// Connections cut so far.
    pub fn cuts(&self) -> u64 {
        self.faults.cuts.load(Ordering::SeqCst)
    }

    /// Resets every open connection now (TCP RST to both sides).
    pub fn reset_all(&self) {
        self.reset.send_modify(|n| *n += 1);
    }

    /// Connections currently relayed.
    pub fn connections(&self) -> usize {
        self.faults.connections.load(Ordering::SeqCst)
    }

    /// Bytes dropped by stalls so far.
    pub fn dropped_bytes(&self) -> u64 {
        self.faults.dropped.load(Ordering::SeqCst)
    }
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        self.reset_all();
        self.accept.abort();
    }
}

/// Relays one connection until either side closes, a cut or a reset.
async fn relay(
    mut client: TcpStream,
    mut server: TcpStream,
    f: Arc<Faults>,
    mut reset: watch::Receiver<u64>,
) {
    let _ = client.set_nodelay(true);
    let _ = server.set_nodelay(true);
    let crossed = Arc::new(Crossed {
        total: AtomicU64::new(0),
        generation: AtomicU64::new(f.cut_generation.load(Ordering::SeqCst)),
        base: AtomicU64::new(0),
    });
    let cut = Arc::new(Notify::new());
    reset.borrow_and_update();
    let reset_now = {
        // Borrowed halves, unlike owned ones, send no FIN when dropped, so a reset can still
        // turn the close into an RST below.
        let (cr, cw) = client.split();
        let (sr, sw) = server.split();
        let up = pump(cr, sw, f.clone(), crossed.clone(), cut.clone());
        let down = pump(sr, cw, f, crossed, cut.clone());
        tokio::select! {
            _ = async { tokio::join!(up, down) } => false,
            // A cut ends both directions at once, whatever the other side is doing.
            _ = cut.notified() => false,
            _ = reset.changed() => true,
        }
    };
    if reset_now {
        // Closing a socket whose linger time is zero sends RST instead of FIN.
        for s in [&client, &server] {
            let _ = socket2::SockRef::from(s).set_linger(Some(Duration::ZERO));
        }
    }
}

/// Forwards one direction, applying the faults, and passes end-of-file on (half-close) when the
/// source ends.
async fn pump(
    mut from: ReadHalf<'_>,
    mut to: WriteHalf<'_>,
    f: Arc<Faults>,
    crossed: Arc<Crossed>,
    cut_signal: Arc<Notify>,
) {
    let mut buf = vec![0u8; STEP];
    loop {
        let n = match from.read(&mut buf).await {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        let before = crossed.total.fetch_add(n as u64, Ordering::SeqCst);
        let generation = f.cut_generation.load(Ordering::SeqCst);
        if crossed.generation.swap(generation, Ordering::SeqCst) != generation {
            crossed.base.store(before, Ordering::SeqCst);
        }
        let since = before + n as u64 - crossed.base.load(Ordering::SeqCst);
        let cut = f.cut_after.load(Ordering::SeqCst);
        // The first connection past the mark spends the cut; any other goes on.
        if cut > 0
            && since > cut
            && f.cut_after
                .compare_exchange(cut, 0, Ordering::SeqCst, Ordering::SeqCst)
                .is_ok()
        {
            // Forward what fits under the limit, then cut both sockets.
            let keep = usize::try_from(cut.saturating_sub(since - n as u64)).unwrap_or(0);
            let _ = to.write_all(&buf[..keep.min(n)]).await;
            let _ = to.shutdown().await;
            f.cuts.fetch_add(1, Ordering::SeqCst);
            cut_signal.notify_one();
            return;
        }
        if f.stalled.load(Ordering::SeqCst) {
            f.dropped.fetch_add(n as u64, Ordering::SeqCst);
            continue;
        }
        let latency = f.latency_us.load(Ordering::SeqCst);
        if latency > 0 {
            tokio::time::sleep(Duration::from_micros(latency)).await;
        }
        let rate = f.bytes_per_sec.load(Ordering::SeqCst);
        if rate > 0 {
            tokio::time::sleep(Duration::from_secs_f64(n as f64 / rate as f64)).await;
        }
        if to.write_all(&buf[..n]).await.is_err() {
            break;
        }
    }
    let _ = to.shutdown().await;
}
