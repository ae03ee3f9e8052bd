//! `ssh://` side by side with OpenSSH's own tools on the loopback sshd, in one run, printed as
//! the README's table:
//!
//! ```sh
//! cargo run --release -p remote-tests --example ssh_bench     # REMOTE_BENCH_MB=256 for less
//! ```
//!
//! Every row pairs a run of ours with a run of the peer doing the same work, alternately (see
//! [`remote_tests::bench`]); OpenSSH's tools all go through one ControlMaster started before the
//! first row, as our backend's connection is, so neither side pays for a handshake per run.
//!
//! 1. exec `true` on a warm connection, stdout and stderr read, vs `ssh -S` through the
//!    ControlMaster with both piped;
//! 2. a 1 GiB download to a local file and upload from one (no fsync on either side) vs
//!    `sftp -b` (`get`/`put`) and `scp`; every file's SHA-256 is checked after its run, an
//!    upload's by `sha256sum` on the server;
//! 3. 1000 `lstat`s one after another vs ONE `sftp -b` batch of 1000 `ls -l FILE` lines (one
//!    LSTAT request each), and one listing of 1000 entries vs one `sftp -b` `ls -l DIR`;
//! 4. 64 sessions at once × 20 execs vs 64 `ssh -S` loops at once through the ControlMaster,
//!    which puts every session on one connection and so meets the server's `MaxSessions`; the
//!    peer's failures are shown with their reasons instead of a ratio.
//!
//! `REMOTE_BENCH_MB` changes the transfer size (default 1024).

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::Arc;
use std::time::{Duration, Instant};

use remote_host::{Backend, FileClient};
use remote_tests::bench::{self, Case, FIX, Failures, Landing, Show, Table, Transfer, timed};
use remote_tests::sshd::{TempDir, connect, fixture_options, url};
use remote_tests::{Fixtures, SshFixture};
use tokio::process::Command;

/// Execs per run of the latency row.
const EXECS: u32 = 100;
/// Files stat'ed, and entries listed, per run of the metadata rows.
const ENTRIES: u32 = 1000;
/// Pairs of the metadata rows: their runs are short, so more of them cost little.
const METADATA_PAIRS: usize = 11;
/// Sessions at once, and execs each, for the concurrency row.
const SESSIONS: usize = 64;
const EXECS_PER_SESSION: usize = 20;
/// Pairs of the concurrency row: each run is 1280 execs a side.
const CONCURRENCY_PAIRS: usize = 3;

/// OpenSSH's client with exactly the fixture's key, known_hosts and port (no `~/.ssh/config`),
/// through one ControlMaster, which is told to exit when this is dropped.
#[derive(Debug)]
struct OpenSsh {
    base: Vec<String>,
    host: String,
    control: PathBuf,
}

impl OpenSsh {
    /// Starts the ControlMaster on a socket in `dir`; panics with its log and the fix if the
    /// fixture sshd does not let it in.
    async fn start(f: &SshFixture, dir: &Path) -> OpenSsh {
        let base = [
            "-F".to_string(),
            "/dev/null".into(),
            "-i".into(),
            f.identity.display().to_string(),
            "-o".into(),
            format!("UserKnownHostsFile={}", f.known_hosts.display()),
            "-o".into(),
            "StrictHostKeyChecking=yes".into(),
            "-o".into(),
            "IdentitiesOnly=yes".into(),
            "-o".into(),
            "BatchMode=yes".into(),
            "-o".into(),
            format!("Port={}", f.port),
            "-o".into(),
            format!("User={}", f.user),
        ]
        .to_vec();
        let ssh = OpenSsh {
            base,
            host: f.host.clone(),
            control: dir.join("cm.sock"),
        };
        // `-f` leaves the master running in the background, holding its stderr: a file, not a
        // pipe, so this waits only for the foreground process.
        let log = dir.join("cm.log");
        let log_file = std::fs::File::create(&log).unwrap_or_else(|e| panic!("{e}"));
        let (_, started) = bench::attempt(
            ssh.ssh()
                .args(["-M", "-N", "-f", "-o", "ControlPersist=600"])
                .arg(&ssh.host)
                .stdout(Stdio::null())
                .stderr(log_file),
        )
        .await;
        if let Err(why) = started {
            panic!(
                "the OpenSSH ControlMaster to {}:{} did not start ({why}): {}; {FIX}",
                f.host,
                f.port,
                std::fs::read_to_string(&log).unwrap_or_default()
            );
        }
        ssh
    }

