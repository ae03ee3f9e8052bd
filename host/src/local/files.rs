//! Local files through the POSIX calls, each on tokio's blocking pool.

use std::fs::{self, File};
use std::io::{self, Read, Write};
use std::os::unix::fs::{DirBuilderExt, FileExt, MetadataExt, PermissionsExt};
use std::sync::Arc;

use async_trait::async_trait;
use rustix::fs::{AtFlags, CWD, Mode, OFlags, Timespec, Timestamps};

use super::TARGET;
use crate::error::{Error, ErrorCode, Result};
use crate::file_client::{FileClient, MAX_READ, RemoteFile, RemoteWriteFile};
use crate::lifetime::Lifetime;
use crate::types::{DirEntry, FileKind, FileStat, OpenFlags, Statfs, Timestamp};

/// The file client of this machine. Relative paths are relative to the process's working
/// directory, which is also what `getwd` reports. It and its handles work until the backend that
/// made them closes.
#[derive(Debug)]
pub struct LocalFiles {
    lifetime: Lifetime,
}

impl LocalFiles {
    /// A client that works until `lifetime` ends.
    pub fn new(lifetime: Lifetime) -> LocalFiles {
        LocalFiles { lifetime }
    }

    fn check(&self, op: &str) -> Result<()> {
        self.lifetime.check(op, TARGET)
    }
}

