//! Session scenarios.

use sha2::{Digest, Sha256};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use std::time::Duration;

use super::check::{ensure, ensure_eq, expect_code, pattern};
use super::runner::{CaseResult, Cx, Failure};
use crate::backend::Backend;
use crate::error::ErrorCode;
use crate::types::ExitStatus;

/// What a finished command produced.
#[derive(Debug)]
pub struct Output {
    /// How it ended.
    pub status: ExitStatus,
    /// Everything it wrote to standard output.
    pub stdout: Vec<u8>,
    /// Everything it wrote to standard error.
    pub stderr: Vec<u8>,
}

/// Runs `cmd` with `env` and `input` on stdin, reading both outputs while writing the input so
/// no pipe can fill up and stall the command.
pub async fn run(
    backend: &dyn Backend,
    cmd: &str,
    env: &[(&str, &str)],
    input: &[u8],
) -> Result<Output, Failure> {
    let mut s = backend.new_session().await?;
    for (k, v) in env {
        s.setenv(k, v)?;
    }
    let mut stdin = s.stdin()?;
    let mut stdout = s.stdout()?;
    let mut stderr = s.stderr()?;
    s.start(cmd).await?;
    let write = async {
        let r = stdin.write_all(input).await;
        let shut = stdin.shutdown().await;
        drop(stdin);
        r.and(shut)
    };
    let read_out = async {
        let mut v = Vec::new();
        stdout.read_to_end(&mut v).await.map(|_| v)
    };
    let read_err = async {
        let mut v = Vec::new();
        stderr.read_to_end(&mut v).await.map(|_| v)
    };
    let (w, out, err) = tokio::join!(write, read_out, read_err);
    let io = |what: &str, e: std::io::Error| Failure::Fail(format!("{what} of {cmd:?}: {e}"));
    // A command may exit without reading its input; a broken stdin pipe is not a failure then.
    if let Err(e) = w
        && e.kind() != std::io::ErrorKind::BrokenPipe
    {
        return Err(io("writing stdin", e));
    }
    let stdout = out.map_err(|e| io("reading stdout", e))?;
    let stderr = err.map_err(|e| io("reading stderr", e))?;
    let status = s.wait().await?;
    s.close().await?;
    Ok(Output {
        status,
        stdout,
        stderr,
    })
}

/// Exit statuses 0, 1, 7 and 255 come back unchanged.
pub async fn exit_codes(cx: &Cx<'_>) -> CaseResult {
    for code in [0, 1, 7, 255] {
        let out = run(cx.backend, &format!("exit {code}"), &[], b"").await?;
        ensure_eq!(out.status, ExitStatus::Exited(code), "exit {code}");
    }
    ensure!(
        run(cx.backend, "true", &[], b"").await?.status.success(),
        "true succeeds"
    );
    Ok(())
}

/// A command killed by a signal reports the signal, not an exit code.
pub async fn signal_termination(cx: &Cx<'_>) -> CaseResult {
    for sig in ["TERM", "KILL", "INT"] {
        let out = run(cx.backend, &format!("kill -{sig} $$"), &[], b"").await?;
        match &out.status {
            ExitStatus::Signaled { signal, .. } => ensure_eq!(signal.as_str(), sig, "signal name"),
            other => ensure!(false, "kill -{sig}: got {other:?}, want a signal"),
        }
    }
    Ok(())
}

/// 16 MiB through `cat` come back byte for byte while both directions stream at once.
pub async fn stdin_stdout_round_trip(cx: &Cx<'_>) -> CaseResult {
    let data = pattern(16, 16 << 20);
    let out = run(cx.backend, "cat", &[], &data).await?;
    ensure!(out.status.success(), "cat: {:?}", out.status);
    ensure_eq!(out.stdout.len(), data.len(), "bytes back");
    ensure!(
        Sha256::digest(&out.stdout) == Sha256::digest(&data),
        "SHA-256 of the echoed data differs"
    );
    ensure!(
        out.stderr.is_empty(),
        "stderr: {:?}",
        String::from_utf8_lossy(&out.stderr)
    );
    Ok(())
}

