//! The connection's life: redial with back-off, keep-alive noticing a killed connection, a server stopped mid-download, platform detection, agent upload while the old binary runs, and close.

use super::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stopped_server_is_redialed_with_back_off() {
    let f = Fixtures::load().ssh;
    let mut sshd = Sshd::start(&f, &[]);
    let opts = SshOptions {
        known_hosts: vec![sshd.known_hosts(&f)],
        ..fixture_options(&f)
    };
    let b = connect(&url(&f, sshd.port), opts).await;
    sshd.stop();
    assert!(eventually(Duration::from_secs(10), || !b.is_connected()).await);
    let first = bounded("redial", exec(&b, "true", &[]))
        .await
        .err()
        .unwrap_or_else(|| panic!("ran a command on a stopped server"));
    assert_eq!(first.code(), ErrorCode::ConnectionLost, "{first}");
    assert!(first.to_string().contains("cannot reach"), "{first}");
    // Within the back-off the next call fails at once, saying when it will dial again.
    let second = bounded("redial", exec(&b, "true", &[]))
        .await
        .err()
        .unwrap_or_else(|| panic!("ran a command on a stopped server"));
    assert!(
        second.to_string().contains("before the next attempt"),
        "{second}"
    );
    assert!(
        b.last_err()
            .is_some_and(|e| e.to_string().contains("cannot reach"))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keep_alive_notices_a_killed_connection_and_the_next_call_reconnects() {
    let f = Fixtures::load().ssh;
    let sshd = Sshd::start(&f, &[]);
    let opts = SshOptions {
        known_hosts: vec![sshd.known_hosts(&f)],
        keep_alive_interval: Some(Duration::from_secs(1)),
        ..fixture_options(&f)
    };
    let b = connect(&url(&f, sshd.port), opts).await;
    assert_eq!(b.keep_alive_interval(), Some(Duration::from_secs(1)));
    b.send_keep_alive().await.unwrap_or_else(|e| panic!("{e}"));
    assert!(sshd.connection_pids().len() == 1, "one connection process");

    // A frozen server process leaves the TCP connection half-open: keep-alive must say so
    // instead of hanging (its own reply deadline is far inside the step bound).
    sshd.signal_connections("-STOP");
    let frozen = bounded("keep-alive", b.send_keep_alive()).await;
    assert_eq!(frozen.map_err(|e| e.code()), Err(ErrorCode::ConnectionLost));
    assert!(!b.is_connected());
    assert!(b.last_err().is_some());

    // The next call dials a new connection.
    let (status, out, _) = bounded("echo", exec(&b, "echo again", &[]))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(status.success());
    assert_eq!(out, "again\n");
    assert!(b.is_connected());
    assert!(b.last_err().is_none());

    // Killing the server side of the connection is noticed without any call of ours.
    sshd.signal_connections("-KILL");
    assert!(
        eventually(Duration::from_secs(10), || !b.is_connected()).await,
        "the killed connection still counts as connected"
    );
    let lost = b.last_err().unwrap_or_else(|| panic!("no last error"));
    assert_eq!(lost.code(), ErrorCode::ConnectionLost, "{lost}");
    let (status, _, _) = bounded("true", exec(&b, "true", &[]))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(status.success());
    b.send_keep_alive().await.unwrap_or_else(|e| panic!("{e}"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sshd_stopped_mid_download_is_an_error_not_a_short_file() {
    let f = Fixtures::load().ssh;
    let mut sshd = Sshd::start(&f, &[]);
    let opts = SshOptions {
        known_hosts: vec![sshd.known_hosts(&f)],
        ..fixture_options(&f)
    };
    let b = connect(&url(&f, sshd.port), opts).await;
    let dir = TempDir::new("download");
    let big = dir.join("big");
    let size: u64 = 1 << 30;
    std::fs::File::create(&big)
        .and_then(|file| file.set_len(size))
        .unwrap_or_else(|e| panic!("{e}"));
    let files = b.files().await.unwrap_or_else(|e| panic!("{e}"));
    let mut h = files
        .open(&big.display().to_string())
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let mut got = 0u64;
    let mut stopped = false;
    let outcome = loop {
        match bounded("read", h.read(4 << 20)).await {
            Ok(chunk) if chunk.is_empty() => break Ok(got),
            Ok(chunk) => got += chunk.len() as u64,
            Err(e) => break Err(e),
        }
        if !stopped && got >= 16 << 20 {
            sshd.stop();
            stopped = true;
        }
    };
    assert!(stopped, "the download ended before the server was stopped");
    match outcome {
        Ok(n) => panic!("the download reported success after {n} of {size} bytes"),
        Err(e) => assert_eq!(e.code(), ErrorCode::ConnectionLost, "{e}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn platform_is_linux_amd64_here() {
    let b = remote_tests::backends::ssh().await;
    let p = bounded("detect", b.detect_platform())
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        p,
        PlatformInfo {
            os: "linux".into(),
            arch: "amd64".into(),
            variant: String::new(),
        }
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn upload_agent_replaces_a_binary_while_it_runs() {
    let b = remote_tests::backends::ssh().await;
    let files = b.files().await.unwrap_or_else(|e| panic!("{e}"));
    let remote_dir = format!(
        "/tmp/remote-ssh-agent-{}-{}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos())
    );
    files
        .mkdir(&remote_dir, 0o755)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let agent = format!("{remote_dir}/bin/agent");
    let result = async {
        let path = b
            .upload_agent(std::path::Path::new("/bin/sleep"), &agent, 0o755)
            .await?;
        assert_eq!(path, agent);
        let mut running = b.new_session().await?;
        let out = running.stdout()?;
        running.start(&format!("echo $$; exec {agent} 30")).await?;
        let pid = BufReader::new(out)
            .lines()
            .next_line()
            .await
            .ok()
            .flatten()
            .unwrap_or_default();
        // The old binary is busy (ETXTBSY for an in-place write); the upload must still work.
        let path = b
            .upload_agent(std::path::Path::new("/bin/true"), &agent, 0o700)
            .await?;
        assert_eq!(path, agent);
        let want = std::fs::read("/bin/true").unwrap_or_default();
        let st = files.stat(&agent).await?;
        assert_eq!(
            (st.kind, st.mode, st.size),
            (FileKind::Regular, 0o700, want.len() as u64)
        );
        let h = files.open(&agent).await?;
        assert_eq!(h.read_at(0, want.len() as u64).await?, want, "new content");
        let (alive, _, _) = exec(
            b.as_ref(),
            &format!("kill -0 {pid} && {agent} && echo ran"),
            &[],
        )
        .await?;
        assert!(
            alive.success(),
            "the old process still runs and the new file runs"
        );
        exec(b.as_ref(), &format!("kill {pid}"), &[]).await?;
        let status = bounded("old agent", running.wait()).await?;
        assert_eq!(
            status,
            ExitStatus::Signaled {
                signal: "TERM".into(),
                core_dumped: false
            }
        );
        let names: Vec<String> = files
            .read_dir(&format!("{remote_dir}/bin"))
            .await?
            .into_iter()
            .map(|e| e.name)
            .collect();
        assert_eq!(names, ["agent"], "no temporary file left");
        Ok::<(), remote_host::Error>(())
    }
    .await;
    let _ = exec(b.as_ref(), &format!("rm -rf '{remote_dir}'"), &[]).await;
    result.unwrap_or_else(|e| panic!("{e}"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn close_ends_everything_and_later_calls_fail() {
    let b = remote_tests::backends::ssh().await;
    let files = b.files().await.unwrap_or_else(|e| panic!("{e}"));
    let mut w = files
        .open_file(
            "/tmp/remote-ssh-close-test",
            OpenFlags {
                write: true,
                create: true,
                truncate: true,
                ..OpenFlags::default()
            },
            0o600,
        )
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    w.write(b"x").await.unwrap_or_else(|e| panic!("{e}"));
    w.close().await.unwrap_or_else(|e| panic!("{e}"));
    files
        .remove("/tmp/remote-ssh-close-test")
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    b.close().await.unwrap_or_else(|e| panic!("{e}"));
    b.close()
        .await
        .unwrap_or_else(|e| panic!("closing twice: {e}"));
    assert!(!b.is_connected());
    let after = b.new_session().await.err().map(|e| e.code());
    assert_eq!(after, Some(ErrorCode::ConnectionLost));
    let stat = bounded("stat after close", files.stat("/")).await;
    assert_eq!(
        stat.map_err(|e| e.code()).err(),
        Some(ErrorCode::ConnectionLost)
    );
}
