//! The file client of a container: the static agent (`host/agent`), installed once per content
//! and exec'd attached, spoken to with the same SFTP client as the SSH backend.
//!
//! The agent binaries are embedded at build time (see `host/build.rs`); the one for the
//! container's platform is installed at a content-addressed path (`.remote-agent-<sha256>` in
//! `/tmp`, or in `/` where there is no `/tmp`) through the archive API, which needs no shell and
//! no tool in the container. A path named after the content never needs replacing, so concurrent
//! backends on one container share the file safely; each backend runs its own agent process.

use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll};

use bollard::container::LogOutput;
use bollard::query_parameters::ContainerArchiveInfoOptions;
use futures::StreamExt;
use sha2::{Digest, Sha256};
use tokio::io::{AsyncRead, ReadBuf};

use super::session::exec_attached;
use super::{Container, archive};
use crate::error::{Error, ErrorCode, Result};
use crate::file_client::FileClient;
use crate::sftp::SftpFiles;
use crate::types::PlatformInfo;

mod built {
    include!(concat!(env!("OUT_DIR"), "/agents.rs"));
}

/// The agent binary for a GOARCH, as embedded in this build.
pub fn agent_for(arch: &str) -> Option<&'static [u8]> {
    built::BUILT
        .iter()
        .find(|(a, _)| *a == arch)
        .map(|(_, b)| *b)
}

/// Every agent platform and what this build carries for it: the binary's size, or why it has
/// none. (`remote --version` shows it, so a user can tell a build that cannot serve containers
/// of a platform.)
pub fn embedded_agents() -> Vec<(&'static str, std::result::Result<usize, &'static str>)> {
    let built = built::BUILT.iter().map(|(a, b)| (*a, Ok(b.len())));
    let missing = built::NOT_BUILT.iter().map(|(a, why, _)| (*a, Err(*why)));
    built.chain(missing).collect()
}

/// The embedded agent for `platform`, or an error naming the platform and how to get one.
pub fn binary(platform: &PlatformInfo, target: &str) -> Result<&'static [u8]> {
    let name = format!("{}/{}", platform.os, platform.arch);
    if platform.os != "linux" {
        return Err(Error::unsupported(
            "files",
            target,
            &format!("the agent runs on linux only; the container's platform is {name}"),
        ));
    }
    if let Some(bytes) = agent_for(&platform.arch) {
        return Ok(bytes);
    }
    let why = built::NOT_BUILT
        .iter()
        .find(|(a, _, _)| *a == platform.arch)
        .map_or_else(
            || {
                format!(
                    "no agent is built for {name}; the agent builds for linux/amd64 and linux/arm64"
                )
            },
            |(_, why, how)| format!("this build has no agent for {name} ({why}): {how}"),
        );
    Err(Error::unsupported("files", target, &why))
}

/// Go's `os.ModeDir` bit, as the archive stat reports modes.
const GO_MODE_DIR: u32 = 1 << 31;

/// Installs `bytes` at its content-addressed path unless a file of that size is there already,
/// and returns the path.
pub async fn install(c: &Container, bytes: &[u8]) -> Result<String> {
    let digest = Sha256::digest(bytes);
    let name = format!(".remote-agent-{}", hex(&digest[..12]));
    let stat = |path: String| async move {
        c.docker
            .get_container_archive_info(&c.id, Some(ContainerArchiveInfoOptions { path }))
            .await
    };
    let dir = match stat("/tmp".into()).await {
        Ok(s) if s.file_mode & GO_MODE_DIR != 0 => "/tmp",
        _ => "/",
    };
    let path = format!("{}/{name}", dir.trim_end_matches('/'));
    match stat(path.clone()).await {
        Ok(s) if s.size == bytes.len() as i64 => return Ok(path),
        _ => {}
    }
    archive::put_file(c, dir, &name, bytes, 0o755, (0, 0)).await?;
    Ok(path)
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// A running agent and the client speaking to it.
pub struct AgentFiles {
    /// The SFTP client on the agent's stdin/stdout.
    pub client: Arc<dyn FileClient>,
    sftp: SftpFiles,
    alive: Arc<AtomicBool>,
}

impl std::fmt::Debug for AgentFiles {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AgentFiles")
            .field("alive", &self.is_alive())
            .finish_non_exhaustive()
    }
}