/// Standard output and standard error arrive on their own pipes.
pub async fn stderr_separated(cx: &Cx<'_>) -> CaseResult {
    let out = run(
        cx.backend,
        "echo out; echo err >&2; echo out2; exit 3",
        &[],
        b"",
    )
    .await?;
    ensure_eq!(out.status, ExitStatus::Exited(3), "status");
    ensure_eq!(
        String::from_utf8_lossy(&out.stdout),
        "out\nout2\n",
        "stdout"
    );
    ensure_eq!(String::from_utf8_lossy(&out.stderr), "err\n", "stderr");
    Ok(())
}

/// Values with spaces, quotes, `$`, backquotes, backslashes and newlines arrive unchanged.
pub async fn env_values_need_quoting(cx: &Cx<'_>) -> CaseResult {
    let vars = [
        ("REMOTE_T_SPACES", "two words  and more"),
        ("REMOTE_T_QUOTES", "it's \"quoted\""),
        ("REMOTE_T_DOLLAR", "$HOME and `id` and $(id)"),
        ("REMOTE_T_NEWLINE", "line1\nline2\n"),
        ("REMOTE_T_BACKSLASH", "back\\slash\\"),
        ("REMOTE_T_EMPTY", ""),
        ("REMOTE_T_UNICODE", "café 🦀"),
        ("LC_REMOTE_T", "locale-ish"),
    ];
    let cmd = vars
        .iter()
        .map(|(k, _)| format!("printf '%s\\0' \"${k}\""))
        .collect::<Vec<_>>()
        .join("; ");
    let out = run(cx.backend, &cmd, &vars, b"").await?;
    ensure!(out.status.success(), "status {:?}", out.status);
    let got: Vec<&[u8]> = out.stdout.split(|b| *b == 0).collect();
    for (i, (k, v)) in vars.iter().enumerate() {
        ensure_eq!(
            String::from_utf8_lossy(got.get(i).copied().unwrap_or_default()),
            *v,
            "{k}"
        );
    }
    let mut s = cx.backend.new_session().await?;
    for (name, value, what) in [
        ("BAD=NAME", "x", "setenv with '=' in the name"),
        ("", "x", "setenv with an empty name"),
        ("NUL\0NAME", "x", "setenv with NUL in the name"),
        ("NUL_VALUE", "a\0b", "setenv with NUL in the value"),
    ] {
        expect_code(s.setenv(name, value), ErrorCode::InvalidArgument, what)?;
    }
    Ok(())
}

/// 32 sessions run at once, each with its own input and output.
pub async fn concurrent_sessions(cx: &Cx<'_>) -> CaseResult {
    let runs = (0..32u64).map(|i| async move {
        let input = pattern(i, 64 << 10);
        let out = run(
            cx.backend,
            "cat; echo \"$REMOTE_T_N\" >&2",
            &[("REMOTE_T_N", &i.to_string())],
            &input,
        )
        .await?;
        ensure_eq!(out.status, ExitStatus::Exited(0), "session {i} status");
        ensure!(
            out.stdout == input,
            "session {i} got another session's output"
        );
        ensure_eq!(
            String::from_utf8_lossy(&out.stderr),
            format!("{i}\n"),
            "session {i} stderr"
        );
        Ok::<(), Failure>(())
    });
    for r in futures::future::join_all(runs).await {
        r?;
    }
    Ok(())
}

/// A missing program is exit status 127 with a message on stderr, as from a shell.
pub async fn command_not_found(cx: &Cx<'_>) -> CaseResult {
    let out = run(
        cx.backend,
        "remote-conformance-no-such-command-x7q",
        &[],
        b"",
    )
    .await?;
    ensure_eq!(out.status, ExitStatus::Exited(127), "status");
    ensure!(!out.stderr.is_empty(), "stderr names the failure");
    Ok(())
}

