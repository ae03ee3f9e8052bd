//! The cost of a guest in each language: the same pass-through middleware (as `remote guest new`
//! makes it) in Rust, Python and JavaScript around `local://`, beside bare `local://`, printed as
//! the README's table:
//!
//! ```sh
//! cargo run -p remote-tests --example foreign_guests            # 1 GiB, 10 000 stats, 1000 execs
//! cargo run -p remote-tests --example foreign_guests -- --quick # 64 MiB, 1000 stats, 100 execs
//! ```
//!
//! The guests are scaffolded and built first with their own build scripts (the Python and
//! JavaScript toolchains of `tests/foreign-guests/build.sh`). Each measurement runs once per
//! round on every backend in turn, over three rounds; the table gives the medians, and the cost
//! of a guest as its median less bare `local://`'s, per call. Reads are checked against the
//! file's SHA-256 (hashed between read calls, outside the time). Loads run in fresh child
//! processes (this binary with `--load-once WASM DIR`): cold compiles into an empty cache, warm
//! reads the cache that a cold load wrote.

use std::path::Path;
use std::time::{Duration, Instant};

use remote_host::Backend;
use remote_host::guest::scaffold::Lang;
use remote_host::guest::{Layer, Limits};
use remote_tests::bench::{self, timed};
use sha2::{Digest as _, Sha256};

const MIB: u64 = 1 << 20;
const ROUNDS: usize = 3;

/// A backend under measurement: bare `local://` or `local://` in one guest.
struct Subject {
    title: &'static str,
    wasm: Option<String>,
    backend: Box<dyn Backend>,
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    if let [_, flag, wasm, dir] = args.as_slice()
        && flag == "--load-once"
    {
        load_once(Path::new(wasm), Path::new(dir)).await;
        return;
    }
    let quick = args.iter().any(|a| a == "--quick");
    let (mib, stats, execs) = if quick {
        (64, 1000, 100)
    } else {
        (1024, 10_000, 1000)
    };
    let root = format!("/tmp/remote-foreign-bench-{}", std::process::id());
    std::fs::create_dir_all(&root).unwrap_or_else(|e| panic!("{root}: {e}"));
    let mut subjects = vec![Subject {
        title: "bare `local://`",
        wasm: None,
        backend: remote_tests::backends::local().await,
    }];
    for (title, name, lang) in [
        ("Rust", "pass-rust", Lang::Rust),
        ("Python", "pass-python", Lang::Python),
        ("JavaScript", "pass-js", Lang::Js),
    ] {
        let wasm = remote_tests::foreign::scaffold(name, lang, Path::new(&root));
        let backend =
            remote_tests::guests::wrap(&wasm, "{}", remote_tests::backends::local().await).await;
        subjects.push(Subject {
            title,
            wasm: Some(wasm),
            backend,
        });
    }

    let data = format!("{root}/data.bin");
    let want = bench::data_file(Path::new(&data), u64::from(mib) * MIB);
    let mut rows: Vec<(String, Vec<Duration>, u32)> = vec![
        (format!("stat ×{stats}, per call"), vec![], stats),
        (format!("exec `true` ×{execs}, per exec"), vec![], execs),
        (format!("read {mib} MiB in 1 MiB calls"), vec![], 1),
    ];
    let mut samples = vec![vec![Vec::new(); subjects.len()]; rows.len()];
    for _ in 0..ROUNDS {
        for (i, s) in subjects.iter().enumerate() {
            let b = s.backend.as_ref();
            let files = b.files().await.unwrap_or_else(|e| panic!("files: {e}"));
            samples[0][i].push(
                bench::times(stats, async || {
                    files
                        .stat(&data)
                        .await
                        .unwrap_or_else(|e| panic!("stat {data}: {e}"));
                })
                .await,
            );
            samples[1][i].push(bench::times(execs, async || bench::exec_true(b).await).await);
            samples[2][i].push(read(b, &data, &want, mib).await);
        }
    }
    for (row, per_subject) in rows.iter_mut().zip(samples) {
        row.1 = per_subject.into_iter().map(median).collect();
    }

    let mut loads = vec![(String::from("load, cold (compile), fresh process"), vec![])];
    loads.push((
        String::from("load, warm (compilation cache), fresh process"),
        vec![],
    ));
    for s in &subjects[1..] {
        let wasm = s.wasm.as_deref().unwrap_or_default();
        let (mut cold, mut warm) = (Vec::new(), Vec::new());
        for round in 0..ROUNDS {
            let dir = format!("{root}/cache-{}-{round}", s.title);
            cold.push(load_child(wasm, &dir, "Compiled").await);
            warm.push(load_child(wasm, &dir, "Disk").await);
        }
        loads[0].1.push(median(cold));
        loads[1].1.push(median(warm));
    }