impl AgentFiles {
    /// False once the agent's output ended: it exited or was killed, and a new one is needed.
    pub fn is_alive(&self) -> bool {
        self.alive.load(Ordering::Acquire)
    }

    /// Ends the SFTP session: the agent reads end of input and exits, and every client and
    /// handle obtained from it fails from now on, even while callers still hold them.
    pub fn close(&self) {
        self.sftp.close();
    }
}

/// The agent's stdout as a byte stream; stderr lines go to the log. Marks the agent dead when
/// the stream ends or fails.
struct AgentOutput {
    frames: Pin<Box<dyn futures::Stream<Item = std::io::Result<bytes::Bytes>> + Send>>,
    pending: bytes::Bytes,
    alive: Arc<AtomicBool>,
}

impl AsyncRead for AgentOutput {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        while self.pending.is_empty() {
            match self.frames.poll_next_unpin(cx) {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(Some(Ok(b))) => self.pending = b,
                Poll::Ready(Some(Err(e))) => {
                    self.alive.store(false, Ordering::Release);
                    return Poll::Ready(Err(e));
                }
                Poll::Ready(None) => {
                    self.alive.store(false, Ordering::Release);
                    return Poll::Ready(Ok(()));
                }
            }
        }
        let n = self.pending.len().min(buf.remaining());
        let chunk = self.pending.split_to(n);
        buf.put_slice(&chunk);
        Poll::Ready(Ok(()))
    }
}

/// Starts the agent at `path` (serving from the user's home where there is one) and connects
/// the SFTP client to it.
pub async fn start(c: &Container, path: &str) -> Result<AgentFiles> {
    let attached = exec_attached(
        c,
        vec![path.to_string(), "-d".into(), "%d".into()],
        Vec::new(),
        true,
        None,
    )
    .await?;
    let alive = Arc::new(AtomicBool::new(true));
    let target = c.name.clone();
    let frames = attached.output.filter_map(move |frame| {
        let target = target.clone();
        async move {
            match frame {
                Ok(LogOutput::StdOut { message }) => Some(Ok(message)),
                Ok(LogOutput::StdErr { message }) => {
                    tracing::warn!(container = %target, "agent: {}", String::from_utf8_lossy(&message).trim_end());
                    None
                }
                Ok(_) => None,
                Err(e) => Some(Err(std::io::Error::new(
                    std::io::ErrorKind::ConnectionAborted,
                    format!("agent output: {e}"),
                ))),
            }
        }
    });
    let output = AgentOutput {
        frames: Box::pin(frames),
        pending: bytes::Bytes::new(),
        alive: alive.clone(),
    };
    let stream = tokio::io::join(output, attached.input);
    let client = SftpFiles::new(stream, format!("docker://{}", c.name))
        .await
        .map_err(|e| {
            Error::new(
                if e.code() == ErrorCode::Unsupported {
                    ErrorCode::Unsupported
                } else {
                    ErrorCode::ConnectionLost
                },
                "start agent",
                &c.name,
                format!("the agent at {path} did not start an SFTP session: {e}"),
            )
            .with_source(e)
        })?;
    Ok(AgentFiles {
        client: Arc::new(client.clone()),
        sftp: client,
        alive,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn platform(os: &str, arch: &str) -> PlatformInfo {
        PlatformInfo {
            os: os.into(),
            arch: arch.into(),
            variant: String::new(),
        }
    }

    #[test]
    fn amd64_is_embedded_and_other_platforms_say_what_is_missing() {
        let amd64 = binary(&platform("linux", "amd64"), "c").expect("the amd64 agent is built");
        assert!(amd64.starts_with(b"\x7fELF"), "an ELF binary");
        for (os, arch, names) in [
            ("linux", "riscv64", "linux/riscv64"),
            ("windows", "amd64", "windows/amd64"),
        ] {
            let e = binary(&platform(os, arch), "c").expect_err("no agent there");
            assert_eq!(e.code(), ErrorCode::Unsupported, "{e}");
            assert!(e.message().contains(names), "{e}");
        }
        if agent_for("arm64").is_none() {
            let e = binary(&platform("linux", "arm64"), "c").expect_err("arm64 was not built");
            assert!(
                e.message()
                    .contains("rustup target add aarch64-unknown-linux-musl"),
                "{e}"
            );
        }
    }
}
