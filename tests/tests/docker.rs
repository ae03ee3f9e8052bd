//! The Docker and Compose backends beyond the shared suite: lifecycle errors, agent failure and
//! recovery (containers that fail under a backend: `docker_faults.rs`), isolation between backends, Compose resolution against real projects, platform
//! detection, uploads into a scratch container, and OpenSSH's `sftp` against the agent.
//!
//! Every wait is bounded: each test body runs under [`bounded`].

use std::future::Future;
use std::process::Command;
use std::time::Duration;

use remote_host::compose::ComposeBackend;
use remote_host::docker::DockerBackend;
use remote_host::{Backend, ErrorCode, FileKind};
use remote_tests::docker::{ComposeProject, ContainerGuard, run, started};

/// Runs a test body with a deadline, so a hang fails the test.
async fn bounded<T>(what: &str, f: impl Future<Output = T>) -> T {
    tokio::time::timeout(Duration::from_secs(120), f)
        .await
        .unwrap_or_else(|_| panic!("{what}: did not finish within 120 s"))
}

/// Host pids of the agents running in a container, from `docker top` (no tool in the container).
fn agent_pids(container: &str) -> Vec<String> {
    run("docker", &["top", container, "-eo", "pid,args"])
        .lines()
        .filter(|l| l.contains(".remote-agent-"))
        .filter_map(|l| l.split_whitespace().next().map(str::to_string))
        .collect()
}

