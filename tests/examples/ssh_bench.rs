//! `ssh://` side by side with OpenSSH's own tools on the loopback sshd, in one run:
//!
//! ```sh
//! cargo run --release -p remote-tests --example ssh_bench
//! ```
//!
//! 1. exec latency of `true` on a warm connection vs `ssh` through a warm ControlMaster;
//! 2. a 1 GiB download and upload vs `sftp` and `scp` (both through the same ControlMaster, so
//!    no side pays for a handshake), the median of five interleaved rounds;
//! 3. 1000 stats and a 1000-entry listing vs an `sftp` batch (`ls -l` of each file, of the dir);
//! 4. 64 concurrent sessions × 20 execs (OpenSSH through its ControlMaster, which multiplexes
//!    on one connection and so meets the server's MaxSessions).
//!
//! The last column is the peer's time over ours: 1.0 or more means we are at least as fast.
//! Every loop has a fixed count and every external command a time limit. `REMOTE_BENCH_MB`
//! changes the transfer size (default 1024).

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use remote_host::{Backend, FileClient};
use remote_tests::Fixtures;
use remote_tests::sshd::{TempDir, connect, fixture_options, url};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

/// Execs timed one after another for the latency row.
const EXECS: usize = 200;
/// Stat calls and directory entries for the metadata rows.
const ENTRIES: usize = 1000;
/// Sessions at once, and execs each, for the concurrency row.
const SESSIONS: usize = 64;
const EXECS_PER_SESSION: usize = 20;
/// Bytes per read or write call of our transfers: the most one call may move.
const CHUNK: u64 = remote_host::file_client::MAX_READ;
/// Timed rounds of each transfer; the median is reported.
const ROUNDS: usize = 5;
/// The longest any one external command may run.
const COMMAND_LIMIT: Duration = Duration::from_secs(300);

struct Peer {
    base: Vec<String>,
    host: String,
    control: PathBuf,
}

impl Peer {
    fn ssh(&self) -> Command {
        let mut c = Command::new("ssh");
        c.args(&self.base).arg("-S").arg(&self.control);
        c
    }

    /// `sftp`/`scp` through the ControlMaster.
    fn tool(&self, name: &str) -> Command {
        let mut c = Command::new(name);
        c.args(&self.base)
            .arg("-o")
            .arg(format!("ControlPath={}", self.control.display()));
        c
    }
}

/// Runs a command to completion within [`COMMAND_LIMIT`]; true when it succeeded.
fn run(cmd: &mut Command) -> bool {
    let Ok(mut child) = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
    else {
        return false;
    };
    let deadline = Instant::now() + COMMAND_LIMIT;
    loop {
        match child.try_wait() {
            Ok(Some(status)) => return status.success(),
            Ok(None) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(1)),
            _ => {
                let _ = child.kill();
                let _ = child.wait();
                return false;
            }
        }
    }
}

fn must(ok: bool, what: &str) {
    assert!(ok, "{what} failed");
}

fn median(mut times: Vec<Duration>) -> Duration {
    times.sort();
    times[times.len() / 2]
}

fn timed<T>(f: impl FnOnce() -> T) -> (Duration, T) {
    let t = Instant::now();
    let r = f();
    (t.elapsed(), r)
}

async fn timed_async<T>(f: impl std::future::Future<Output = T>) -> (Duration, T) {
    let t = Instant::now();
    let r = f.await;
    (t.elapsed(), r)
}

struct Row {
    name: String,
    ours: String,
    peer_name: String,
    peer: String,
    ratio: f64,
}

fn row(
    name: &str,
    ours: Duration,
    peer_name: &str,
    peer: Duration,
    unit: &dyn Fn(Duration) -> String,
) -> Row {
    Row {
        name: name.into(),
        ours: unit(ours),
        peer_name: peer_name.into(),
        peer: unit(peer),
        ratio: peer.as_secs_f64() / ours.as_secs_f64(),
    }
}

async fn exec_true(b: &dyn Backend) -> bool {
    let Ok(mut s) = b.new_session().await else {
        return false;
    };
    let ok = s.start("true").await.is_ok() && s.wait().await.is_ok_and(|st| st.success());
    let _ = s.close().await;
    ok
}

