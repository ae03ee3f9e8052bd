//! Backend-level scenarios: identity, platform, keep-alive, agent upload.

use super::check::{ensure, ensure_eq, expect_code, pattern};
use super::runner::{CaseResult, Cx, Failure};
use super::session::run;
use crate::error::ErrorCode;
use crate::platform::platform_from;
use crate::types::{FileKind, OpenFlags};

/// What `cmd` printed on a target that has it: `None` when the target lacks the program (exit
/// status 127, or no shell to run it), so a check that needs it cannot be made there.
async fn target_says(cx: &Cx<'_>, cmd: &str) -> Result<Option<String>, Failure> {
    match run(cx.backend, cmd, &[], b"").await {
        Ok(out) if out.status.success() => Ok(Some(
            String::from_utf8_lossy(&out.stdout).trim().to_string(),
        )),
        Ok(out) if out.status == crate::types::ExitStatus::Exited(127) => Ok(None),
        Ok(out) => Err(Failure::Fail(format!(
            "{cmd}: {:?}, stderr {:?}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        ))),
        Err(Failure::Unsupported(_)) => Ok(None),
        Err(e) => Err(e),
    }
}

/// A started backend names itself and reports itself connected, and its user is the one
/// commands run as: what `id -un` says on the target (its uid where the user has no name).
pub async fn backend_identity(cx: &Cx<'_>) -> CaseResult {
    let b = cx.backend;
    ensure!(!b.backend_type().is_empty(), "type is empty");
    ensure!(!b.addr().is_empty(), "addr is empty");
    ensure!(b.is_connected(), "not connected after start");
    ensure!(
        b.last_err().is_none(),
        "last error after a good start: {:?}",
        b.last_err()
    );
    if let Some(user) = target_says(cx, "id -un 2>/dev/null || id -u").await? {
        ensure_eq!(b.user(), user, "user() against `id -un` on the target");
    }
    Ok(())
}

/// Platform detection yields Go names.
pub async fn detect_platform(cx: &Cx<'_>) -> CaseResult {
    let p = cx.backend.detect_platform().await?;
    let known_os = [
        "linux",
        "darwin",
        "windows",
        "freebsd",
        "openbsd",
        "netbsd",
        "dragonfly",
        "solaris",
        "illumos",
    ];
    let known_arch = [
        "amd64", "arm64", "arm", "386", "ppc64", "ppc64le", "s390x", "riscv64", "mips", "mipsle",
        "mips64", "mips64le", "loong64",
    ];
    ensure!(known_os.contains(&p.os.as_str()), "os {:?}", p.os);
    ensure!(known_arch.contains(&p.arch.as_str()), "arch {:?}", p.arch);
    ensure!(
        p.variant.is_empty() || p.arch == "arm" || p.arch == "arm64",
        "variant {:?} on {}",
        p.variant,
        p.arch
    );
    if let Some(uname) = target_says(cx, "uname -s -m").await? {
        let mut words = uname.split_whitespace();
        let seen = platform_from(
            words.next().unwrap_or_default(),
            words.next().unwrap_or_default(),
            "",
        );
        ensure_eq!(
            (p.os.as_str(), p.arch.as_str()),
            (seen.os.as_str(), seen.arch.as_str()),
            "detect-platform against `uname -s -m` ({uname:?}) on the target"
        );
    }
    Ok(())
}

/// Keep-alive succeeds on a healthy connection and leaves it usable.
pub async fn keep_alive(cx: &Cx<'_>) -> CaseResult {
    if let Some(interval) = cx.backend.keep_alive_interval() {
        ensure!(
            !interval.is_zero(),
            "a zero keep-alive interval should be None"
        );
    }
    cx.backend.send_keep_alive().await?;
    cx.backend.send_keep_alive().await?;
    ensure!(cx.backend.is_connected(), "connected after keep-alive");
    Ok(())
}

/// upload-agent installs a file with its mode, returns the absolute path, and replaces an
/// existing file atomically: a reader of the old file keeps seeing the old bytes.
pub async fn upload_agent_atomic_replace(cx: &Cx<'_>) -> CaseResult {
    let f = cx.files()?;
    // Named after the case directory, which is unique, so suites running at once in one process
    // do not share it.
    let local_dir = std::env::temp_dir().join(format!(
        "remote-conformance-agent-{}",
        cx.dir.rsplit('/').next().unwrap_or_default()
    ));
    let io = |e: std::io::Error| Failure::Fail(format!("local temp file: {e}"));
    std::fs::create_dir_all(&local_dir).map_err(io)?;
    let local = local_dir.join("agent");
    let result = async {
        let v1 = pattern(1, 300_000);
        std::fs::write(&local, &v1).map_err(io)?;
        let want = cx.path("bin/agent");
        let got = cx.backend.upload_agent(&local, &want, 0o755).await?;
        ensure_eq!(got, want, "resolved path");
        let st = f.stat(&got).await?;
        ensure_eq!(
            (st.kind, st.mode, st.size),
            (FileKind::Regular, 0o755, v1.len() as u64),
            "installed file"
        );

        let old = f.open(&got).await?;
        let v2 = pattern(2, 200_000);
        std::fs::write(&local, &v2).map_err(io)?;
        let again = cx
            .backend
            .upload_agent(&local, &format!("{}/bin/../bin/agent", cx.dir), 0o700)
            .await?;
        ensure_eq!(again, want, "normalised path");
        ensure_eq!(
            old.read_at(0, 16).await?,
            v1[..16].to_vec(),
            "open old file keeps old bytes"
        );
        let new = f.open(&got).await?;
        ensure_eq!(new.read_at(0, 300_000).await?, v2, "new content");
        ensure_eq!(f.stat(&got).await?.mode, 0o700, "new mode");
        let names: Vec<String> = f
            .read_dir(&cx.path("bin"))
            .await?
            .into_iter()
            .map(|e| e.name)
            .collect();
        ensure_eq!(
            names,
            vec!["agent".to_string()],
            "no temporary files left behind"
        );

        // A session can run what was installed when the target has a shell.
        if let Ok(out) = run(
            cx.backend,
            &format!("test -x '{got}' && echo yes"),
            &[],
            b"",
        )
        .await
        {
            ensure_eq!(
                String::from_utf8_lossy(&out.stdout),
                "yes\n",
                "installed file is executable"
            );
        }
        Ok(())
    }
    .await;
    let _ = std::fs::remove_dir_all(&local_dir);
    result
}

/// Closing the backend ends everything it handed out: sessions (new and running), the file
/// client and open handles all fail with `connection-lost` afterwards, as do the backend's own
/// operations; closing again is fine. Runs last in a suite (it closes the backend it is given),
/// and removes its own files before closing, since nothing can remove them after.
pub async fn close_ends_everything(cx: &Cx<'_>) -> CaseResult {
    let b = cx.backend;
    let lost = ErrorCode::ConnectionLost;
    let f = cx.files()?;
    let p = cx.path("held");
    let mut w = f.create(&p).await?;
    w.write(b"held").await?;
    let mut r = f.open(&p).await?;
    let mut fresh = b.new_session().await?;
    let mut running = b.new_session().await?;
    running.start(cx.idle).await?;
    f.remove(&p).await?;
    f.remove(&cx.dir).await?;

    b.close().await?;
    ensure!(!b.is_connected(), "connected after close");
    expect_code(
        fresh.start(cx.noop).await,
        lost,
        "start of a session made before close",
    )?;
    expect_code(
        running.wait().await,
        lost,
        "wait of a session running at close",
    )?;
    expect_code(
        f.stat("/").await,
        lost,
        "stat through the client taken before close",
    )?;
    expect_code(
        r.read(4).await,
        lost,
        "read of a handle opened before close",
    )?;
    expect_code(
        w.write(b"x").await,
        lost,
        "write of a handle opened before close",
    )?;
    expect_code(
        f.open_file(&p, OpenFlags::CREATE, 0o600).await.map(|_| ()),
        lost,
        "open through the client taken before close",
    )?;
    expect_code(
        b.new_session().await.map(|_| ()),
        lost,
        "new-session after close",
    )?;
    expect_code(b.files().await.map(|_| ()), lost, "files after close")?;
    expect_code(
        b.detect_platform().await,
        lost,
        "detect-platform after close",
    )?;
    b.close().await?;
    running.close().await?;
    fresh.close().await?;
    Ok(())
}
