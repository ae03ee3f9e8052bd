//! Sessions: environment through env requests or the command line, 64 at once past MaxSessions, exit signals by name.

use super::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn setenv_uses_env_requests_where_accepted_and_the_command_line_elsewhere() {
    let b = remote_tests::backends::ssh().await;
    let vars = [
        ("LC_REMOTE_T", "accepted by AcceptEnv"),
        (
            "REMOTE_T_REFUSED",
            "it's \"quoted\"\n$HOME `id`\nlast line\n",
        ),
    ];
    // /proc/$$/environ is what sshd gave the shell: variables set by env requests are there,
    // variables exported by the command line are not.
    let cmd = "printf '%s\\0' \"$LC_REMOTE_T\" \"$REMOTE_T_REFUSED\"; \
               tr '\\0' '\\n' </proc/$$/environ | grep -c '^LC_REMOTE_T=' >&2; \
               tr '\\0' '\\n' </proc/$$/environ | grep -c '^REMOTE_T_REFUSED=' >&2; true";
    let (status, out, err) = bounded("env", exec(b.as_ref(), cmd, &vars))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(status.success(), "{status:?} {err}");
    let got: Vec<&str> = out.split('\0').collect();
    assert_eq!(got[0], vars[0].1);
    assert_eq!(got[1], vars[1].1);
    assert_eq!(
        err, "1\n0\n",
        "LC_* through sshd, the other through the shell"
    );
    let mut s = b.new_session().await.unwrap_or_else(|e| panic!("{e}"));
    s.setenv("NOT-A-SHELL-NAME", "x")
        .unwrap_or_else(|e| panic!("{e}"));
    let refused = bounded("start", s.start("true")).await;
    assert_eq!(
        refused.map_err(|e| e.code()),
        Err(ErrorCode::InvalidArgument)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sixty_four_sessions_run_at_once_past_max_sessions() {
    let f = Fixtures::load().ssh;
    let b = Arc::new(connect(&url(&f, f.port), fixture_options(&f)).await);
    const N: usize = 64;
    let (started_tx, mut started_rx) = tokio::sync::mpsc::channel::<usize>(N);
    let (go_tx, _) = tokio::sync::broadcast::channel::<()>(1);
    let mut tasks = Vec::new();
    for i in 0..N {
        let b = b.clone();
        let started = started_tx.clone();
        let mut go = go_tx.subscribe();
        tasks.push(tokio::spawn(async move {
            let mut s = b.new_session().await?;
            let mut stdin = s.stdin()?;
            let out = s.stdout()?;
            s.start(&format!("echo started {i}; read x; echo done $x {i}"))
                .await?;
            let mut lines = BufReader::new(out).lines();
            let first = lines.next_line().await.ok().flatten();
            assert_eq!(first, Some(format!("started {i}")));
            let _ = started.send(i).await;
            let _ = go.recv().await;
            stdin.write_all(b"go\n").await.ok();
            stdin.shutdown().await.ok();
            let last = lines.next_line().await.ok().flatten();
            assert_eq!(last, Some(format!("done go {i}")));
            let status = s.wait().await?;
            s.close().await?;
            Ok::<ExitStatus, remote_host::Error>(status)
        }));
    }
    drop(started_tx);
    // Every command is running (and blocked in `read`) before any is let go.
    let mut running = 0;
    while running < N {
        bounded("all sessions started", started_rx.recv())
            .await
            .unwrap_or_else(|| panic!("only {running} of {N} sessions started"));
        running += 1;
    }
    assert!(
        b.connections() >= N.div_ceil(10),
        "MaxSessions 10 needs at least {} connections, have {}",
        N.div_ceil(10),
        b.connections()
    );
    go_tx.send(()).unwrap_or_else(|e| panic!("{e}"));
    for t in tasks {
        let status = bounded("session", t)
            .await
            .unwrap_or_else(|e| panic!("{e}"))
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(status.success());
    }
    // The burst is over: the connections it opened are closed once idle (5 s), the first stays.
    let grown = b.connections();
    tokio::time::sleep(Duration::from_secs(6)).await;
    bounded("keep-alive", b.send_keep_alive())
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(b.connections(), 1, "{grown} connections after the burst");
    let (status, out, _) = bounded("exec after the burst", exec(&*b, "echo still", &[]))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!((status, out.as_str()), (ExitStatus::Exited(0), "still\n"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exit_signals_are_reported_by_name() {
    let b = remote_tests::backends::ssh().await;
    for (sig, want) in [("USR2", "USR2"), ("SEGV", "SEGV"), ("HUP", "HUP")] {
        let (status, _, _) = bounded("kill", exec(b.as_ref(), &format!("kill -{sig} $$"), &[]))
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        match status {
            ExitStatus::Signaled { signal, .. } => assert_eq!(signal, want),
            other => panic!("kill -{sig}: {other:?}"),
        }
    }
}
