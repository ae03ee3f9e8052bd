//! `wasi:io` streams over file handles: a read handle from an offset to its end, and a write
//! handle at an advancing offset or at its end.

use std::sync::Arc;

use bytes::Bytes;
use tokio::sync::Mutex;
use wasmtime_wasi_io::poll::Pollable;
use wasmtime_wasi_io::streams::{InputStream, OutputStream, StreamError, StreamResult};

use crate::error::Error;
use crate::file_client::{RemoteFile, RemoteWriteFile};
use crate::guest::error::failed;

/// What a file stream reads from or writes to the file at a time: bulk data through a stack of
/// guests costs one call per layer per chunk, so chunks are large; one is buffered per open
/// stream.
const FILE_CHUNK: usize = 1 << 20;

/// An input stream over a file read handle, from an offset to the end.
pub struct FileInput {
    file: Arc<Mutex<Box<dyn RemoteFile>>>,
    offset: u64,
    buf: Bytes,
    eof: bool,
    error: Option<Error>,
}

impl FileInput {
    /// Reads `file` from `offset` on.
    pub fn new(file: Arc<Mutex<Box<dyn RemoteFile>>>, offset: u64) -> FileInput {
        FileInput {
            file,
            offset,
            buf: Bytes::new(),
            eof: false,
            error: None,
        }
    }
}

#[async_trait::async_trait]
impl Pollable for FileInput {
    async fn ready(&mut self) {
        if !self.buf.is_empty() || self.eof || self.error.is_some() {
            return;
        }
        let read = self
            .file
            .lock()
            .await
            .read_at(self.offset, FILE_CHUNK as u64)
            .await;
        match read {
            Ok(data) if data.is_empty() => self.eof = true,
            Ok(data) => {
                self.offset += data.len() as u64;
                self.buf = Bytes::from(data);
            }
            Err(e) => self.error = Some(e),
        }
    }
}

impl InputStream for FileInput {
    fn read(&mut self, size: usize) -> StreamResult<Bytes> {
        if !self.buf.is_empty() {
            if size >= self.buf.len() {
                // The buffer alone owns its bytes, so a reader can take them without a copy.
                return Ok(std::mem::take(&mut self.buf));
            }
            return Ok(self.buf.split_to(size));
        }
        if let Some(e) = self.error.take() {
            self.eof = true;
            return Err(failed(e));
        }
        if self.eof {
            return Err(StreamError::Closed);
        }
        Ok(Bytes::new())
    }
}

/// An output stream into a file write handle, at an advancing offset or at the end.
pub struct FileOutput {
    file: Arc<Mutex<Box<dyn RemoteWriteFile>>>,
    /// `None` appends: each write goes to the current end of the file.
    offset: Option<u64>,
    /// What the writer gave since the last drain, as given: one piece is written without a copy.
    pending: Vec<Bytes>,
    buffered: usize,
    error: Option<Error>,
}

impl FileOutput {
    /// Writes into `file` from `offset` on.
    pub fn at(file: Arc<Mutex<Box<dyn RemoteWriteFile>>>, offset: u64) -> FileOutput {
        FileOutput {
            file,
            offset: Some(offset),
            pending: Vec::new(),
            buffered: 0,
            error: None,
        }
    }

    /// Appends to `file`. The native handle has no positioned append, so each chunk is written
    /// at the size `stat` reports just before: a concurrent writer can interleave.
    pub fn appending(file: Arc<Mutex<Box<dyn RemoteWriteFile>>>) -> FileOutput {
        FileOutput {
            file,
            offset: None,
            pending: Vec::new(),
            buffered: 0,
            error: None,
        }
    }

    fn check(&mut self) -> StreamResult<()> {
        match self.error.take() {
            Some(e) => Err(failed(e)),
            None => Ok(()),
        }
    }

    async fn drain(&mut self) {
        if self.buffered == 0 || self.error.is_some() {
            return;
        }
        let data = match std::mem::take(&mut self.pending).as_slice() {
            [one] => one.clone(),
            many => many.concat().into(),
        };
        self.buffered = 0;
        let file = self.file.lock().await;
        let at = match self.offset {
            Some(o) => Ok(o),
            None => file.stat().await.map(|s| s.size),
        };
        match at {
            Ok(at) => match file.write_at(at, &data).await {
                Ok(n) => {
                    if let Some(o) = &mut self.offset {
                        *o += n;
                    }
                }
                Err(e) => self.error = Some(e),
            },
            Err(e) => self.error = Some(e),
        }
    }
}

#[async_trait::async_trait]
impl Pollable for FileOutput {
    async fn ready(&mut self) {
        self.drain().await;
    }
}

#[async_trait::async_trait]
impl OutputStream for FileOutput {
    fn write(&mut self, bytes: Bytes) -> StreamResult<()> {
        self.check()?;
        if self.buffered + bytes.len() > FILE_CHUNK {
            return Err(StreamError::trap("write exceeds the permit of check-write"));
        }
        if !bytes.is_empty() {
            self.buffered += bytes.len();
            self.pending.push(bytes);
        }
        Ok(())
    }

    fn flush(&mut self) -> StreamResult<()> {
        self.check()
    }

    fn check_write(&mut self) -> StreamResult<usize> {
        self.check()?;
        Ok(FILE_CHUNK - self.buffered)
    }

    async fn cancel(&mut self) {
        self.drain().await;
    }
}
