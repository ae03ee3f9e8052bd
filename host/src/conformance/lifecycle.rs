//! Backend-level scenarios: identity, platform, keep-alive, agent upload.

use super::check::{ensure, ensure_eq, pattern};
use super::runner::{CaseResult, Cx, Failure};
use super::sessions::run;
use crate::types::FileKind;

/// A started backend names itself and reports itself connected.
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
    let local_dir = std::env::temp_dir().join(format!(
        "remote-conformance-agent-{}-{}",
        std::process::id(),
        cx.dir.len()
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
