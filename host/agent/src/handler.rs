//! The file operations, as a `russh_sftp::server::Handler`: plain POSIX calls on the agent's own
//! process, so the OS decides what the user the agent runs as may do.
//!
//! Handles are small integers in decimal, at most [`MAX_HANDLES`] open at once. Work is
//! synchronous: every future this handler returns is ready when first polled.

use std::collections::HashMap;
use std::fs::{self, File, ReadDir};
use std::os::unix::fs::{DirBuilderExt, FileExt};
use std::path::{Path, PathBuf};

use russh_sftp::protocol::{
    Attrs, Data, File as NameEntry, FileAttributes, Handle, Name, OpenFlags, Packet, Status,
    StatusCode, Version,
};
use russh_sftp::server::{Handler, StatusReply};
use rustix::fs::{Mode, OFlags, Timespec, Timestamps};

use crate::limits::{MAX_HANDLES, MAX_IO};
use crate::{attrs, errno};

mod extensions;

/// Entries per `readdir` reply, as OpenSSH sends.
const DIR_BATCH: usize = 100;

/// An open handle.
#[derive(Debug)]
pub enum Open {
    /// A file from `open`.
    File(File),
    /// A directory from `opendir`, with the entries not yet sent.
    Dir(ReadDir),
}

/// The state of one SFTP session: its open handles.
#[derive(Debug, Default)]
pub struct Agent {
    handles: HashMap<u32, Open>,
    next: u32,
}

/// A success status.
pub fn ok(id: u32) -> Status {
    Status {
        id,
        status_code: StatusCode::Ok,
        error_message: "Success".into(),
        language_tag: "en".into(),
    }
}

fn bad_handle(handle: &str) -> StatusReply {
    errno::status(9, &format!("no open handle {handle:?}"))
}

impl Agent {
    /// A session with nothing open.
    pub fn new() -> Agent {
        Agent::default()
    }

    fn insert(&mut self, open: Open) -> Result<String, StatusReply> {
        if self.handles.len() >= MAX_HANDLES {
            return Err(errno::status(
                24,
                &format!("too many open handles (limit {MAX_HANDLES})"),
            ));
        }
        while self.handles.contains_key(&self.next) {
            self.next = self.next.wrapping_add(1);
        }
        let h = self.next;
        self.next = self.next.wrapping_add(1);
        self.handles.insert(h, open);
        Ok(h.to_string())
    }

    /// The open file behind `handle`.
    pub fn file(&self, handle: &str) -> Result<&File, StatusReply> {
        match handle
            .parse::<u32>()
            .ok()
            .and_then(|h| self.handles.get(&h))
        {
            Some(Open::File(f)) => Ok(f),
            Some(Open::Dir(_)) => Err(errno::status(
                21,
                &format!("handle {handle:?} is a directory"),
            )),
            None => Err(bad_handle(handle)),
        }
    }
}

