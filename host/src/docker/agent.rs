//! The file client of a container: the static agent (`host/agent`), installed once per content
//! and exec'd attached, spoken to with the same SFTP client as the SSH backend.
//!
//! The agent binaries are embedded at build time (see `host/build.rs`); the one for the
//! container's platform is installed at a content-addressed path (`.remote-agent-<sha256>` in
//! `/tmp`, or in `/` where `/tmp` is missing or unsafe) through the archive API, which needs no
//! shell and no tool in the container. It runs as the exec user, often root, so a file found at
//! that path is run only once a download shows it is exactly the embedded agent, owned by root
//! and writable by nobody else; anything else is replaced by a fresh, verified copy
//! ([`launch`]). Concurrent backends on one container share the file; each runs its own agent
//! process.

use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll};

use bollard::container::LogOutput;
use bollard::query_parameters::{ContainerArchiveInfoOptions, DownloadFromContainerOptions};
use futures::StreamExt;
use sha2::{Digest, Sha256};
use tokio::io::{AsyncRead, ReadBuf};

use super::session::exec_attached;
use super::{Container, archive, errors};
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

/// Go's `os.FileMode` bits as the archive stat reports modes: a directory, and the sticky bit
/// (the permission bits are the low nine, as in `st_mode`).
const GO_MODE_DIR: u32 = 1 << 31;
const GO_MODE_STICKY: u32 = 1 << 20;

/// Room for the tar framing around the one file an archive download holds: a 512-byte header,
/// PAX records (long names, extended attributes) and the closing blocks. A download longer than
/// the agent plus this is not the agent, and reading stops there, so a huge file planted at the
/// agent's name cannot make the host buffer it.
const TAR_MARGIN: usize = 64 << 10;

/// The file name the agent `bytes` is installed under: `.remote-agent-` and the first 12 bytes of
/// its SHA-256 in hex, in `/tmp`, or in `/` where `/tmp` is missing or not safe (see [`launch`]).
/// Naming the file after its content lets every backend on a container, of any `remote` build
/// carrying the same agent, reuse one copy.
pub fn agent_install_name(bytes: &[u8]) -> String {
    format!(".remote-agent-{}", hex(&Sha256::digest(bytes)[..12]))
}

/// Installs the agent `bytes` where needed, starts it, and connects the SFTP client.
///
/// The copy at the content-addressed name is run only after it was downloaded through the
/// archive API in this call and found to be exactly ours ([`check_archive`]); it lives in a
/// directory where nobody but root and the directory's owner can swap it afterwards
/// ([`dir_unsafe`]). Otherwise a fresh copy goes up under an unpredictable name beside it, is
/// verified the same way, and runs; the running agent then renames it over the canonical name
/// (`posix-rename`, atomic), so a concurrent backend never sees a half-written file there and
/// later backends reuse it. A fresh copy that fails to verify or to start stays behind, harmless
/// (root-owned, never run): without a running agent nothing can remove it.
pub async fn launch(c: &Container, bytes: &[u8]) -> Result<AgentFiles> {
    let name = agent_install_name(bytes);
    let dir = install_dir(c).await?;
    let canonical = join(dir, &name);
    match verify(c, &canonical, bytes).await? {
        Verdict::Trusted => return start(c, &canonical).await,
        Verdict::Missing => {
            tracing::debug!(container = %c.name, "agent: installing {canonical}");
        }
        Verdict::Untrusted(why) => {
            tracing::warn!(container = %c.name, "agent: not running {canonical}: {why}; installing a fresh copy");
        }
    }
    // Root-owned 0755, not the private 0600 an upload's temporary file gets: the exec user,
    // who may not be root, must be able to run it. That is safe: the name is unpredictable, so
    // nobody can prepare anything there; the directory is sticky or writable by its owner only,
    // so nobody but root or that owner can replace the root-owned file; and it runs only after
    // the download below shows it holds exactly our bytes.
    let temp_name = format!("{name}.{}", archive::random_tag());
    let temp = join(dir, &temp_name);
    archive::put_file(c, dir, &temp_name, bytes, 0o755, (0, 0)).await?;
    if let Some(why) = verify(c, &temp, bytes).await?.distrust() {
        return Err(Error::new(
            ErrorCode::Io,
            "install agent",
            format!("{}:{temp}", c.name),
            format!("the copy just uploaded fails verification: {why}"),
        ));
    }
    let started = start(c, &temp).await?;
    if let Err(e) = started.client.rename(&temp, &canonical).await {
        // A non-root agent may not rename a root-owned file in a sticky directory, nor write
        // into `/`: that refusal is expected, anything else is worth a warning. The daemon, as
        // root, writes the canonical copy instead, so later backends still reuse one: not
        // atomically, but nothing runs it unverified, so a half-written copy only gets replaced.
        // The running agent keeps its inode whatever happens to the temporary name, which a
        // non-root agent cannot remove either.
        if e.code() == ErrorCode::AccessDenied {
            tracing::debug!(container = %c.name, "agent: {e}; writing {canonical} through the archive API");
        } else {
            tracing::warn!(container = %c.name, "agent: {e}; writing {canonical} through the archive API");
        }
        if let Err(e) = archive::put_file(c, dir, &name, bytes, 0o755, (0, 0)).await {
            tracing::warn!(container = %c.name, "agent: {e}");
        }
        if let Err(e) = started.client.remove(&temp).await {
            tracing::debug!(container = %c.name, "agent: {temp} stays: {e}");
        }
    }
    Ok(started)
}

