//! A guest's exported `file-client` and handles as native [`FileClient`], [`RemoteFile`] and
//! [`RemoteWriteFile`]. The client is the current instance's (re-made after a restart); handles
//! belong to the instance that opened them.

use std::sync::Arc;

use async_trait::async_trait;
use bytes::Bytes;
use wasmtime::component::{Resource, ResourceAny};
use wasmtime_wasi_io::streams::{DynInputStream, DynOutputStream, StreamError};

use super::super::instance::{Shared, call};
use crate::error::Result;
use crate::file_client::{FileClient, RemoteFile, RemoteWriteFile};
use crate::guest::error::stream_error;
use crate::types::{DirEntry, FileStat, OpenFlags, Statfs, Timestamp};

/// The file client of a guest-wrapped backend.
pub struct GuestFiles {
    shared: Arc<Shared>,
}

impl std::fmt::Debug for GuestFiles {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GuestFiles")
            .field("guest", &self.shared.bp.name)
            .finish_non_exhaustive()
    }
}

impl GuestFiles {
    pub(crate) fn new(shared: Arc<Shared>) -> GuestFiles {
        GuestFiles { shared }
    }
}

/// One client method: `client!(self, "op", target, method(args…))` calls `method` on the
/// current instance's client.
macro_rules! client {
    ($self:ident, $op:literal, $target:expr, $method:ident($($arg:expr),*)) => {{
        let shared = &$self.shared;
        let mut state = shared.state.lock().await;
        let c = state.client(shared).await?;
        call!(state, shared, $op, $target, None, live => live
            .b
            .remote_machine_file_client()
            .client()
            .$method(&mut live.store, c $(, $arg)*))
    }};
}

#[async_trait]
impl FileClient for GuestFiles {
    async fn open(&self, path: &str) -> Result<Box<dyn RemoteFile>> {
        let generation = self.shared.state.lock().await.generation;
        let h = client!(self, "open", path, call_open(path))?;
        Ok(Box::new(GuestRead {
            shared: self.shared.clone(),
            generation,
            handle: h,
            stream: std::sync::Mutex::new(None),
        }))
    }

    async fn create(&self, path: &str) -> Result<Box<dyn RemoteWriteFile>> {
        let generation = self.shared.state.lock().await.generation;
        let h = client!(self, "create", path, call_create(path))?;
        Ok(Box::new(GuestWrite {
            shared: self.shared.clone(),
            generation,
            handle: h,
            pos: 0,
            append: false,
        }))
    }

    async fn open_file(
        &self,
        path: &str,
        flags: OpenFlags,
        mode: u32,
    ) -> Result<Box<dyn RemoteWriteFile>> {
        let generation = self.shared.state.lock().await.generation;
        let h = client!(
            self,
            "open-file",
            path,
            call_open_file(path, flags.into(), mode)
        )?;
        Ok(Box::new(GuestWrite {
            shared: self.shared.clone(),
            generation,
            handle: h,
            pos: 0,
            append: flags.append,
        }))
    }

    async fn stat(&self, path: &str) -> Result<FileStat> {
        client!(self, "stat", path, call_stat(path)).map(Into::into)
    }

    async fn lstat(&self, path: &str) -> Result<FileStat> {
        client!(self, "lstat", path, call_lstat(path)).map(Into::into)
    }

    async fn read_dir(&self, path: &str) -> Result<Vec<DirEntry>> {
        let entries = client!(self, "read-dir", path, call_read_dir(path))?;
        Ok(entries.into_iter().map(Into::into).collect())
    }

    async fn readlink(&self, path: &str) -> Result<String> {
        client!(self, "readlink", path, call_readlink(path))
    }

    async fn mkdir(&self, path: &str, mode: u32) -> Result<()> {
        client!(self, "mkdir", path, call_mkdir(path, mode))
    }

    async fn mkdir_all(&self, path: &str, mode: u32) -> Result<()> {
        client!(self, "mkdir-all", path, call_mkdir_all(path, mode))
    }

    async fn remove(&self, path: &str) -> Result<()> {
        client!(self, "remove", path, call_remove(path))
    }

    async fn rename(&self, old: &str, new: &str) -> Result<()> {
        client!(self, "rename", old, call_rename(old, new))
    }

    async fn symlink(&self, target: &str, link: &str) -> Result<()> {
        client!(self, "symlink", link, call_symlink(target, link))
    }

    async fn link(&self, old: &str, new: &str) -> Result<()> {
        client!(self, "link", new, call_link(old, new))
    }

    async fn chmod(&self, path: &str, mode: u32) -> Result<()> {
        client!(self, "chmod", path, call_chmod(path, mode))
    }

    async fn chown(&self, path: &str, uid: u32, gid: u32) -> Result<()> {
        client!(self, "chown", path, call_chown(path, uid, gid))
    }

