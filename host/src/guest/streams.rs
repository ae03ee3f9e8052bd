//! `wasi:io` streams over the native pipes and file handles (what the host gives a guest), and
//! native pipes over `wasi:io` streams (what the host makes of the streams a guest returns).
//!
//! The streams the host makes poll the native object directly: no task or channel sits in
//! between, so a stream handed up through several layers still costs one copy per hop.

use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, ready};

use bytes::{Bytes, BytesMut};
use futures::future::BoxFuture;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, ReadBuf};
use tokio::sync::{Mutex, oneshot};
use wasmtime_wasi_io::poll::Pollable;
use wasmtime_wasi_io::streams::{
    DynInputStream, DynOutputStream, InputStream, OutputStream, StreamError, StreamResult,
};

use crate::error::{Error, ErrorCode};
use crate::file_client::{RemoteFile, RemoteWriteFile};
use crate::session::{OutputPipe, StdinPipe};

/// How much one stream buffers: the permit `check-write` gives and the most one read returns.
/// Bounded so a guest cannot make the host allocate more per stream.
const CHUNK: usize = 64 << 10;

/// What a file stream reads from or writes to the file at a time: bulk data through a stack of
/// guests costs one call per layer per chunk, so chunks are large; one is buffered per open
/// stream.
const FILE_CHUNK: usize = 1 << 20;

/// A stream failure carrying the native error, which `types.stream-error-cause` gives back.
fn failed(e: Error) -> StreamError {
    StreamError::LastOperationFailed(wasmtime::Error::new(e))
}

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