async fn download(files: &dyn FileClient, remote: &str, local: &Path) -> remote_host::Result<u64> {
    let mut h = files.open(remote).await?;
    let mut out = tokio::fs::File::create(local)
        .await
        .map_err(|e| remote_host::Error::from_io("create", local.display().to_string(), e))?;
    let mut n = 0;
    loop {
        let chunk = h.read(CHUNK).await?;
        if chunk.is_empty() {
            break;
        }
        n += chunk.len() as u64;
        out.write_all(&chunk)
            .await
            .map_err(|e| remote_host::Error::from_io("write", local.display().to_string(), e))?;
    }
    h.close().await?;
    Ok(n)
}

async fn upload(files: &dyn FileClient, local: &Path, remote: &str) -> remote_host::Result<u64> {
    let mut src = tokio::fs::File::open(local)
        .await
        .map_err(|e| remote_host::Error::from_io("open", local.display().to_string(), e))?;
    let mut h = files.create(remote).await?;
    let mut buf = vec![0; CHUNK as usize];
    let mut n = 0;
    loop {
        let got = src
            .read(&mut buf)
            .await
            .map_err(|e| remote_host::Error::from_io("read", local.display().to_string(), e))?;
        if got == 0 {
            break;
        }
        h.write(&buf[..got]).await?;
        n += got as u64;
    }
    h.close().await?;
    Ok(n)
}

