//! Load: many concurrent sessions over every backend at once, every byte checked, no leaks.
//! `REMOTE_SOAK_SECS` sets the length (default 10 s, as CI runs it); the report is printed.

use std::sync::Arc;
use std::time::Duration;

use remote_host::Backend;
use remote_tests::backends;
use remote_tests::soak::{SoakConfig, soak};

fn soak_secs() -> u64 {
    std::env::var("REMOTE_SOAK_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(10)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sessions_under_load_keep_every_byte_and_leak_nothing() {
    let backends: Vec<Arc<dyn Backend>> = vec![
        Arc::from(backends::local().await),
        Arc::from(backends::openssh_sftp_server().await),
    ];
    let cfg = SoakConfig {
        concurrency: 256,
        duration: Duration::from_secs(soak_secs()),
        max_per_worker: 10_000,
        payload: 32 * 1024,
    };
    // A warm-up round so lazily created state (thread pools, connections) is not counted as a
    // leak of the soak itself.
    let warm = soak(
        &backends,
        &SoakConfig {
            duration: Duration::from_millis(200),
            max_per_worker: 1,
            ..cfg.clone()
        },
    )
    .await;
    assert_eq!(warm.failed, 0, "warm-up: {:?}", warm.failures);
    let r = soak(&backends, &cfg).await;
    println!(
        "soak: {} sessions ok, {} failed, {:.1} sessions/s, {} MiB checked, p50 {:?}, p99 {:?}, peak RSS {} MiB, fds {:?}, tasks {:?}",
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
    assert_eq!(r.failed, 0, "failures: {:?}", r.failures);
    assert!(r.ok >= 256, "fewer sessions than workers: {}", r.ok);
    assert_eq!(r.bytes_checked, r.ok * cfg.payload as u64);
    assert!(r.fds.1 <= r.fds.0, "file descriptors leaked: {:?}", r.fds);
    assert!(r.tasks.1 <= r.tasks.0, "tasks leaked: {:?}", r.tasks);
}
