//! The SFTP file client: one implementation of [`FileClient`] over any byte stream that speaks
//! SFTP v3, used by the SSH backend (the `sftp` subsystem) and the Docker backend (our agent
//! over an exec stream).
//!
//! Built on `russh-sftp`'s raw session, which keeps a request-id map, so many requests can be in
//! flight at once: reads and writes are pipelined (see `handle`), sized to the server's
//! `limits@openssh.com`. The OpenSSH extensions are used where the server advertises them:
//! `posix-rename` (atomic replace), `statvfs`, `fsync`, `hardlink`.
//!
//! # Layout
//! - `errors`: SFTP statuses to [`ErrorCode`](crate::ErrorCode), and the refinement of v3's
//!   vague codes.
//! - `attrs`: attributes and names to and from the native types.
//! - this file: [`SftpFiles`], version and extension negotiation, and error refinement.
//! - `files`: the [`FileClient`] operations of [`SftpFiles`].
//! - `handle`: open files, with pipelined reads and writes.
//! - `transport`: the watched stream, so no request outlives the session's end.

mod attrs;
mod errors;
mod files;
mod handle;
mod transport;

use std::sync::Arc;

use russh_sftp::client::RawSftpSession;
use russh_sftp::client::error::Error as SftpError;
use russh_sftp::client::rawsession::Limits;
use russh_sftp::protocol::{FileAttributes, OpenFlags as WireFlags, Packet, StatusCode};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::sync::Semaphore;

use crate::error::{Error, ErrorCode, Result};
use crate::types::{FileKind, OpenFlags};
use attrs::{file_stat, mode_attrs, single_name};
use errors::{Refine, is_precise, map, with_code};
use handle::SftpFile;

/// How long one request may wait for its reply. Liveness of the transport is the backend's
/// keep-alive's job; this only bounds a server that accepted a request and never answered.
const REQUEST_TIMEOUT_SECS: u64 = 120;

/// Read and write sizes when the server does not advertise limits: the size every SFTP server
/// must accept.
const DEFAULT_IO_LEN: u64 = 32 * 1024;

/// The largest read or write request we send even when a server allows more, so one reply
/// stays a bounded allocation.
const MAX_IO_LEN: u64 = 1 << 20;

/// Open handles allowed at once on one session. OpenSSH encodes a handle as a 4-byte index, and
/// the SFTP library decodes handles as UTF-8 text, so an index of 128 or more would be mangled;
/// OpenSSH reuses the lowest free index, so keeping fewer than 128 open keeps every handle intact.
const MAX_OPEN_HANDLES: usize = 100;

/// The extensions this client uses, as the server advertised them.
#[derive(Debug, Clone, Copy, Default)]
struct Extensions {
    posix_rename: bool,
    statvfs: bool,
    fsync: bool,
    hardlink: bool,
}

/// The negotiated SFTP link: what the client and its open files share.
pub(crate) struct Link {
    raw: RawSftpSession,
    target: String,
    ext: Extensions,
    read_len: u32,
    write_len: u32,
    handles: Arc<Semaphore>,
    ended: transport::Ended,
}

impl Link {
    /// `request`, failing with the transport the moment the stream ends (see `transport`).
    pub(crate) async fn live<T>(
        &self,
        request: impl std::future::Future<Output = Result<T, SftpError>>,
    ) -> Result<T, SftpError> {
        self.ended.race(request).await
    }
}

impl std::fmt::Debug for Link {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Link")
            .field("target", &self.target)
            .field("ext", &self.ext)
            .field("read_len", &self.read_len)
            .field("write_len", &self.write_len)
            .finish_non_exhaustive()
    }
}

/// A file client speaking SFTP v3 over a stream.
#[derive(Debug, Clone)]
pub struct SftpFiles {
    s: Arc<Link>,
}

impl SftpFiles {
    /// Starts an SFTP session on `stream` (already connected to a server: an SSH `sftp`
    /// subsystem channel, an agent's stdio) and negotiates version and extensions. `target` names
    /// the server in error messages, e.g. `ssh://user@host:22`.
    pub async fn new<S>(stream: S, target: impl Into<String>) -> Result<SftpFiles>
    where
        S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    {
        let target = target.into();
        let config = russh_sftp::client::Config {
            max_packet_len: u32::try_from(MAX_IO_LEN * 2).unwrap_or(u32::MAX),
            request_timeout_secs: REQUEST_TIMEOUT_SECS,
            ..russh_sftp::client::Config::default()
        };
        let (stream, ended) = transport::watch(stream);
        let mut raw = RawSftpSession::new_with_config(stream, config);
        let version = ended
            .race(raw.init())
            .await
            .map_err(|e| map("sftp init", &target, e))?;
        let has = |name: &str, v: &str| version.extensions.get(name).is_some_and(|x| x == v);
        let ext = Extensions {
            posix_rename: has("posix-rename@openssh.com", "1"),
            statvfs: has("statvfs@openssh.com", "2"),
            fsync: has("fsync@openssh.com", "1"),
            hardlink: has("hardlink@openssh.com", "1"),
        };
        let limits = if has("limits@openssh.com", "1") {
            let l = ended
                .race(raw.limits())
                .await
                .map_err(|e| map("sftp limits", &target, e))?;
            Limits::from(l)
        } else {
            Limits::default()
        };
        let io_len = |advertised: Option<u64>| {
            u32::try_from(advertised.unwrap_or(DEFAULT_IO_LEN).clamp(1, MAX_IO_LEN)).unwrap_or(1)
        };
        let (read_len, write_len) = (io_len(limits.read_len), io_len(limits.write_len));
        raw.set_limits(limits);
        tracing::debug!(target, ?ext, read_len, write_len, "sftp session ready");
        Ok(SftpFiles {
            s: Arc::new(Link {
                raw,
                target,
                ext,
                read_len,
                write_len,
                handles: Arc::new(Semaphore::new(MAX_OPEN_HANDLES)),
                ended,
            }),
        })
    }

