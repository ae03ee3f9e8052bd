//! The cost of a guest stack: the same work on `local://` bare and wrapped in the policy
//! (allow-all) and path-rewrite guests, side by side in one run, printed as a table with ratios.
//!
//! ```sh
//! cargo run -p remote-tests --example guests            # 1 GiB, 10 000 stats, 1000 execs
//! cargo run -p remote-tests --example guests -- --quick # 64 MiB, 1000 stats, 100 execs
//! ```
//!
//! Guest loading is measured in child processes (this binary with `--load-once DIR`), so the
//! cold load compiles with an empty cache and the warm one reads the cache a fresh process sees.

use std::path::Path;
use std::time::{Duration, Instant};

use remote_host::guest::{Layer, Limits, cache::Source};
use remote_host::{Backend, FileClient};

const MIB: usize = 1 << 20;

struct Sizes {
    bytes: usize,
    stats: usize,
    execs: usize,
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    if let [_, flag, dir] = args.as_slice()
        && flag == "--load-once"
    {
        load_once(Path::new(dir)).await;
        return;
    }
    let sizes = if args.iter().any(|a| a == "--quick") {
        Sizes {
            bytes: 64 * MIB,
            stats: 1000,
            execs: 100,
        }
    } else {
        Sizes {
            bytes: 1024 * MIB,
            stats: 10_000,
            execs: 1000,
        }
    };
    let root = format!("/tmp/remote-guest-bench-{}", std::process::id());
    std::fs::create_dir_all(&root).unwrap_or_else(|e| panic!("{root}: {e}"));

