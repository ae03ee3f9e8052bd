//! Open SFTP files, with pipelined reads and writes.
//!
//! One request at a time would leave the link idle for a round trip per chunk. Instead, reads and
//! writes keep up to [`PIPELINE`] requests of the server's preferred size in flight: `buffered`
//! sends each request as soon as there is room and hands replies back in file order, so a large
//! read streams at the link's speed. Replies are checked in order, and a short reply (allowed by
//! the protocol anywhere, not only at end-of-file) restarts the pipeline at the gap.
//!
//! Sequential `read`s also read ahead: once a read of `len` bytes came back whole, the next
//! `len` bytes are requested in the background, so a caller that writes each chunk somewhere
//! before asking for the next (a download to disk) finds it arriving meanwhile instead of
//! leaving the link idle for the write.

use std::sync::Arc;

use async_trait::async_trait;
use futures::StreamExt as _;
use russh_sftp::client::error::Error as SftpError;
use russh_sftp::protocol::{FileAttributes, StatusCode};
use tokio::sync::OwnedSemaphorePermit;
use tokio::task::JoinHandle;

use super::Link;
use super::attrs::file_stat;
use super::errors::map;
use crate::error::{Error, ErrorCode, Result};
use crate::file_client::{MAX_READ, RemoteFile, RemoteWriteFile};
use crate::types::{FileStat, OpenFlags};

/// Requests in flight per read or write call: with OpenSSH's 255 KiB limit, 16 MiB, enough to fill
/// a fast link, small enough to bound memory.
const PIPELINE: usize = 64;

/// An open file on an SFTP server; serves both the read and the write handle.
pub(crate) struct SftpFile {
    s: Arc<Link>,
    handle: Option<String>,
    path: String,
    flags: OpenFlags,
    pos: u64,
    /// The read ahead of the position, if the last `read` came back whole.
    ahead: Option<Ahead>,
    permit: Option<OwnedSemaphorePermit>,
}

/// A read already under way for the bytes `[offset, offset + len)`.
struct Ahead {
    offset: u64,
    len: u64,
    task: JoinHandle<Result<Vec<u8>>>,
}

impl Drop for Ahead {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl std::fmt::Debug for SftpFile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SftpFile")
            .field("path", &self.path)
            .field("pos", &self.pos)
            .field("open", &self.handle.is_some())
            .finish_non_exhaustive()
    }
}

impl SftpFile {
    pub(crate) fn new(
        s: Arc<Link>,
        handle: String,
        path: String,
        flags: OpenFlags,
        permit: OwnedSemaphorePermit,
    ) -> SftpFile {
        SftpFile {
            s,
            handle: Some(handle),
            path,
            flags,
            pos: 0,
            ahead: None,
            permit: Some(permit),
        }
    }

    fn handle(&self, op: &str) -> Result<&str> {
        self.handle.as_deref().ok_or_else(|| {
            Error::new(
                ErrorCode::BadDescriptor,
                op,
                &self.path,
                "the file handle is closed",
            )
        })
    }

    /// `bad-descriptor` for data moving the way the handle was not opened for, as the kernel
    /// says it. Checked here because SFTP servers answer it vaguely (OpenSSH's `sftp-server`
    /// reports `EBADF` as "no such file").
    fn check_mode(&self, op: &str, writing: bool) -> Result<()> {
        let allowed = if writing {
            self.flags.write || self.flags.append
        } else {
            self.flags.read
        };
        if allowed {
            return Ok(());
        }
        Err(Error::new(
            ErrorCode::BadDescriptor,
            op,
            &self.path,
            if writing {
                "the file is not open for writing"
            } else {
                "the file is not open for reading"
            },
        ))
    }

    /// Reads up to `len` bytes at `offset`, short only at end-of-file.
    async fn read_range(&self, op: &str, offset: u64, len: u64) -> Result<Vec<u8>> {
        let handle = self.handle(op)?;
        self.check_mode(op, false)?;
        fetch(&self.s, handle, op, &self.path, offset, len).await
    }

    /// The sequential read of `len` bytes at the position: from the read ahead when it covers
    /// exactly that, else now; then the next `len` bytes are read ahead when these came back
    /// whole (a short read is the end of the file).
    async fn read_sequential(&mut self, len: u64) -> Result<Vec<u8>> {
        let handle = self.handle("read")?.to_string();
        self.check_mode("read", false)?;
        let len = len.min(MAX_READ);
        let data = match self.ahead.take() {
            Some(mut a) if a.offset == self.pos && a.len == len => {
                (&mut a.task).await.unwrap_or_else(|e| {
                    Err(Error::new(
                        ErrorCode::Io,
                        "read",
                        &self.path,
                        format!("the read ahead failed: {e}"),
                    ))
                })?
            }
            _ => fetch(&self.s, &handle, "read", &self.path, self.pos, len).await?,
        };
        self.pos += data.len() as u64;
        if len > 0 && data.len() as u64 == len {
            let (s, path, offset) = (self.s.clone(), self.path.clone(), self.pos);
            let task =
                tokio::spawn(async move { fetch(&s, &handle, "read", &path, offset, len).await });
            self.ahead = Some(Ahead { offset, len, task });
        }
        Ok(data)
    }