fn join(dir: &str, name: &str) -> String {
    format!("{}/{name}", dir.trim_end_matches('/'))
}

/// The directory to install into: `/tmp` when it and `/` are safe ([`dir_unsafe`]), else `/`
/// when that is safe, else an `access-denied` error naming both and why.
async fn install_dir(c: &Container) -> Result<&'static str> {
    let stat = |path: &'static str| async move {
        c.docker
            .get_container_archive_info(
                &c.id,
                Some(ContainerArchiveInfoOptions { path: path.into() }),
            )
            .await
            .map_err(|e| {
                errors::map(
                    &c.endpoint,
                    "install agent",
                    &format!("{}:{path}", c.name),
                    e,
                )
            })
    };
    let (root, tmp) = futures::join!(stat("/"), stat("/tmp"));
    let root = dir_unsafe(root?.file_mode);
    let tmp = match tmp {
        Ok(s) => dir_unsafe(s.file_mode),
        Err(e) if e.code() == ErrorCode::NotFound => Some("missing".to_string()),
        Err(e) => return Err(e),
    };
    match (root, tmp) {
        (None, None) => Ok("/tmp"),
        (None, Some(why)) => {
            tracing::debug!(container = %c.name, "agent: not using /tmp ({why}); installing in /");
            Ok("/")
        }
        (Some(root), tmp) => Err(Error::new(
            ErrorCode::AccessDenied,
            "install agent",
            &c.name,
            format!(
                "no directory is safe for the agent: / is {root}, so anyone may replace files in \
                 it or /tmp itself{}",
                tmp.map_or_else(String::new, |t| format!(" (and /tmp is {t})"))
            ),
        )),
    }
}

/// Why a directory with archive-stat `mode` could let someone other than root and its owner
/// replace a root-owned file in it, or `None` when it cannot: it must be a directory, and one
/// that group or others may write must be sticky (where only a file's owner may unlink or
/// rename it).
fn dir_unsafe(mode: u32) -> Option<String> {
    let perm = mode & 0o777;
    if mode & GO_MODE_DIR == 0 {
        Some("not a directory".into())
    } else if perm & 0o022 != 0 && mode & GO_MODE_STICKY == 0 {
        Some(format!(
            "writable by group or others without the sticky bit (mode {perm:o})"
        ))
    } else {
        None
    }
}

/// What a download of a candidate agent file showed.
enum Verdict {
    /// Exactly the embedded agent, installed as we install it: it may run.
    Trusted,
    /// No file there.
    Missing,
    /// Something else, and why.
    Untrusted(String),
}

