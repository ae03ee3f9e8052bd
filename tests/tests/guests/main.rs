//! Guests through the host: the policy's decisions (exact codes and rules), the path rewriter's
//! refusals, the sandbox's limits (a loop, unbounded memory, a trap: each an error within its
//! limit, and the next call works), and the compose resolver. The conformance suite over guest
//! stacks is in `conformance.rs`.

use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use remote_host::guest::{Layer, Limits, LogLevel};
use remote_host::{Backend, ErrorCode, ExitStatus};
use remote_tests::backends::local;
use tokio::io::AsyncReadExt;

/// Every guest has a test module here: the build fails otherwise.
macro_rules! has_tests {
    ($name:ident) => {
        #[expect(unused_imports, reason = "only proves the module exists")]
        use self::$name as _;
    };
}
remote_guest_artifacts::foreach_guest!(has_tests);

/// A fresh local directory for one test.
fn scratch(name: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    let dir = format!(
        "/tmp/remote-guest-test-{name}-{}-{nanos}",
        std::process::id()
    );
    std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{dir}: {e}"));
    dir
}

/// `local://` in the guest at `wasm` with `config` and `limits`, its log lines collected.
async fn wrapped(
    wasm: &str,
    config: &str,
    limits: Limits,
) -> (Box<dyn Backend>, Arc<Mutex<Vec<String>>>) {
    let lines = Arc::new(Mutex::new(Vec::new()));
    let sink_lines = lines.clone();
    let sink = Arc::new(move |_: &str, level: LogLevel, line: &str| {
        sink_lines
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(format!("{level:?} {line}"));
    });
    let layer = Layer::load_with(Path::new(wasm), config, limits, None, sink)
        .await
        .unwrap_or_else(|e| panic!("loading {wasm}: {e}"));
    let b = layer
        .wrap(local().await, "local://")
        .await
        .unwrap_or_else(|e| panic!("wrapping: {e}"));
    b.start().await.unwrap_or_else(|e| panic!("start: {e}"));
    (Box::new(b), lines)
}

/// Runs `cmd` with `env`, returning its status and stdout.
async fn run(
    b: &dyn Backend,
    cmd: &str,
    env: &[(&str, &str)],
) -> remote_host::Result<(ExitStatus, String)> {
    let mut s = b.new_session().await?;
    for (k, v) in env {
        s.setenv(k, v)?;
    }
    let mut out = s.stdout()?;
    s.start(cmd).await?;
    let mut text = String::new();
    out.read_to_string(&mut text)
        .await
        .unwrap_or_else(|e| panic!("reading stdout of {cmd:?}: {e}"));
    let status = s.wait().await?;
    s.close().await?;
    Ok((status, text))
}

/// Asserts `r` is `access-denied` naming `rule`.
#[track_caller]
fn denied<T: std::fmt::Debug>(r: remote_host::Result<T>, rule: &str, what: &str) {
    match r {
        Err(e) => {
            assert_eq!(e.code(), ErrorCode::AccessDenied, "{what}: {e}");
            assert!(
                e.message().contains(&format!("rule `{rule}`")),
                "{what}: the message should name rule {rule}: {e}"
            );
        }
        Ok(v) => panic!("{what}: allowed ({v:?}), want access-denied by {rule}"),
    }
}

mod policy {
    use super::*;

