//! The cost of a guest stack: the same work on `local://` inside the policy (allow-all) and
//! path-rewrite guests ("ours") and on bare `local://` (the "peer"), side by side, printed as
//! the README's table:
//!
//! ```sh
//! cargo run -p remote-tests --example guests            # 1 GiB, 10 000 stats, 1000 execs
//! cargo run -p remote-tests --example guests -- --quick # 64 MiB, 1000 stats, 100 execs
//! ```
//!
//! Every row pairs a run through the stack with a run on bare `local://`, alternately (see
//! [`remote_tests::bench`]), so peer / ours below 1.0 is what the guests cost. Written files are
//! checked by `sha256sum` through the bare backend, and read bytes against the same digest
//! (hashed between read calls, outside the time).
//!
//! Guest loading is measured in child processes (this binary with `--load-once DIR`), so a cold
//! load compiles with an empty cache and a warm one reads the cache as a fresh process sees it.

use std::path::Path;
use std::time::{Duration, Instant};

use remote_host::guest::{Layer, Limits, cache::Source};
use remote_host::{Backend, FileClient};
use remote_tests::bench::{self, Case, Show, Table, timed};
use sha2::{Digest as _, Sha256};

const MIB: usize = 1 << 20;

struct Sizes {
    mib: u32,
    stats: u32,
    execs: u32,
}

/// The backends of every row and where the files go.
struct Ctx {
    bare: Box<dyn Backend>,
    stack: Box<dyn Backend>,
    /// The stack with path-rewrite trusting symlinks: the cost of crossing the layers alone,
    /// without the one `readlink` per path component that the escape check makes.
    unchecked: Box<dyn Backend>,
    /// The real directory behind the stacks' `/bench`.
    root: String,
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
    let quick = args.iter().any(|a| a == "--quick");
    let sizes = if quick {
        Sizes {
            mib: 64,
            stats: 1000,
            execs: 100,
        }
    } else {
        Sizes {
            mib: 1024,
            stats: 10_000,
            execs: 1000,
        }
    };
    let root = format!("/tmp/remote-guest-bench-{}", std::process::id());
    std::fs::create_dir_all(&root).unwrap_or_else(|e| panic!("{root}: {e}"));
    let mapping = |check: bool| {
        format!(
            r#"{{"mappings":[{{"virtual":"/bench","real":"{root}"}}],"check_symlinks":{check}}}"#
        )
    };
    let stacked = async |config: String| {
        let rewritten = remote_tests::guests::wrap(
            remote_guest_artifacts::PATH_REWRITE,
            &config,
            remote_tests::backends::local().await,
        )
        .await;
        remote_tests::guests::policy(rewritten, "{}").await
    };
    let cx = Ctx {
        bare: remote_tests::backends::local().await,
        stack: stacked(mapping(true)).await,
        unchecked: stacked(mapping(false)).await,
        root: root.clone(),
    };

    let mut table = Table::default();
    bulk(&mut table, &cx, sizes.mib).await;
    metadata(&mut table, &cx, &sizes).await;
    load(&mut table, &cx).await;
    for b in [cx.bare, cx.stack, cx.unchecked] {
        b.close().await.unwrap_or_else(|e| panic!("close: {e}"));
    }
    std::fs::remove_dir_all(&root).unwrap_or_else(|e| panic!("{root}: {e}"));
    table.print(&format!(
        "ours: `local://` in policy (allow-all) + path-rewrite; peer: bare `local://`. peer / \
         ours: each pair's bare time over the stack's, the median of the pairs (below 1.0: what \
         the guests cost); one untimed pair first; {} profile.",
        if cfg!(debug_assertions) {
            "dev"
        } else {
            "release"
        }
    ));
}

/// 1 MiB of pseudo-random bytes with call `i` stamped into its first 8, so every call writes
/// different data and a dropped, repeated or reordered call changes the file's digest.
fn stamp(block: &mut [u8], i: u32) {
    block[..8].copy_from_slice(&u64::from(i).to_le_bytes());
}

/// Writes `mib` blocks made from `base` to `path` in 1 MiB calls; the time of the calls.
async fn write(b: &dyn Backend, path: &str, base: &[u8], mib: u32) -> Duration {
    let f = b.files().await.unwrap_or_else(|e| panic!("files: {e}"));
    let mut block = base.to_vec();
    let started = Instant::now();
    let mut w = f
        .create(path)
        .await
        .unwrap_or_else(|e| panic!("create {path}: {e}"));
    for i in 0..mib {
        stamp(&mut block, i);
        w.write(&block)
            .await
            .unwrap_or_else(|e| panic!("write {path}: {e}"));
    }
    w.close()
        .await
        .unwrap_or_else(|e| panic!("close {path}: {e}"));
    started.elapsed()
}

/// Reads `path` to its end in 1 MiB calls and checks it against `want`; the time of the calls
/// alone (the digest is updated between them).
async fn read(b: &dyn Backend, path: &str, want: &str, mib: u32) -> Duration {
    let f = b.files().await.unwrap_or_else(|e| panic!("files: {e}"));
    let mut sha = Sha256::new();
    let started = Instant::now();
    let mut r = f
        .open(path)
        .await
        .unwrap_or_else(|e| panic!("open {path}: {e}"));
    let mut took = started.elapsed();
    for _ in 0..=mib {
        let (t, got) = timed(r.read(MIB as u64)).await;
        took += t;
        let got = got.unwrap_or_else(|e| panic!("read {path}: {e}"));
        if got.is_empty() {
            break;
        }
        sha.update(&got);
    }
    let (t, closed) = timed(r.close()).await;
    closed.unwrap_or_else(|e| panic!("close {path}: {e}"));
    let got = bench::hex(&sha.finalize());
    assert!(
        got == want,
        "reading {path}: SHA-256 {got}, want {want}: the read is wrong, so the benchmark stops"
    );
    took + t
}