    async fn chtimes(&self, path: &str, atime: Timestamp, mtime: Timestamp) -> Result<()> {
        client!(
            self,
            "chtimes",
            path,
            call_chtimes(path, atime.into(), mtime.into())
        )
    }

    async fn truncate(&self, path: &str, size: u64) -> Result<()> {
        client!(self, "truncate", path, call_truncate(path, size))
    }

    async fn statfs(&self, path: &str) -> Result<Statfs> {
        client!(self, "statfs", path, call_statfs(path)).map(Into::into)
    }

    async fn getwd(&self) -> Result<String> {
        client!(self, "getwd", "", call_getwd())
    }
}

/// One handle method: `handle!(self, accessor, "op", method(args…))`.
macro_rules! handle {
    ($self:ident, $res:ident, $op:literal, $method:ident($($arg:expr),*)) => {{
        let (shared, generation, h) = (&$self.shared, $self.generation, $self.handle);
        let mut state = shared.state.lock().await;
        call!(state, shared, $op, "", Some(generation), live => live
            .b
            .remote_machine_file_client()
            .$res()
            .$method(&mut live.store, h $(, $arg)*))
    }};
}

/// The smallest `read-at`, `write` or `write-at` worth a stream of its own.
const STREAM_MIN: u64 = 64 << 10;

/// A read handle of a guest-wrapped backend.
pub struct GuestRead {
    shared: Arc<Shared>,
    generation: u64,
    handle: ResourceAny,
    /// The guest's `read-via-stream` from offset 0, taken out of its store at the first `read`:
    /// sequential reads then come from the stream the guest handed on (the layer below's, for a
    /// guest that passes data through) without entering the guest or copying through its memory.
    /// Only `read` moves the position, so the stream's position is the handle's. (Behind a
    /// mutex only to be `Sync`; `read` has `&mut self` and never locks it.)
    stream: std::sync::Mutex<Option<DynInputStream>>,
}

impl std::fmt::Debug for GuestRead {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GuestRead").finish_non_exhaustive()
    }
}

#[async_trait]
impl RemoteFile for GuestRead {
    async fn read(&mut self, len: u64) -> Result<Vec<u8>> {
        let (shared, generation, h) = (&self.shared, self.generation, self.handle);
        let mut state = shared.state.lock().await;
        state.check_generation(shared, "read", generation)?;
        let slot = self.stream.get_mut().unwrap_or_else(|p| p.into_inner());
        let stream = match slot.take() {
            Some(stream) => stream,
            None => {
                let r: Result<Resource<DynInputStream>> = call!(state, shared, "read", "", Some(generation), live => live
                    .b
                    .remote_machine_file_client()
                    .read_handle()
                    .call_read_via_stream(&mut live.store, h, 0));
                super::take_stream(&mut state, "read", r)?
            }
        };
        drop(state);
        read_up_to(slot.insert(stream), len, "read").await
    }

    /// Large reads go through a `read-via-stream` of their own, for the reason `read` does (and
    /// so a stack of guests, whose streams read the layer below with `read-at`, copies through no
    /// guest's memory); small ones are one call, cheaper than making a stream.
    async fn read_at(&self, offset: u64, len: u64) -> Result<Vec<u8>> {
        if len < STREAM_MIN {
            return handle!(self, read_handle, "read-at", call_read_at(offset, len));
        }
        let (shared, generation, h) = (&self.shared, self.generation, self.handle);
        let mut state = shared.state.lock().await;
        let r: Result<Resource<DynInputStream>> = call!(state, shared, "read-at", "", Some(generation), live => live
            .b
            .remote_machine_file_client()
            .read_handle()
            .call_read_via_stream(&mut live.store, h, offset));
        let mut stream = super::take_stream(&mut state, "read-at", r)?;
        drop(state);
        read_up_to(&mut stream, len, "read-at").await
    }

    async fn sync(&self) -> Result<()> {
        handle!(self, read_handle, "sync", call_sync())
    }

    async fn close(&mut self) -> Result<()> {
        handle!(self, read_handle, "close", call_close())
    }
}

impl Drop for GuestRead {
    fn drop(&mut self) {
        self.shared.drop_later(self.generation, self.handle);
    }
}

/// A write handle of a guest-wrapped backend.
///
/// Writes of 64 KiB or more go through a `write-via-stream` (or `append-via-stream`) of their
/// own: a pass-through guest hands on the stream of the layer below and the host writes into it
/// directly, so the bytes never enter the guest's memory. So that both kinds of write agree on
/// where the next one goes, `write` is positional here (`write-at` at the position this handle
/// keeps) except in append mode, where every write goes to the end anyway.
pub struct GuestWrite {
    shared: Arc<Shared>,
    generation: u64,
    handle: ResourceAny,
    pos: u64,
    append: bool,
}