async fn output(b: &dyn Backend, cmd: &str) -> String {
    use tokio::io::AsyncReadExt;
    let mut s = b.new_session().await.unwrap_or_else(|e| panic!("{e}"));
    let mut out = s.stdout().unwrap_or_else(|e| panic!("{e}"));
    s.start(cmd).await.unwrap_or_else(|e| panic!("{cmd}: {e}"));
    let mut text = String::new();
    out.read_to_string(&mut text)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let status = s.wait().await.unwrap_or_else(|e| panic!("{e}"));
    assert!(status.success(), "{cmd}: {status:?}");
    text
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn missing_and_stopped_containers_fail_start_clearly() {
    bounded("start errors", async {
        let missing = DockerBackend::new("rt-no-such-container-x7q");
        let e = missing
            .start()
            .await
            .expect_err("a missing container must not start");
        assert_eq!(e.code(), ErrorCode::NotFound, "{e}");
        assert!(e.to_string().contains("rt-no-such-container-x7q"), "{e}");
        assert_eq!(
            missing.last_err().map(|e| e.code()),
            Some(ErrorCode::NotFound)
        );
        assert!(!missing.is_connected());

        let c = ContainerGuard::busybox();
        run("docker", &["stop", "-t", "0", &c.name]);
        let stopped = DockerBackend::new(&c.name);
        let e = stopped
            .start()
            .await
            .expect_err("a stopped container must not start");
        assert_eq!(e.code(), ErrorCode::ConnectionLost, "{e}");
        assert!(e.message().contains("not running"), "{e}");
        assert!(e.message().contains("exited"), "{e}");
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_agent_killed_mid_transfer_fails_the_transfer_and_the_next_files_call_starts_a_fresh_one()
 {
    bounded("agent killed", async {
        let c = ContainerGuard::busybox();
        let b = started(&c.name).await;
        let files = b.files().await.unwrap_or_else(|e| panic!("files: {e}"));
        let mut h = files
            .create("/tmp/big")
            .await
            .unwrap_or_else(|e| panic!("create: {e}"));
        h.write(&[1; 1 << 20])
            .await
            .unwrap_or_else(|e| panic!("first write: {e}"));
        let pids = agent_pids(&c.name);
        assert_eq!(pids.len(), 1, "one agent runs: {pids:?}");
        run("kill", &["-KILL", &pids[0]]);
        let mut failed = None;
        for _ in 0..64 {
            if let Err(e) = h.write(&[2; 1 << 20]).await {
                failed = Some(e);
                break;
            }
        }
        let e = match failed {
            Some(e) => e,
            None => h.close().await.expect_err("closing after the agent died"),
        };
        assert!(
            matches!(e.code(), ErrorCode::ConnectionLost | ErrorCode::Timeout),
            "{e}"
        );
        let fresh = b
            .files()
            .await
            .unwrap_or_else(|e| panic!("second files(): {e}"));
        let st = fresh
            .stat("/tmp")
            .await
            .unwrap_or_else(|e| panic!("stat via the new agent: {e}"));
        assert_eq!(st.kind, FileKind::Directory);
        let again = b.files().await.unwrap_or_else(|e| panic!("{e}"));
        assert!(
            std::sync::Arc::ptr_eq(&fresh, &again),
            "a healthy agent is reused"
        );
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_backends_on_one_container_share_nothing_they_should_not() {
    bounded("two backends", async {
        let c = ContainerGuard::busybox();
        let a = started(&c.name).await;
        let b = started(&c.name).await;
        let fa = a.files().await.unwrap_or_else(|e| panic!("{e}"));
        let fb = b.files().await.unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            agent_pids(&c.name).len(),
            2,
            "each backend runs its own agent"
        );

        let mut ha = fa.create("/tmp/a").await.unwrap_or_else(|e| panic!("{e}"));
        a.close().await.unwrap_or_else(|e| panic!("close a: {e}"));
        assert!(
            ha.write(b"x").await.is_err() || ha.close().await.is_err(),
            "a's handle dies with a"
        );
        let mut left = agent_pids(&c.name);
        for _ in 0..50 {
            if left.len() == 1 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
            left = agent_pids(&c.name);
        }
        assert_eq!(left.len(), 1, "a's agent exits when a is closed: {left:?}");
        let e = a.new_session().await.err().map(|e| e.code());
        assert_eq!(e, Some(ErrorCode::ConnectionLost), "a is closed");

        fb.mkdir("/tmp/only-b", 0o755)
            .await
            .unwrap_or_else(|e| panic!("b still works: {e}"));
        let mut s = b.new_session().await.unwrap_or_else(|e| panic!("{e}"));
        s.setenv("REMOTE_T_B", "b")
            .unwrap_or_else(|e| panic!("{e}"));
        s.start("true").await.unwrap_or_else(|e| panic!("{e}"));
        s.wait().await.unwrap_or_else(|e| panic!("{e}"));
        let env = output(&b, "echo \"[$REMOTE_T_B]\"").await;
        assert_eq!(env, "[]\n", "environment does not leak between sessions");
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn compose_resolution_against_a_real_project() {
    bounded("compose", async {
        let p = ComposeProject::up();
        let ambiguous = ComposeBackend::new(&p.name, "app", 0);
        let e = ambiguous
            .start()
            .await
            .expect_err("two replicas are ambiguous");
        assert_eq!(e.code(), ErrorCode::InvalidArgument, "{e}");
        let m = e.message();
        assert!(m.contains("2 running containers"), "{e}");
        assert!(m.contains(&format!("compose://{}/app/<N>", p.name)), "{e}");
        assert!(
            m.contains("1 (") && m.contains("2 ("),
            "lists the candidates: {e}"
        );

        for (service, seq, text) in [
            ("nope", 0, "/nope"),
            ("app", 3, "/app with container number 3"),
        ] {
            let b = ComposeBackend::new(&p.name, service, seq);
            let e = b.start().await.expect_err("nothing to resolve to");
            assert_eq!(e.code(), ErrorCode::NotFound, "{e}");
            assert!(
                e.message()
                    .contains(&format!("no running container for {}{text}", p.name)),
                "{e}"
            );
        }

        let two = ComposeBackend::new(&p.name, "app", 2);
        two.start()
            .await
            .unwrap_or_else(|e| panic!("compose://{}/app/2: {e}", p.name));
        assert_eq!(two.backend_type(), "compose");
        assert_eq!(two.addr(), format!("{}/app/2", p.name));
        let host = output(&two, "hostname").await;
        let id = run(
            "docker",
            &[
                "ps",
                "-q",
                "--no-trunc",
                "--filter",
                &format!("label=com.docker.compose.project={}", p.name),
                "--filter",
                "label=com.docker.compose.container-number=2",
            ],
        );
        assert!(
            id.starts_with(host.trim()),
            "replica 2 is {id}, the session ran in {host}"
        );
        two.close().await.unwrap_or_else(|e| panic!("{e}"));

        // Project `.` from a working directory: its name normalised as compose does, and a
        // compose file's top-level `name:` taking precedence.
        let base = std::env::temp_dir().join(format!("rt-compose-dot-{}", std::process::id()));
        let dir = base.join(format!("-{}", p.name.to_uppercase()));
        std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{e}"));
        let ctx = remote_host::compose::project::context(&dir, None);
        let dot = ComposeBackend::new(".", "app", 1).with_context(ctx);
        let started = dot.start().await;
        let named = base.join("other-dir");
        std::fs::create_dir_all(&named).unwrap_or_else(|e| panic!("{e}"));
        std::fs::write(
            named.join("compose.yaml"),
            format!("name: {}\nservices: {{}}\n", p.name),
        )
        .unwrap_or_else(|e| panic!("{e}"));
        let by_file = ComposeBackend::new(".", "app", 2)
            .with_context(remote_host::compose::project::context(&named, None));
        let started_by_file = by_file.start().await;
        let _ = std::fs::remove_dir_all(&base);
        started.unwrap_or_else(|e| panic!("compose://./app/1 from {}: {e}", dir.display()));
        assert_eq!(dot.addr(), format!("{}/app/1", p.name));
        started_by_file.unwrap_or_else(|e| panic!("compose://./app/2 by the file's name: {e}"));
        assert_eq!(by_file.addr(), format!("{}/app/2", p.name));
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn platform_comes_from_the_image_and_matches_the_machine() {
    bounded("platform", async {
        let c = ContainerGuard::busybox();
        let b = started(&c.name).await;
        let p = b.detect_platform().await.unwrap_or_else(|e| panic!("{e}"));
        let machine = output(&b, "uname -m").await;
        let want = remote_host::platform::platform_from("linux", machine.trim(), "");
        assert_eq!(
            (p.os.as_str(), p.arch.as_str()),
            (want.os.as_str(), want.arch.as_str())
        );
        let s = ContainerGuard::scratch();
        let scratch = started(&s.name).await;
        let ps = scratch
            .detect_platform()
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!((ps.os.as_str(), ps.arch.as_str()), ("linux", "amd64"));
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn upload_agent_into_the_scratch_container_and_run_it_without_a_shell() {
    bounded("scratch upload", async {
        let s = ContainerGuard::scratch();
        let b = started(&s.name).await;
        let local = std::env::temp_dir().join(format!("rt-upload-{}", std::process::id()));
        let agent = remote_host::docker::agent_for("amd64").expect("an amd64 agent is built");
        std::fs::write(&local, agent).unwrap_or_else(|e| panic!("{e}"));
        let got = b.upload_agent(&local, "/opt/tools/tool", 0o750).await;
        let again = b.upload_agent(&local, "/opt/tools/tool", 0o755).await;
        let _ = std::fs::remove_file(&local);
        assert_eq!(
            got.unwrap_or_else(|e| panic!("upload: {e}")),
            "/opt/tools/tool"
        );
        again.unwrap_or_else(|e| panic!("replace: {e}"));
        let files = b.files().await.unwrap_or_else(|e| panic!("{e}"));
        let st = files
            .stat("/opt/tools/tool")
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            (st.kind, st.mode, st.size, st.uid),
            (FileKind::Regular, 0o755, agent.len() as u64, 0)
        );
        let names: Vec<String> = files
            .read_dir("/opt/tools")
            .await
            .unwrap_or_else(|e| panic!("{e}"))
            .into_iter()
            .map(|e| e.name)
            .collect();
        assert_eq!(names, ["tool"], "no temporary file left");
        let version = output(&b, "/opt/tools/tool --version").await;
        assert!(version.starts_with("remote-agent "), "{version}");
        let mut sh = b.new_session().await.unwrap_or_else(|e| panic!("{e}"));
        let e = sh
            .start("echo $HOME")
            .await
            .expect_err("no shell in scratch");
        assert_eq!(e.code(), ErrorCode::Unsupported, "{e}");
        assert!(e.message().contains("no /bin/sh"), "{e}");
    })
    .await;
}

#[test]
fn openssh_sftp_client_against_the_agent() {
    let dir = std::env::temp_dir().join(format!("rt-sftp-d-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("work")).unwrap_or_else(|e| panic!("{e}"));
    let agent = dir.join("remote-agent");
    std::fs::write(
        &agent,
        remote_host::docker::agent_for("amd64").expect("amd64 agent"),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    std::fs::set_permissions(&agent, std::os::unix::fs::PermissionsExt::from_mode(0o755))
        .unwrap_or_else(|e| panic!("{e}"));
    std::fs::write(dir.join("local.txt"), "hello from put\n").unwrap_or_else(|e| panic!("{e}"));
    let batch = "\
mkdir d
put local.txt d/a.txt
rename d/a.txt d/b.txt
ln -s b.txt d/link
chmod 640 d/b.txt
ls -l d
get d/b.txt back.txt
df .
mkdir d/sub
rmdir d/sub
rm d/link
ls -l d
rm d/b.txt
rmdir d
";
    std::fs::write(dir.join("batch"), batch).unwrap_or_else(|e| panic!("{e}"));
    let out = Command::new("timeout")
        .args(["60", "sftp", "-b"])
        .arg(dir.join("batch"))
        .arg("-D")
        .arg(&agent)
        .current_dir(&dir)
        .output()
        .unwrap_or_else(|e| panic!("cannot run sftp: {e}"));
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let back = std::fs::read_to_string(dir.join("back.txt")).unwrap_or_default();
    let leftover = dir.join("d").exists();
    let _ = std::fs::remove_dir_all(&dir);
    assert!(
        out.status.success(),
        "sftp failed ({}): {stdout}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(back, "hello from put\n", "get after put and rename");
    assert!(
        stdout.contains("-rw-r-----"),
        "chmod shows in ls -l: {stdout}"
    );
    assert!(
        stdout.contains("lrwxrwxrwx") && stdout.contains("link"),
        "ln -s: {stdout}"
    );
    assert!(stdout.contains("Avail"), "df: {stdout}");
    assert!(!leftover, "rm and rmdir removed everything");
}