    let bare = remote_tests::backends::local().await;
    let config = format!(r#"{{"mappings":[{{"virtual":"/bench","real":"{root}"}}]}}"#);
    let rewritten = remote_tests::guests::wrap(
        remote_guest_artifacts::PATH_REWRITE,
        &config,
        remote_tests::backends::local().await,
    )
    .await;
    let stack = remote_tests::guests::policy(rewritten, "{}").await;
    // The same stack with path-rewrite trusting symlinks: the cost of crossing the layers alone,
    // without the one `readlink` per path component that the escape check makes.
    let unchecked = format!(
        r#"{{"mappings":[{{"virtual":"/bench","real":"{root}"}}],"check_symlinks":false}}"#
    );
    let plain = remote_tests::guests::policy(
        remote_tests::guests::wrap(
            remote_guest_artifacts::PATH_REWRITE,
            &unchecked,
            remote_tests::backends::local().await,
        )
        .await,
        "{}",
    )
    .await;

    println!(
        "workload                      | local://        | policy+path-rewrite | guest stack vs bare"
    );
    println!(
        "------------------------------|-----------------|---------------------|--------------------"
    );
    let (bw, br) = bulk(bare.as_ref(), &format!("{root}/bare.bin"), sizes.bytes).await;
    let (gw, gr) = bulk(stack.as_ref(), "/bench/guest.bin", sizes.bytes).await;
    let mbps = |d: Duration| sizes.bytes as f64 / MIB as f64 / d.as_secs_f64();
    for (what, b, g) in [("write", bw, gw), ("read", br, gr)] {
        println!(
            "{:<30}| {:>9.0} MiB/s | {:>13.0} MiB/s | throughput x{:.3}",
            format!("{what} {} MiB (1 MiB calls)", sizes.bytes / MIB),
            mbps(b),
            mbps(g),
            mbps(g) / mbps(b)
        );
    }
    let bs = stats(bare.as_ref(), &format!("{root}/bare.bin"), sizes.stats).await;
    let gs = stats(stack.as_ref(), "/bench/guest.bin", sizes.stats).await;
    row(
        &format!("stat x{}", sizes.stats),
        bs,
        gs,
        sizes.stats,
        "call",
    );
    let ps = stats(plain.as_ref(), "/bench/guest.bin", sizes.stats).await;
    row("  same, no symlink check", bs, ps, sizes.stats, "call");
    let be = execs(bare.as_ref(), sizes.execs).await;
    let ge = execs(stack.as_ref(), sizes.execs).await;
    row(
        &format!("exec `true` x{}", sizes.execs),
        be,
        ge,
        sizes.execs,
        "exec",
    );

    let cache = format!("{root}/cache");
    let cold = load_child(&cache);
    let warm = load_child(&cache);
    println!(
        "{:<30}| cold {:>7.1} ms | warm {:>10.2} ms   | compiled, then read from the cache",
        "load policy guest",
        cold.as_secs_f64() * 1e3,
        warm.as_secs_f64() * 1e3
    );
    for b in [bare, stack, plain] {
        b.close().await.unwrap_or_else(|e| panic!("close: {e}"));
    }
    std::fs::remove_dir_all(&root).unwrap_or_else(|e| panic!("{root}: {e}"));
}

fn row(what: &str, bare: Duration, guest: Duration, n: usize, unit: &str) {
    let per = |d: Duration| d.as_secs_f64() * 1e6 / n as f64;
    println!(
        "{what:<30}| {:>10.2} µs/{unit:<4}| {:>14.2} µs/{unit:<4}| +{:.2} µs per {unit}",
        per(bare),
        per(guest),
        per(guest) - per(bare)
    );
}

async fn bulk(b: &dyn Backend, path: &str, bytes: usize) -> (Duration, Duration) {
    let f = b.files().await.unwrap_or_else(|e| panic!("files: {e}"));
    let chunk = vec![0x5a_u8; MIB];
    let started = Instant::now();
    let mut w = f
        .create(path)
        .await
        .unwrap_or_else(|e| panic!("create {path}: {e}"));
    for _ in 0..bytes / MIB {
        w.write(&chunk)
            .await
            .unwrap_or_else(|e| panic!("write: {e}"));
    }
    w.close().await.unwrap_or_else(|e| panic!("close: {e}"));
    let wrote = started.elapsed();
    let started = Instant::now();
    let mut r = f
        .open(path)
        .await
        .unwrap_or_else(|e| panic!("open {path}: {e}"));
    let mut total = 0;
    for _ in 0..=bytes / MIB {
        let got = r
            .read(MIB as u64)
            .await
            .unwrap_or_else(|e| panic!("read: {e}"));
        if got.is_empty() {
            break;
        }
        total += got.len();
    }
    assert_eq!(total, bytes, "bytes read back");
    r.close().await.unwrap_or_else(|e| panic!("close: {e}"));
    (wrote, started.elapsed())
}

async fn stats(b: &dyn Backend, path: &str, n: usize) -> Duration {
    let f: std::sync::Arc<dyn FileClient> =
        b.files().await.unwrap_or_else(|e| panic!("files: {e}"));
    let started = Instant::now();
    for _ in 0..n {
        f.stat(path)
            .await
            .unwrap_or_else(|e| panic!("stat {path}: {e}"));
    }
    started.elapsed()
}

async fn execs(b: &dyn Backend, n: usize) -> Duration {
    let started = Instant::now();
    for _ in 0..n {
        let mut s = b
            .new_session()
            .await
            .unwrap_or_else(|e| panic!("session: {e}"));
        s.start("true")
            .await
            .unwrap_or_else(|e| panic!("start: {e}"));
        let status = s.wait().await.unwrap_or_else(|e| panic!("wait: {e}"));
        assert!(status.success(), "true: {status:?}");
        s.close().await.unwrap_or_else(|e| panic!("close: {e}"));
    }
    started.elapsed()
}

/// Loads the policy guest once in a child process with the cache in `dir`; its wall time.
fn load_child(dir: &str) -> Duration {
    let exe = std::env::current_exe().unwrap_or_else(|e| panic!("current exe: {e}"));
    let out = std::process::Command::new(exe)
        .args(["--load-once", dir])
        .output()
        .unwrap_or_else(|e| panic!("running the load child: {e}"));
    assert!(
        out.status.success(),
        "load child: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    let micros: u64 = text
        .trim()
        .parse()
        .unwrap_or_else(|e| panic!("load child printed {text:?}: {e}"));
    Duration::from_micros(micros)
}

async fn load_once(dir: &Path) {
    let started = Instant::now();
    let layer = Layer::load_with(
        Path::new(remote_guest_artifacts::POLICY),
        "{}",
        Limits::default(),
        Some(dir),
        remote_host::guest::tracing_sink(),
    )
    .await
    .unwrap_or_else(|e| panic!("load: {e}"));
    let took = started.elapsed();
    assert_ne!(
        layer.report().source,
        Source::Memory,
        "a fresh process has no memory cache"
    );
    println!("{}", took.as_micros());
}