    for s in subjects {
        s.backend
            .close()
            .await
            .unwrap_or_else(|e| panic!("close {}: {e}", s.title));
    }
    std::fs::remove_dir_all(&root).unwrap_or_else(|e| panic!("{root}: {e}"));
    print(&rows, &loads);
}

/// Reads `path` to its end in 1 MiB calls and checks it against `want`; the time of the calls.
async fn read(b: &dyn Backend, path: &str, want: &str, mib: u32) -> Duration {
    let files = b.files().await.unwrap_or_else(|e| panic!("files: {e}"));
    let mut sha = Sha256::new();
    let (mut took, r) = timed(files.open(path)).await;
    let mut r = r.unwrap_or_else(|e| panic!("open {path}: {e}"));
    for _ in 0..=mib {
        let (t, got) = timed(r.read(MIB)).await;
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
    assert!(got == want, "reading {path}: SHA-256 {got}, want {want}");
    took + t
}

fn median(v: Vec<Duration>) -> Duration {
    Duration::from_secs_f64(bench::median(v.iter().map(Duration::as_secs_f64).collect()))
}

/// A duration for a table cell: µs below 10 ms, else ms or s.
fn show(d: Duration) -> String {
    let us = d.as_secs_f64() * 1e6;
    if us < 10_000.0 {
        format!("{us:.1} µs")
    } else if us < 10_000_000.0 {
        format!("{:.0} ms", us / 1000.0)
    } else {
        format!("{:.1} s", us / 1e6)
    }
}

/// Prints the measurements, each per call, and what each guest adds to bare `local://`.
fn print(rows: &[(String, Vec<Duration>, u32)], loads: &[(String, Vec<Duration>)]) {
    println!("| measurement | bare `local://` | Rust | Python | JavaScript |");
    println!("|---|---|---|---|---|");
    for (what, times, n) in rows {
        let each: Vec<Duration> = times.iter().map(|t| *t / *n).collect();
        let bare = each[0];
        let cells: Vec<String> = each
            .iter()
            .enumerate()
            .map(|(i, t)| match i {
                0 => show(*t),
                _ => format!("{} (+{})", show(*t), show(t.saturating_sub(bare))),
            })
            .collect();
        println!("| {what} | {} |", cells.join(" | "));
    }
    for (what, times) in loads {
        let cells: Vec<String> = times.iter().map(|t| show(*t)).collect();
        println!("| {what} | — | {} |", cells.join(" | "));
    }
    println!(
        "\nMedians of {ROUNDS} rounds (each round runs every backend in turn); (+x): the guest's \
         cost over bare `local://`; {} profile.",
        if cfg!(debug_assertions) {
            "dev"
        } else {
            "release"
        }
    );
}

/// Loads `wasm` once in a child process with the cache in `dir`; the load's time as the child
/// measured it, which must have come from `want` (`Compiled`, `Disk`).
async fn load_child(wasm: &str, dir: &str, want: &str) -> Duration {
    let exe = std::env::current_exe().unwrap_or_else(|e| panic!("current exe: {e}"));
    let (_, out) = bench::run(bench::command(exe).args(["--load-once", wasm, dir])).await;
    let text = String::from_utf8_lossy(&out.stdout);
    let (micros, source) = text
        .trim()
        .split_once(' ')
        .unwrap_or_else(|| panic!("the load child printed {text:?}"));
    assert_eq!(source, want, "where the load child's code came from");
    Duration::from_micros(
        micros
            .parse()
            .unwrap_or_else(|e| panic!("the load child printed {text:?}: {e}")),
    )
}

/// The child: loads `wasm` with the cache in `dir`, then prints its time in µs and where the
/// compiled code came from.
async fn load_once(wasm: &Path, dir: &Path) {
    let started = Instant::now();
    let layer = Layer::load_with(
        wasm,
        "{}",
        Limits::default(),
        Some(dir),
        remote_host::guest::tracing_sink(),
    )
    .await
    .unwrap_or_else(|e| panic!("load {}: {e}", wasm.display()));
    let took = started.elapsed();
    println!("{} {:?}", took.as_micros(), layer.report().source);
}
