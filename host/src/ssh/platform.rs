//! Platform detection over SSH: ask the target's shell, since the server banner says little.
//!
//! `uname -s -m` answers on every POSIX system. Where it is missing, the target may be Windows
//! with OpenSSH, whose default shell is `cmd` or PowerShell: `cmd /c ver` names Windows, and
//! `%PROCESSOR_ARCHITECTURE%` (cmd) or `$env:PROCESSOR_ARCHITECTURE` (PowerShell) the CPU. All
//! names end in [`crate::platform`] so SSH, Docker and local agree.

use std::sync::Arc;

use tokio::io::AsyncReadExt as _;

use crate::error::{Error, ErrorCode, Result};
use crate::platform::{normalize_arch, platform_from};
use crate::session::Session as _;
use crate::types::{ExitStatus, PlatformInfo};

use super::pool::Pool;
use super::session::SshSession;

/// The most output a probe may produce; anything longer is not an answer to these questions.
const MAX_PROBE_OUTPUT: u64 = 64 << 10;

/// Runs `cmd` and returns how it ended and its standard output.
async fn probe(pool: &Arc<Pool>, target: &str, cmd: &str) -> Result<(ExitStatus, String)> {
    let mut s = SshSession::new(pool.clone(), target.to_string());
    let out = s.stdout()?;
    s.start(cmd).await?;
    let mut text = Vec::new();
    out.take(MAX_PROBE_OUTPUT)
        .read_to_end(&mut text)
        .await
        .map_err(|e| Error::from_io("detect platform", target, e))?;
    let status = s.wait().await?;
    s.close().await?;
    Ok((status, String::from_utf8_lossy(&text).into_owned()))
}

/// Reads `uname -s -m` output.
fn from_uname(out: &str) -> Option<PlatformInfo> {
    let mut words = out.split_whitespace();
    let p = platform_from(words.next()?, words.next().unwrap_or(""), "");
    (!p.os.is_empty() || !p.arch.is_empty()).then_some(p)
}

/// Reads a `PROCESSOR_ARCHITECTURE` value; `None` when the shell did not expand it.
fn from_processor_architecture(out: &str) -> Option<(&'static str, &'static str)> {
    let arch = normalize_arch(out.lines().next().unwrap_or("").trim());
    (!arch.0.is_empty()).then_some(arch)
}

/// Learns the target's platform; fields it cannot learn stay empty.
pub(crate) async fn detect(pool: &Arc<Pool>, target: &str) -> Result<PlatformInfo> {
    let (status, out) = probe(pool, target, "uname -s -m").await?;
    if status.success()
        && let Some(p) = from_uname(&out)
    {
        return Ok(p);
    }
    let ver = probe(pool, target, "cmd /c ver").await?;
    let windows = ver.0.success() && ver.1.contains("Windows");
    let mut arch = None;
    for cmd in [
        "echo %PROCESSOR_ARCHITECTURE%",
        "$env:PROCESSOR_ARCHITECTURE",
    ] {
        let (status, out) = probe(pool, target, cmd).await?;
        if status.success()
            && let Some(a) = from_processor_architecture(&out)
        {
            arch = Some(a);
            break;
        }
    }
    match (windows, arch) {
        (false, None) => Err(Error::new(
            ErrorCode::Unsupported,
            "detect platform",
            target,
            format!(
                "`uname -s -m` did not answer ({status:?}: {:?}) and no Windows shell did either",
                out.trim()
            ),
        )),
        (_, arch) => {
            let (arch, variant) = arch.unwrap_or(("", ""));
            Ok(PlatformInfo {
                os: "windows".into(),
                arch: arch.into(),
                variant: variant.into(),
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uname_output() {
        let p = from_uname("Linux x86_64\n");
        assert_eq!(
            p.map(|p| (p.os, p.arch, p.variant)),
            Some(("linux".into(), "amd64".into(), String::new()))
        );
        let p = from_uname("Linux armv7l\n");
        assert_eq!(
            p.map(|p| (p.arch, p.variant)),
            Some(("arm".into(), "v7".into()))
        );
        let p = from_uname("Darwin arm64");
        assert_eq!(
            p.map(|p| (p.os, p.arch)),
            Some(("darwin".into(), "arm64".into()))
        );
        assert_eq!(
            from_uname("FreeBSD amd64").map(|p| p.os),
            Some("freebsd".into())
        );
        assert_eq!(from_uname(""), None);
        assert_eq!(from_uname("Plan9 vax"), None);
    }

    #[test]
    fn windows_architecture() {
        assert_eq!(
            from_processor_architecture("AMD64\r\n"),
            Some(("amd64", ""))
        );
        assert_eq!(from_processor_architecture("ARM64"), Some(("arm64", "")));
        assert_eq!(from_processor_architecture("x86"), Some(("386", "")));
        assert_eq!(
            from_processor_architecture("%PROCESSOR_ARCHITECTURE%"),
            None
        );
        assert_eq!(from_processor_architecture(""), None);
    }
}