fn make_data_file(path: &Path, bytes: u64) {
    use std::io::Write as _;
    let mut f = std::fs::File::create(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut block = vec![0u8; 1 << 20];
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    for (i, chunk) in (0..bytes.div_ceil(1 << 20)).enumerate() {
        for b in block.iter_mut() {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            *b = (x as u8) ^ (i as u8);
        }
        let len = (bytes - chunk * (1 << 20)).min(1 << 20) as usize;
        f.write_all(&block[..len])
            .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    }
}

/// Makes `dir` and everything in it readable and writable by the test user (the server side).
fn hand_over(dir: &Path, user: &str) {
    must(
        run(Command::new("chown").arg("-R").arg(user).arg(dir)),
        "chown",
    );
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let f = Fixtures::load().ssh;
    let mb: u64 = std::env::var("REMOTE_BENCH_MB")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1024);
    let bytes = mb << 20;
    let work = TempDir::new("bench");
    let control = work.join("cm.sock");
    let base: Vec<String> = [
        "-F",
        "/dev/null",
        "-i",
        &f.identity.display().to_string(),
        "-o",
        &format!("UserKnownHostsFile={}", f.known_hosts.display()),
        "-o",
        "StrictHostKeyChecking=yes",
        "-o",
        "IdentitiesOnly=yes",
        "-o",
        "BatchMode=yes",
        "-o",
        &format!("Port={}", f.port),
        "-o",
        &format!("User={}", f.user),
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    let peer = Peer {
        base,
        host: f.host.clone(),
        control: control.clone(),
    };
    must(
        run(peer
            .ssh()
            .args(["-M", "-N", "-f", "-o", "ControlPersist=600"])
            .arg(&peer.host)),
        "starting the ssh ControlMaster",
    );
    let b = connect(&url(&f, f.port), fixture_options(&f)).await;
    let files = b.files().await.unwrap_or_else(|e| panic!("{e}"));
    let mut rows = Vec::new();
    let ms = |d: Duration| format!("{:.2} ms", d.as_secs_f64() * 1e3);
    let secs = |d: Duration| format!("{:.2} s", d.as_secs_f64());
    let rate = move |d: Duration| format!("{:.0} MB/s", bytes as f64 / 1e6 / d.as_secs_f64());

    // 1. exec latency.
    eprintln!("bench: exec latency ({EXECS} × true)");
    for _ in 0..10 {
        must(exec_true(&b).await, "warm-up exec");
        must(run(peer.ssh().arg(&peer.host).arg("true")), "warm-up ssh");
    }
    let (ours, ok) = timed_async(async {
        let mut ok = 0;
        for _ in 0..EXECS {
            ok += usize::from(exec_true(&b).await);
        }
        ok
    })
    .await;
    must(ok == EXECS, "our execs");
    let (theirs, ok) = timed(|| {
        (0..EXECS)
            .filter(|_| run(peer.ssh().arg(&peer.host).arg("true")))
            .count()
    });
    must(ok == EXECS, "ssh execs");
    rows.push(row(
        "exec `true`, warm connection (per exec)",
        ours / EXECS as u32,
        "ssh + ControlMaster",
        theirs / EXECS as u32,
        &ms,
    ));

    // 2. transfers.
    eprintln!("bench: {mb} MiB download and upload");
    let data = work.join("remote-src");
    make_data_file(&data, bytes);
    let up = work.join("uploads");
    std::fs::create_dir_all(&up).unwrap_or_else(|e| panic!("{e}"));
    hand_over(&work.0, &f.user);
    let local = TempDir::new("bench-local");
    let sink = local.join("download");
    let remote_src = data.display().to_string();
    // Once through, so every contender reads the source from the page cache.
    must(
        download(files.as_ref(), &remote_src, &sink).await.ok() == Some(bytes),
        "warm-up download",
    );
    let batch = local.join("batch");
    let sftp_batch = |line: String| {
        std::fs::write(&batch, line).unwrap_or_else(|e| panic!("{e}"));
        let mut c = peer.tool("sftp");
        c.arg("-b").arg(&batch).arg(&peer.host);
        c
    };
    let up_ours = format!("{}/ours", up.display());
    let up_sftp = format!("{}/sftp", up.display());
    let up_scp = format!("{}/scp", up.display());
    // Rounds interleave the contenders so a busy moment of the machine hits all of them.
    let mut t: [Vec<Duration>; 6] = Default::default();
    for _ in 0..ROUNDS {
        let (d, got) = timed_async(download(files.as_ref(), &remote_src, &sink)).await;
        must(got.ok() == Some(bytes), "our download");
        t[0].push(d);
        let (d, ok) = timed(|| {
            run(&mut sftp_batch(format!(
                "get {} {}\n",
                remote_src,
                sink.display()
            )))
        });
        must(ok, "sftp get");
        t[1].push(d);
        let (d, ok) = timed(|| {
            run(peer
                .tool("scp")
                .arg(format!("{}:{}", peer.host, remote_src))
                .arg(&sink))
        });
        must(ok, "scp download");
        t[2].push(d);
        let (d, sent) = timed_async(upload(files.as_ref(), &sink, &up_ours)).await;
        must(sent.ok() == Some(bytes), "our upload");
        t[3].push(d);
        let _ = std::fs::remove_file(&up_ours);
        let (d, ok) = timed(|| {
            run(&mut sftp_batch(format!(
                "put {} {}\n",
                sink.display(),
                up_sftp
            )))
        });
        must(ok, "sftp put");
        t[4].push(d);
        let _ = std::fs::remove_file(&up_sftp);
        let (d, ok) = timed(|| {
            run(peer
                .tool("scp")
                .arg(&sink)
                .arg(format!("{}:{}", peer.host, up_scp)))
        });
        must(ok, "scp upload");
        t[5].push(d);
        let _ = std::fs::remove_file(&up_scp);
    }
    let [ours_down, sftp_down, scp_down, ours_up, sftp_up, scp_up] = t.map(median);
    let _ = std::fs::remove_file(&data);
    rows.push(row(
        &format!("download {mb} MiB"),
        ours_down,
        "sftp",
        sftp_down,
        &rate,
    ));
    rows.push(row(
        &format!("download {mb} MiB"),
        ours_down,
        "scp",
        scp_down,
        &rate,
    ));
    rows.push(row(
        &format!("upload {mb} MiB"),
        ours_up,
        "sftp",
        sftp_up,
        &rate,
    ));
    rows.push(row(
        &format!("upload {mb} MiB"),
        ours_up,
        "scp",
        scp_up,
        &rate,
    ));

    // 3. metadata.
    eprintln!("bench: {ENTRIES} stats and a {ENTRIES}-entry listing");
    let many = work.join("many");
    std::fs::create_dir_all(&many).unwrap_or_else(|e| panic!("{e}"));
    for i in 0..ENTRIES {
        std::fs::write(many.join(format!("f{i:04}")), b"x").unwrap_or_else(|e| panic!("{e}"));
    }
    let names: Vec<String> = (0..ENTRIES)
        .map(|i| format!("{}/f{i:04}", many.display()))
        .collect();
    let (ours_stat, ok) = timed_async(async {
        let mut ok = 0;
        for n in &names {
            ok += usize::from(files.stat(n).await.is_ok());
        }
        ok
    })
    .await;
    must(ok == ENTRIES, "our stats");
    let lines: String = names.iter().map(|n| format!("ls -l {n}\n")).collect();
    let (sftp_stat, ok) = timed(|| run(&mut sftp_batch(lines)));
    must(ok, "sftp stat batch");
    rows.push(row(
        &format!("{ENTRIES} stats"),
        ours_stat,
        "sftp -b (ls -l each)",
        sftp_stat,
        &ms,
    ));
    let dir = many.display().to_string();
    let (ours_ls, listed) = timed_async(files.read_dir(&dir)).await;
    must(listed.map(|v| v.len()).ok() == Some(ENTRIES), "our listing");
    let (sftp_ls, ok) = timed(|| run(&mut sftp_batch(format!("ls -l {dir}\n"))));
    must(ok, "sftp ls");
    rows.push(row(
        &format!("list {ENTRIES} entries"),
        ours_ls,
        "sftp -b (ls -l)",
        sftp_ls,
        &ms,
    ));

    // 4. concurrency.
    eprintln!("bench: {SESSIONS} sessions × {EXECS_PER_SESSION} execs");
    let shared: Arc<dyn Backend> = Arc::new(b);
    let (ours_conc, failures) = timed_async(async {
        let tasks = (0..SESSIONS).map(|_| {
            let b = shared.clone();
            tokio::spawn(async move {
                let mut failed = 0;
                for _ in 0..EXECS_PER_SESSION {
                    failed += usize::from(!exec_true(b.as_ref()).await);
                }
                failed
            })
        });
        sum_failures(tasks.collect()).await
    })
    .await;
    let (peer_conc, peer_failures) = timed(|| {
        std::thread::scope(|s| {
            let handles: Vec<_> = (0..SESSIONS)
                .map(|_| {
                    s.spawn(|| {
                        (0..EXECS_PER_SESSION)
                            .filter(|_| !run(peer.ssh().arg(&peer.host).arg("true")))
                            .count()
                    })
                })
                .collect();
            handles
                .into_iter()
                .map(|h| h.join().unwrap_or(EXECS_PER_SESSION))
                .sum::<usize>()
        })
    });
    let total = SESSIONS * EXECS_PER_SESSION;
    let mut conc = row(
        &format!("{SESSIONS} sessions × {EXECS_PER_SESSION} execs"),
        ours_conc,
        "ssh + ControlMaster",
        peer_conc,
        &secs,
    );
    conc.ours = format!("{} ({failures}/{total} failed)", conc.ours);
    conc.peer = format!("{} ({peer_failures}/{total} failed)", conc.peer);
    rows.push(conc);
    shared.close().await.unwrap_or_else(|e| panic!("{e}"));
    let _ = run(peer.ssh().args(["-O", "exit"]).arg(&peer.host));

    println!("| benchmark | remote (ssh://) | peer | peer result | speed vs peer |");
    println!("|---|---|---|---|---|");
    for r in &rows {
        println!(
            "| {} | {} | {} | {} | {:.2}× |",
            r.name, r.ours, r.peer_name, r.peer, r.ratio
        );
    }
    println!(
        "\nspeed vs peer = peer's time / our time (≥ 1.0 means remote is as fast or faster); \
         OpenSSH {}",
        String::from_utf8_lossy(
            &Command::new("ssh")
                .arg("-V")
                .output()
                .map(|o| o.stderr)
                .unwrap_or_default()
        )
        .trim()
    );
    if failures > 0 {
        std::process::exit(1);
    }
}

async fn sum_failures(tasks: Vec<tokio::task::JoinHandle<usize>>) -> usize {
    let mut failed = 0;
    for t in tasks {
        failed += t.await.unwrap_or(EXECS_PER_SESSION);
    }
    failed
}
