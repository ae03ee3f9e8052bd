//! The `docker://` backend while its container is paused, killed, stopped or removed in the
//! middle of a command or a transfer: every call ends in a clear error or its true result within a bound,
//! keep-alive reports the container's state, and the next call works once the container is back.
//! (A daemon restart has a test binary of its own, `docker_daemon_restart.rs`, as it disturbs
//! every container.)

use std::time::Duration;

use remote_host::docker::DockerBackend;
use remote_host::{Backend, ErrorCode, ExitStatus, FileClient};
use remote_tests::docker::{ContainerGuard, run, started};
use tokio::io::AsyncReadExt;

/// A bound on a whole test: a hang fails it with its name.
const LIMIT: Duration = Duration::from_secs(120);

async fn bounded<T>(what: &str, f: impl Future<Output = T>) -> T {
    tokio::time::timeout(LIMIT, f)
        .await
        .unwrap_or_else(|_| panic!("{what}: did not finish within {LIMIT:?} (a hang)"))
}

/// `cmd`'s status and stdout.
async fn exec(b: &dyn Backend, cmd: &str) -> remote_host::Result<(ExitStatus, String)> {
    remote_tests::exec(b, cmd, &[])
        .await
        .map(|(status, out, _)| (status, out))
}

/// A backend on a fresh busybox container, its file client (so its agent runs) and a command
/// that runs until the container goes.
async fn busy(
    c: &ContainerGuard,
) -> (
    DockerBackend,
    std::sync::Arc<dyn FileClient>,
    Box<dyn remote_host::Session>,
) {
    let b = started(&c.name).await;
    let files = b.files().await.unwrap_or_else(|e| panic!("files: {e}"));
    let mut long = b.new_session().await.unwrap_or_else(|e| panic!("{e}"));
    long.start("sleep 600")
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    (b, files, long)
}

