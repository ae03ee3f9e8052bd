//! What the three side-by-side benchmarks share (`examples/ssh_bench.rs`, `benches/docker.rs`,
//! `bench/guests.rs`): interleaved pairs and their medians, peer commands bounded by a watchdog,
//! SHA-256 checks of what was transferred, and the markdown table the README shows.
//!
//! A row runs our side and the peer alternately (A B A B …), after one untimed pair that warms
//! both (page cache, connections, ControlMaster), and reports the median of the per-pair ratios
//! peer ÷ ours. The machine is shared, so a busy moment slows the two runs of one pair alike:
//! the ratio of a pair is steadier than the ratio of two medians taken minutes apart.
//!
//! Peers are spawned directly (no `timeout` wrapper, no polling loop): tokio waits for the
//! child's exit and output, and a timer kills it past [`RUN_LIMIT`]. Our side is bounded by the
//! same limit. Either bound is one timer per run, nothing per operation.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Output, Stdio};
use std::time::{Duration, Instant};

use remote_host::{Backend, FileClient};
use sha2::{Digest as _, Sha256};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::process::Command;

/// The longest one run of either side may take: generous, so only a hang reaches it.
pub const RUN_LIMIT: Duration = Duration::from_secs(300);

/// Timed pairs per row unless a row says otherwise: odd, so the median is one pair's ratio.
pub const PAIRS: usize = 5;

/// What to do when a fixture is missing: every benchmark says it in its failure.
pub const FIX: &str = "run tests/fixtures/setup.sh as root: it installs the tools and brings up \
                       the loopback sshd and dockerd the benchmarks use";

/// Bytes per read or write call of our transfers: the most one call may move.
const CHUNK: u64 = remote_host::file_client::MAX_READ;

/// `f`'s time and result.
pub async fn timed<T>(f: impl Future<Output = T>) -> (Duration, T) {
    let started = Instant::now();
    let out = f.await;
    (started.elapsed(), out)
}

/// A peer command: stdin empty, stdout and stderr captured (as our side captures them), killed
/// if it is dropped before it ends. Callers replace stdin or stdout where the peer redirects.
pub fn command(program: impl AsRef<std::ffi::OsStr>) -> Command {
    let mut c = Command::new(program);
    c.stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    c
}

/// Runs `cmd` to its end and returns its time and output, or why it failed: a non-zero exit
/// (its last line of stderr) or the watchdog killing it past [`RUN_LIMIT`]. A program that
/// cannot start at all is a missing fixture and panics with [`FIX`].
pub async fn attempt(cmd: &mut Command) -> (Duration, Result<Output, String>) {
    let (took, out) = finish(cmd).await;
    let out = out.and_then(|out| {
        if out.status.success() {
            Ok(out)
        } else {
            Err(last_line(&out.stderr)
                .unwrap_or_else(|| format!("exited with {} and no message", out.status)))
        }
    });
    (took, out)
}

/// Runs `cmd` to its end and returns its time and output whatever its exit status (a peer that
/// reports each target's failure in its output exits non-zero then), or why there is no
/// output: the watchdog killed it past [`RUN_LIMIT`]. Panics as [`attempt`] does.
pub async fn finish(cmd: &mut Command) -> (Duration, Result<Output, String>) {
    let started = Instant::now();
    let child = cmd
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run {:?}: {e}; {FIX}", cmd.as_std().get_program()));
    // On expiry the future, and with it the child, is dropped: `kill_on_drop` kills it.
    let out = match tokio::time::timeout(RUN_LIMIT, child.wait_with_output()).await {
        Ok(Ok(out)) => Ok(out),
        Ok(Err(e)) => Err(format!("waiting for it: {e}")),
        Err(_) => Err(format!("killed after {RUN_LIMIT:?}")),
    };
    (started.elapsed(), out)
}

/// Runs `cmd`, which must succeed, and returns its time and output; panics with its stderr
/// otherwise (a peer that fails is no yardstick).
pub async fn run(cmd: &mut Command) -> (Duration, Output) {
    match attempt(cmd).await {
        (took, Ok(out)) => (took, out),
        (_, Err(why)) => panic!("{:?} failed: {why}", cmd.as_std()),
    }
}

fn last_line(stderr: &[u8]) -> Option<String> {
    String::from_utf8_lossy(stderr)
        .lines()
        .rev()
        .find(|l| !l.trim().is_empty())
        .map(|l| l.trim().to_string())
}

