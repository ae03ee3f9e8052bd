//! dockerd restarted under an open `docker://` backend. A test binary of its own, with one test:
//! cargo runs test binaries one after another, so no other test's container sees the restart.
//!
//! The daemon is the machine's (started by `tests/fixtures/setup.sh` as `/usr/sbin/dockerd`); it
//! is stopped with SIGTERM and started again the same way, and a guard starts it again if the
//! test fails half-way, so later tests find it up.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use remote_host::docker::DockerBackend;
use remote_host::{Backend, ErrorCode, ExitStatus};
use remote_tests::docker::{ContainerGuard, run};

const DOCKERD: &str = "/usr/sbin/dockerd";
const PID_FILE: &str = "/var/run/docker.pid";

fn daemon_answers() -> bool {
    Command::new("timeout")
        .args(["10", "docker", "info"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

fn wait_for(limit: Duration, what: &str, mut cond: impl FnMut() -> bool) {
    let deadline = Instant::now() + limit;
    while !cond() {
        assert!(Instant::now() < deadline, "{what} within {limit:?}");
        std::thread::sleep(Duration::from_millis(200));
    }
}

fn daemon_pid() -> Option<String> {
    std::fs::read_to_string(PID_FILE)
        .ok()
        .map(|p| p.trim().to_string())
        .filter(|p| !p.is_empty() && std::path::Path::new(&format!("/proc/{p}")).exists())
}

fn stop_daemon() {
    let pid = daemon_pid().unwrap_or_else(|| panic!("no running dockerd in {PID_FILE}"));
    run("kill", &["-TERM", &pid]);
    wait_for(Duration::from_secs(60), "dockerd stopped", || {
        !std::path::Path::new(&format!("/proc/{pid}")).exists()
    });
}

fn start_daemon() {
    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open("/var/tmp/remote-test-fixtures/dockerd.log")
        .unwrap_or_else(|e| panic!("dockerd log: {e}"));
    let err = log.try_clone().unwrap_or_else(|e| panic!("{e}"));
    Command::new("setsid")
        .args(["-f", DOCKERD])
        .stdin(Stdio::null())
        .stdout(log)
        .stderr(err)
        .status()
        .unwrap_or_else(|e| panic!("cannot start {DOCKERD}: {e}"));
    wait_for(
        Duration::from_secs(60),
        "dockerd answering again",
        daemon_answers,
    );
}

/// Starts dockerd again if the test leaves it down.
struct Restore;

impl Drop for Restore {
    fn drop(&mut self) {
        if !daemon_answers() {
            start_daemon();
        }
    }
}

/// `cmd`'s status and stdout.
async fn exec(b: &dyn Backend, cmd: &str) -> remote_host::Result<(ExitStatus, String)> {
    remote_tests::exec(b, cmd, &[])
        .await
        .map(|(status, out, _)| (status, out))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_daemon_restart_is_a_clear_error_and_the_backend_recovers_after_it() {
    assert!(
        daemon_answers(),
        "dockerd is not running; run tests/fixtures/setup.sh"
    );
    let _restore = Restore;
    let c = ContainerGuard::busybox();
    let b = DockerBackend::new(&c.name);
    b.start().await.unwrap_or_else(|e| panic!("{e}"));
    let files = b.files().await.unwrap_or_else(|e| panic!("{e}"));
    let mut long = b.new_session().await.unwrap_or_else(|e| panic!("{e}"));
    long.start("sleep 600")
        .await
        .unwrap_or_else(|e| panic!("{e}"));

    tokio::task::spawn_blocking(stop_daemon)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let bound = Duration::from_secs(60);
    let status = tokio::time::timeout(bound, long.wait())
        .await
        .unwrap_or_else(|_| panic!("a command outlived its daemon by {bound:?}"));
    assert!(
        !matches!(status, Ok(ExitStatus::Exited(0))),
        "a command cut off by the daemon's stop reported success: {status:?}"
    );
    let e = tokio::time::timeout(bound, b.send_keep_alive())
        .await
        .unwrap_or_else(|_| panic!("keep-alive hung without a daemon"))
        .expect_err("keep-alive passed without a daemon");
    assert_eq!(e.code(), ErrorCode::ConnectionLost, "{e}");
    assert!(e.message().contains("Docker daemon"), "{e}");
    let e = tokio::time::timeout(bound, exec(&b, "true"))
        .await
        .unwrap_or_else(|_| panic!("exec hung without a daemon"))
        .expect_err("a command ran without a daemon");
    assert_eq!(e.code(), ErrorCode::ConnectionLost, "{e}");
    let e = tokio::time::timeout(bound, files.stat("/"))
        .await
        .unwrap_or_else(|_| panic!("the agent's client hung without a daemon"))
        .expect_err("the agent outlived the daemon's stop");
    assert!(
        matches!(e.code(), ErrorCode::ConnectionLost | ErrorCode::Timeout),
        "{e}"
    );

    tokio::task::spawn_blocking(start_daemon)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    // Without a restart policy the container stays down across the daemon's restart: the
    // backend says so, then works once it is started.
    let e = exec(&b, "true")
        .await
        .expect_err("a command ran in a container the restart stopped");
    assert!(e.message().contains("not running"), "{e}");
    run("docker", &["start", &c.name]);
    let (status, text) = exec(&b, "echo back")
        .await
        .unwrap_or_else(|e| panic!("after the restart: {e}"));
    assert_eq!((status, text.as_str()), (ExitStatus::Exited(0), "back\n"));
    let st = b
        .files()
        .await
        .unwrap_or_else(|e| panic!("files() after the restart: {e}"))
        .stat("/")
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(st.kind, remote_host::FileKind::Directory);
    b.send_keep_alive()
        .await
        .unwrap_or_else(|e| panic!("keep-alive after the restart: {e}"));
}
