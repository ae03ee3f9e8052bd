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
            .map_err(|e| errors::map("install agent", &format!("{}:{path}", c.name), e))
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
            let e = errors::map("verify agent", &format!("{}:{path}", c.name), e);
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

    /// A one-entry archive as the daemon sends it: `kind`, owner `uid`, `mode`, `content`.
    fn archive(kind: tar::EntryType, uid: u64, mode: u32, content: &[u8]) -> Vec<u8> {
        let mut header = tar::Header::new_gnu();
        header.set_entry_type(kind);
        header.set_uid(uid);
        header.set_mode(mode);
        header.set_size(content.len() as u64);
        let mut builder = tar::Builder::new(Vec::new());
        builder
            .append_data(&mut header, ".remote-agent-x", content)
            .expect("an in-memory archive");
        builder.into_inner().expect("an in-memory archive")
    }

    #[test]
    fn only_an_exact_root_owned_copy_that_only_root_can_change_is_trusted() {
        let agent = b"\x7fELF the agent!!".as_slice();
        let regular = tar::EntryType::Regular;
        assert_eq!(
            check_archive(&archive(regular, 0, 0o755, agent), agent),
            Ok(())
        );
        assert_eq!(
            check_archive(&archive(regular, 0, 0o555, agent), agent),
            Ok(())
        );
        let same_size = b"#!/bin/sh pwned!".as_slice();
        assert_eq!(same_size.len(), agent.len());
        let mut truncated = archive(regular, 0, 0o755, agent);
        truncated.truncate(512 + 4);
        let cases: [(Vec<u8>, &str); 12] = [
            (archive(regular, 0, 0o755, same_size), "SHA-256 differs"),
            (
                archive(regular, 0, 0o755, &agent[1..]),
                "15 bytes where the agent has 16",
            ),
            (archive(regular, 1000, 0o755, agent), "owned by uid 1000"),
            (
                archive(regular, 0, 0o777, agent),
                "writable by group or others (mode 777)",
            ),
            (
                archive(regular, 0, 0o775, agent),
                "writable by group or others",
            ),
            (
                archive(regular, 0, 0o757, agent),
                "writable by group or others",
            ),
            (archive(regular, 0, 0o4755, agent), "setuid or setgid"),
            (archive(regular, 0, 0o2755, agent), "setuid or setgid"),
            (
                archive(regular, 0, 0o750, agent),
                "not executable by everyone",
            ),
            (
                archive(tar::EntryType::Symlink, 0, 0o755, b""),
                "not a regular file",
            ),
            (
                archive(tar::EntryType::Directory, 0, 0o755, b""),
                "not a regular file",
            ),
            (truncated, "ends after 4 of 16 bytes"),
        ];
        for (tar, want) in cases {
            let why = check_archive(&tar, agent).expect_err(want);
            assert!(why.contains(want), "want {want:?} in {why:?}");
        }
        let why = check_archive(&[0; 1024], agent).expect_err("an empty archive");
        assert!(why.contains("empty"), "{why}");
        let why = check_archive(b"not a tar", agent).expect_err("garbage");
        assert!(
            why.contains("does not parse") || why.contains("empty"),
            "{why}"
        );
    }

    #[test]
    fn a_directory_others_may_write_is_safe_only_when_sticky() {
        let dir = GO_MODE_DIR;
        assert_eq!(dir_unsafe(dir | 0o755), None, "/");
        assert_eq!(dir_unsafe(dir | GO_MODE_STICKY | 0o777), None, "/tmp");
        assert_eq!(dir_unsafe(dir | 0o700), None);
        for mode in [dir | 0o777, dir | 0o775, dir | 0o757] {
            let why = dir_unsafe(mode).unwrap_or_else(|| panic!("{mode:o} is unsafe"));
            assert!(why.contains("without the sticky bit"), "{why}");
            assert!(why.contains(&format!("{:o}", mode & 0o777)), "{why}");
        }
        let symlink = 1 << 27;
        for mode in [0o755, symlink | 0o777] {
            assert_eq!(dir_unsafe(mode).as_deref(), Some("not a directory"));
        }
    }

    #[tokio::test]
    async fn reading_stops_at_the_limit() {
        let read = std::sync::atomic::AtomicUsize::new(0);
        let chunks = futures::stream::iter(0..1000).map(|_| {
            read.fetch_add(1, Ordering::Relaxed);
            Ok::<_, std::io::Error>(bytes::Bytes::from(vec![0; 1 << 20]))
        });
        let got = read_bounded(chunks, (3 << 20) + 1).await.expect("no error");
        assert!(got.is_none(), "past the limit");
        assert_eq!(read.load(Ordering::Relaxed), 4, "the rest is never read");
        let small = futures::stream::iter([Ok::<_, std::io::Error>(bytes::Bytes::from("ab"))]);
        assert_eq!(
            read_bounded(small, 2).await.ok().flatten(),
            Some(b"ab".to_vec())
        );
    }

    #[test]
    fn the_install_name_is_the_content_hash() {
        let name = agent_install_name(b"abc");
        assert_eq!(name, ".remote-agent-ba7816bf8f01cfea414140de");
    }
}