/// A peer run's failed attempts, grouped by reason, in place of a time.
#[derive(Debug, Default)]
pub struct Failures {
    /// Attempts made.
    pub of: usize,
    /// How many failed, by reason (digits folded to `N`, so `channel 12:` and `channel 13:` are
    /// one reason).
    pub reasons: BTreeMap<String, usize>,
}

impl Failures {
    /// Counts one attempt, failed with `why` or not.
    pub fn count(&mut self, outcome: Result<(), String>) {
        self.of += 1;
        if let Err(why) = outcome {
            let mut folded = String::with_capacity(why.len());
            let mut in_number = false;
            for c in why.chars() {
                match (c.is_ascii_digit(), in_number) {
                    (false, _) => folded.push(c),
                    (true, false) => folded.push('N'),
                    (true, true) => {}
                }
                in_number = c.is_ascii_digit();
            }
            *self.reasons.entry(folded).or_default() += 1;
        }
    }

    /// How many attempts failed.
    pub fn failed(&self) -> usize {
        self.reasons.values().sum()
    }

    /// Adds `other`'s attempts and failures to these.
    pub fn merge(&mut self, other: Failures) {
        self.of += other.of;
        for (why, n) in other.reasons {
            *self.reasons.entry(why).or_default() += n;
        }
    }
}

/// How a row shows its times; ratios are of whole runs either way.
#[derive(Debug, Clone, Copy)]
pub enum Show {
    /// The run's time.
    Total,
    /// The run's time and its share per operation: `(operations per run, what one is)`.
    Each(u32, &'static str),
    /// The run's time and the rate at which it moved this many bytes.
    Rate(u64),
}

/// One row: what our side does, what the peer does, how to show it and how many pairs to time.
#[derive(Debug, Clone, Copy)]
pub struct Case<'a> {
    /// Our side's work, as the table names it.
    pub what: &'a str,
    /// The peer's work, as the table names it.
    pub peer: &'a str,
    /// How the times are shown.
    pub show: Show,
    /// Timed pairs (after the untimed one).
    pub pairs: usize,
}

impl<'a> Case<'a> {
    /// A row of [`PAIRS`] pairs.
    pub fn new(what: &'a str, peer: &'a str, show: Show) -> Case<'a> {
        Case {
            what,
            peer,
            show,
            pairs: PAIRS,
        }
    }

    /// The same row with `pairs` pairs.
    pub fn pairs(self, pairs: usize) -> Case<'a> {
        Case { pairs, ..self }
    }
}

#[derive(Debug)]
struct Row {
    what: String,
    peer: String,
    show: Show,
    pairs: usize,
    ours: Duration,
    /// The peer's median time and the median ratio; or, when any of its runs failed, how many
    /// runs failed and their failures.
    theirs: Result<(Duration, f64), (usize, Failures)>,
}

/// The rows measured so far, printed as the README's markdown table.
#[derive(Debug, Default)]
pub struct Table {
    rows: Vec<Row>,
}

impl Table {
    /// Times `case`: one untimed pair, then `case.pairs` pairs of `ours` then `peer`, each run
    /// bounded by [`RUN_LIMIT`]. Each closure times its own work, so setup and checks stay out
    /// of the time; ours panics on failure, the peer returns its failures, and a row where any
    /// peer run failed shows them instead of a ratio.
    pub async fn row(
        &mut self,
        case: Case<'_>,
        mut ours: impl AsyncFnMut() -> Duration,
        mut peer: impl AsyncFnMut() -> Result<Duration, Failures>,
    ) {
        eprintln!(
            "bench: {} vs {} ({} pairs)",
            case.what, case.peer, case.pairs
        );
        let mut ours_times = Vec::with_capacity(case.pairs);
        let mut pairs = Vec::with_capacity(case.pairs);
        let mut failures: Option<(usize, Failures)> = None;
        for pair in 0..=case.pairs {
            let a = bounded(case.what, "ours", ours()).await;
            let b = bounded(case.what, case.peer, peer()).await;
            if pair == 0 {
                continue;
            }
            ours_times.push(a.as_secs_f64());
            match b {
                Ok(b) => pairs.push((a.as_secs_f64(), b.as_secs_f64())),
                Err(f) => {
                    let (runs, all) = failures.get_or_insert_default();
                    *runs += 1;
                    all.merge(f);
                }
            }
        }
        let theirs = match failures {
            Some(f) => Err(f),
            None => Ok((
                Duration::from_secs_f64(median(pairs.iter().map(|(_, b)| *b).collect())),
                median(pairs.iter().map(|(a, b)| b / a).collect()),
            )),
        };
        let row = Row {
            what: case.what.into(),
            peer: case.peer.into(),
            show: case.show,
            pairs: case.pairs,
            ours: Duration::from_secs_f64(median(ours_times)),
            theirs,
        };
        eprintln!("bench: {}", row.cells().join(" | "));
        self.rows.push(row);
    }

