//! A bounded load soak: many concurrent sessions spread over several backends, every output byte
//! checked, with throughput, latency percentiles, peak memory and a leak check (open file
//! descriptors and live tokio tasks before and after).

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use remote_host::Backend;
use remote_host::conformance::support::{pattern, run};
use sha2::{Digest, Sha256};

/// How hard and how long to push.
#[derive(Debug, Clone)]
pub struct SoakConfig {
    /// Sessions in flight at once.
    pub concurrency: usize,
    /// How long to keep starting sessions.
    pub duration: Duration,
    /// A hard cap on sessions per worker, so the loop is bounded in count as well as time.
    pub max_per_worker: usize,
    /// Bytes each session sends through `cat` and checks on the way back.
    pub payload: usize,
    /// The longest one session may take; a session past it counts as failed (a hang).
    pub session_limit: Duration,
}

/// What a soak measured.
#[derive(Debug, Clone)]
pub struct SoakReport {
    /// Sessions that returned every byte intact with status 0.
    pub ok: u64,
    /// Sessions that failed, with the first failures' messages.
    pub failed: u64,
    /// Up to ten failure messages.
    pub failures: Vec<String>,
    /// Bytes sent and verified.
    pub bytes_checked: u64,
    /// Wall time.
    pub elapsed: Duration,
    /// Median session latency.
    pub p50: Duration,
    /// 99th percentile session latency.
    pub p99: Duration,
    /// Peak resident memory of this process (VmHWM), in KiB.
    pub peak_rss_kib: u64,
    /// Open file descriptors before and after.
    pub fds: (usize, usize),
    /// Live tokio tasks before and after.
    pub tasks: (usize, usize),
}

impl SoakReport {
    /// Sessions per second.
    pub fn throughput(&self) -> f64 {
        (self.ok + self.failed) as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }
}

/// Open file descriptors of this process.
pub fn open_fds() -> usize {
    std::fs::read_dir("/proc/self/fd").map_or(0, |d| d.count())
}

/// Peak resident set size of this process in KiB.
pub fn peak_rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("VmHWM:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        })
        .unwrap_or(0)
}

/// Runs the soak over `backends` (round-robin per session).
pub async fn soak(backends: &[Arc<dyn Backend>], cfg: &SoakConfig) -> SoakReport {
    let rt = tokio::runtime::Handle::current();
    let tasks_before = rt.metrics().num_alive_tasks();
    let fds_before = open_fds();
    let started = Instant::now();
    let deadline = started + cfg.duration;
    let ok = Arc::new(AtomicU64::new(0));
    let failed = Arc::new(AtomicU64::new(0));
    let bytes = Arc::new(AtomicU64::new(0));
    let mut workers = tokio::task::JoinSet::new();
    for w in 0..cfg.concurrency {
        let backends: Vec<Arc<dyn Backend>> = backends.to_vec();
        let (ok, failed, bytes) = (ok.clone(), failed.clone(), bytes.clone());
        let cfg = cfg.clone();
        workers.spawn(async move {
            let mut latencies = Vec::new();
            let mut failures = Vec::new();
            for i in 0..cfg.max_per_worker {
                if Instant::now() >= deadline {
                    break;
                }
                let backend = &backends[(w + i) % backends.len()];
                let seed = (w * 1_000_003 + i) as u64;
                let input = pattern(seed, cfg.payload);
                let t = Instant::now();
                let result = tokio::time::timeout(
                    cfg.session_limit,
                    run(backend.as_ref(), "cat", &[], &input),
                )
                .await;
                latencies.push(t.elapsed());
                let result = match result {
                    Ok(r) => r,
                    Err(_) => {
                        failed.fetch_add(1, Ordering::Relaxed);
                        failures.push(format!(
                            "{}: no result within {:?}",
                            backend.backend_type(),
                            cfg.session_limit
                        ));
                        continue;
                    }
                };
                match result {
                    Ok(out)
                        if out.status.success()
                            && Sha256::digest(&out.stdout) == Sha256::digest(&input) =>
                    {
                        ok.fetch_add(1, Ordering::Relaxed);
                        bytes.fetch_add(input.len() as u64, Ordering::Relaxed);
                    }
                    Ok(out) => {
                        failed.fetch_add(1, Ordering::Relaxed);
                        failures.push(format!(
                            "{}: status {:?}, {} of {} bytes back",
                            backend.backend_type(),
                            out.status,
                            out.stdout.len(),
                            input.len()
                        ));
                    }
                    Err(e) => {
                        failed.fetch_add(1, Ordering::Relaxed);
                        failures.push(format!("{}: {e:?}", backend.backend_type()));
                    }
                }
            }
            (latencies, failures)
        });
    }
    let mut latencies = Vec::new();
    let mut failures = Vec::new();
    while let Some(r) = workers.join_next().await {
        if let Ok((l, f)) = r {
            latencies.extend(l);
            failures.extend(f);
        }
    }
    let elapsed = started.elapsed();
    latencies.sort_unstable();
    let pct = |p: f64| {
        latencies
            .get(((latencies.len() as f64 * p) as usize).min(latencies.len().saturating_sub(1)))
            .copied()
            .unwrap_or_default()
    };
    // Let closed sessions finish their background clean-up before counting what is left.
    tokio::time::sleep(Duration::from_millis(300)).await;
    failures.truncate(10);
    SoakReport {
        ok: ok.load(Ordering::Relaxed),
        failed: failed.load(Ordering::Relaxed),
        failures,
        bytes_checked: bytes.load(Ordering::Relaxed),
        elapsed,
        p50: pct(0.50),
        p99: pct(0.99),
        peak_rss_kib: peak_rss_kib(),
        fds: (fds_before, open_fds()),
        tasks: (tasks_before, rt.metrics().num_alive_tasks()),
    }
}
