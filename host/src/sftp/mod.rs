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
//! - `handle`: open files, with pipelined reads and writes.
//! - `transport`: the watched stream, so no request outlives the session's end.

mod attrs;
mod errors;
mod handle;
mod transport;

use std::sync::Arc;

use async_trait::async_trait;
use russh_sftp::client::RawSftpSession;
use russh_sftp::client::error::Error as SftpError;
use russh_sftp::client::rawsession::Limits;
use russh_sftp::extensions::HardlinkExtension;
use russh_sftp::protocol::{FileAttributes, OpenFlags as WireFlags, Packet, StatusCode};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::sync::Semaphore;

use crate::error::{Error, ErrorCode, Result};
use crate::file_client::{FileClient, RemoteFile, RemoteWriteFile};
use crate::types::{DirEntry, FileKind, FileStat, OpenFlags, Statfs, Timestamp};
use attrs::{checked_name, file_stat, mode_attrs, nlink_from_longname, single_name, v3_seconds};
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

/// The state shared by the client and its open files.
pub(crate) struct Session {
    raw: RawSftpSession,
    target: String,
    ext: Extensions,
    read_len: u32,
    write_len: u32,
    handles: Arc<Semaphore>,
    ended: transport::Ended,
}

impl Session {
    /// `request`, failing with the transport the moment the stream ends (see `transport`).
    pub(crate) async fn live<T>(
        &self,
        request: impl std::future::Future<Output = Result<T, SftpError>>,
    ) -> Result<T, SftpError> {
        self.ended.race(request).await
    }
}

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session")
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
    s: Arc<Session>,
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
            s: Arc::new(Session {
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

fn two_paths(old: &str, new: &str) -> Result<Vec<u8>> {
    russh_sftp::ser::to_bytes(&HardlinkExtension {
        oldpath: old.to_string(),
        newpath: new.to_string(),
    })
    .map(|b| b.to_vec())
    .map_err(|e| {
        Error::new(
            ErrorCode::InvalidArgument,
            "encode request",
            format!("{old} -> {new}"),
            e.to_string(),
        )
    })
}

#[async_trait]
impl FileClient for SftpFiles {
    async fn open(&self, path: &str) -> Result<Box<dyn RemoteFile>> {
        Ok(Box::new(self.open_handle(path, OpenFlags::READ, 0).await?))
    }

    async fn create(&self, path: &str) -> Result<Box<dyn RemoteWriteFile>> {
        Ok(Box::new(
            self.open_handle(path, OpenFlags::CREATE, 0o666).await?,
        ))
    }

    async fn open_file(
        &self,
        path: &str,
        flags: OpenFlags,
        mode: u32,
    ) -> Result<Box<dyn RemoteWriteFile>> {
        Ok(Box::new(self.open_handle(path, flags, mode).await?))
    }

    async fn stat(&self, path: &str) -> Result<FileStat> {
        match self.s.live(self.s.raw.stat(path)).await {
            Ok(a) => Ok(file_stat(&a.attrs, 0)),
            Err(err) => Err(self.fail("stat", path, err, Refine::None).await),
        }
    }

    async fn lstat(&self, path: &str) -> Result<FileStat> {
        match self.s.live(self.s.raw.lstat(path)).await {
            Ok(a) => Ok(file_stat(&a.attrs, 0)),
            Err(err) => Err(self.fail("lstat", path, err, Refine::None).await),
        }
    }

    async fn read_dir(&self, path: &str) -> Result<Vec<DirEntry>> {
        let permit = self.s.handles.clone().try_acquire_owned().map_err(|_| {
            Error::new(
                ErrorCode::Busy,
                "read dir",
                path,
                format!("{MAX_OPEN_HANDLES} files are already open on this SFTP session"),
            )
        })?;
        let handle = match self.s.live(self.s.raw.opendir(path)).await {
            Ok(h) => h.handle,
            Err(err) => return Err(self.fail("read dir", path, err, Refine::NeedsDir).await),
        };
        let mut entries = Vec::new();
        let listed = loop {
            let batch = match self.s.live(self.s.raw.readdir(handle.as_str())).await {
                Ok(name) => name.files,
                Err(SftpError::Status(s)) if s.status_code == StatusCode::Eof => break Ok(()),
                Err(err) => break Err(map("read dir", path, err)),
            };
            let named = batch
                .into_iter()
                .filter(|f| f.filename != "." && f.filename != "..")
                .map(|f| {
                    let stat = file_stat(&f.attrs, nlink_from_longname(&f.longname));
                    Ok(DirEntry {
                        name: checked_name("read dir", path, f.filename)?,
                        stat,
                    })
                })
                .collect::<Result<Vec<_>>>();
            match named {
                Ok(batch) => entries.extend(batch),
                Err(e) => break Err(e),
            }
        };
        let closed = self.s.live(self.s.raw.close(handle)).await;
        drop(permit);
        listed?;
        closed.map_err(|e| map("read dir", path, e))?;
        entries.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(entries)
    }

    async fn readlink(&self, path: &str) -> Result<String> {
        match self.s.live(self.s.raw.readlink(path)).await {
            Ok(reply) => single_name("readlink", path, reply),
            Err(err) => Err(self.fail("readlink", path, err, Refine::None).await),
        }
    }

    async fn mkdir(&self, path: &str, mode: u32) -> Result<()> {
        if mode > 0o7777 {
            return Err(Error::new(
                ErrorCode::InvalidArgument,
                "mkdir",
                path,
                format!("mode {mode:#o} has bits outside 0o7777"),
            ));
        }
        match self.s.live(self.s.raw.mkdir(path, mode_attrs(mode))).await {
            Ok(_) => Ok(()),
            Err(err) => Err(self.fail("mkdir", path, err, Refine::Creates).await),
        }
    }

    async fn mkdir_all(&self, path: &str, mode: u32) -> Result<()> {
        let mut missing = Vec::new();
        let full = path.trim_end_matches('/');
        let mut p = full;
        loop {
            if p.is_empty() {
                break;
            }
            match self.stat(p).await {
                Ok(st) if st.kind == FileKind::Directory => break,
                // As mkdir(2) says: the path itself exists (`exists`), or a parent on the way is
                // not a directory (`not-directory`).
                Ok(_) => {
                    let code = if p == full {
                        ErrorCode::Exists
                    } else {
                        ErrorCode::NotDirectory
                    };
                    return Err(Error::new(
                        code,
                        "mkdir -p",
                        path,
                        format!("{p} exists and is not a directory"),
                    ));
                }
                Err(e) if e.code() == ErrorCode::NotFound => {
                    missing.push(p);
                    match p.rsplit_once('/') {
                        Some((parent, _)) => p = parent,
                        None => break,
                    }
                }
                Err(e) => return Err(e),
            }
        }
        for dir in missing.into_iter().rev() {
            match self.mkdir(dir, mode).await {
                Ok(()) => {}
                // Someone else made it meanwhile: fine, if it is a directory.
                Err(e) if e.code() == ErrorCode::Exists => {
                    if self.stat(dir).await?.kind != FileKind::Directory {
                        return Err(e);
                    }
                }
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }

    async fn remove(&self, path: &str) -> Result<()> {
        let err = match self.s.live(self.s.raw.remove(path)).await {
            Ok(_) => return Ok(()),
            Err(err) => err,
        };
        // REMOVE refuses directories; RMDIR is the way for those.
        let is_dir = self
            .s
            .raw
            .lstat(path)
            .await
            .is_ok_and(|a| file_stat(&a.attrs, 0).kind == FileKind::Directory);
        if !is_dir {
            return Err(self.fail("remove", path, err, Refine::None).await);
        }
        match self.s.live(self.s.raw.rmdir(path)).await {
            Ok(_) => Ok(()),
            Err(err) => Err(self.fail("remove", path, err, Refine::RemovesDir).await),
        }
    }

    async fn rename(&self, old: &str, new: &str) -> Result<()> {
        let target = format!("{old} -> {new}");
        let result = if self.s.ext.posix_rename {
            self.extended_status(
                "rename",
                &target,
                "posix-rename@openssh.com",
                two_paths(old, new)?,
            )
            .await
        } else {
            self.s.live(self.s.raw.rename(old, new)).await.map(|_| ())
        };
        match result {
            Ok(()) => Ok(()),
            Err(err) => {
                let e = self.fail("rename", old, err, Refine::None).await;
                Err(Error::new(
                    e.code(),
                    "rename",
                    target,
                    e.message().to_string(),
                ))
            }
        }
    }

    async fn symlink(&self, target: &str, link: &str) -> Result<()> {
        // OpenSSH's server takes (target, link) in that order, against the draft's (link,
        // target); every server we talk to follows OpenSSH. The library writes its first
        // argument first, so the target goes first here.
        match self.s.live(self.s.raw.symlink(target, link)).await {
            Ok(_) => Ok(()),
            Err(err) => {
                let e = self.fail("symlink", link, err, Refine::Creates).await;
                Err(Error::new(
                    e.code(),
                    "symlink",
                    format!("{link} -> {target}"),
                    e.message().to_string(),
                ))
            }
        }
    }

    async fn link(&self, old: &str, new: &str) -> Result<()> {
        if !self.s.ext.hardlink {
            return Err(Error::unsupported(
                "link",
                &self.s.target,
                "the SFTP server does not offer hardlink@openssh.com",
            ));
        }
        let result = self
            .extended_status("link", new, "hardlink@openssh.com", two_paths(old, new)?)
            .await;
        match result {
            Ok(()) => Ok(()),
            Err(err) => {
                let mut e = self.fail("link", new, err, Refine::Creates).await;
                if e.code() == ErrorCode::Io && self.s.live(self.s.raw.lstat(old)).await.is_err() {
                    e = with_code(e, ErrorCode::NotFound);
                }
                Err(Error::new(
                    e.code(),
                    "link",
                    format!("{new} -> {old}"),
                    e.message().to_string(),
                ))
            }
        }
    }

    async fn chmod(&self, path: &str, mode: u32) -> Result<()> {
        if mode > 0o7777 {
            return Err(Error::new(
                ErrorCode::InvalidArgument,
                "chmod",
                path,
                format!("mode {mode:#o} has bits outside 0o7777"),
            ));
        }
        self.setstat("chmod", path, mode_attrs(mode)).await
    }

    async fn chown(&self, path: &str, uid: u32, gid: u32) -> Result<()> {
        let attrs = FileAttributes {
            uid: Some(uid),
            gid: Some(gid),
            ..FileAttributes::default()
        };
        self.setstat("chown", path, attrs).await
    }

    async fn chtimes(&self, path: &str, atime: Timestamp, mtime: Timestamp) -> Result<()> {
        let attrs = FileAttributes {
            atime: Some(v3_seconds("chtimes", path, atime)?),
            mtime: Some(v3_seconds("chtimes", path, mtime)?),
            ..FileAttributes::default()
        };
        self.setstat("chtimes", path, attrs).await
    }

    async fn truncate(&self, path: &str, size: u64) -> Result<()> {
        let attrs = FileAttributes {
            size: Some(size),
            ..FileAttributes::default()
        };
        self.setstat("truncate", path, attrs).await
    }

    async fn statfs(&self, path: &str) -> Result<Statfs> {
        if !self.s.ext.statvfs {
            return Err(Error::unsupported(
                "statfs",
                &self.s.target,
                "the SFTP server does not offer statvfs@openssh.com",
            ));
        }
        match self.s.live(self.s.raw.statvfs(path)).await {
            Ok(v) => Ok(Statfs {
                blocks: v.blocks,
                bfree: v.blocks_free,
                bavail: v.blocks_avail,
                files: v.inodes,
                ffree: v.inodes_free,
                bsize: v.block_size,
                frsize: v.fragment_size,
                name_max: v.name_max,
            }),
            Err(err) => Err(self.fail("statfs", path, err, Refine::None).await),
        }
    }

    async fn getwd(&self) -> Result<String> {
        self.realpath(".").await
    }
}
