//! The `ssh://` backend against real sshd instances: host-key policy, authentication,
//! `ssh_config`, ProxyJump, environment, many sessions, signals, keep-alive and reconnect, a
//! server that dies mid-transfer, platform detection and agent upload.
//!
//! Tests that kill or stop a server use a throwaway sshd ([`Sshd`]) with the fixture's keys on a
//! port of its own; the shared fixture sshd is only ever connected to.

use std::sync::Arc;
use std::time::Duration;

use remote_host::ssh::{ConfigFile, Prompt, SshBackend, SshOptions, StrictHostKeyChecking};
use remote_host::{Backend, ErrorCode, ExitStatus, FileKind, OpenFlags, PlatformInfo};
use remote_tests::sshd::{
    Agent, Sshd, TempDir, backend, connect, eventually, fixture_options, keygen, url,
};
use remote_tests::{Fixtures, exec};
use tokio::io::{AsyncBufReadExt as _, AsyncWriteExt as _, BufReader};

/// A bound on any single step that waits for a server.
const STEP: Duration = Duration::from_secs(30);

async fn bounded<T>(what: &str, f: impl std::future::Future<Output = T>) -> T {
    tokio::time::timeout(STEP, f)
        .await
        .unwrap_or_else(|_| panic!("{what} did not finish within {STEP:?}"))
}