    const POLICY: &str = remote_guest_artifacts::POLICY;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn allow_list_refuses_other_programs_and_chained_bypasses() {
        let dir = scratch("chain");
        let (b, _) = wrapped(
            POLICY,
            r#"{"commands":{"allow":["true","echo","test"]}}"#,
            Limits::default(),
        )
        .await;
        let b = b.as_ref();
        let (status, out) = run(b, "echo 'a; rm -rf /' && true", &[])
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            (status, out.as_str()),
            (ExitStatus::Exited(0), "a; rm -rf /\n")
        );
        let marker = format!("{dir}/marker");
        for cmd in [
            format!("touch {marker}"),
            format!("true; touch {marker}"),
            format!("true && touch {marker}"),
            format!("true || touch {marker}"),
            format!("true | touch {marker}"),
            format!("true & touch {marker}"),
            format!("true\ntouch {marker}"),
            format!("true $(touch {marker})"),
            format!("true `touch {marker}`"),
            format!("echo \"$(touch {marker})\""),
            format!("(touch {marker})"),
            format!("X=touch; $X {marker}"),
            format!("/usr/bin/touch {marker}"),
            format!("'touch' {marker}"),
            format!("\"touch\" {marker}"),
            format!("t\\ouch {marker}"),
            format!("tou''ch {marker}"),
            format!("${{T:-touch}} {marker}"),
            format!("eval 'touch {marker}'"),
            format!("true <(touch {marker})"),
            format!("true > >(touch {marker})"),
            format!("echo a;touch {marker}"),
        ] {
            denied(run(b, &cmd, &[]).await, "commands.allow", &cmd);
        }
        assert!(!Path::new(&marker).exists(), "a refused command ran anyway");
        b.close().await.unwrap_or_else(|e| panic!("{e}"));
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn deny_list_and_line_patterns() {
        let (b, _) = wrapped(
            POLICY,
            r#"{"commands":{"deny":["rm","shutdown"],"deny_lines":["*--force*"]}}"#,
            Limits::default(),
        )
        .await;
        let b = b.as_ref();
        assert_eq!(
            run(b, "true", &[]).await.map(|r| r.0).ok(),
            Some(ExitStatus::Exited(0))
        );
        denied(
            run(b, "echo x; /bin/rm -rf /nonexistent", &[]).await,
            "commands.deny",
            "rm by path",
        );
        denied(
            run(b, "echo `shutdown now`", &[]).await,
            "commands.deny",
            "substitution",
        );
        denied(
            run(b, "git push --force", &[]).await,
            "commands.deny_lines",
            "line pattern",
        );
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn environment_deny_strip_and_keep() {
        let (b, _) = wrapped(
            POLICY,
            r#"{"env":{"deny":["LD_*"],"strip":["*"]}}"#,
            Limits::default(),
        )
        .await;
        let b = b.as_ref();
        denied(
            run(b, "true", &[("LD_PRELOAD", "/evil.so")]).await,
            "env.deny",
            "LD_PRELOAD",
        );
        let (_, out) = run(
            b,
            "printf '%s|%s|%s' \"$SECRET_TOKEN\" \"$LC_ALL\" \"$EDITOR\"",
            &[
                ("SECRET_TOKEN", "s3cret"),
                ("LC_ALL", "C.UTF-8"),
                ("EDITOR", "vi"),
            ],
        )
        .await
        .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(out, "|C.UTF-8|vi", "stripped, kept, kept");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn read_only_and_hidden_paths_survive_dotdot_and_symlinks() {
        let t = scratch("paths");
        for d in ["ro", "hidden", "rw"] {
            std::fs::create_dir_all(format!("{t}/{d}")).unwrap_or_else(|e| panic!("{e}"));
        }
        std::fs::write(format!("{t}/ro/existing"), b"ro").unwrap_or_else(|e| panic!("{e}"));
        std::fs::write(format!("{t}/hidden/secret"), b"s").unwrap_or_else(|e| panic!("{e}"));
        std::os::unix::fs::symlink(format!("{t}/ro"), format!("{t}/rw/to-ro"))
            .unwrap_or_else(|e| panic!("{e}"));
        std::os::unix::fs::symlink("../hidden", format!("{t}/rw/to-hidden"))
            .unwrap_or_else(|e| panic!("{e}"));
        let config = format!(r#"{{"paths":{{"read_only":["{t}/ro"],"hidden":["{t}/hidden"]}}}}"#);
        let (b, _) = wrapped(POLICY, &config, Limits::default()).await;
        let f = b.files().await.unwrap_or_else(|e| panic!("{e}"));
        let f = f.as_ref();

        assert_eq!(
            f.stat(&format!("{t}/ro/existing"))
                .await
                .map(|s| s.size)
                .ok(),
            Some(2)
        );
        for p in [
            format!("{t}/ro/new"),
            format!("{t}/rw/../ro/new"),
            format!("{t}/rw/to-ro/new"),
            format!("{t}/rw/./to-ro/../ro/new"),
        ] {
            denied(f.create(&p).await.map(|_| ()), "paths.read_only", &p);
        }
        denied(
            f.remove(&format!("{t}/rw/to-ro/existing")).await,
            "paths.read_only",
            "remove through link",
        );
        denied(
            f.chmod(&format!("{t}/ro"), 0o777).await,
            "paths.read_only",
            "chmod the root",
        );
        for p in [
            format!("{t}/hidden/secret"),
            format!("{t}/rw/../hidden/secret"),
            format!("{t}/rw/to-hidden/secret"),
            format!("{t}/rw/to-hidden"),
        ] {
            denied(f.stat(&p).await, "paths.hidden", &p);
        }
        denied(
            f.open(&format!("{t}/rw/to-hidden/secret"))
                .await
                .map(|_| ()),
            "paths.hidden",
            "open",
        );
        let names: Vec<String> = f
            .read_dir(&t)
            .await
            .unwrap_or_else(|e| panic!("{e}"))
            .into_iter()
            .map(|e| e.name)
            .collect();
        assert_eq!(names, ["ro", "rw"], "read-dir hides the hidden directory");
        // The link itself lives in a writable directory: removing it changes nothing read-only.
        f.remove(&format!("{t}/rw/to-ro"))
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        f.create(&format!("{t}/rw/ok"))
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        std::fs::remove_dir_all(&t).unwrap_or_else(|e| panic!("{e}"));
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn upload_agent_can_be_refused_and_decisions_audited() {
        let t = scratch("upload");
        let local_file = format!("{t}/agent");
        std::fs::write(&local_file, b"#!/bin/sh\n").unwrap_or_else(|e| panic!("{e}"));
        let (b, lines) = wrapped(
            POLICY,
            r#"{"upload_agent":false,"audit":true}"#,
            Limits::default(),
        )
        .await;
        denied(
            b.upload_agent(Path::new(&local_file), &format!("{t}/installed"), 0o755)
                .await,
            "upload_agent",
            "upload",
        );
        run(b.as_ref(), "true", &[])
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        let lines = lines.lock().unwrap_or_else(|p| p.into_inner()).clone();
        assert!(
            lines
                .iter()
                .any(|l| l.starts_with("Warn deny upload-agent")),
            "audit of the refusal: {lines:?}"
        );
        assert!(
            lines.iter().any(|l| l == "Info allow start \"true\""),
            "audit of the allowed command: {lines:?}"
        );
        std::fs::remove_dir_all(&t).unwrap_or_else(|e| panic!("{e}"));
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn bad_configuration_fails_the_load_with_the_guests_words() {
        for (config, want) in [
            (r#"{"comands":{}}"#, "unknown field `comands`"),
            (
                r#"{"paths":{"hidden":["relative"]}}"#,
                "must be an absolute path",
            ),
            ("not json", "invalid configuration"),
        ] {
            let e = Layer::load(Path::new(POLICY), config, Limits::default())
                .await
                .err()
                .unwrap_or_else(|| panic!("{config} was accepted"));
            assert_eq!(e.code(), ErrorCode::InvalidArgument, "{e}");
            assert!(e.message().contains(want), "{config}: {e}");
        }
    }
}

mod path_rewrite {
    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn maps_both_ways_and_refuses_escapes() {
        let t = scratch("rewrite");
        let root = format!("{t}/root");
        std::fs::create_dir_all(&root).unwrap_or_else(|e| panic!("{e}"));
        std::fs::write(format!("{root}/file"), b"inside").unwrap_or_else(|e| panic!("{e}"));
        std::fs::write(format!("{t}/outside"), b"outside").unwrap_or_else(|e| panic!("{e}"));
        std::os::unix::fs::symlink("/etc", format!("{root}/etc-link"))
            .unwrap_or_else(|e| panic!("{e}"));
        std::os::unix::fs::symlink("../outside", format!("{root}/up-link"))
            .unwrap_or_else(|e| panic!("{e}"));
        let config = format!(r#"{{"mappings":[{{"virtual":"/workspace","real":"{root}"}}]}}"#);
        let (b, _) = wrapped(
            remote_guest_artifacts::PATH_REWRITE,
            &config,
            Limits::default(),
        )
        .await;
        let f = b.files().await.unwrap_or_else(|e| panic!("{e}"));
        let f = f.as_ref();
        assert_eq!(f.getwd().await.ok().as_deref(), Some("/workspace"));
        assert_eq!(
            f.stat("/workspace/file").await.map(|s| s.size).ok(),
            Some(6)
        );
        assert_eq!(
            f.stat("file").await.map(|s| s.size).ok(),
            Some(6),
            "relative to the workdir"
        );
        f.symlink("/workspace/file", "/workspace/abs")
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            std::fs::read_link(format!("{root}/abs")).ok(),
            Some(format!("{root}/file").into()),
            "stored as the real path"
        );
        assert_eq!(
            f.readlink("/workspace/abs").await.ok().as_deref(),
            Some("/workspace/file")
        );
        for (p, why) in [
            ("/workspace/../outside", "outside every mapped root"),
            ("/etc/passwd", "outside every mapped root"),
            ("../../etc/passwd", "outside every mapped root"),
            ("/workspace/etc-link/passwd", "leads outside"),
            ("/workspace/up-link", "leads outside"),
        ] {
            let e = f
                .stat(p)
                .await
                .err()
                .unwrap_or_else(|| panic!("{p} was allowed"));
            assert_eq!(e.code(), ErrorCode::AccessDenied, "{p}: {e}");
            assert!(e.message().contains(why), "{p}: {e}");
        }
        let e = f.symlink("/etc/passwd", "/workspace/l").await.err();
        assert_eq!(
            e.map(|e| e.code()),
            Some(ErrorCode::AccessDenied),
            "absolute target outside"
        );
        let (_, out) = run(b.as_ref(), "cat /workspace/file; echo; pwd", &[])
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            out,
            format!("inside\n{root}\n"),
            "paths in commands are mapped, and commands start in the workdir"
        );
        std::fs::remove_dir_all(&t).unwrap_or_else(|e| panic!("{e}"));
    }
}

mod sandbox_test {
    use super::*;

    const SANDBOX: &str = remote_guest_artifacts::SANDBOX_TEST;

    /// Runs the misbehaving call and then a good one, both bounded so a broken limit fails the
    /// test instead of hanging it.
    async fn misbehave_then_recover(limits: Limits, trigger: &str, code: ErrorCode, why: &str) {
        let dir = scratch("sandbox");
        let (b, _) = wrapped(SANDBOX, "{}", limits).await;
        let f = b.files().await.unwrap_or_else(|e| panic!("{e}"));
        let session = b.new_session().await.unwrap_or_else(|e| panic!("{e}"));
        let bad =
            tokio::time::timeout(Duration::from_secs(60), f.stat(&format!("{dir}/{trigger}")))
                .await
                .unwrap_or_else(|_| {
                    panic!("{trigger}: no error within 60 s: the limit does not hold")
                });
        let e = bad.err().unwrap_or_else(|| panic!("{trigger} succeeded"));
        assert_eq!(e.code(), code, "{trigger}: {e}");
        assert!(e.message().contains(why), "{trigger}: {e}");
        // The host is up and the guest was restarted: the same client works again…
        assert!(f.stat(&dir).await.is_ok(), "the next call after {trigger}");
        assert!(
            run(b.as_ref(), "true", &[]).await.is_ok(),
            "a new session after {trigger}"
        );
        // …while what the stopped instance held is gone.
        let mut session = session;
        let stale = session.start("true").await.err().map(|e| e.code());
        assert_eq!(
            stale,
            Some(ErrorCode::ConnectionLost),
            "a session of the stopped instance"
        );
        std::fs::remove_dir_all(&dir).unwrap_or_else(|e| panic!("{e}"));
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn infinite_loop_stops_at_the_time_limit() {
        let limits = Limits {
            time: Some(Duration::from_millis(300)),
            fuel: None,
            ..Limits::default()
        };
        misbehave_then_recover(
            limits,
            ".sandbox-loop",
            ErrorCode::Timeout,
            "CPU limit (300 ms",
        )
        .await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn infinite_loop_stops_at_the_fuel_limit() {
        let limits = Limits {
            time: None,
            fuel: Some(20_000_000),
            ..Limits::default()
        };
        misbehave_then_recover(
            limits,
            ".sandbox-loop",
            ErrorCode::Timeout,
            "CPU limit (20000000 fuel",
        )
        .await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn unbounded_memory_stops_at_the_memory_limit() {
        let limits = Limits {
            memory: 24 << 20,
            ..Limits::default()
        };
        misbehave_then_recover(limits, ".sandbox-grow", ErrorCode::Io, "memory").await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn hoarding_handles_stops_at_the_handle_limit() {
        let limits = Limits {
            handles: 40,
            ..Limits::default()
        };
        misbehave_then_recover(limits, ".sandbox-hoard", ErrorCode::Io, "40 handles").await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_trap_is_an_error_for_that_call() {
        misbehave_then_recover(
            Limits::default(),
            ".sandbox-trap",
            ErrorCode::Io,
            "failed and was stopped",
        )
        .await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_long_command_is_not_cut_by_the_time_limit() {
        let limits = Limits {
            time: Some(Duration::from_millis(100)),
            ..Limits::default()
        };
        let (b, _) = wrapped(SANDBOX, "{}", limits).await;
        let r = run(b.as_ref(), "sleep 0.5", &[]).await.map(|r| r.0);
        assert_eq!(
            r.ok(),
            Some(ExitStatus::Exited(0)),
            "time spent waiting on the host does not count"
        );
    }
}

mod compose_resolver {
    use remote_host::guest::{ComposeResolver, Container, ProjectContext};

    use super::*;

    fn c(id: &str, service: &str, n: u32, state: &str) -> Container {
        Container {
            id: id.into(),
            names: vec![format!("/shop-{service}-{n}")],
            labels: vec![
                ("com.docker.compose.project".into(), "shop".into()),
                ("com.docker.compose.service".into(), service.into()),
                ("com.docker.compose.container-number".into(), n.to_string()),
            ],
            state: state.into(),
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn resolves_through_the_host() {
        let r = ComposeResolver::load(Path::new(remote_guest_artifacts::COMPOSE_RESOLVER))
            .unwrap_or_else(|e| panic!("{e}"));
        let containers = [
            c("w1", "web", 1, "running"),
            c("w2", "web", 2, "running"),
            c("d1", "db", 1, "running"),
            c("d2", "db", 2, "exited"),
        ];
        let ctx = ProjectContext {
            directory_name: "Shop".into(),
            ..ProjectContext::default()
        };
        let got = r
            .resolve(".", "db", 0, &ctx, &containers)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            (
                got.project.as_str(),
                got.container_id.as_str(),
                got.container_number
            ),
            ("shop", "d1", 1)
        );
        let many = r
            .resolve("shop", "web", 0, &ctx, &containers)
            .await
            .err()
            .unwrap_or_else(|| panic!("two replicas resolved"));
        assert_eq!(many.code(), ErrorCode::InvalidArgument);
        assert_eq!(many.op(), "resolve");
        assert_eq!(many.target(), "compose://shop/web");
        assert!(
            many.message().contains("1 (shop-web-1), 2 (shop-web-2)"),
            "{many}"
        );
        assert!(many.message().contains("compose://shop/web/<N>"), "{many}");
        let none = r
            .resolve("shop", "db", 2, &ctx, &containers)
            .await
            .err()
            .map(|e| (e.code(), e.target().to_string()));
        assert_eq!(
            none,
            Some((ErrorCode::NotFound, "compose://shop/db/2".into()))
        );
    }
}

/// `wasm-tools validate` and `wasm-tools component wit` accept every guest and show the world it
/// was built for (wasm-tools is installed by `tests/fixtures/setup.sh`). The real guests ask for
/// no files or sockets of their own; the sandbox probe does, to show the host grants none.
#[test]
fn every_guest_validates_and_shows_its_world() {
    let middleware = [
        "export remote:machine/backend@0.1.0;",
        "export remote:machine/session@0.1.0;",
        "export remote:machine/file-client@0.1.0;",
        "export remote:machine/guest@0.1.0;",
        "import remote:machine/backend@0.1.0;",
    ];
    let resolver = [
        "export remote:machine/compose@0.1.0;",
        "export remote:machine/guest@0.1.0;",
    ];
    for (wasm, want, probes_the_host) in [
        (remote_guest_artifacts::POLICY, &middleware[..], false),
        (remote_guest_artifacts::PATH_REWRITE, &middleware[..], false),
        (remote_guest_artifacts::SANDBOX_TEST, &middleware[..], true),
        (
            remote_guest_artifacts::COMPOSE_RESOLVER,
            &resolver[..],
            false,
        ),
    ] {
        let tool = |args: &[&str]| {
            let out = std::process::Command::new("wasm-tools")
                .args(args)
                .arg(wasm)
                .output()
                .unwrap_or_else(|e| panic!("wasm-tools (run tests/fixtures/setup.sh): {e}"));
            assert!(
                out.status.success(),
                "wasm-tools {args:?} {wasm}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
            String::from_utf8_lossy(&out.stdout).into_owned()
        };
        tool(&["validate"]);
        let wit = tool(&["component", "wit"]);
        for line in want {
            assert!(wit.contains(line), "{wasm}: missing {line}\n{wit}");
        }
        let own = [
            wit.contains("wasi:filesystem"),
            wit.contains("wasi:sockets"),
        ];
        assert_eq!(
            own, [probes_the_host; 2],
            "{wasm}: [files, sockets] of its own\n{wit}"
        );
    }
}