    /// Writes all of `data` at `offset`, pipelined; serial in append mode, where the server
    /// places each write at the end as it arrives, so order is the only position there is.
    async fn write_range(&self, op: &str, offset: u64, data: &[u8]) -> Result<u64> {
        let handle = self.handle(op)?;
        self.check_mode(op, true)?;
        let chunk = self.s.write_len as usize;
        let depth = if self.flags.append { 1 } else { PIPELINE };
        let s = &self.s;
        // Built up front so the pending future holds plain futures, not a closure over borrowed
        // chunks (which the `Send` check of async-trait cannot see through).
        let requests: Vec<_> = data
            .chunks(chunk.max(1))
            .enumerate()
            .map(|(i, piece)| {
                s.live(
                    s.raw
                        .write(handle, offset + (i * chunk) as u64, piece.to_vec()),
                )
            })
            .collect();
        let mut acks = futures::stream::iter(requests).buffered(depth);
        while let Some(ack) = acks.next().await {
            ack.map_err(|e| map(op, &self.path, e))?;
        }
        Ok(data.len() as u64)
    }

    async fn sync(&self) -> Result<()> {
        let handle = self.handle("sync")?;
        if !self.s.ext.fsync {
            // The protocol cannot express it; the design asks for success here.
            return Ok(());
        }
        match self.s.live(self.s.raw.fsync(handle)).await {
            Ok(_) => Ok(()),
            Err(SftpError::Status(s)) if s.status_code == StatusCode::OpUnsupported => Ok(()),
            Err(e) => Err(map("sync", &self.path, e)),
        }
    }

    async fn close(&mut self) -> Result<()> {
        let handle = self.handle("close")?.to_string();
        self.ahead = None;
        self.handle = None;
        let closed = self.s.live(self.s.raw.close(handle)).await;
        self.permit = None;
        closed.map(|_| ()).map_err(|e| map("close", &self.path, e))
    }
}

/// Reads up to `len` bytes (at most [`MAX_READ`]) at `offset` through `handle`, pipelined;
/// short only at end-of-file.
async fn fetch(
    s: &Link,
    handle: &str,
    op: &str,
    path: &str,
    offset: u64,
    len: u64,
) -> Result<Vec<u8>> {
    let end = offset.saturating_add(len.min(MAX_READ));
    let chunk = u64::from(s.read_len);
    let mut out = Vec::with_capacity(usize::try_from(end - offset).unwrap_or(0).min(1 << 20));
    let mut next = offset;
    while next < end {
        let requests = (next..end)
            .step_by(usize::try_from(chunk).unwrap_or(usize::MAX))
            .map(|start| {
                let n = (end - start).min(chunk);
                async move { (n, s.live(s.raw.read(handle, start, n as u32)).await) }
            });
        let mut replies = futures::stream::iter(requests).buffered(PIPELINE);
        let mut gap = false;
        while let Some((asked, reply)) = replies.next().await {
            match reply {
                Ok(d) => {
                    let got = d.data.len() as u64;
                    out.extend_from_slice(&d.data);
                    next += got;
                    if got == 0 {
                        return Ok(out);
                    }
                    if got < asked {
                        gap = true;
                        break;
                    }
                }
                Err(SftpError::Status(s)) if s.status_code == StatusCode::Eof => {
                    return Ok(out);
                }
                Err(e) => return Err(map(op, path, e)),
            }
        }
        if !gap {
            break;
        }
    }
    Ok(out)
}

impl Drop for SftpFile {
    /// A handle dropped without `close` is closed in the background so the server frees it.
    fn drop(&mut self) {
        if let (Some(handle), Ok(rt)) = (self.handle.take(), tokio::runtime::Handle::try_current())
        {
            let s = self.s.clone();
            let permit = self.permit.take();
            rt.spawn(async move {
                let _ = s.live(s.raw.close(handle)).await;
                drop(permit);
            });
        }
    }
}

#[async_trait]
impl RemoteFile for SftpFile {
    async fn read(&mut self, len: u64) -> Result<Vec<u8>> {
        self.read_sequential(len).await
    }

    async fn read_at(&self, offset: u64, len: u64) -> Result<Vec<u8>> {
        self.read_range("read at", offset, len).await
    }

    async fn sync(&self) -> Result<()> {
        SftpFile::sync(self).await
    }

    async fn close(&mut self) -> Result<()> {
        SftpFile::close(self).await
    }
}

#[async_trait]
impl RemoteWriteFile for SftpFile {
    async fn write(&mut self, data: &[u8]) -> Result<u64> {
        let n = self.write_range("write", self.pos, data).await?;
        self.pos += n;
        Ok(n)
    }

    async fn read_at(&self, offset: u64, len: u64) -> Result<Vec<u8>> {
        self.read_range("read at", offset, len).await
    }

    async fn write_at(&self, offset: u64, data: &[u8]) -> Result<u64> {
        self.write_range("write at", offset, data).await
    }

    async fn stat(&self) -> Result<FileStat> {
        let handle = self.handle("stat")?;
        self.s
            .live(self.s.raw.fstat(handle))
            .await
            .map(|a| file_stat(&a.attrs, 0))
            .map_err(|e| map("stat", &self.path, e))
    }

    async fn truncate(&self, size: u64) -> Result<()> {
        let handle = self.handle("truncate")?;
        let attrs = FileAttributes {
            size: Some(size),
            ..FileAttributes::default()
        };
        self.s
            .live(self.s.raw.fsetstat(handle, attrs))
            .await
            .map(|_| ())
            .map_err(|e| map("truncate", &self.path, e))
    }

    async fn sync(&self) -> Result<()> {
        SftpFile::sync(self).await
    }

    async fn close(&mut self) -> Result<()> {
        SftpFile::close(self).await
    }
}