/// Misuse is refused with `invalid-argument`, not a hang: pipes or env after start, wait
/// before start, a second start, a second wait; close is idempotent, and closes a session
/// whose output nobody read.
pub async fn session_misuse(cx: &Cx<'_>) -> CaseResult {
    let misuse = ErrorCode::InvalidArgument;
    let mut s = cx.backend.new_session().await?;
    expect_code(s.wait().await, misuse, "wait before start")?;
    let _out = s.stdout()?;
    expect_code(s.stdout().map(|_| ()), misuse, "taking stdout twice")?;
    let _err = s.stderr()?;
    expect_code(s.stderr().map(|_| ()), misuse, "taking stderr twice")?;
    s.start(cx.noop).await?;
    expect_code(s.stdin().map(|_| ()), misuse, "stdin after start")?;
    expect_code(s.setenv("A", "b"), misuse, "setenv after start")?;
    expect_code(s.start(cx.noop).await, misuse, "second start")?;
    ensure_eq!(s.wait().await?, ExitStatus::Exited(0), "status");
    expect_code(s.wait().await, misuse, "second wait")?;
    s.close().await?;
    s.close().await?;
    let mut twice = cx.backend.new_session().await?;
    let _in = twice.stdin()?;
    expect_code(twice.stdin().map(|_| ()), misuse, "taking stdin twice")?;
    twice.close().await?;
    let mut unread = cx.backend.new_session().await?;
    let _unread = unread.stdout()?;
    unread.start(cx.idle).await?;
    unread.close().await?;
    Ok(())
}

/// How long a check waits for a killed command to be gone: killing is asynchronous on some
/// targets (the Docker daemon reaps an exec's process on its own time).
const GONE_WITHIN: Duration = Duration::from_secs(10);

/// Closing a session whose command still runs returns at once (not when the command would
/// have ended) and ends the command: its process is gone afterwards.
pub async fn session_close_ends_command(cx: &Cx<'_>) -> CaseResult {
    let mut s = cx.backend.new_session().await?;
    let mut out = s.stdout()?;
    s.start(&format!("echo $$; {}", cx.idle)).await?;
    let mut line = Vec::new();
    let mut byte = [0u8; 1];
    while line.len() < 32 {
        match out.read(&mut byte).await {
            Ok(1) if byte[0] != b'\n' => line.push(byte[0]),
            Ok(_) => break,
            Err(e) => return Err(Failure::Fail(format!("reading the command's pid: {e}"))),
        }
    }
    let text = String::from_utf8_lossy(&line).into_owned();
    let Ok(pid) = text.parse::<u32>() else {
        // No shell to say `$$` (the line is empty, and the command failed to start).
        let status = s.wait().await?;
        return Err(Failure::Unsupported(format!(
            "the target cannot report a pid with `echo $$` (got {text:?}, {status:?})"
        )));
    };
    let probe = format!("kill -0 {pid}");
    ensure!(
        run(cx.backend, &probe, &[], b"").await?.status.success(),
        "the command (pid {pid}) is not running before close"
    );
    // The command would run for minutes: a close that waits for it is a hang, not slowness.
    match tokio::time::timeout(Duration::from_secs(60), s.close()).await {
        Ok(r) => r?,
        Err(_) => return Err(Failure::Fail("close waited for the running command".into())),
    }
    drop(out);
    let deadline = tokio::time::Instant::now() + GONE_WITHIN;
    loop {
        if !run(cx.backend, &probe, &[], b"").await?.status.success() {
            return Ok(());
        }
        ensure!(
            tokio::time::Instant::now() < deadline,
            "the command (pid {pid}) still runs {GONE_WITHIN:?} after its session was closed"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// A command whose stdin was not taken reads end-of-file at once.
pub async fn stdin_not_taken_reads_eof(cx: &Cx<'_>) -> CaseResult {
    let mut s = cx.backend.new_session().await?;
    let mut out = s.stdout()?;
    s.start("cat && echo eof").await?;
    let mut text = String::new();
    let read = out.read_to_string(&mut text).await;
    let status = s.wait().await?;
    s.close().await?;
    read.map_err(|e| Failure::Fail(format!("reading stdout: {e}")))?;
    ensure_eq!(status, ExitStatus::Exited(0), "status of cat");
    ensure_eq!(text, "eof\n", "stdout");
    Ok(())
}

/// Output nobody took is discarded as it comes: a command writing 16 MiB to each of stdout
/// and stderr, with neither pipe taken, runs to its end.
pub async fn untaken_output_does_not_stall(cx: &Cx<'_>) -> CaseResult {
    let mut s = cx.backend.new_session().await?;
    s.start("head -c 16777216 /dev/zero; head -c 16777216 /dev/zero >&2; exit 42")
        .await?;
    let status = s.wait().await?;
    s.close().await?;
    ensure_eq!(
        status,
        ExitStatus::Exited(42),
        "status after writing 32 MiB unread"
    );
    Ok(())
}