/// Why `b` refuses to start; panics with `accepted` if it starts.
async fn refusal(b: &SshBackend, accepted: &str) -> remote_host::Error {
    bounded("start", b.start())
        .await
        .err()
        .unwrap_or_else(|| panic!("{accepted}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_host_key_is_refused_with_its_fingerprint() {
    let f = Fixtures::load().ssh;
    let dir = TempDir::new("unknown");
    let empty = dir.join("known_hosts");
    std::fs::write(&empty, "").unwrap_or_else(|e| panic!("{e}"));
    let opts = SshOptions {
        known_hosts: vec![empty.clone()],
        strict_host_key_checking: None,
        ..fixture_options(&f)
    };
    let b = backend(&url(&f, f.port), opts);
    let err = refusal(&b, "an unknown host key was accepted by default").await;
    assert_eq!(err.code(), ErrorCode::AccessDenied, "{err}");
    let msg = err.to_string();
    assert!(msg.contains(&f.host_key_fingerprint), "{msg}");
    assert!(msg.contains("accept-new"), "says how to accept it: {msg}");
    assert!(!b.is_connected());
    assert_eq!(
        std::fs::read_to_string(&empty).unwrap_or_default(),
        "",
        "nothing recorded"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn accept_new_records_the_key_and_later_connections_trust_it() {
    let f = Fixtures::load().ssh;
    let dir = TempDir::new("acceptnew");
    let kh = dir.join("fresh/.ssh/known_hosts");
    let opts = SshOptions {
        known_hosts: vec![kh.clone()],
        strict_host_key_checking: Some(StrictHostKeyChecking::AcceptNew),
        ..fixture_options(&f)
    };
    let b = connect(&url(&f, f.port), opts).await;
    b.close().await.unwrap_or_else(|e| panic!("{e}"));
    let text = std::fs::read_to_string(&kh).unwrap_or_else(|e| panic!("{}: {e}", kh.display()));
    let fixture_key = std::fs::read_to_string(&f.known_hosts).unwrap_or_default();
    let blob = fixture_key.split_whitespace().nth(2).unwrap_or("missing");
    assert!(
        text.starts_with(&format!("[{}]:{} ssh-ed25519 {blob}", f.host, f.port)),
        "{text}"
    );
    let strict = SshOptions {
        known_hosts: vec![kh],
        ..fixture_options(&f)
    };
    connect(&url(&f, f.port), strict).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_changed_host_key_is_refused_even_with_accept_new() {
    let f = Fixtures::load().ssh;
    let dir = TempDir::new("changed");
    keygen(&dir.join("other"), "");
    let other = std::fs::read_to_string(dir.join("other.pub")).unwrap_or_default();
    let mut fields = other.split_whitespace();
    let (kind, blob) = (fields.next().unwrap_or(""), fields.next().unwrap_or(""));
    let kh = dir.join("known_hosts");
    std::fs::write(&kh, format!("[{}]:{} {kind} {blob}\n", f.host, f.port))
        .unwrap_or_else(|e| panic!("{e}"));
    let opts = SshOptions {
        known_hosts: vec![kh.clone()],
        strict_host_key_checking: Some(StrictHostKeyChecking::AcceptNew),
        ..fixture_options(&f)
    };
    let err = refusal(
        &backend(&url(&f, f.port), opts),
        "a changed host key was accepted",
    )
    .await;
    assert_eq!(err.code(), ErrorCode::AccessDenied, "{err}");
    let msg = err.to_string();
    assert!(msg.contains("HAS CHANGED"), "{msg}");
    assert!(msg.contains(&f.host_key_fingerprint), "{msg}");
    assert!(
        msg.contains(&format!("{}:1", kh.display())),
        "names the line: {msg}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_host_key_type_known_hosts_holds_is_negotiated_first() {
    let f = Fixtures::load().ssh;
    let dir = TempDir::new("keytypes");
    let ecdsa = dir.join("ssh_host_ecdsa_key");
    remote_tests::sshd::run(
        std::process::Command::new("ssh-keygen")
            .args(["-q", "-t", "ecdsa", "-N", "", "-f"])
            .arg(&ecdsa),
    );
    let fixture_conf = std::fs::read_to_string(&f.sshd_config).unwrap_or_default();
    let ed25519 = fixture_conf
        .lines()
        .find(|l| l.starts_with("HostKey "))
        .unwrap_or_else(|| panic!("no HostKey in {}", f.sshd_config.display()))
        .to_string();
    let ecdsa_line = format!("HostKey {}", ecdsa.display());
    // The server has both keys; known_hosts vouches only for the ECDSA one, which is not our
    // first choice.
    let sshd = Sshd::start(&f, &[&ed25519, &ecdsa_line]);
    let public = std::fs::read_to_string(dir.join("ssh_host_ecdsa_key.pub")).unwrap_or_default();
    let mut fields = public.split_whitespace();
    let kh = dir.join("known_hosts");
    std::fs::write(
        &kh,
        format!(
            "[127.0.0.1]:{} {} {}\n",
            sshd.port,
            fields.next().unwrap_or(""),
            fields.next().unwrap_or("")
        ),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let opts = SshOptions {
        known_hosts: vec![kh],
        ..fixture_options(&f)
    };
    let b = connect(&url(&f, sshd.port), opts).await;
    assert!(b.is_connected());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_or_missing_keys_fail_naming_what_was_tried() {
    let f = Fixtures::load().ssh;
    let dir = TempDir::new("wrongkey");
    let wrong = dir.join("id_wrong");
    keygen(&wrong, "");
    let missing = dir.join("id_missing");
    let opts = SshOptions {
        identities: vec![missing.clone(), wrong.clone()],
        ..fixture_options(&f)
    };
    let err = refusal(&backend(&url(&f, f.port), opts), "a wrong key was accepted").await;
    assert_eq!(err.code(), ErrorCode::AccessDenied, "{err}");
    let msg = err.to_string();
    assert!(
        msg.contains(&format!("{}: no such file", missing.display())),
        "{msg}"
    );
    assert!(
        msg.contains(&format!("{} (", wrong.display())) && msg.contains("rejected"),
        "{msg}"
    );
    assert!(msg.contains("the server accepts: publickey"), "{msg}");

    let encrypted = dir.join("id_encrypted");
    keygen(&encrypted, "correct horse");
    let opts = SshOptions {
        identities: vec![encrypted.clone()],
        password: true,
        ..fixture_options(&f)
    };
    let err = refusal(
        &backend(&url(&f, f.port), opts),
        "an encrypted key without a passphrase was accepted",
    )
    .await;
    let msg = err.to_string();
    assert!(msg.contains("encrypted"), "{msg}");
    assert!(msg.contains("no terminal"), "{msg}");
    assert!(
        msg.contains("password: asked for, but there is no terminal"),
        "{msg}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_encrypted_key_is_unlocked_through_the_prompt() {
    let f = Fixtures::load().ssh;
    let dir = TempDir::new("passphrase");
    let key = dir.join("id_encrypted");
    keygen(&key, "correct horse");
    let authorized = dir.join("authorized_keys");
    std::fs::copy(dir.join("id_encrypted.pub"), &authorized).unwrap_or_else(|e| panic!("{e}"));
    let line = format!("AuthorizedKeysFile {}", authorized.display());
    let sshd = Sshd::start(&f, &[&line, "StrictModes no"]);
    let asked = Arc::new(std::sync::Mutex::new(Vec::new()));
    let seen = asked.clone();
    let prompt: Prompt = Arc::new(move |text: &str| {
        seen.lock().map(|mut v| v.push(text.to_string())).ok();
        Some("correct horse".to_string())
    });
    let opts = SshOptions {
        known_hosts: vec![sshd.known_hosts(&f)],
        identities: vec![key.clone()],
        prompt: Some(prompt),
        ..fixture_options(&f)
    };
    let b = connect(&url(&f, sshd.port), opts).await;
    let (status, out, _) = bounded("id", exec(&b, "id -un", &[]))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(status.success());
    assert_eq!(out, format!("{}\n", f.user));
    let asked = asked.lock().map(|v| v.clone()).unwrap_or_default();
    assert_eq!(asked.len(), 1, "{asked:?}");
    assert!(asked[0].contains(&key.display().to_string()), "{asked:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ssh_agent_keys_come_first_and_are_named_when_refused() {
    let f = Fixtures::load().ssh;
    let dir = TempDir::new("agent-auth");
    let wrong = dir.join("id_wrong");
    keygen(&wrong, "");
    let config_with = |agent: &Agent, name: &str| {
        let cfg = dir.join(name);
        std::fs::write(
            &cfg,
            format!("Host *\n  IdentityAgent {}\n", agent.socket.display()),
        )
        .unwrap_or_else(|e| panic!("{e}"));
        SshOptions {
            config: ConfigFile::Path(cfg),
            identities: Vec::new(),
            identities_only: None,
            use_agent: true,
            ..fixture_options(&f)
        }
    };
    let good = Agent::start(&[&f.identity]);
    let b = connect(&url(&f, f.port), config_with(&good, "good")).await;
    let (_, out, _) = bounded("id", exec(&b, "id -un", &[]))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(out, format!("{}\n", f.user));

    let bad = Agent::start(&[&wrong]);
    let err = refusal(
        &backend(&url(&f, f.port), config_with(&bad, "bad")),
        "the agent's wrong key was accepted",
    )
    .await;
    let msg = err.to_string();
    assert!(msg.contains("ssh-agent key SHA256:"), "{msg}");
    assert!(
        msg.contains("remote-test-extra"),
        "names the key's comment: {msg}"
    );
}

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
async fn an_ssh_config_alias_supplies_host_port_user_and_identity() {
    let f = Fixtures::load().ssh;
    let dir = TempDir::new("alias");
    let cfg = dir.join("config");
    std::fs::write(
        &cfg,
        format!(
            "Host fixture-alias\n  HostName {}\n  Port {}\n  User {}\n  IdentityFile {}\n  \
             UserKnownHostsFile {}\n  IdentitiesOnly yes\nHost *\n  User nobody-else\n",
            f.host,
            f.port,
            f.user,
            f.identity.display(),
            f.known_hosts.display()
        ),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let opts = SshOptions {
        config: ConfigFile::Path(cfg),
        known_hosts: Vec::new(),
        identities: Vec::new(),
        identities_only: None,
        ..fixture_options(&f)
    };
    let b = connect("ssh://fixture-alias", opts).await;
    assert_eq!(b.user(), f.user);
    assert_eq!(b.addr(), format!("{}:{}", f.host, f.port));
    let (_, out, _) = bounded("id", exec(&b, "id -un", &[]))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(out, format!("{}\n", f.user));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn proxy_jump_runs_the_connection_through_the_jump_host() {
    let f = Fixtures::load().ssh;
    let mut jump = Sshd::start(&f, &[]);
    let dir = TempDir::new("jump");
    let jump_kh = jump.known_hosts(&f);
    let cfg = dir.join("config");
    std::fs::write(
        &cfg,
        format!(
            "Host target\n  HostName {host}\n  Port {port}\n  ProxyJump jumphost\n\
             Host jumphost\n  HostName 127.0.0.1\n  Port {jport}\n\
             Host *\n  User {user}\n  IdentityFile {id}\n  UserKnownHostsFile {kh} {jkh}\n",
            host = f.host,
            port = f.port,
            jport = jump.port,
            user = f.user,
            id = f.identity.display(),
            kh = f.known_hosts.display(),
            jkh = jump_kh.display(),
        ),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let opts = SshOptions {
        config: ConfigFile::Path(cfg),
        known_hosts: Vec::new(),
        identities: Vec::new(),
        ..fixture_options(&f)
    };
    let b = connect("ssh://target", opts).await;
    let (status, out, _) = bounded("echo", exec(&b, "echo through", &[]))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(status.success());
    assert_eq!(out, "through\n");
    let files = b.files().await.unwrap_or_else(|e| panic!("{e}"));
    assert!(files.getwd().await.is_ok());
    // The target's own sshd is the shared fixture, which we leave alone: if the connection to it
    // really runs through the jump host, stopping the jump host ends it.
    jump.stop();
    assert!(
        eventually(Duration::from_secs(10), || !b.is_connected()).await,
        "the target connection survived the jump host"
    );
}

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