/// Applies SFTP attributes through a path or an open file: size, then owner, then permissions
/// (after the owner, since `chown` clears set-id bits), then times.
pub fn set_attrs(target: Target<'_>, a: &FileAttributes) -> Result<(), StatusReply> {
    let e = errno::from_errno;
    if let Some(size) = a.size {
        match target {
            // No truncate(2) in rustix; a non-blocking open cannot hang on a FIFO.
            Target::Path(p, _) => rustix::fs::open(
                p,
                OFlags::WRONLY | OFlags::NONBLOCK | OFlags::CLOEXEC | OFlags::NOCTTY,
                Mode::empty(),
            )
            .and_then(|fd| rustix::fs::ftruncate(fd, size)),
            Target::File(f) => rustix::fs::ftruncate(f, size),
        }
        .map_err(e)?;
    }
    if a.uid.is_some() || a.gid.is_some() {
        let uid = a.uid.map(rustix::fs::Uid::from_raw);
        let gid = a.gid.map(rustix::fs::Gid::from_raw);
        match target {
            Target::Path(p, follow) => {
                rustix::fs::chownat(rustix::fs::CWD, p, uid, gid, at_flags(follow))
            }
            Target::File(f) => rustix::fs::fchown(f, uid, gid),
        }
        .map_err(e)?;
    }
    if let Some(perm) = a.permissions {
        let mode = Mode::from_raw_mode(perm & 0o7777);
        match target {
            Target::Path(p, true) => rustix::fs::chmod(p, mode),
            Target::Path(p, false) => rustix::fs::chmodat(
                rustix::fs::CWD,
                p,
                mode,
                rustix::fs::AtFlags::SYMLINK_NOFOLLOW,
            ),
            Target::File(f) => rustix::fs::fchmod(f, mode),
        }
        .map_err(e)?;
    }
    if a.atime.is_some() || a.mtime.is_some() {
        let ts = |t: Option<u32>| match t {
            Some(s) => Timespec {
                tv_sec: i64::from(s),
                tv_nsec: 0,
            },
            None => Timespec {
                tv_sec: 0,
                tv_nsec: rustix::fs::UTIME_OMIT,
            },
        };
        let times = Timestamps {
            last_access: ts(a.atime),
            last_modification: ts(a.mtime),
        };
        match target {
            Target::Path(p, follow) => {
                rustix::fs::utimensat(rustix::fs::CWD, p, &times, at_flags(follow))
            }
            Target::File(f) => rustix::fs::futimens(f, &times),
        }
        .map_err(e)?;
    }
    Ok(())
}

fn at_flags(follow: bool) -> rustix::fs::AtFlags {
    if follow {
        rustix::fs::AtFlags::empty()
    } else {
        rustix::fs::AtFlags::SYMLINK_NOFOLLOW
    }
}

/// What `set_attrs` applies to: a path (following a final symlink or not) or an open file.
#[derive(Clone, Copy, Debug)]
pub enum Target<'a> {
    /// A path; `true` follows a final symlink.
    Path(&'a str, bool),
    /// An open file.
    File(&'a File),
}

/// The absolute form of `path` with symlinks resolved. A missing last component is allowed (as
/// OpenSSH does), so a client can ask where a file it is about to create will be.
fn real_path(path: &str) -> std::io::Result<PathBuf> {
    let p = if path.is_empty() { "." } else { path };
    match fs::canonicalize(p) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let p = Path::new(p);
            match (p.parent(), p.file_name()) {
                (Some(parent), Some(name)) => {
                    let parent = if parent.as_os_str().is_empty() {
                        Path::new(".")
                    } else {
                        parent
                    };
                    Ok(fs::canonicalize(parent)?.join(name))
                }
                _ => Err(e),
            }
        }
        r => r,
    }
}

fn lossy(p: impl AsRef<std::ffi::OsStr>) -> String {
    p.as_ref().to_string_lossy().into_owned()
}

impl Handler for Agent {
    type Error = StatusReply;

    fn unimplemented(&self) -> StatusReply {
        errno::status(38, "request not implemented")
    }

    async fn init(
        &mut self,
        _version: u32,
        _extensions: HashMap<String, String>,
    ) -> Result<Version, StatusReply> {
        Ok(Version {
            version: 3,
            extensions: extensions::advertised(),
        })
    }

    async fn open(
        &mut self,
        id: u32,
        filename: String,
        pflags: OpenFlags,
        attrs: FileAttributes,
    ) -> Result<Handle, StatusReply> {
        let mut flags = match (
            pflags.contains(OpenFlags::READ),
            pflags.contains(OpenFlags::WRITE),
        ) {
            (true, true) => OFlags::RDWR,
            (false, true) => OFlags::WRONLY,
            _ => OFlags::RDONLY,
        } | OFlags::CLOEXEC
            | OFlags::NOCTTY;
        for (flag, bit) in [
            (OpenFlags::APPEND, OFlags::APPEND),
            (OpenFlags::CREATE, OFlags::CREATE),
            (OpenFlags::TRUNCATE, OFlags::TRUNC),
            (OpenFlags::EXCLUDE, OFlags::EXCL),
        ] {
            if pflags.contains(flag) {
                flags |= bit;
            }
        }
        let mode = Mode::from_raw_mode(attrs.permissions.map_or(0o666, |p| p & 0o7777));
        let fd = rustix::fs::open(filename.as_str(), flags, mode).map_err(errno::from_errno)?;
        let handle = self.insert(Open::File(File::from(fd)))?;
        Ok(Handle { id, handle })
    }