    /// `ssh` through the ControlMaster, stdout and stderr piped.
    fn ssh(&self) -> Command {
        let mut c = bench::command("ssh");
        c.args(&self.base).arg("-S").arg(&self.control);
        c
    }

    /// `ssh … true`.
    fn ssh_true(&self) -> Command {
        let mut c = self.ssh();
        c.arg(&self.host).arg("true");
        c
    }

    /// `sftp` or `scp` through the ControlMaster.
    fn tool(&self, name: &str) -> Command {
        let mut c = bench::command(name);
        c.args(&self.base)
            .arg("-o")
            .arg(format!("ControlPath={}", self.control.display()));
        c
    }

    /// `sftp -b batch`.
    fn sftp_batch(&self, batch: &Path) -> Command {
        let mut c = self.tool("sftp");
        c.arg("-b").arg(batch).arg(&self.host);
        c
    }
}

impl Drop for OpenSsh {
    fn drop(&mut self) {
        let _ = std::process::Command::new("ssh")
            .args(&self.base)
            .arg("-S")
            .arg(&self.control)
            .args(["-O", "exit"])
            .arg(&self.host)
            .stdin(Stdio::null())
            .output();
    }
}

/// Whether an exec of the peer's concurrency row went through the ControlMaster: a client whose
/// session the master could not open (the server's `MaxSessions` reached on its one connection)
/// says so on stderr and falls back to a connection of its own, with a full handshake. It may
/// then succeed, but it is no longer the ControlMaster's work, so it counts as failed.
fn through_master(out: Result<std::process::Output, String>) -> Result<(), String> {
    let out = out?;
    match String::from_utf8_lossy(&out.stderr)
        .lines()
        .find(|l| l.contains("mux_client_request_session"))
    {
        Some(refused) => Err(format!(
            "{} (then ran on a connection of its own)",
            refused.trim()
        )),
        None => Ok(()),
    }
}

/// A file of `sftp -b` commands.
fn batch(path: &Path, lines: impl Iterator<Item = String>) -> PathBuf {
    let text: String = lines.map(|l| l + "\n").collect();
    std::fs::write(path, text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    path.to_path_buf()
}

/// The server's `MaxSessions` from its configuration (OpenSSH's default, 10, when unset).
fn max_sessions(f: &SshFixture) -> String {
    std::fs::read_to_string(&f.sshd_config)
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix("MaxSessions").map(|v| v.trim().to_string()))
        .unwrap_or_else(|| "10".into())
}

/// What every row uses: our backend and its file client, OpenSSH, and both sides' directories.
struct Ctx {
    b: Arc<dyn Backend>,
    files: Arc<dyn FileClient>,
    peer: Arc<OpenSsh>,
    /// Files the server reads or receives, owned by the test user.
    server: TempDir,
    /// The client's files.
    client: TempDir,
    user: String,
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let f = Fixtures::load().ssh;
    if let Err(e) = std::net::TcpStream::connect_timeout(
        &format!("{}:{}", f.host, f.port)
            .parse()
            .unwrap_or_else(|e| panic!("fixture address {}:{}: {e}", f.host, f.port)),
        Duration::from_secs(5),
    ) {
        panic!(
            "the fixture sshd at {}:{} is not listening ({e}); {FIX}",
            f.host, f.port
        );
    }
    let mb: u64 = std::env::var("REMOTE_BENCH_MB")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1024);
    let client = TempDir::new("bench-client");
    let peer = Arc::new(OpenSsh::start(&f, &client.0).await);
    let b: Arc<dyn Backend> = Arc::new(connect(&url(&f, f.port), fixture_options(&f)).await);
    let cx = Ctx {
        files: b.files().await.unwrap_or_else(|e| panic!("{e}")),
        b,
        peer,
        server: TempDir::new("bench-server"),
        client,
        user: f.user.clone(),
    };
    let mut table = Table::default();
    execs(&mut table, &cx).await;
    transfers(&mut table, &cx, mb).await;
    metadata(&mut table, &cx).await;
    concurrency(&mut table, &cx, &max_sessions(&f)).await;
    cx.b.close()
        .await
        .unwrap_or_else(|e| panic!("closing: {e}"));

    let version = std::process::Command::new("ssh")
        .arg("-V")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stderr).trim().to_string())
        .unwrap_or_default();
    table.print(&format!(
        "peer / ours: each pair's peer time over our time, the median of the pairs (≥ 1.0: we are \
         as fast or faster); one untimed pair first; {version}, every tool through one \
         ControlMaster."
    ));
}