/// Writes `chunks` MiB to `path` until a write or the close fails; the error, if any.
async fn write_until_error(
    files: &dyn FileClient,
    path: &str,
    chunks: usize,
    during: impl FnOnce(),
) -> Option<remote_host::Error> {
    let mut h = match files.create(path).await {
        Ok(h) => h,
        Err(e) => return Some(e),
    };
    let mut during = Some(during);
    for i in 0..chunks {
        if let Err(e) = h.write(&vec![i as u8; 1 << 20]).await {
            return Some(e);
        }
        if i == 1
            && let Some(f) = during.take()
        {
            f();
        }
    }
    h.close().await.err()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_paused_container_refuses_new_work_and_finishes_old_work_when_resumed() {
    bounded("paused container", async {
        let c = ContainerGuard::busybox();
        let b = started(&c.name).await;
        b.send_keep_alive()
            .await
            .unwrap_or_else(|e| panic!("keep-alive on a running container: {e}"));
        let mut long = b.new_session().await.unwrap_or_else(|e| panic!("{e}"));
        let mut out = long.stdout().unwrap_or_else(|e| panic!("{e}"));
        long.start("echo started; sleep 1; echo finished")
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        // Paused only once the command surely runs (pausing mid-`exec` fails the exec itself).
        let mut first = [0u8; 8];
        out.read_exact(&mut first)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(&first, b"started\n");
        run("docker", &["pause", &c.name]);

        let e = b
            .send_keep_alive()
            .await
            .expect_err("keep-alive passed a paused container");
        assert_eq!(e.code(), ErrorCode::ConnectionLost, "{e}");
        assert!(e.message().contains("docker unpause"), "{e}");
        assert!(!b.is_connected());
        let e = exec(&b, "true")
            .await
            .expect_err("a command started in a paused container");
        assert_eq!(e.code(), ErrorCode::ConnectionLost, "{e}");
        assert!(e.message().contains("paused"), "{e}");

        run("docker", &["unpause", &c.name]);
        let mut text = String::new();
        out.read_to_string(&mut text)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        let status = long.wait().await.unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            (status, text.as_str()),
            (ExitStatus::Exited(0), "finished\n"),
            "the command running through the pause lost its result"
        );
        b.send_keep_alive()
            .await
            .unwrap_or_else(|e| panic!("keep-alive after unpause: {e}"));
        assert!(b.is_connected());
        let (status, text) = exec(&b, "echo again")
            .await
            .unwrap_or_else(|e| panic!("after unpause: {e}"));
        assert_eq!((status, text.as_str()), (ExitStatus::Exited(0), "again\n"));
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_container_ends_commands_and_uploads_with_errors_and_recovers_when_started() {
    bounded("killed container", async {
        let c = ContainerGuard::busybox();
        let (b, files, mut long) = busy(&c).await;
        let name = c.name.clone();
        let e = write_until_error(files.as_ref(), "/tmp/upload", 256, move || {
            run("docker", &["kill", &name]);
        })
        .await
        .unwrap_or_else(|| panic!("256 MiB written into a killed container without an error"));
        assert!(
            matches!(e.code(), ErrorCode::ConnectionLost | ErrorCode::Timeout),
            "{e}"
        );
        let status = long.wait().await;
        assert!(
            !matches!(status, Ok(ExitStatus::Exited(0))),
            "a killed command reported success: {status:?}"
        );

        let e = b
            .send_keep_alive()
            .await
            .expect_err("keep-alive passed a dead container");
        assert!(
            e.message().contains("not running") && e.message().contains("docker start"),
            "{e}"
        );
        let e = exec(&b, "true")
            .await
            .expect_err("a command started in a dead container");
        assert_eq!(e.code(), ErrorCode::ConnectionLost, "{e}");

        run("docker", &["start", &c.name]);
        let (status, text) = exec(&b, "echo back")
            .await
            .unwrap_or_else(|e| panic!("the next command after a restart: {e}"));
        assert_eq!((status, text.as_str()), (ExitStatus::Exited(0), "back\n"));
        let fresh = b
            .files()
            .await
            .unwrap_or_else(|e| panic!("files() after a restart: {e}"));
        let mut h = fresh
            .create("/tmp/after")
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        h.write(b"whole").await.unwrap_or_else(|e| panic!("{e}"));
        h.close().await.unwrap_or_else(|e| panic!("{e}"));
        let (_, text) = exec(&b, "cat /tmp/after")
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(text, "whole");
        b.send_keep_alive()
            .await
            .unwrap_or_else(|e| panic!("keep-alive after the restart: {e}"));
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_container_stopped_mid_download_is_an_error_not_a_short_file() {
    bounded("stopped mid-download", async {
        let c = ContainerGuard::busybox();
        let b = started(&c.name).await;
        let (status, _) = exec(&b, "head -c 67108864 /dev/zero > /tmp/big")
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(status, ExitStatus::Exited(0));
        let files = b.files().await.unwrap_or_else(|e| panic!("files: {e}"));
        let mut h = files
            .open("/tmp/big")
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        let mut got = 0u64;
        let mut failed = None;
        for i in 0..1024 {
            match h.read(1 << 20).await {
                Ok(chunk) if chunk.is_empty() => break,
                Ok(chunk) => got += chunk.len() as u64,
                Err(e) => {
                    failed = Some(e);
                    break;
                }
            }
            if i == 1 {
                run("docker", &["stop", "-t", "0", &c.name]);
            }
        }
        let e = failed.unwrap_or_else(|| {
            panic!("the download ended after {got} of 67108864 bytes without an error")
        });
        assert!(
            matches!(e.code(), ErrorCode::ConnectionLost | ErrorCode::Timeout),
            "{e}"
        );
        assert!(got < 1 << 26, "a whole file and an error");
        run("docker", &["start", &c.name]);
        let fresh = b
            .files()
            .await
            .unwrap_or_else(|e| panic!("files() after a restart: {e}"));
        let st = fresh.stat("/").await.unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(st.kind, remote_host::FileKind::Directory);
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_container_removed_mid_session_gives_errors_not_hangs() {
    bounded("removed container", async {
        let c = ContainerGuard::busybox();
        let (b, files, mut long) = busy(&c).await;
        run("docker", &["rm", "-f", &c.name]);
        let status = long.wait().await;
        assert!(
            !matches!(status, Ok(remote_host::ExitStatus::Exited(0))),
            "a killed command did not succeed: {status:?}"
        );
        let e = files.stat("/").await.expect_err("the agent is gone");
        assert!(
            matches!(e.code(), ErrorCode::ConnectionLost | ErrorCode::Timeout),
            "{e}"
        );
        let mut s = b.new_session().await.unwrap_or_else(|e| panic!("{e}"));
        let e = s.start("true").await.expect_err("no container to exec in");
        assert_eq!(e.code(), ErrorCode::NotFound, "{e}");
        match b.files().await {
            Err(e) => assert_eq!(e.code(), ErrorCode::NotFound, "{e}"),
            Ok(_) => panic!("files() found no container but succeeded"),
        }
    })
    .await;
}