    async fn close(&mut self, id: u32, handle: String) -> Result<Status, StatusReply> {
        match handle
            .parse::<u32>()
            .ok()
            .and_then(|h| self.handles.remove(&h))
        {
            Some(_) => Ok(ok(id)),
            None => Err(bad_handle(&handle)),
        }
    }

    async fn read(
        &mut self,
        id: u32,
        handle: String,
        offset: u64,
        len: u32,
    ) -> Result<Data, StatusReply> {
        let f = self.file(&handle)?;
        let mut buf = vec![0u8; len.min(MAX_IO) as usize];
        let mut filled = 0;
        while filled < buf.len() {
            match f.read_at(&mut buf[filled..], offset.saturating_add(filled as u64)) {
                Ok(0) => break,
                Ok(n) => filled += n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                // Report what was read; the error comes back on the next read.
                Err(_) if filled > 0 => break,
                Err(e) => return Err(errno::from_io(&e)),
            }
        }
        if filled == 0 && !buf.is_empty() {
            return Err(StatusCode::Eof.with_message("end of file"));
        }
        buf.truncate(filled);
        Ok(Data { id, data: buf })
    }

    async fn write(
        &mut self,
        id: u32,
        handle: String,
        offset: u64,
        data: Vec<u8>,
    ) -> Result<Status, StatusReply> {
        self.file(&handle)?
            .write_all_at(&data, offset)
            .map_err(|e| errno::from_io(&e))?;
        Ok(ok(id))
    }

    async fn lstat(&mut self, id: u32, path: String) -> Result<Attrs, StatusReply> {
        let m = fs::symlink_metadata(&path).map_err(|e| errno::from_io(&e))?;
        Ok(Attrs {
            id,
            attrs: attrs::from_metadata(&m),
        })
    }

    async fn fstat(&mut self, id: u32, handle: String) -> Result<Attrs, StatusReply> {
        let m = match handle
            .parse::<u32>()
            .ok()
            .and_then(|h| self.handles.get(&h))
        {
            Some(Open::File(f)) => f.metadata().map_err(|e| errno::from_io(&e))?,
            Some(Open::Dir(_)) => {
                return Err(errno::status(21, "fstat of a directory handle"));
            }
            None => return Err(bad_handle(&handle)),
        };
        Ok(Attrs {
            id,
            attrs: attrs::from_metadata(&m),
        })
    }

    async fn setstat(
        &mut self,
        id: u32,
        path: String,
        attrs: FileAttributes,
    ) -> Result<Status, StatusReply> {
        set_attrs(Target::Path(&path, true), &attrs)?;
        Ok(ok(id))
    }

    async fn fsetstat(
        &mut self,
        id: u32,
        handle: String,
        attrs: FileAttributes,
    ) -> Result<Status, StatusReply> {
        set_attrs(Target::File(self.file(&handle)?), &attrs)?;
        Ok(ok(id))
    }

    async fn opendir(&mut self, id: u32, path: String) -> Result<Handle, StatusReply> {
        let dir = fs::read_dir(&path).map_err(|e| errno::from_io(&e))?;
        let handle = self.insert(Open::Dir(dir))?;
        Ok(Handle { id, handle })
    }