/// Runs a blocking file operation off the async threads and maps its error once, here.
async fn blocking<T, F>(op: &'static str, target: &str, f: F) -> Result<T>
where
    T: Send + 'static,
    F: FnOnce() -> io::Result<T> + Send + 'static,
{
    match tokio::task::spawn_blocking(f).await {
        Ok(Ok(v)) => Ok(v),
        Ok(Err(e)) => Err(Error::from_io(op, target, e)),
        Err(e) => Err(Error::new(
            ErrorCode::Io,
            op,
            target,
            format!("blocking worker failed: {e}"),
        )),
    }
}

fn utf8(op: &'static str, raw: std::ffi::OsString) -> Result<String> {
    raw.into_string().map_err(|raw| {
        Error::new(
            ErrorCode::IllegalByteSequence,
            op,
            raw.to_string_lossy(),
            format!(
                "name is not UTF-8 (bytes {:?})",
                std::os::unix::ffi::OsStrExt::as_bytes(raw.as_os_str())
                    .escape_ascii()
                    .to_string()
            ),
        )
    })
}

fn timestamp(seconds: i64, nanos: i64) -> Timestamp {
    Timestamp {
        seconds,
        nanoseconds: u32::try_from(nanos).unwrap_or(0),
    }
}

pub(crate) fn file_stat(m: &fs::Metadata) -> FileStat {
    FileStat {
        kind: FileKind::from_mode(m.mode()),
        mode: m.mode() & 0o7777,
        uid: m.uid(),
        gid: m.gid(),
        size: m.size(),
        nlink: m.nlink(),
        atime: timestamp(m.atime(), m.atime_nsec()),
        mtime: timestamp(m.mtime(), m.mtime_nsec()),
    }
}

fn check_mode(op: &'static str, path: &str, mode: u32) -> Result<()> {
    if mode > 0o7777 {
        return Err(Error::new(
            ErrorCode::InvalidArgument,
            op,
            path,
            format!("mode {mode:#o} has bits outside 0o7777"),
        ));
    }
    Ok(())
}

fn timespec(t: Timestamp) -> Timespec {
    Timespec {
        tv_sec: t.seconds,
        tv_nsec: i64::from(t.nanoseconds),
    }
}

fn check_nanos(path: &str, t: Timestamp) -> Result<()> {
    if t.nanoseconds >= 1_000_000_000 {
        return Err(Error::new(
            ErrorCode::InvalidArgument,
            "chtimes",
            path,
            format!("nanoseconds {} out of range", t.nanoseconds),
        ));
    }
    Ok(())
}

#[async_trait]
impl FileClient for LocalFiles {
    async fn open(&self, path: &str) -> Result<Box<dyn RemoteFile>> {
        self.check("open")?;
        Ok(Box::new(
            open(path, OpenFlags::READ, 0, &self.lifetime).await?,
        ))
    }

    async fn create(&self, path: &str) -> Result<Box<dyn RemoteWriteFile>> {
        self.check("create")?;
        Ok(Box::new(
            open(path, OpenFlags::CREATE, 0o666, &self.lifetime).await?,
        ))
    }

    async fn open_file(
        &self,
        path: &str,
        flags: OpenFlags,
        mode: u32,
    ) -> Result<Box<dyn RemoteWriteFile>> {
        self.check("open")?;
        Ok(Box::new(open(path, flags, mode, &self.lifetime).await?))
    }

    async fn stat(&self, path: &str) -> Result<FileStat> {
        self.check("stat")?;
        let p = path.to_string();
        blocking("stat", path, move || fs::metadata(p).map(|m| file_stat(&m))).await
    }

    async fn lstat(&self, path: &str) -> Result<FileStat> {
        self.check("lstat")?;
        let p = path.to_string();
        blocking("lstat", path, move || {
            fs::symlink_metadata(p).map(|m| file_stat(&m))
        })
        .await
    }

    async fn read_dir(&self, path: &str) -> Result<Vec<DirEntry>> {
        self.check("read dir")?;
        let p = path.to_string();
        let raw = blocking("read dir", path, move || {
            let mut out = Vec::new();
            for entry in fs::read_dir(p)? {
                let entry = entry?;
                out.push((entry.file_name(), file_stat(&entry.metadata()?)));
            }
            Ok(out)
        })
        .await?;
        let mut entries = raw
            .into_iter()
            .map(|(name, stat)| {
                Ok(DirEntry {
                    name: utf8("read dir", name)?,
                    stat,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        entries.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(entries)
    }

    async fn readlink(&self, path: &str) -> Result<String> {
        self.check("readlink")?;
        let p = path.to_string();
        let target = blocking("readlink", path, move || fs::read_link(p)).await?;
        utf8("readlink", target.into_os_string())
    }

    async fn mkdir(&self, path: &str, mode: u32) -> Result<()> {
        self.check("mkdir")?;
        check_mode("mkdir", path, mode)?;
        let p = path.to_string();
        blocking("mkdir", path, move || {
            fs::DirBuilder::new().mode(mode).create(p)
        })
        .await
    }

    async fn mkdir_all(&self, path: &str, mode: u32) -> Result<()> {
        self.check("mkdir -p")?;
        check_mode("mkdir -p", path, mode)?;
        let p = path.to_string();
        blocking("mkdir -p", path, move || {
            fs::DirBuilder::new().recursive(true).mode(mode).create(p)
        })
        .await
    }

    async fn remove(&self, path: &str) -> Result<()> {
        self.check("remove")?;
        let p = path.to_string();
        blocking("remove", path, move || {
            if fs::symlink_metadata(&p)?.is_dir() {
                fs::remove_dir(p)
            } else {
                fs::remove_file(p)
            }
        })
        .await
    }

    async fn rename(&self, old: &str, new: &str) -> Result<()> {
        self.check("rename")?;
        let (o, n) = (old.to_string(), new.to_string());
        blocking("rename", &format!("{old} -> {new}"), move || {
            fs::rename(o, n)
        })
        .await
    }

    async fn symlink(&self, target: &str, link: &str) -> Result<()> {
        self.check("symlink")?;
        let (t, l) = (target.to_string(), link.to_string());
        blocking("symlink", &format!("{link} -> {target}"), move || {
            std::os::unix::fs::symlink(t, l)
        })
        .await
    }

    async fn link(&self, old: &str, new: &str) -> Result<()> {
        self.check("link")?;
        let (o, n) = (old.to_string(), new.to_string());
        blocking("link", &format!("{new} -> {old}"), move || {
            fs::hard_link(o, n)
        })
        .await
    }

    async fn chmod(&self, path: &str, mode: u32) -> Result<()> {
        self.check("chmod")?;
        check_mode("chmod", path, mode)?;
        let p = path.to_string();
        blocking("chmod", path, move || {
            fs::set_permissions(p, fs::Permissions::from_mode(mode))
        })
        .await
    }

    async fn chown(&self, path: &str, uid: u32, gid: u32) -> Result<()> {
        self.check("chown")?;
        let p = path.to_string();
        blocking("chown", path, move || {
            std::os::unix::fs::chown(p, Some(uid), Some(gid))
        })
        .await
    }

    async fn chtimes(&self, path: &str, atime: Timestamp, mtime: Timestamp) -> Result<()> {
        self.check("chtimes")?;
        check_nanos(path, atime)?;
        check_nanos(path, mtime)?;
        let p = path.to_string();
        let times = Timestamps {
            last_access: timespec(atime),
            last_modification: timespec(mtime),
        };
        blocking("chtimes", path, move || {
            rustix::fs::utimensat(CWD, p.as_str(), &times, AtFlags::empty())
                .map_err(io::Error::from)
        })
        .await
    }

    async fn truncate(&self, path: &str, size: u64) -> Result<()> {
        self.check("truncate")?;
        let p = path.to_string();
        blocking("truncate", path, move || {
            fs::OpenOptions::new().write(true).open(p)?.set_len(size)
        })
        .await
    }

    async fn statfs(&self, path: &str) -> Result<Statfs> {
        self.check("statfs")?;
        let p = path.to_string();
        let s = blocking("statfs", path, move || {
            rustix::fs::statvfs(p.as_str()).map_err(io::Error::from)
        })
        .await?;
        Ok(Statfs {
            blocks: s.f_blocks,
            bfree: s.f_bfree,
            bavail: s.f_bavail,
            files: s.f_files,
            ffree: s.f_ffree,
            bsize: s.f_bsize,
            frsize: s.f_frsize,
            name_max: s.f_namemax,
        })
    }

    async fn getwd(&self) -> Result<String> {
        self.check("getwd")?;
        let cwd = blocking("getwd", "", std::env::current_dir).await?;
        utf8("getwd", cwd.into_os_string())
    }
}

/// Opens with exactly the POSIX flags asked for (std's `OpenOptions` refuses some legal
/// combinations, such as read-only with create).
async fn open(path: &str, flags: OpenFlags, mode: u32, lifetime: &Lifetime) -> Result<LocalFile> {
    check_mode("open", path, mode)?;
    let access = match (flags.read, flags.write || flags.append) {
        (true, true) => OFlags::RDWR,
        (false, true) => OFlags::WRONLY,
        (true, false) => OFlags::RDONLY,
        (false, false) => {
            return Err(Error::new(
                ErrorCode::InvalidArgument,
                "open",
                path,
                "open flags must include read or write",
            ));
        }
    };
    let mut oflags = access | OFlags::CLOEXEC;
    for (on, bit) in [
        (flags.create, OFlags::CREATE),
        (flags.exclusive, OFlags::EXCL),
        (flags.truncate, OFlags::TRUNC),
        (flags.append, OFlags::APPEND),
    ] {
        if on {
            oflags |= bit;
        }
    }
    let p = path.to_string();
    let file = blocking("open", path, move || {
        rustix::fs::open(p.as_str(), oflags, Mode::from_raw_mode(mode))
            .map(File::from)
            .map_err(io::Error::from)
    })
    .await?;
    Ok(LocalFile {
        file: Some(Arc::new(file)),
        path: path.to_string(),
        lifetime: lifetime.clone(),
    })
}

/// An open local file; serves both the read and the write handle.
#[derive(Debug)]
struct LocalFile {
    file: Option<Arc<File>>,
    path: String,
    lifetime: Lifetime,
}

impl LocalFile {
    fn handle(&self, op: &'static str) -> Result<Arc<File>> {
        self.lifetime.check(op, &self.path)?;
        self.file.clone().ok_or_else(|| {
            Error::new(
                ErrorCode::BadDescriptor,
                op,
                &self.path,
                "the file handle is closed",
            )
        })
    }

    async fn read_at(&self, offset: u64, len: u64) -> Result<Vec<u8>> {
        let f = self.handle("read at")?;
        blocking("read at", &self.path, move || {
            let mut buf = vec![0; len.min(MAX_READ) as usize];
            let mut filled = 0;
            while filled < buf.len() {
                match f.read_at(&mut buf[filled..], offset + filled as u64) {
                    Ok(0) => break,
                    Ok(n) => filled += n,
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                    Err(e) => return Err(e),
                }
            }
            buf.truncate(filled);
            Ok(buf)
        })
        .await
    }

    async fn sync(&self) -> Result<()> {
        let f = self.handle("sync")?;
        blocking("sync", &self.path, move || f.sync_all()).await
    }

    fn close(&mut self) -> Result<()> {
        self.handle("close")?;
        self.file = None;
        Ok(())
    }
}

#[async_trait]
impl RemoteFile for LocalFile {
    async fn read(&mut self, len: u64) -> Result<Vec<u8>> {
        let f = self.handle("read")?;
        blocking("read", &self.path, move || {
            let mut buf = Vec::new();
            (&*f).take(len.min(MAX_READ)).read_to_end(&mut buf)?;
            Ok(buf)
        })
        .await
    }

    async fn read_at(&self, offset: u64, len: u64) -> Result<Vec<u8>> {
        LocalFile::read_at(self, offset, len).await
    }

    async fn sync(&self) -> Result<()> {
        LocalFile::sync(self).await
    }

    async fn close(&mut self) -> Result<()> {
        LocalFile::close(self)
    }
}

#[async_trait]
impl RemoteWriteFile for LocalFile {
    async fn write(&mut self, data: &[u8]) -> Result<u64> {
        let f = self.handle("write")?;
        let data = data.to_vec();
        blocking("write", &self.path, move || {
            (&*f).write_all(&data)?;
            Ok(data.len() as u64)
        })
        .await
    }

    async fn read_at(&self, offset: u64, len: u64) -> Result<Vec<u8>> {
        LocalFile::read_at(self, offset, len).await
    }

    async fn write_at(&self, offset: u64, data: &[u8]) -> Result<u64> {
        let f = self.handle("write at")?;
        let data = data.to_vec();
        blocking("write at", &self.path, move || {
            f.write_all_at(&data, offset)?;
            Ok(data.len() as u64)
        })
        .await
    }

    async fn stat(&self) -> Result<FileStat> {
        let f = self.handle("stat")?;
        blocking("stat", &self.path, move || {
            f.metadata().map(|m| file_stat(&m))
        })
        .await
    }

    async fn truncate(&self, size: u64) -> Result<()> {
        let f = self.handle("truncate")?;
        blocking("truncate", &self.path, move || f.set_len(size)).await
    }

    async fn sync(&self) -> Result<()> {
        LocalFile::sync(self).await
    }

    async fn close(&mut self) -> Result<()> {
        LocalFile::close(self)
    }
}