async fn bulk(table: &mut Table, cx: &Ctx, mib: u32) {
    let mut block = remote_host::conformance::support::pattern(1, MIB);
    let mut sha = Sha256::new();
    for i in 0..mib {
        stamp(&mut block, i);
        sha.update(&block);
    }
    let want = bench::hex(&sha.finalize());
    let (ours_path, peer_path) = ("/bench/stack.bin", format!("{}/bare.bin", cx.root));
    let ours_real = format!("{}/stack.bin", cx.root);
    let write_then_check = async |b: &dyn Backend, path: &str, real: &str| {
        let took = write(b, path, &block, mib).await;
        bench::check_remote(cx.bare.as_ref(), real, &want, &format!("writing {path}")).await;
        // Neither side fsyncs in its time; flushed after it, one run's writeback does not slow
        // the next, which is the other side's.
        bench::flush(Path::new(real));
        took
    };
    table
        .row(
            Case::new(
                &format!("write {mib} MiB in 1 MiB calls"),
                "the same on bare `local://`",
                Show::Rate(u64::from(mib) << 20),
            ),
            async || write_then_check(cx.stack.as_ref(), ours_path, &ours_real).await,
            async || Ok(write_then_check(cx.bare.as_ref(), &peer_path, &peer_path).await),
        )
        .await;
    table
        .row(
            Case::new(
                &format!("read {mib} MiB in 1 MiB calls (page cache)"),
                "the same on bare `local://`",
                Show::Rate(u64::from(mib) << 20),
            ),
            async || read(cx.stack.as_ref(), ours_path, &want, mib).await,
            async || Ok(read(cx.bare.as_ref(), &peer_path, &want, mib).await),
        )
        .await;
}

async fn stat(f: &dyn FileClient, path: &str) {
    f.stat(path)
        .await
        .unwrap_or_else(|e| panic!("stat {path}: {e}"));
}

async fn metadata(table: &mut Table, cx: &Ctx, sizes: &Sizes) {
    let files = async |b: &dyn Backend| b.files().await.unwrap_or_else(|e| panic!("files: {e}"));
    let (bare, stack, unchecked) = (
        files(cx.bare.as_ref()).await,
        files(cx.stack.as_ref()).await,
        files(cx.unchecked.as_ref()).await,
    );
    let bare_path = format!("{}/bare.bin", cx.root);
    let n = sizes.stats;
    for (what, ours) in [
        (format!("stat ×{n}"), &stack),
        (
            format!("stat ×{n}, path-rewrite without the symlink check"),
            &unchecked,
        ),
    ] {
        table
            .row(
                Case::new(&what, "the same on bare `local://`", Show::Each(n, "call")),
                async || {
                    bench::times(n, async || stat(ours.as_ref(), "/bench/stack.bin").await).await
                },
                async || Ok(bench::times(n, async || stat(bare.as_ref(), &bare_path).await).await),
            )
            .await;
    }
    let n = sizes.execs;
    table
        .row(
            Case::new(
                &format!("exec `true` ×{n}, stdout and stderr read"),
                "the same on bare `local://`",
                Show::Each(n, "exec"),
            ),
            async || bench::times(n, async || bench::exec_true(cx.stack.as_ref()).await).await,
            async || Ok(bench::times(n, async || bench::exec_true(cx.bare.as_ref()).await).await),
        )
        .await;
}

/// Loading the policy guest in a fresh process: from the disk cache (ours) against compiling it
/// into an empty cache (the peer).
async fn load(table: &mut Table, cx: &Ctx) {
    let warm = format!("{}/cache-warm", cx.root);
    load_child(&warm, Source::Compiled).await;
    let mut fresh = 0;
    table
        .row(
            Case::new(
                "load the policy guest from the compilation cache, fresh process",
                "compile it into an empty cache, fresh process",
                Show::Total,
            ),
            async || load_child(&warm, Source::Disk).await,
            async || {
                fresh += 1;
                let cold = format!("{}/cache-cold-{fresh}", cx.root);
                Ok(load_child(&cold, Source::Compiled).await)
            },
        )
        .await;
}

/// Loads the policy guest once in a child process with the cache in `dir`; the load's time as
/// the child measured it, which must have come from `want`.
async fn load_child(dir: &str, want: Source) -> Duration {
    let exe = std::env::current_exe().unwrap_or_else(|e| panic!("current exe: {e}"));
    let (_, out) = bench::run(bench::command(exe).args(["--load-once", dir])).await;
    let text = String::from_utf8_lossy(&out.stdout);
    let (micros, source) = text
        .trim()
        .split_once(' ')
        .unwrap_or_else(|| panic!("the load child printed {text:?}"));
    assert_eq!(
        source,
        format!("{want:?}"),
        "where the load child's code came from"
    );
    Duration::from_micros(
        micros
            .parse()
            .unwrap_or_else(|e| panic!("the load child printed {text:?}: {e}")),
    )
}

/// The child: loads the policy guest with the cache in `dir`, then prints its time in µs and
/// where the compiled code came from.
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
    println!("{} {:?}", took.as_micros(), layer.report().source);
}