    /// The canonical absolute form of `path` on the server (`realpath`).
    pub async fn realpath(&self, path: &str) -> Result<String> {
        let reply = self
            .s
            .live(self.s.raw.realpath(path))
            .await
            .map_err(|e| map("realpath", path, e))?;
        single_name("realpath", path, reply)
    }

    /// Ends the session; open files and later calls fail with `connection-lost`.
    pub fn close(&self) {
        let _ = self.s.raw.close_session();
    }

    /// Maps a failure of `op` on `path`, refining SFTP v3's vague codes with the state of the
    /// file system now (only on this error path).
    async fn fail(&self, op: &str, path: &str, err: SftpError, refine: Refine) -> Error {
        let precise = is_precise(&err);
        let e = map(op, path, err);
        if precise {
            return e;
        }
        let raw = &self.s.raw;
        match (e.code(), refine) {
            (ErrorCode::Io, Refine::Creates) if self.s.live(raw.lstat(path)).await.is_ok() => {
                with_code(e, ErrorCode::Exists)
            }
            (ErrorCode::Io, Refine::NeedsFile) => match self.s.live(raw.stat(path)).await {
                Ok(a) if file_stat(&a.attrs, 0).kind == FileKind::Directory => {
                    with_code(e, ErrorCode::IsDirectory)
                }
                _ => e,
            },
            (ErrorCode::Io, Refine::RemovesDir) => match self.s.live(raw.lstat(path)).await {
                Ok(a) if file_stat(&a.attrs, 0).kind == FileKind::Directory => {
                    with_code(e, ErrorCode::NotEmpty)
                }
                _ => e,
            },
            (ErrorCode::NotFound, _) => {
                if refine == Refine::NeedsDir
                    && self
                        .s
                        .live(raw.stat(path))
                        .await
                        .is_ok_and(|a| file_stat(&a.attrs, 0).kind != FileKind::Directory)
                {
                    return with_code(e, ErrorCode::NotDirectory);
                }
                if self.parent_is_not_a_directory(path).await {
                    with_code(e, ErrorCode::NotDirectory)
                } else {
                    e
                }
            }
            _ => e,
        }
    }

    /// Whether some ancestor of `path` exists and is not a directory: OpenSSH reports ENOTDIR as
    /// "no such file", and this tells the two apart.
    async fn parent_is_not_a_directory(&self, path: &str) -> bool {
        let mut p = path.trim_end_matches('/');
        while let Some((parent, _)) = p.rsplit_once('/') {
            if parent.is_empty() {
                return false;
            }
            match self.s.live(self.s.raw.stat(parent)).await {
                Ok(a) => return file_stat(&a.attrs, 0).kind != FileKind::Directory,
                Err(_) => p = parent,
            }
        }
        false
    }

    async fn open_handle(&self, path: &str, flags: OpenFlags, mode: u32) -> Result<SftpFile> {
        if mode > 0o7777 {
            return Err(Error::new(
                ErrorCode::InvalidArgument,
                "open",
                path,
                format!("mode {mode:#o} has bits outside 0o7777"),
            ));
        }
        if !(flags.read || flags.write || flags.append) {
            return Err(Error::new(
                ErrorCode::InvalidArgument,
                "open",
                path,
                "open flags must include read or write",
            ));
        }
        let permit = self.s.handles.clone().try_acquire_owned().map_err(|_| {
            Error::new(
                ErrorCode::Busy,
                "open",
                path,
                format!("{MAX_OPEN_HANDLES} files are already open on this SFTP session"),
            )
        })?;
        let mut wire = WireFlags::empty();
        for (on, bit) in [
            (flags.read, WireFlags::READ),
            (flags.write || flags.append, WireFlags::WRITE),
            (flags.append, WireFlags::APPEND),
            (flags.create, WireFlags::CREATE),
            (flags.truncate, WireFlags::TRUNCATE),
            (flags.exclusive, WireFlags::EXCLUDE),
        ] {
            if on {
                wire |= bit;
            }
        }
        let attrs = if flags.create {
            mode_attrs(mode)
        } else {
            FileAttributes::default()
        };
        let refine = if flags.create && flags.exclusive {
            Refine::Creates
        } else if flags.write || flags.append {
            Refine::NeedsFile
        } else {
            Refine::None
        };
        match self.s.live(self.s.raw.open(path, wire, attrs)).await {
            Ok(h) => Ok(SftpFile::new(
                self.s.clone(),
                h.handle,
                path.to_string(),
                flags,
                permit,
            )),
            Err(err) => Err(self.fail("open", path, err, refine).await),
        }
    }

    async fn setstat(&self, op: &str, path: &str, attrs: FileAttributes) -> Result<()> {
        match self.s.live(self.s.raw.setstat(path, attrs)).await {
            Ok(_) => Ok(()),
            Err(err) => Err(self.fail(op, path, err, Refine::None).await),
        }
    }

    async fn extended_status(
        &self,
        op: &str,
        target: &str,
        name: &str,
        data: Vec<u8>,
    ) -> std::result::Result<(), SftpError> {
        match self.s.live(self.s.raw.extended(name, data)).await? {
            Packet::Status(s) if s.status_code == StatusCode::Ok => Ok(()),
            Packet::Status(s) => Err(SftpError::Status(s)),
            other => {
                tracing::debug!(op, target, ?other, "unexpected reply to {name}");
                Err(SftpError::UnexpectedPacket)
            }
        }
    }
}
