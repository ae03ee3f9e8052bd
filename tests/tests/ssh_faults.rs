//! The `ssh://` backend through the fault proxy (`remote_tests::fault_proxy`) in front of the
//! loopback sshd: a stall is found by keep-alive, a cut transfer is an error and never a success,
//! an atomic upload that is cut leaves the old file whole, the next call reconnects, and a
//! thousand commands under random cuts end each in success or a clear error, never a hang.

use std::path::Path;
use std::time::{Duration, Instant};

use remote_host::conformance::support::Xorshift;
use remote_host::ssh::{SshBackend, SshOptions};
use remote_host::upload::upload_via_files;
use remote_host::{Backend, ErrorCode, ExitStatus};
use remote_tests::fault_proxy::FaultProxy;
use remote_tests::sshd::{TempDir, connect, fixture_options, url};
use remote_tests::{Fixtures, exec};

/// A bound on any single step.
const STEP: Duration = Duration::from_secs(30);

async fn bounded<T>(what: &str, f: impl std::future::Future<Output = T>) -> T {
    tokio::time::timeout(STEP, f)
        .await
        .unwrap_or_else(|_| panic!("{what} did not finish within {STEP:?} (a hang)"))
}

/// The fixture sshd behind a fault proxy, and a backend connected through it.
struct Rig {
    proxy: FaultProxy,
    backend: SshBackend,
    dir: TempDir,
}

async fn rig(tag: &str, keep_alive: Option<Duration>) -> Rig {
    let f = Fixtures::load().ssh;
    let upstream = format!("{}:{}", f.host, f.port)
        .parse()
        .unwrap_or_else(|e| panic!("fixture address: {e}"));
    let proxy = FaultProxy::start(upstream)
        .await
        .unwrap_or_else(|e| panic!("fault proxy: {e}"));
    let port = proxy.addr().port();
    // The server's key, vouched for at the proxy's address (known_hosts names host and port).
    let dir = TempDir::new(tag);
    let known = std::fs::read_to_string(&f.known_hosts)
        .unwrap_or_else(|e| panic!("{}: {e}", f.known_hosts.display()));
    let fixture_name = format!("[{}]:{}", f.host, f.port);
    assert!(
        known.contains(&fixture_name),
        "{} has no entry for {fixture_name}",
        f.known_hosts.display()
    );
    let kh = dir.join("known_hosts");
    std::fs::write(
        &kh,
        known.replace(&fixture_name, &format!("[{}]:{port}", f.host)),
    )
    .unwrap_or_else(|e| panic!("{}: {e}", kh.display()));
    let opts = SshOptions {
        known_hosts: vec![kh],
        keep_alive_interval: keep_alive,
        connect_timeout: Some(Duration::from_secs(10)),
        ..fixture_options(&f)
    };
    let backend = bounded("connect", connect(&url(&f, port), opts)).await;
    Rig {
        proxy,
        backend,
        dir,
    }
}

