//! `wasi:io` streams over a command's native pipes: its stdout and stderr as input streams, its
//! stdin as an output stream.

use std::io;

use bytes::{Bytes, BytesMut};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use wasmtime_wasi_io::poll::Pollable;
use wasmtime_wasi_io::streams::{InputStream, OutputStream, StreamError, StreamResult};

use crate::error::Error;
use crate::guest::error::failed;
use crate::session::{OutputPipe, StdinPipe};

/// How much one stream buffers: the permit `check-write` gives and the most one read returns.
/// Bounded so a guest cannot make the host allocate more per stream.
const CHUNK: usize = 64 << 10;

/// An input stream over a command's stdout or stderr.
pub struct PipeInput {
    pipe: OutputPipe,
    buf: BytesMut,
    eof: bool,
    error: Option<io::Error>,
}

impl PipeInput {
    /// Wraps a native pipe.
    pub fn new(pipe: OutputPipe) -> PipeInput {
        PipeInput {
            pipe,
            buf: BytesMut::new(),
            eof: false,
            error: None,
        }
    }
}

#[async_trait::async_trait]
impl Pollable for PipeInput {
    async fn ready(&mut self) {
        if !self.buf.is_empty() || self.eof || self.error.is_some() {
            return;
        }
        self.buf.reserve(CHUNK);
        match self.pipe.read_buf(&mut self.buf).await {
            Ok(0) => self.eof = true,
            Ok(_) => {}
            Err(e) => self.error = Some(e),
        }
    }
}

impl InputStream for PipeInput {
    fn read(&mut self, size: usize) -> StreamResult<Bytes> {
        if !self.buf.is_empty() {
            let n = size.min(self.buf.len());
            return Ok(self.buf.split_to(n).freeze());
        }
        if let Some(e) = self.error.take() {
            self.eof = true;
            return Err(failed(Error::from_io("read", "command output", e)));
        }
        if self.eof {
            return Err(StreamError::Closed);
        }
        Ok(Bytes::new())
    }
}

/// An output stream into a command's stdin; dropping it by the guest sends end-of-file.
pub struct PipeOutput {
    pipe: StdinPipe,
    buf: BytesMut,
    flush: bool,
    error: Option<io::Error>,
}

impl PipeOutput {
    /// Wraps a native pipe.
    pub fn new(pipe: StdinPipe) -> PipeOutput {
        PipeOutput {
            pipe,
            buf: BytesMut::new(),
            flush: false,
            error: None,
        }
    }

    fn check(&mut self) -> StreamResult<()> {
        match self.error.take() {
            Some(e) => Err(failed(Error::from_io("write", "command input", e))),
            None => Ok(()),
        }
    }
}

#[async_trait::async_trait]
impl Pollable for PipeOutput {
    async fn ready(&mut self) {
        if self.error.is_some() {
            return;
        }
        while !self.buf.is_empty() {
            let mut pending = self.buf.split().freeze();
            let r = async {
                while !pending.is_empty() {
                    self.pipe.write_buf(&mut pending).await?;
                }
                Ok::<_, io::Error>(())
            }
            .await;
            if let Err(e) = r {
                self.error = Some(e);
                return;
            }
        }
        if std::mem::take(&mut self.flush)
            && let Err(e) = self.pipe.flush().await
        {
            self.error = Some(e);
        }
    }
}

#[async_trait::async_trait]
impl OutputStream for PipeOutput {
    fn write(&mut self, bytes: Bytes) -> StreamResult<()> {
        self.check()?;
        if self.buf.len() + bytes.len() > CHUNK {
            return Err(StreamError::trap("write exceeds the permit of check-write"));
        }
        self.buf.extend_from_slice(&bytes);
        Ok(())
    }

    fn flush(&mut self) -> StreamResult<()> {
        self.check()?;
        self.flush = true;
        Ok(())
    }

    fn check_write(&mut self) -> StreamResult<usize> {
        self.check()?;
        if self.flush {
            return Ok(0);
        }
        Ok(CHUNK - self.buf.len())
    }

    async fn cancel(&mut self) {
        // End-of-file for the command. Unflushed bytes are dropped, as the WIT says for streams
        // dropped without a flush.
        let _ = self.pipe.shutdown().await;
    }
}