    /// Prints the table to stdout, then `note` (what the ratio means for this program, versions).
    pub fn print(&self, note: &str) {
        println!(
            "| benchmark (ours) | peer | pairs | ours, median | peer, median | peer / ours, median of the pairs |"
        );
        println!("|---|---|---|---|---|---|");
        for r in &self.rows {
            println!("| {} |", r.cells().join(" | "));
        }
        println!("\n{note}");
    }
}

impl Row {
    fn cells(&self) -> Vec<String> {
        let (theirs, ratio) = match &self.theirs {
            Ok((t, ratio)) => (shown(*t, self.show), format!("{ratio:.2}×")),
            Err((runs, f)) => {
                let why: Vec<String> = f
                    .reasons
                    .iter()
                    .map(|(why, n)| format!("{n}× `{why}`"))
                    .collect();
                (
                    format!(
                        "{} of {} failed, in {runs} of {} runs",
                        f.failed(),
                        f.of,
                        self.pairs
                    ),
                    format!("none: the peer failed ({})", why.join("; ")),
                )
            }
        };
        vec![
            self.what.clone(),
            self.peer.clone(),
            self.pairs.to_string(),
            shown(self.ours, self.show),
            theirs,
            ratio,
        ]
    }
}

/// The time of `n` calls of `f`, one after another.
pub async fn times(n: u32, mut f: impl AsyncFnMut()) -> Duration {
    let started = Instant::now();
    for _ in 0..n {
        f().await;
    }
    started.elapsed()
}

/// One exec of `true` on `b` with stdout and stderr read to their end (as a peer's are piped);
/// panics unless it succeeds.
pub async fn exec_true(b: &dyn Backend) {
    let (status, _, err) = crate::exec(b, "true", &[])
        .await
        .unwrap_or_else(|e| panic!("our exec of true: {e}"));
    assert!(status.success(), "our exec of true: {status:?}: {err}");
}

/// The time of one `lstat` of each of `paths`, one after another; panics if one fails.
pub async fn lstats(files: &dyn FileClient, paths: &[String]) -> Duration {
    timed(async {
        for p in paths {
            files
                .lstat(p)
                .await
                .unwrap_or_else(|e| panic!("our lstat {p}: {e}"));
        }
    })
    .await
    .0
}

/// `fut`, panicking with the row and side if it outlives [`RUN_LIMIT`].
async fn bounded<T>(row: &str, side: &str, fut: impl Future<Output = T>) -> T {
    tokio::time::timeout(RUN_LIMIT, fut)
        .await
        .unwrap_or_else(|_| panic!("{row}: {side} did not finish within {RUN_LIMIT:?}"))
}

/// The median of `v` (the mean of the middle two for an even count); panics when empty, since
/// a table row without a timed run is a bug of the benchmark.
pub fn median(mut v: Vec<f64>) -> f64 {
    assert!(!v.is_empty(), "a row needs at least one timed pair");
    v.sort_by(f64::total_cmp);
    let mid = v.len() / 2;
    if v.len() % 2 == 1 {
        v[mid]
    } else {
        (v[mid - 1] + v[mid]) / 2.0
    }
}

fn shown(d: Duration, show: Show) -> String {
    match show {
        Show::Total => human(d),
        Show::Each(n, unit) => format!("{} ({}/{unit})", human(d), human(d / n)),
        Show::Rate(bytes) => format!(
            "{} ({:.0} MiB/s)",
            human(d),
            bytes as f64 / f64::from(1 << 20) / d.as_secs_f64()
        ),
    }
}

/// Three significant digits in s, ms or µs.
fn human(d: Duration) -> String {
    let s = d.as_secs_f64();
    let (v, unit) = if s >= 1.0 {
        (s, "s")
    } else if s >= 1e-3 {
        (s * 1e3, "ms")
    } else {
        (s * 1e6, "µs")
    };
    let decimals = if v >= 100.0 {
        0
    } else if v >= 10.0 {
        1
    } else {
        2
    };
    format!("{v:.decimals$} {unit}")
}

mod transfer;

pub use transfer::{
    Landing, Transfer, check_local, check_remote, data_file, download, flush, hex, upload,
};