/// A scratch path on the target (the same machine) that the test user may write.
fn remote_path(dir: &TempDir, name: &str) -> String {
    let p = Path::new("/tmp").join(format!(
        "{}-{name}",
        dir.0
            .file_name()
            .map_or_else(|| "rt-faults".into(), |n| n.to_string_lossy().into_owned())
    ));
    p.to_string_lossy().into_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keep_alive_finds_a_stall_within_two_intervals_and_the_next_call_reconnects() {
    let interval = Duration::from_secs(1);
    let r = rig("stall", Some(interval)).await;
    assert_eq!(r.backend.keep_alive_interval(), Some(interval));
    bounded("keep-alive before the stall", r.backend.send_keep_alive())
        .await
        .unwrap_or_else(|e| panic!("keep-alive on a healthy connection: {e}"));

    r.proxy.set_stalled(true);
    let stalled_at = Instant::now();
    // The caller's keep-alive loop: one probe per interval, the first one now.
    let mut ticks = tokio::time::interval(interval);
    let mut found = None;
    for _ in 0..10 {
        ticks.tick().await;
        if let Err(e) = bounded("keep-alive", r.backend.send_keep_alive()).await {
            found = Some((stalled_at.elapsed(), e));
            break;
        }
    }
    let (after, e) = found.unwrap_or_else(|| panic!("ten keep-alives passed a stalled link"));
    assert!(
        after <= 2 * interval,
        "the stall was found after {after:?}, more than two intervals of {interval:?}"
    );
    assert_eq!(e.code(), ErrorCode::ConnectionLost, "{e}");
    assert!(e.message().contains("keep-alive"), "{e}");
    assert!(r.proxy.dropped_bytes() > 0, "the proxy saw no probe");
    assert!(!r.backend.is_connected(), "a dead link still counts as up");
    let last = r
        .backend
        .last_err()
        .unwrap_or_else(|| panic!("no last error after a lost connection"));
    assert_eq!(last.code(), ErrorCode::ConnectionLost, "{last}");

    r.proxy.set_stalled(false);
    let (status, out, _) = bounded("exec after the stall", exec(&r.backend, "echo back", &[]))
        .await
        .unwrap_or_else(|e| panic!("the call after a stall did not reconnect: {e}"));
    assert_eq!((status, out.as_str()), (ExitStatus::Exited(0), "back\n"));
    assert!(r.backend.is_connected());
    assert_eq!(r.backend.connections(), 1, "the dead connection was kept");
    r.backend.close().await.unwrap_or_else(|e| panic!("{e}"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cut_write_is_an_error_and_a_cut_upload_leaves_the_old_file_whole() {
    let r = rig("cut", None).await;
    let files = bounded("files", r.backend.files())
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let plain = remote_path(&r.dir, "plain");
    let target = remote_path(&r.dir, "agent");
    let old = b"the old agent, still whole\n".repeat(1000);
    {
        let mut w = bounded("create", files.create(&target))
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        bounded("write", w.write(&old))
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        bounded("close", w.close())
            .await
            .unwrap_or_else(|e| panic!("{e}"));
    }
    let big: Vec<u8> = (0..8u32 << 20).map(|i| (i * 7 + i / 4096) as u8).collect();
    let local = r.dir.join("new-agent");
    std::fs::write(&local, &big).unwrap_or_else(|e| panic!("{e}"));

    // A plain write cut a megabyte in: the write or the close fails; neither claims success.
    r.proxy.cut_after(Some(1 << 20));
    let plain_result = bounded("cut write", async {
        let mut w = files.create(&plain).await?;
        w.write(&big).await?;
        w.close().await
    })
    .await;
    let e = plain_result.expect_err("an 8 MiB write cut after 1 MiB reported success");
    assert!(
        matches!(e.code(), ErrorCode::ConnectionLost | ErrorCode::Io),
        "{e}"
    );
    assert_eq!(r.proxy.cuts(), 1);
    let partial = std::fs::metadata(&plain).map_or(0, |m| m.len());
    assert!(
        partial < big.len() as u64,
        "the cut file is whole ({partial} bytes) yet the write failed"
    );

    // An atomic upload cut half-way: an error, and the old file untouched.
    r.proxy.cut_after(Some(4 << 20));
    let files = bounded("files after a cut", r.backend.files())
        .await
        .unwrap_or_else(|e| panic!("files() did not reconnect after a cut: {e}"));
    let upload = bounded(
        "cut upload",
        upload_via_files(files.as_ref(), &local, &target, 0o755, "/"),
    )
    .await;
    let e = upload.expect_err("an upload cut half-way reported success");
    assert!(
        matches!(e.code(), ErrorCode::ConnectionLost | ErrorCode::Io),
        "{e}"
    );
    let now = std::fs::read(&target).unwrap_or_else(|e| panic!("{target}: {e}"));
    assert!(
        now == old,
        "the cut upload changed the old file ({} bytes now)",
        now.len()
    );

    // Faults lifted: the next call reconnects and the same upload completes.
    r.proxy.cut_after(None);
    let files = bounded("files after the faults", r.backend.files())
        .await
        .unwrap_or_else(|e| panic!("files() did not reconnect: {e}"));
    let path = bounded(
        "upload",
        upload_via_files(files.as_ref(), &local, &target, 0o755, "/"),
    )
    .await
    .unwrap_or_else(|e| panic!("the upload after the faults: {e}"));
    assert_eq!(path, target);
    assert!(std::fs::read(&target).is_ok_and(|b| b == big));
    for p in [&plain, &target] {
        let _ = std::fs::remove_file(p);
    }
    r.backend.close().await.unwrap_or_else(|e| panic!("{e}"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_execs_under_random_cuts_succeed_or_fail_clearly() {
    const RUNS: usize = 1000;
    const BUDGET: Duration = Duration::from_secs(300);
    let r = rig("random-cuts", None).await;
    let seed = 0x005e_ed0f_c075;
    let mut rng = Xorshift(seed);
    let started = Instant::now();
    let (mut ok, mut failed, mut kinds) = (0usize, 0usize, std::collections::BTreeMap::new());
    for i in 0..RUNS {
        assert!(
            started.elapsed() < BUDGET,
            "only {i} of {RUNS} commands ran within {BUDGET:?}"
        );
        // One command in eight arms a cut somewhere in the next 30 KB on the wire (inside a
        // command's output, between commands, or inside the handshake of the redial that follows
        // a cut); one in sixty-four resets the connection.
        let roll = rng.next_u64();
        match roll % 64 {
            0 => r.proxy.reset_all(),
            1..=8 if !r.proxy.cut_pending() => r.proxy.cut_after(Some(rng.next_u64() % 30_000 + 1)),
            _ => {}
        }
        let cmd = format!(
            "printf '%s\\n' {i} && head -c {} /dev/zero | tr '\\0' x",
            roll % 3000
        );
        let result = tokio::time::timeout(STEP, exec(&r.backend, &cmd, &[]))
            .await
            .unwrap_or_else(|_| panic!("command {i} hung (seed {seed:#x})"));
        match result {
            Ok((status, out, _)) => {
                assert_eq!(status, ExitStatus::Exited(0), "command {i}: {out}");
                let want = format!("{i}\n{}", "x".repeat((roll % 3000) as usize));
                assert!(
                    out == want,
                    "command {i} succeeded with the wrong output ({} bytes, want {})",
                    out.len(),
                    want.len()
                );
                ok += 1;
            }
            Err(e) => {
                assert!(
                    !e.message().is_empty() && !e.op().is_empty(),
                    "command {i}: an error without its cause: {e:?}"
                );
                assert!(
                    matches!(
                        e.code(),
                        ErrorCode::ConnectionLost | ErrorCode::Io | ErrorCode::Timeout
                    ),
                    "command {i}: {e}"
                );
                *kinds.entry(format!("{:?}", e.code())).or_insert(0usize) += 1;
                failed += 1;
                if e.message().contains("before the next attempt") {
                    // A redial was cut: the backend holds off for a second; so does the test,
                    // rather than count a second of instant refusals.
                    tokio::time::sleep(Duration::from_millis(1100)).await;
                }
            }
        }
    }
    r.proxy.cut_after(None);
    println!(
        "{RUNS} commands in {:?}: {ok} ok, {failed} clear errors {kinds:?}, {} cuts",
        started.elapsed(),
        r.proxy.cuts()
    );
    assert!(r.proxy.cuts() > 0, "no command was cut");
    assert!(failed > 0, "no cut reached a command");
    assert!(ok >= RUNS / 2, "only {ok} of {RUNS} commands succeeded");
    // After the faults, the backend recovers (a failed redial may have started a back-off).
    let mut last = None;
    for _ in 0..40 {
        match bounded("exec after the faults", exec(&r.backend, "echo fine", &[])).await {
            Ok((_, out, _)) if out == "fine\n" => {
                last = None;
                break;
            }
            other => last = Some(format!("{other:?}")),
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    assert!(last.is_none(), "no recovery after the faults: {last:?}");
    r.backend.close().await.unwrap_or_else(|e| panic!("{e}"));
}