async fn execs(table: &mut Table, cx: &Ctx) {
    let (b, peer) = (cx.b.as_ref(), &cx.peer);
    table
        .row(
            Case::new(
                &format!("exec `true` ×{EXECS}, warm connection, stdout and stderr read"),
                "`ssh -S` (ControlMaster) `true`, stdout and stderr piped",
                Show::Each(EXECS, "exec"),
            ),
            async || bench::times(EXECS, async || bench::exec_true(b).await).await,
            async || {
                Ok(bench::times(EXECS, async || {
                    bench::run(&mut peer.ssh_true()).await;
                })
                .await)
            },
        )
        .await;
}

async fn transfers(table: &mut Table, cx: &Ctx, mb: u64) {
    let (b, files, peer) = (cx.b.as_ref(), cx.files.as_ref(), &cx.peer);
    let bytes = mb << 20;
    let local_src = cx.client.join("src");
    let sha = bench::data_file(&local_src, bytes);
    let remote_src = cx.server.join("src");
    std::fs::copy(&local_src, &remote_src).unwrap_or_else(|e| panic!("{e}"));
    bench::flush(&remote_src);
    bench::run(
        bench::command("chown")
            .arg("-R")
            .arg(&cx.user)
            .arg(&cx.server.0),
    )
    .await;
    let sink = cx.client.join("download");
    let uploaded = cx.server.join("upload");
    let (remote_src_s, uploaded_s) = (
        remote_src.display().to_string(),
        uploaded.display().to_string(),
    );
    let get = batch(
        &cx.client.join("get.batch"),
        [format!("get {remote_src_s} {}", sink.display())].into_iter(),
    );
    let put = batch(
        &cx.client.join("put.batch"),
        [format!("put {} {uploaded_s}", local_src.display())].into_iter(),
    );
    let download = format!("download {mb} MiB to a local file (16 MiB reads, no fsync)");
    let upload = format!("upload {mb} MiB from a local file (16 MiB writes, no fsync)");
    let (down, up) = (Landing::Local(&sink), Landing::Remote(b, &uploaded_s));
    let local_src_s = local_src.display().to_string();
    let (scp_from, scp_to) = (
        format!("{}:{remote_src_s}", peer.host),
        format!("{}:{uploaded_s}", peer.host),
    );
    let scp = |from: &dyn AsRef<std::ffi::OsStr>, to: &dyn AsRef<std::ffi::OsStr>| {
        let mut c = peer.tool("scp");
        c.arg(from).arg(to);
        c
    };
    let rows = [
        Transfer {
            what: &download,
            peer: "`sftp -b` `get` (no fsync)",
            landing: down,
            from: &remote_src_s,
            command: &|| peer.sftp_batch(&get),
        },
        Transfer {
            what: &download,
            peer: "`scp` (SFTP protocol)",
            landing: down,
            from: &remote_src_s,
            command: &|| scp(&scp_from, &sink),
        },
        Transfer {
            what: &upload,
            peer: "`sftp -b` `put` (no fsync)",
            landing: up,
            from: &local_src_s,
            command: &|| peer.sftp_batch(&put),
        },
        Transfer {
            what: &upload,
            peer: "`scp` (SFTP protocol)",
            landing: up,
            from: &local_src_s,
            command: &|| scp(&local_src, &scp_to),
        },
    ];
    table.transfers(files, (bytes, &sha), &rows).await;
    let _ = std::fs::remove_file(&remote_src);
    let _ = std::fs::remove_file(&uploaded);
    let _ = std::fs::remove_file(&sink);
}

