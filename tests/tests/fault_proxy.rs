//! The fault proxy itself, against a real echo server on loopback: each fault does what it says,
//! so tests that use it to break backends can trust it.

use std::time::{Duration, Instant};

use remote_tests::fault_proxy::FaultProxy;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::time::timeout;

/// Every wait in these tests is bounded by this.
const LIMIT: Duration = Duration::from_secs(10);

async fn echo_server() -> std::net::SocketAddr {
    let l = TcpListener::bind("127.0.0.1:0")
        .await
        .unwrap_or_else(|e| panic!("bind: {e}"));
    let addr = l.local_addr().unwrap_or_else(|e| panic!("addr: {e}"));
    tokio::spawn(async move {
        while let Ok((mut s, _)) = l.accept().await {
            tokio::spawn(async move {
                let (mut r, mut w) = s.split();
                let _ = tokio::io::copy(&mut r, &mut w).await;
            });
        }
    });
    addr
}

async fn proxy() -> FaultProxy {
    FaultProxy::start(echo_server().await)
        .await
        .unwrap_or_else(|e| panic!("proxy: {e}"))
}

async fn connect(p: &FaultProxy) -> TcpStream {
    timeout(LIMIT, TcpStream::connect(p.addr()))
        .await
        .unwrap_or_else(|_| panic!("connect timed out"))
        .unwrap_or_else(|e| panic!("connect: {e}"))
}

async fn round_trip(s: &mut TcpStream, data: &[u8]) -> std::io::Result<Vec<u8>> {
    s.write_all(data).await?;
    let mut back = vec![0; data.len()];
    s.read_exact(&mut back).await?;
    Ok(back)
}

#[tokio::test]
async fn passes_bytes_unchanged_without_faults() {
    let p = proxy().await;
    let mut s = connect(&p).await;
    let data: Vec<u8> = (0..200_000u32).map(|i| i as u8).collect();
    let back = timeout(LIMIT, round_trip(&mut s, &data)).await;
    assert_eq!(back.ok().and_then(Result::ok), Some(data));
    assert_eq!(p.connections(), 1);
}

#[tokio::test]
async fn latency_delays_a_round_trip() {
    let p = proxy().await;
    let mut s = connect(&p).await;
    p.set_latency(Duration::from_millis(150));
    let start = Instant::now();
    let back = timeout(LIMIT, round_trip(&mut s, b"ping")).await;
    assert_eq!(back.ok().and_then(Result::ok), Some(b"ping".to_vec()));
    // Two directions, each delayed: a lower bound, which load cannot make fail.
    assert!(
        start.elapsed() >= Duration::from_millis(300),
        "{:?}",
        start.elapsed()
    );
}

#[tokio::test]
async fn bandwidth_limit_throttles_a_transfer() {
    let p = proxy().await;
    let mut s = connect(&p).await;
    p.set_bandwidth(Some(256 * 1024));
    let start = Instant::now();
    let back = timeout(LIMIT, round_trip(&mut s, &[7u8; 128 * 1024])).await;
    assert!(back.ok().and_then(Result::ok).is_some());
    // 128 KiB at 256 KiB/s each way: at least half a second.
    assert!(
        start.elapsed() >= Duration::from_millis(500),
        "{:?}",
        start.elapsed()
    );
}

#[tokio::test]
async fn stall_drops_bytes_silently_until_lifted() {
    let p = proxy().await;
    let mut s = connect(&p).await;
    p.set_stalled(true);
    s.write_all(b"lost").await.unwrap_or_else(|e| panic!("{e}"));
    let mut buf = [0u8; 4];
    let waited = timeout(Duration::from_millis(500), s.read(&mut buf)).await;
    assert!(
        waited.is_err(),
        "a stalled connection must neither answer nor close"
    );
    assert!(p.dropped_bytes() >= 4);
    p.set_stalled(false);
    let back = timeout(LIMIT, round_trip(&mut s, b"back")).await;
    assert_eq!(back.ok().and_then(Result::ok), Some(b"back".to_vec()));
}

#[tokio::test]
async fn cut_after_n_bytes_closes_the_connection() {
    let p = proxy().await;
    p.cut_after(Some(1000));
    let mut s = connect(&p).await;
    let _ = s.write_all(&[1u8; 4000]).await;
    let mut got = Vec::new();
    let read = timeout(LIMIT, s.read_to_end(&mut got)).await;
    assert!(read.is_ok(), "the cut connection must end, not hang");
    assert!(
        got.len() <= 1000,
        "more than the cut let through: {}",
        got.len()
    );
    assert_eq!(p.cuts(), 1);
    assert!(!p.cut_pending(), "a cut fires once");
    let mut next = connect(&p).await;
    let echoed = timeout(LIMIT, round_trip(&mut next, &[2u8; 4000])).await;
    assert_eq!(
        echoed.ok().and_then(Result::ok).map(|b| b.len()),
        Some(4000),
        "the connection after a spent cut is whole"
    );
}

#[tokio::test]
async fn reset_is_seen_as_a_reset() {
    let p = proxy().await;
    let mut s = connect(&p).await;
    let back = timeout(LIMIT, round_trip(&mut s, b"hi")).await;
    assert!(back.ok().and_then(Result::ok).is_some());
    p.reset_all();
    let mut buf = [0u8; 8];
    let r = timeout(LIMIT, s.read(&mut buf))
        .await
        .unwrap_or_else(|_| panic!("read hung"));
    match r {
        Err(e) => assert_eq!(e.kind(), std::io::ErrorKind::ConnectionReset),
        Ok(n) => panic!("read {n} bytes after a reset, want ECONNRESET"),
    }
}