impl Verdict {
    /// Why the file may not run, or `None` when it may.
    fn distrust(self) -> Option<String> {
        match self {
            Verdict::Trusted => None,
            Verdict::Missing => Some("it is not there".into()),
            Verdict::Untrusted(why) => Some(why),
        }
    }
}

/// Downloads `path` through the archive API (at most the agent's size plus [`TAR_MARGIN`]) and
/// judges it with [`check_archive`].
async fn verify(c: &Container, path: &str, bytes: &[u8]) -> Result<Verdict> {
    let stream = c.docker.download_from_container(
        &c.id,
        Some(DownloadFromContainerOptions { path: path.into() }),
    );
    let tar = match read_bounded(stream, bytes.len() + TAR_MARGIN).await {
        Ok(Some(tar)) => tar,
        Ok(None) => {
            return Ok(Verdict::Untrusted(format!(
                "it is larger than the agent's {} bytes",
                bytes.len()
            )));
        }
        Err(e) => {
            let e = errors::map(
                &c.endpoint,
                "verify agent",
                &format!("{}:{path}", c.name),
                e,
            );
            return match e.code() {
                ErrorCode::NotFound => Ok(Verdict::Missing),
                _ => Err(e),
            };
        }
    };
    Ok(match check_archive(&tar, bytes) {
        Ok(()) => Verdict::Trusted,
        Err(why) => Verdict::Untrusted(why),
    })
}

/// The bytes of `stream`, or `None` as soon as they pass `limit`: the rest is never read.
async fn read_bounded<E>(
    stream: impl futures::Stream<Item = std::result::Result<bytes::Bytes, E>>,
    limit: usize,
) -> std::result::Result<Option<Vec<u8>>, E> {
    let mut stream = std::pin::pin!(stream);
    let mut out = Vec::new();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk?;
        if out.len() + chunk.len() > limit {
            return Ok(None);
        }
        out.extend_from_slice(&chunk);
    }
    Ok(Some(out))
}

/// Checks that the first entry of `tar` is a copy of `expected` that only root can change and
/// anyone may run with their own rights: a regular file owned by uid 0, not writable by group
/// or others, executable by all, without setuid or setgid bits, with `expected`'s SHA-256.
/// Returns why not otherwise.
fn check_archive(tar: &[u8], expected: &[u8]) -> std::result::Result<(), String> {
    use std::io::Read as _;
    let bad = |e: std::io::Error| format!("its archive does not parse: {e}");
    let mut archive = tar::Archive::new(tar);
    let mut entry = archive
        .entries()
        .map_err(bad)?
        .next()
        .ok_or("its archive is empty")?
        .map_err(bad)?;
    let header = entry.header();
    let kind = header.entry_type();
    if kind != tar::EntryType::Regular {
        return Err(format!("not a regular file ({kind:?})"));
    }
    let uid = header.uid().map_err(bad)?;
    if uid != 0 {
        return Err(format!("owned by uid {uid}, not root"));
    }
    let mode = header.mode().map_err(bad)?;
    if mode & 0o022 != 0 {
        return Err(format!("writable by group or others (mode {mode:o})"));
    }
    if mode & 0o6000 != 0 {
        return Err(format!("setuid or setgid (mode {mode:o})"));
    }
    if mode & 0o111 != 0o111 {
        return Err(format!("not executable by everyone (mode {mode:o})"));
    }
    let size = header.size().map_err(bad)?;
    if size != expected.len() as u64 {
        return Err(format!(
            "{size} bytes where the agent has {}",
            expected.len()
        ));
    }
    let mut content = Vec::with_capacity(expected.len());
    entry.read_to_end(&mut content).map_err(bad)?;
    if content.len() != expected.len() {
        return Err(format!(
            "its archive ends after {} of {size} bytes",
            content.len()
        ));
    }
    if Sha256::digest(&content) != Sha256::digest(expected) {
        return Err("its content is not the agent's (SHA-256 differs)".into());
    }
    Ok(())
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
async fn start(c: &Container, path: &str) -> Result<AgentFiles> {
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
    let client = SftpFiles::new(
        stream,
        format!("{}://{}", c.endpoint.engine().name(), c.name),
    )
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
mod tests;
