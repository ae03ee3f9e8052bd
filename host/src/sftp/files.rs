//! The [`FileClient`] operations of [`SftpFiles`]: each one request (or an OpenSSH extension
//! where the server has it), with SFTP v3's vague failures refined by `SftpFiles::fail`.

use async_trait::async_trait;
use russh_sftp::client::error::Error as SftpError;
use russh_sftp::extensions::HardlinkExtension;
use russh_sftp::protocol::{FileAttributes, StatusCode};

use super::attrs::{
    checked_name, file_stat, mode_attrs, nlink_from_longname, single_name, v3_seconds,
};
use super::errors::{Refine, map, with_code};
use super::{MAX_OPEN_HANDLES, SftpFiles};
use crate::error::{Error, ErrorCode, Result};
use crate::file_client::{FileClient, RemoteFile, RemoteWriteFile};
use crate::types::{DirEntry, FileKind, FileStat, OpenFlags, Statfs, Timestamp};

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
