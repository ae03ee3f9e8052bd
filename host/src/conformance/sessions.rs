//! Session scenarios.

use sha2::{Digest, Sha256};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::check::{ensure, ensure_eq, expect_err, pattern};
use super::runner::{CaseResult, Cx, Failure};
use crate::backend::Backend;
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
    expect_err(
        cx.backend.new_session().await?.setenv("BAD=NAME", "x"),
        "setenv with '=' in the name",
    )?;
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

/// Misuse is refused with an error, not a hang: pipes or env after start, wait before start, a
/// second start; close is idempotent.
pub async fn session_misuse(cx: &Cx<'_>) -> CaseResult {
    let mut s = cx.backend.new_session().await?;
    expect_err(s.wait().await, "wait before start")?;
    let _out = s.stdout()?;
    expect_err(s.stdout().map(|_| ()), "taking stdout twice")?;
    s.start("exit 0").await?;
    expect_err(s.stdin().map(|_| ()), "stdin after start")?;
    expect_err(s.setenv("A", "b"), "setenv after start")?;
    expect_err(s.start("true").await, "second start")?;
    ensure_eq!(s.wait().await?, ExitStatus::Exited(0), "status");
    s.close().await?;
    s.close().await?;
    let mut unread = cx.backend.new_session().await?;
    unread.start("exec sleep 30").await?;
    unread.close().await?;
    Ok(())
}
