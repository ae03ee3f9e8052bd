//! The `podman://` backend beyond the shared suite (which runs on Podman in `conformance.rs`):
//! the destination reaches the fixture's service by Podman's own defaults, errors name Podman,
//! its socket and its CLI, the platform comes from the image, the agent goes into a scratch
//! container, and a paused container is reported as such.
//!
//! Every wait is bounded: each test body runs under [`bounded`].

use std::future::Future;
use std::time::Duration;

use remote_host::docker::{DockerBackend, Endpoint, Engine};
use remote_host::{Backend, DestType, ErrorCode, ExitStatus, FileKind, parse_destination};
use remote_tests::docker::{ContainerGuard, run_on, started_on};

/// Runs a test body with a deadline, so a hang fails the test.
async fn bounded<T>(what: &str, f: impl Future<Output = T>) -> T {
    tokio::time::timeout(Duration::from_secs(120), f)
        .await
        .unwrap_or_else(|_| panic!("{what}: did not finish within 120 s"))
}

/// `cmd`'s status and stdout.
async fn exec(b: &dyn Backend, cmd: &str) -> remote_host::Result<(ExitStatus, String)> {
    remote_tests::exec(b, cmd, &[])
        .await
        .map(|(status, out, _)| (status, out))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_podman_destination_reaches_the_service_where_podman_puts_it() {
    bounded("podman://", async {
        let c = ContainerGuard::busybox_on(Engine::Podman);
        let fixture = remote_tests::Fixtures::load().podman;
        assert_eq!(
            Endpoint::from_env(Engine::Podman).addr(),
            fixture.host,
            "root's default socket (CONTAINER_HOST unset) is the fixture's service"
        );
        let dest = parse_destination(&format!("podman://{}", c.name), DestType::Ssh)
            .unwrap_or_else(|e| panic!("{e}"));
        let b = remote_host::connect(&dest)
            .await
            .unwrap_or_else(|e| panic!("{dest}: {e}"));
        assert_eq!(
            (b.backend_type(), b.addr()),
            ("podman".into(), c.name.clone())
        );
        assert_eq!(b.user(), "root");
        let (status, text) = exec(b.as_ref(), "echo \"$((6 * 7))\"; cat /proc/1/cgroup")
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(status, ExitStatus::Exited(0));
        assert!(text.starts_with("42\n"), "{text}");
        assert!(text.contains("libpod"), "runs under podman: {text}");
        let st = b
            .files()
            .await
            .unwrap_or_else(|e| panic!("{e}"))
            .stat("/home/remote")
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!((st.kind, st.uid), (FileKind::Directory, 1000));
        b.close().await.unwrap_or_else(|e| panic!("{e}"));
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_service_is_named_with_its_socket() {
    bounded("no service", async {
        let sock = "unix:///run/rt-no-podman-here/podman.sock";
        let b = DockerBackend::on(Endpoint::new(Engine::Podman, sock), "web");
        let e = b.start().await.expect_err("nothing listens there");
        assert_eq!(e.code(), ErrorCode::ConnectionLost, "{e}");
        assert!(
            e.message()
                .contains(&format!("cannot reach the Podman service at {sock}")),
            "{e}"
        );
        let bad = DockerBackend::on(Endpoint::new(Engine::Podman, "ftp://x"), "web");
        let e = bad.start().await.expect_err("not an API address");
        assert_eq!(e.code(), ErrorCode::InvalidArgument, "{e}");
        assert!(e.message().contains("CONTAINER_HOST"), "{e}");
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn missing_and_stopped_containers_fail_start_naming_podman() {
    bounded("start errors", async {
        let missing = remote_tests::docker::backend(Engine::Podman, "rt-no-such-container-p3z");
        let e = missing
            .start()
            .await
            .expect_err("a missing container must not start");
        assert_eq!(e.code(), ErrorCode::NotFound, "{e}");
        assert!(e.to_string().contains("rt-no-such-container-p3z"), "{e}");

        let c = ContainerGuard::busybox_on(Engine::Podman);
        run_on(Engine::Podman, &["stop", "-t", "0", &c.name]);
        let stopped = remote_tests::docker::backend(Engine::Podman, &c.name);
        let e = stopped
            .start()
            .await
            .expect_err("a stopped container must not start");
        assert_eq!(e.code(), ErrorCode::ConnectionLost, "{e}");
        let m = e.message();
        assert!(m.contains("not running (state: exited)"), "{e}");
        assert!(m.contains(&format!("`podman start {}`", c.name)), "{e}");
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_paused_container_is_reported_and_work_resumes_after_unpause() {
    bounded("paused", async {
        let c = ContainerGuard::busybox_on(Engine::Podman);
        let b = started_on(Engine::Podman, &c.name).await;
        b.send_keep_alive()
            .await
            .unwrap_or_else(|e| panic!("keep-alive on a running container: {e}"));
        run_on(Engine::Podman, &["pause", &c.name]);
        let e = b
            .send_keep_alive()
            .await
            .expect_err("keep-alive passed a paused container");
        assert_eq!(e.code(), ErrorCode::ConnectionLost, "{e}");
        assert!(e.message().contains("podman unpause"), "{e}");
        let e = exec(&b, "true")
            .await
            .expect_err("a command started in a paused container");
        assert_eq!(e.code(), ErrorCode::ConnectionLost, "{e}");
        assert!(e.message().contains("paused"), "{e}");
        run_on(Engine::Podman, &["unpause", &c.name]);
        b.send_keep_alive()
            .await
            .unwrap_or_else(|e| panic!("keep-alive after unpause: {e}"));
        let (status, text) = exec(&b, "echo again")
            .await
            .unwrap_or_else(|e| panic!("after unpause: {e}"));
        assert_eq!((status, text.as_str()), (ExitStatus::Exited(0), "again\n"));
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn platform_comes_from_the_image_and_the_agent_goes_into_a_scratch_container() {
    bounded("platform and scratch", async {
        let c = ContainerGuard::busybox_on(Engine::Podman);
        let b = started_on(Engine::Podman, &c.name).await;
        let p = b.detect_platform().await.unwrap_or_else(|e| panic!("{e}"));
        let (_, machine) = exec(&b, "uname -m").await.unwrap_or_else(|e| panic!("{e}"));
        let want = remote_host::platform::platform_from("linux", machine.trim(), "");
        assert_eq!((p.os, p.arch), (want.os, want.arch));

        let s = ContainerGuard::scratch_on(Engine::Podman);
        let scratch = started_on(Engine::Podman, &s.name).await;
        let local = std::env::temp_dir().join(format!("rt-podman-upload-{}", std::process::id()));
        let agent = remote_host::docker::agent_for("amd64").expect("an amd64 agent is built");
        std::fs::write(&local, agent).unwrap_or_else(|e| panic!("{e}"));
        let got = scratch.upload_agent(&local, "/opt/tools/tool", 0o755).await;
        let _ = std::fs::remove_file(&local);
        assert_eq!(
            got.unwrap_or_else(|e| panic!("upload: {e}")),
            "/opt/tools/tool"
        );
        let (status, version) = exec(&scratch, "/opt/tools/tool --version")
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(status, ExitStatus::Exited(0));
        assert!(version.starts_with("remote-agent "), "{version}");
        let mut sh = scratch
            .new_session()
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        let e = sh
            .start("echo $HOME")
            .await
            .expect_err("no shell in scratch");
        assert_eq!(e.code(), ErrorCode::Unsupported, "{e}");
    })
    .await;
}