/// Reads from `stream` until `len` bytes (at most [`FILL_MAX`]) or its end: what a native
/// `read(len)` returns, taken from a stream the host holds. `op` names the call in errors.
pub async fn read_up_to(stream: &mut DynInputStream, len: u64, op: &str) -> Result<Vec<u8>, Error> {
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
pub async fn write_all(stream: &mut DynOutputStream, data: &[u8], op: &str) -> Result<u64, Error> {
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

/// The native error behind a stream failure.
fn stream_error(op: &str, e: StreamError) -> Error {
    match e {
        StreamError::Closed => Error::new(ErrorCode::ConnectionLost, op, "", "the stream closed"),
        StreamError::LastOperationFailed(e) | StreamError::Trap(e) => super::types::cause_of(&e)
            .unwrap_or_else(|| Error::new(ErrorCode::Io, op, "", format!("{e:#}"))),
    }
}

/// The most one [`read_up_to`] gathers, whatever length is asked for, so a huge `len` cannot
/// make the host buffer a whole file.
pub const FILL_MAX: usize = 4 << 20;

/// The native error behind a stream failure, as an `io::Error` whose source keeps it.
fn io_error(what: &str, e: StreamError) -> io::Error {
    match e {
        StreamError::Closed => io::Error::new(io::ErrorKind::BrokenPipe, format!("{what} closed")),
        failed => io::Error::other(stream_error(what, failed)),
    }
}

/// Where a native pipe over a guest's stream is: waiting for the session to start, holding
/// the stream, or waiting for it to become ready.
enum State<S> {
    Connecting(oneshot::Receiver<Result<S, Error>>),
    Idle(S),
    Waiting(BoxFuture<'static, S>),
    Closing(BoxFuture<'static, ()>),
    Done,
}

/// The sending half that connects a [`StreamReader`] or [`StreamWriter`] once the guest handed
/// out its stream.
pub type Connect<S> = oneshot::Sender<Result<S, Error>>;

fn connect<S>(state: &mut State<S>, cx: &mut Context<'_>, what: &str) -> Poll<io::Result<()>> {
    if let State::Connecting(rx) = state {
        match ready!(Pin::new(rx).poll(cx)) {
            Ok(Ok(s)) => *state = State::Idle(s),
            Ok(Err(e)) => {
                *state = State::Done;
                return Poll::Ready(Err(io::Error::other(e)));
            }
            Err(_) => {
                *state = State::Done;
                return Poll::Ready(Err(io::Error::new(
                    io::ErrorKind::BrokenPipe,
                    format!("the session never started, so its {what} was never connected"),
                )));
            }
        }
    }
    Poll::Ready(Ok(()))
}

/// A native pipe reading a guest's input stream (a command's stdout or stderr).
pub struct StreamReader {
    state: State<DynInputStream>,
    what: &'static str,
}

impl StreamReader {
    /// A reader connected later, through the returned sender.
    pub fn pending(what: &'static str) -> (StreamReader, Connect<DynInputStream>) {
        let (tx, rx) = oneshot::channel();
        (
            StreamReader {
                state: State::Connecting(rx),
                what,
            },
            tx,
        )
    }
}

impl AsyncRead for StreamReader {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let what = self.what;
        loop {
            ready!(connect(&mut self.state, cx, what))?;
            match std::mem::replace(&mut self.state, State::Done) {
                State::Idle(mut s) => match s.read(buf.remaining()) {
                    Ok(bytes) if !bytes.is_empty() => {
                        buf.put_slice(&bytes);
                        self.state = State::Idle(s);
                        return Poll::Ready(Ok(()));
                    }
                    Ok(_) => {
                        self.state = State::Waiting(Box::pin(async move {
                            s.ready().await;
                            s
                        }));
                    }
                    Err(StreamError::Closed) => return Poll::Ready(Ok(())),
                    Err(e) => return Poll::Ready(Err(io_error(what, e))),
                },
                State::Waiting(mut f) => match f.as_mut().poll(cx) {
                    Poll::Ready(s) => self.state = State::Idle(s),
                    Poll::Pending => {
                        self.state = State::Waiting(f);
                        return Poll::Pending;
                    }
                },
                State::Done | State::Closing(_) | State::Connecting(_) => {
                    return Poll::Ready(Ok(()));
                }
            }
        }
    }
}

/// A native pipe writing into a guest's output stream (a command's stdin).
pub struct StreamWriter {
    state: State<DynOutputStream>,
    /// A flush was issued and its completion is awaited.
    flushing: bool,
}

impl StreamWriter {
    /// A writer connected later, through the returned sender.
    pub fn pending() -> (StreamWriter, Connect<DynOutputStream>) {
        let (tx, rx) = oneshot::channel();
        (
            StreamWriter {
                state: State::Connecting(rx),
                flushing: false,
            },
            tx,
        )
    }

    /// Waits until the stream is ready again, polling the wait future in place.
    fn wait(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        loop {
            match std::mem::replace(&mut self.state, State::Done) {
                State::Idle(mut s) => {
                    self.state = State::Waiting(Box::pin(async move {
                        s.ready().await;
                        s
                    }));
                }
                State::Waiting(mut f) => match f.as_mut().poll(cx) {
                    Poll::Ready(s) => {
                        self.state = State::Idle(s);
                        return Poll::Ready(());
                    }
                    Poll::Pending => {
                        self.state = State::Waiting(f);
                        return Poll::Pending;
                    }
                },
                other => {
                    self.state = other;
                    return Poll::Ready(());
                }
            }
        }
    }

    fn closed() -> io::Error {
        io::Error::new(io::ErrorKind::BrokenPipe, "command input closed")
    }
}

impl AsyncWrite for StreamWriter {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        data: &[u8],
    ) -> Poll<io::Result<usize>> {
        ready!(connect(&mut self.state, cx, "stdin"))?;
        loop {
            if matches!(self.state, State::Waiting(_)) {
                ready!(self.wait(cx));
            }
            let State::Idle(s) = &mut self.state else {
                return Poll::Ready(Err(Self::closed()));
            };
            match s.check_write() {
                Ok(0) => ready!(self.wait(cx)),
                Ok(n) => {
                    let n = n.min(data.len());
                    return match s.write(Bytes::copy_from_slice(&data[..n])) {
                        Ok(()) => Poll::Ready(Ok(n)),
                        Err(e) => Poll::Ready(Err(io_error("stdin", e))),
                    };
                }
                Err(e) => return Poll::Ready(Err(io_error("stdin", e))),
            }
        }
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        ready!(connect(&mut self.state, cx, "stdin"))?;
        loop {
            if matches!(self.state, State::Waiting(_)) {
                ready!(self.wait(cx));
            }
            let flushing = self.flushing;
            let State::Idle(s) = &mut self.state else {
                return Poll::Ready(Ok(()));
            };
            if !flushing {
                if let Err(e) = s.flush() {
                    return Poll::Ready(Err(io_error("stdin", e)));
                }
                self.flushing = true;
                ready!(self.wait(cx));
                continue;
            }
            match s.check_write() {
                Ok(0) => ready!(self.wait(cx)),
                Ok(_) => {
                    self.flushing = false;
                    return Poll::Ready(Ok(()));
                }
                Err(e) => {
                    self.flushing = false;
                    return Poll::Ready(Err(io_error("stdin", e)));
                }
            }
        }
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        if !matches!(self.state, State::Closing(_) | State::Done) {
            ready!(self.as_mut().poll_flush(cx))?;
            if let State::Idle(mut s) = std::mem::replace(&mut self.state, State::Done) {
                self.state = State::Closing(Box::pin(async move { s.cancel().await }));
            }
        }
        if let State::Closing(f) = &mut self.state {
            ready!(f.as_mut().poll(cx));
            self.state = State::Done;
        }
        Poll::Ready(Ok(()))
    }
}

#[cfg(test)]
mod tests;