impl GuestWrite {
    /// Writes `data` through a stream the guest hands over: at `offset`, or at the end.
    async fn write_streamed(&self, op: &str, offset: Option<u64>, data: &[u8]) -> Result<u64> {
        let (shared, generation, h) = (&self.shared, self.generation, self.handle);
        let mut state = shared.state.lock().await;
        let r: Result<Resource<DynOutputStream>> = match offset {
            Some(offset) => call!(state, shared, op, "", Some(generation), live => live
                .b
                .remote_machine_file_client()
                .write_handle()
                .call_write_via_stream(&mut live.store, h, offset)),
            None => call!(state, shared, op, "", Some(generation), live => live
                .b
                .remote_machine_file_client()
                .write_handle()
                .call_append_via_stream(&mut live.store, h)),
        };
        let mut stream = super::take_stream(&mut state, op, r)?;
        drop(state);
        write_all(&mut stream, data, op).await
    }
}

impl std::fmt::Debug for GuestWrite {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GuestWrite").finish_non_exhaustive()
    }
}

#[async_trait]
impl RemoteWriteFile for GuestWrite {
    async fn write(&mut self, data: &[u8]) -> Result<u64> {
        let big = data.len() as u64 >= STREAM_MIN;
        let n = match (self.append, big) {
            (true, false) => handle!(self, write_handle, "write", call_write(data))?,
            (true, true) => self.write_streamed("write", None, data).await?,
            (false, false) => {
                let pos = self.pos;
                handle!(self, write_handle, "write", call_write_at(pos, data))?
            }
            (false, true) => self.write_streamed("write", Some(self.pos), data).await?,
        };
        self.pos += n;
        Ok(n)
    }

    async fn read_at(&self, offset: u64, len: u64) -> Result<Vec<u8>> {
        handle!(self, write_handle, "read-at", call_read_at(offset, len))
    }

    async fn write_at(&self, offset: u64, data: &[u8]) -> Result<u64> {
        if (data.len() as u64) < STREAM_MIN {
            return handle!(self, write_handle, "write-at", call_write_at(offset, data));
        }
        self.write_streamed("write-at", Some(offset), data).await
    }

    async fn stat(&self) -> Result<FileStat> {
        handle!(self, write_handle, "stat", call_stat()).map(Into::into)
    }

    async fn truncate(&self, size: u64) -> Result<()> {
        handle!(self, write_handle, "truncate", call_truncate(size))
    }

    async fn sync(&self) -> Result<()> {
        handle!(self, write_handle, "sync", call_sync())
    }

    async fn close(&mut self) -> Result<()> {
        handle!(self, write_handle, "close", call_close())
    }
}

impl Drop for GuestWrite {
    fn drop(&mut self) {
        self.shared.drop_later(self.generation, self.handle);
    }
}

/// Reads from `stream` until `len` bytes (at most [`FILL_MAX`]) or its end: what a native
/// `read(len)` returns, taken from a stream the host holds. `op` names the call in errors.
async fn read_up_to(stream: &mut DynInputStream, len: u64, op: &str) -> Result<Vec<u8>> {
    let want = usize::try_from(len).unwrap_or(usize::MAX).min(FILL_MAX);
    let mut out = Vec::new();
    // Bounded: every round either adds bytes, ends the stream, or waits for it.
    while out.len() < want {
        match stream.read(want - out.len()) {
            // A whole answer in one piece is handed over without a copy.
            Ok(bytes) if out.is_empty() && bytes.len() == want => return Ok(bytes.into()),
            Ok(bytes) if !bytes.is_empty() => out.extend_from_slice(&bytes),
            Ok(_) => stream.ready().await,
            Err(StreamError::Closed) => break,
            Err(e) => return Err(stream_error(op, e)),
        }
    }
    Ok(out)
}

/// Writes all of `data` into `stream` and waits until the stream has passed it on: what a native
/// `write(data)` promises (written, or an error), given to a stream the host holds. `op` names
/// the call in errors.
async fn write_all(stream: &mut DynOutputStream, data: &[u8], op: &str) -> Result<u64> {
    let mut rest = data;
    // Bounded: every round either hands over bytes or waits for the stream to take more.
    while !rest.is_empty() {
        let permit = stream.check_write().map_err(|e| stream_error(op, e))?;
        if permit == 0 {
            stream.ready().await;
            continue;
        }
        let (now, later) = rest.split_at(permit.min(rest.len()));
        stream
            .write(Bytes::copy_from_slice(now))
            .map_err(|e| stream_error(op, e))?;
        rest = later;
    }
    stream.flush().map_err(|e| stream_error(op, e))?;
    stream.ready().await;
    stream.check_write().map_err(|e| stream_error(op, e))?;
    Ok(data.len() as u64)
}

/// The most one [`read_up_to`] gathers, whatever length is asked for, so a huge `len` cannot
/// make the host buffer a whole file.
const FILL_MAX: usize = 4 << 20;
