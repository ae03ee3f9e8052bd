//! Load: 256 concurrent sessions over four backends at once (`local://`, `ssh://` to the loopback
//! sshd, `docker://` on a busybox container, and `local://` inside the policy guest), every byte
//! checked by checksum, then a leak check: once the backends are closed, the process holds no
//! more file descriptors or tokio tasks than before they were opened.
//! `REMOTE_SOAK_SECS` sets the length (default 10 s, as CI runs it); the report is printed.

use std::sync::Arc;
use std::time::{Duration, Instant};

use remote_host::Backend;
use remote_tests::backends;
use remote_tests::soak::{SoakConfig, open_fds, soak};

fn soak_secs() -> u64 {
    std::env::var("REMOTE_SOAK_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(10)
}

async fn open_backends() -> Vec<Arc<dyn Backend>> {
    vec![
        Arc::from(backends::local().await),
        Arc::from(backends::ssh().await),
        Arc::from(backends::docker_busybox().await),
        Arc::from(backends::local_policy().await),
    ]
}

async fn close_all(backends: Vec<Arc<dyn Backend>>) {
    for b in &backends {
        tokio::time::timeout(Duration::from_secs(60), b.close())
            .await
            .unwrap_or_else(|_| panic!("closing {} hung", b.backend_type()))
            .unwrap_or_else(|e| panic!("closing {}: {e}", b.backend_type()));
    }
}

/// (open file descriptors, live tokio tasks), once they stop falling (bounded: 10 s), as
/// closed connections finish their clean-up in the background.
async fn settled_counts() -> (usize, usize) {
    let rt = tokio::runtime::Handle::current();
    let count = || (open_fds(), rt.metrics().num_alive_tasks());
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut last = count();
    loop {
        tokio::time::sleep(Duration::from_millis(250)).await;
        let now = count();
        if (now.0 >= last.0 && now.1 >= last.1) || Instant::now() >= deadline {
            return (now.0.min(last.0), now.1.min(last.1));
        }
        last = now;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sessions_under_load_keep_every_byte_and_leak_nothing() {
    let cfg = SoakConfig {
        concurrency: 256,
        duration: Duration::from_secs(soak_secs()),
        max_per_worker: 10_000,
        payload: 32 * 1024,
        session_limit: Duration::from_secs(120),
    };
    // A first round opens and closes everything once, so state created once per process (the
    // Docker client, the guest engine and its epoch thread, thread pools) is in the baseline.
    let warm = open_backends().await;
    let w = soak(
        &warm,
        &SoakConfig {
            duration: Duration::from_millis(200),
            max_per_worker: 1,
            ..cfg.clone()
        },
    )
    .await;
    assert_eq!(w.failed, 0, "warm-up: {:?}", w.failures);
    close_all(warm).await;
    let before = settled_counts().await;

    let backends = open_backends().await;
    let r = soak(&backends, &cfg).await;
    println!(
        "soak over local, ssh, docker and policy(local): {} sessions ok, {} failed, {:.1} sessions/s, {} MiB checked, p50 {:?}, p99 {:?}, peak RSS {} MiB, fds while open {:?}, tasks while open {:?}",
        r.ok,
        r.failed,
        r.throughput(),
        r.bytes_checked >> 20,
        r.p50,
        r.p99,
        r.peak_rss_kib >> 10,
        r.fds,
        r.tasks
    );
    close_all(backends).await;
    let after = settled_counts().await;
    println!("after closing: (fds, tasks) {before:?} before, {after:?} after");
    assert_eq!(r.failed, 0, "failures: {:?}", r.failures);
    assert!(r.ok >= 256, "fewer sessions than workers: {}", r.ok);
    assert_eq!(r.bytes_checked, r.ok * cfg.payload as u64);
    assert!(
        after.0 <= before.0,
        "file descriptors leaked: {} before, {} after closing",
        before.0,
        after.0
    );
    assert!(
        after.1 <= before.1,
        "tokio tasks leaked: {} before, {} after closing",
        before.1,
        after.1
    );
}