async fn metadata(table: &mut Table, cx: &Ctx) {
    let (files, peer) = (cx.files.as_ref(), &cx.peer);
    let dir = cx.server.join("many");
    std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{e}"));
    let names: Vec<String> = (0..ENTRIES)
        .map(|i| format!("{}/f{i:04}", dir.display()))
        .collect();
    for n in &names {
        std::fs::write(n, b"x").unwrap_or_else(|e| panic!("{n}: {e}"));
    }
    let stats = batch(
        &cx.client.join("stat.batch"),
        names.iter().map(|n| format!("ls -l {n}")),
    );
    table
        .row(
            Case::new(
                &format!("{ENTRIES} `lstat`s, one after another"),
                &format!("one `sftp -b` batch of {ENTRIES} `ls -l FILE` (one LSTAT each)"),
                Show::Each(ENTRIES, "stat"),
            )
            .pairs(METADATA_PAIRS),
            async || bench::lstats(files, &names).await,
            async || Ok(bench::run(&mut peer.sftp_batch(&stats)).await.0),
        )
        .await;
    let dir = dir.display().to_string();
    let list = batch(
        &cx.client.join("ls.batch"),
        [format!("ls -l {dir}")].into_iter(),
    );
    table
        .row(
            Case::new(
                &format!("list a directory of {ENTRIES} entries (`read_dir`)"),
                "one `sftp -b` `ls -l DIR`",
                Show::Total,
            )
            .pairs(METADATA_PAIRS),
            async || {
                let (took, listed) = timed(files.read_dir(&dir)).await;
                let n = listed
                    .unwrap_or_else(|e| panic!("our read_dir {dir}: {e}"))
                    .len();
                assert_eq!(n, ENTRIES as usize, "entries our read_dir listed");
                took
            },
            async || Ok(bench::run(&mut peer.sftp_batch(&list)).await.0),
        )
        .await;
}

async fn concurrency(table: &mut Table, cx: &Ctx, max_sessions: &str) {
    table
        .row(
            Case::new(
                &format!("{SESSIONS} sessions at once × {EXECS_PER_SESSION} execs of `true`"),
                &format!(
                    "{SESSIONS} `ssh -S` loops at once × {EXECS_PER_SESSION}, one ControlMaster \
                     connection (server MaxSessions {max_sessions})"
                ),
                Show::Total,
            )
            .pairs(CONCURRENCY_PAIRS),
            async || {
                let started = Instant::now();
                let tasks: Vec<_> = (0..SESSIONS)
                    .map(|_| {
                        let b = cx.b.clone();
                        tokio::spawn(async move {
                            for _ in 0..EXECS_PER_SESSION {
                                bench::exec_true(b.as_ref()).await;
                            }
                        })
                    })
                    .collect();
                for t in tasks {
                    t.await
                        .unwrap_or_else(|e| panic!("our concurrent execs: {e}"));
                }
                started.elapsed()
            },
            async || {
                let started = Instant::now();
                let tasks: Vec<_> = (0..SESSIONS)
                    .map(|_| {
                        let peer = cx.peer.clone();
                        tokio::spawn(async move {
                            let mut f = Failures::default();
                            for _ in 0..EXECS_PER_SESSION {
                                f.count(through_master(
                                    bench::attempt(&mut peer.ssh_true()).await.1,
                                ));
                            }
                            f
                        })
                    })
                    .collect();
                let mut all = Failures::default();
                for t in tasks {
                    all.merge(t.await.unwrap_or_else(|e| panic!("ssh loops: {e}")));
                }
                let took = started.elapsed();
                if all.failed() > 0 { Err(all) } else { Ok(took) }
            },
        )
        .await;
}