    async fn readdir(&mut self, id: u32, handle: String) -> Result<Name, StatusReply> {
        let dir = match handle
            .parse::<u32>()
            .ok()
            .and_then(|h| self.handles.get_mut(&h))
        {
            Some(Open::Dir(d)) => d,
            Some(Open::File(_)) => return Err(errno::status(20, "readdir of a file handle")),
            None => return Err(bad_handle(&handle)),
        };
        let now = attrs::now();
        let mut files = Vec::new();
        for entry in dir.by_ref() {
            let entry = entry.map_err(|e| errno::from_io(&e))?;
            // An entry removed since the listing started is skipped, as `ls` does.
            let Ok(m) = entry.metadata() else { continue };
            files.push(attrs::entry(lossy(entry.file_name()), &m, now));
            if files.len() == DIR_BATCH {
                break;
            }
        }
        if files.is_empty() {
            return Err(StatusCode::Eof.with_message("end of directory"));
        }
        Ok(Name { id, files })
    }

    async fn remove(&mut self, id: u32, filename: String) -> Result<Status, StatusReply> {
        fs::remove_file(&filename).map_err(|e| errno::from_io(&e))?;
        Ok(ok(id))
    }

    async fn mkdir(
        &mut self,
        id: u32,
        path: String,
        attrs: FileAttributes,
    ) -> Result<Status, StatusReply> {
        fs::DirBuilder::new()
            .mode(attrs.permissions.map_or(0o777, |p| p & 0o7777))
            .create(&path)
            .map_err(|e| errno::from_io(&e))?;
        Ok(ok(id))
    }

    async fn rmdir(&mut self, id: u32, path: String) -> Result<Status, StatusReply> {
        fs::remove_dir(&path).map_err(|e| errno::from_io(&e))?;
        Ok(ok(id))
    }

    async fn realpath(&mut self, id: u32, path: String) -> Result<Name, StatusReply> {
        let p = real_path(&path).map_err(|e| errno::from_io(&e))?;
        Ok(Name {
            id,
            files: vec![NameEntry::dummy(lossy(p))],
        })
    }

    async fn stat(&mut self, id: u32, path: String) -> Result<Attrs, StatusReply> {
        let m = fs::metadata(&path).map_err(|e| errno::from_io(&e))?;
        Ok(Attrs {
            id,
            attrs: attrs::from_metadata(&m),
        })
    }

    /// Plain SFTP rename never replaces an existing target (`posix-rename` does).
    async fn rename(
        &mut self,
        id: u32,
        oldpath: String,
        newpath: String,
    ) -> Result<Status, StatusReply> {
        let cwd = rustix::fs::CWD;
        match rustix::fs::renameat_with(
            cwd,
            oldpath.as_str(),
            cwd,
            newpath.as_str(),
            rustix::fs::RenameFlags::NOREPLACE,
        ) {
            Ok(()) => {}
            // A file system without RENAME_NOREPLACE: check, then rename.
            Err(rustix::io::Errno::INVAL | rustix::io::Errno::NOSYS) => {
                if fs::symlink_metadata(&newpath).is_ok() {
                    return Err(errno::status(17, "File exists"));
                }
                fs::rename(&oldpath, &newpath).map_err(|e| errno::from_io(&e))?;
            }
            Err(e) => return Err(errno::from_errno(e)),
        }
        Ok(ok(id))
    }

    async fn readlink(&mut self, id: u32, path: String) -> Result<Name, StatusReply> {
        let target = fs::read_link(&path).map_err(|e| errno::from_io(&e))?;
        Ok(Name {
            id,
            files: vec![NameEntry {
                filename: lossy(target),
                longname: String::new(),
                attrs: FileAttributes::empty(),
            }],
        })
    }

    /// OpenSSH's wire order, which every client speaks: the first string is the link's target,
    /// the second the new link (the reverse of the draft's field names used by russh-sftp).
    async fn symlink(
        &mut self,
        id: u32,
        linkpath: String,
        targetpath: String,
    ) -> Result<Status, StatusReply> {
        std::os::unix::fs::symlink(&linkpath, &targetpath).map_err(|e| errno::from_io(&e))?;
        Ok(ok(id))
    }

    async fn extended(
        &mut self,
        id: u32,
        request: String,
        data: Vec<u8>,
    ) -> Result<Packet, StatusReply> {
        extensions::handle(self, id, &request, data)
    }
}
