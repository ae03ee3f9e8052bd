//! File operations on the target, mirroring `remote:machine/file-client`.
//!
//! Paths are target paths in the target's own syntax (POSIX here): absolute, or relative to
//! [`FileClient::getwd`]. Names are UTF-8; a name the target holds in other bytes is reported
//! with [`ErrorCode::IllegalByteSequence`](crate::ErrorCode::IllegalByteSequence) naming the
//! bytes, never silently replaced.

use async_trait::async_trait;

use crate::error::Result;
use crate::types::{DirEntry, FileStat, OpenFlags, Statfs, Timestamp};

/// The most bytes one `read`/`read-at` call returns, whatever `len` asks for: a bound on what a
/// caller (or a guest) can make a backend allocate in one call. Bulk transfers loop.
pub const MAX_READ: u64 = 16 << 20;

/// The file-operation surface of a target.
#[async_trait]
pub trait FileClient: Send + Sync {
    /// Opens a file for reading.
    async fn open(&self, path: &str) -> Result<Box<dyn RemoteFile>>;

    /// Creates or truncates a file for reading and writing, with mode 0o666 less the umask.
    async fn create(&self, path: &str) -> Result<Box<dyn RemoteWriteFile>>;

    /// Opens a file with explicit flags; `mode` applies only when the file is created.
    async fn open_file(
        &self,
        path: &str,
        flags: OpenFlags,
        mode: u32,
    ) -> Result<Box<dyn RemoteWriteFile>>;

    /// Metadata, following symlinks.
    async fn stat(&self, path: &str) -> Result<FileStat>;

    /// Metadata of the path itself, not following a final symlink.
    async fn lstat(&self, path: &str) -> Result<FileStat>;

    /// The entries of a directory (without `.` and `..`), sorted by name.
    async fn read_dir(&self, path: &str) -> Result<Vec<DirEntry>>;

    /// The target of a symlink, as stored.
    async fn readlink(&self, path: &str) -> Result<String>;

    /// Creates one directory with permission bits `mode` (less the umask).
    async fn mkdir(&self, path: &str, mode: u32) -> Result<()>;

    /// Creates a directory and any missing parents; existing directories are fine. A path that
    /// exists as a non-directory is `exists`; a parent that does is `not-directory`.
    async fn mkdir_all(&self, path: &str, mode: u32) -> Result<()>;

    /// Removes a file, a symlink or an empty directory.
    async fn remove(&self, path: &str) -> Result<()>;

    /// Renames `old` to `new`, atomically replacing an existing `new` file where the target can.
    async fn rename(&self, old: &str, new: &str) -> Result<()>;

    /// Creates the symlink `link` pointing to `target` (which is stored as given).
    async fn symlink(&self, target: &str, link: &str) -> Result<()>;

    /// Creates the hard link `new` to the existing file `old`.
    async fn link(&self, old: &str, new: &str) -> Result<()>;

    /// Sets the permission bits (`mode & 0o7777`).
    async fn chmod(&self, path: &str, mode: u32) -> Result<()>;

    /// Sets the numeric owner and group.
    async fn chown(&self, path: &str, uid: u32, gid: u32) -> Result<()>;

    /// Sets access and modification times, to the nanosecond where the target keeps them.
    async fn chtimes(&self, path: &str, atime: Timestamp, mtime: Timestamp) -> Result<()>;

    /// Sets the size of a file, cutting it or extending it with zeros.
    async fn truncate(&self, path: &str, size: u64) -> Result<()>;

    /// Statistics of the file system holding `path`.
    async fn statfs(&self, path: &str) -> Result<Statfs>;

    /// The client's working directory: the base of relative paths, and the home used for `~`
    /// where the target has one; `/` where it has none.
    async fn getwd(&self) -> Result<String>;
}

/// A file opened for reading.
#[async_trait]
pub trait RemoteFile: Send + Sync {
    /// Reads up to `len` bytes (at most [`MAX_READ`]) at the handle's position and advances it;
    /// short only at end-of-file, empty at end-of-file.
    async fn read(&mut self, len: u64) -> Result<Vec<u8>>;

    /// Reads up to `len` bytes (at most [`MAX_READ`]) at `offset` without moving the position;
    /// short or empty only at end-of-file.
    async fn read_at(&self, offset: u64, len: u64) -> Result<Vec<u8>>;

    /// Flushes to durable storage; succeeds where the protocol cannot express it.
    async fn sync(&self) -> Result<()>;

    /// Closes the handle; later calls fail with `bad-descriptor`.
    async fn close(&mut self) -> Result<()>;
}

/// A file opened by `create` or `open-file`.
#[async_trait]
pub trait RemoteWriteFile: Send + Sync {
    /// Writes all of `data` at the handle's position (at the end when opened with `append`) and
    /// advances it. Returns the number of bytes written, which is `data.len()` on success.
    async fn write(&mut self, data: &[u8]) -> Result<u64>;

    /// Reads up to `len` bytes (at most [`MAX_READ`]) at `offset`; short or empty only at
    /// end-of-file.
    async fn read_at(&self, offset: u64, len: u64) -> Result<Vec<u8>>;

    /// Writes all of `data` at `offset`, leaving a hole of zeros when `offset` is past the end.
    async fn write_at(&self, offset: u64, data: &[u8]) -> Result<u64>;

    /// Metadata of the open file.
    async fn stat(&self) -> Result<FileStat>;

    /// Sets the size of the open file.
    async fn truncate(&self, size: u64) -> Result<()>;

    /// Flushes to durable storage; succeeds where the protocol cannot express it.
    async fn sync(&self) -> Result<()>;

    /// Closes the handle, reporting any write error not yet reported; later calls fail with
    /// `bad-descriptor`.
    async fn close(&mut self) -> Result<()>;
}
