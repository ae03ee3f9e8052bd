//! Native pipes over the `wasi:io` streams a guest returns for a session's stdio: what
//! [`GuestSession`](super::GuestSession) hands out before `start`, connected once the guest has
//! returned its streams.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use bytes::Bytes;
use futures::future::BoxFuture;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::sync::oneshot;
use wasmtime_wasi_io::streams::{DynInputStream, DynOutputStream, StreamError};

use crate::error::Error;
use crate::guest::error::io_error;

/// Where a native pipe over a guest's stream is: waiting for the session to start, holding
/// the stream, or waiting for it to become ready.
enum PipeState<S> {
    Connecting(oneshot::Receiver<Result<S, Error>>),
    Idle(S),
    Waiting(BoxFuture<'static, S>),
    Closing(BoxFuture<'static, ()>),
    Done,
}

/// The sending half that connects a [`StreamReader`] or [`StreamWriter`] once the guest handed
/// out its stream.
pub type Connect<S> = oneshot::Sender<Result<S, Error>>;

fn connect<S>(state: &mut PipeState<S>, cx: &mut Context<'_>, what: &str) -> Poll<io::Result<()>> {
    if let PipeState::Connecting(rx) = state {
        match ready!(Pin::new(rx).poll(cx)) {
            Ok(Ok(s)) => *state = PipeState::Idle(s),
            Ok(Err(e)) => {
                *state = PipeState::Done;
                return Poll::Ready(Err(io::Error::other(e)));
            }
            Err(_) => {
                *state = PipeState::Done;
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
    state: PipeState<DynInputStream>,
    what: &'static str,
}

impl StreamReader {
    /// A reader connected later, through the returned sender.
    pub fn pending(what: &'static str) -> (StreamReader, Connect<DynInputStream>) {
        let (tx, rx) = oneshot::channel();
        (
            StreamReader {
                state: PipeState::Connecting(rx),
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
            match std::mem::replace(&mut self.state, PipeState::Done) {
                PipeState::Idle(mut s) => match s.read(buf.remaining()) {
                    Ok(bytes) if !bytes.is_empty() => {
                        buf.put_slice(&bytes);
                        self.state = PipeState::Idle(s);
                        return Poll::Ready(Ok(()));
                    }
                    Ok(_) => {
                        self.state = PipeState::Waiting(Box::pin(async move {
                            s.ready().await;
                            s
                        }));
                    }
                    Err(StreamError::Closed) => return Poll::Ready(Ok(())),
                    Err(e) => return Poll::Ready(Err(io_error(what, e))),
                },
                PipeState::Waiting(mut f) => match f.as_mut().poll(cx) {
                    Poll::Ready(s) => self.state = PipeState::Idle(s),
                    Poll::Pending => {
                        self.state = PipeState::Waiting(f);
                        return Poll::Pending;
                    }
                },
                PipeState::Done | PipeState::Closing(_) | PipeState::Connecting(_) => {
                    return Poll::Ready(Ok(()));
                }
            }
        }
    }
}

/// A native pipe writing into a guest's output stream (a command's stdin).
pub struct StreamWriter {
    state: PipeState<DynOutputStream>,
    /// A flush was issued and its completion is awaited.
    flushing: bool,
}

impl StreamWriter {
    /// A writer connected later, through the returned sender.
    pub fn pending() -> (StreamWriter, Connect<DynOutputStream>) {
        let (tx, rx) = oneshot::channel();
        (
            StreamWriter {
                state: PipeState::Connecting(rx),
                flushing: false,
            },
            tx,
        )
    }

    /// Waits until the stream is ready again, polling the wait future in place.
    fn wait(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        loop {
            match std::mem::replace(&mut self.state, PipeState::Done) {
                PipeState::Idle(mut s) => {
                    self.state = PipeState::Waiting(Box::pin(async move {
                        s.ready().await;
                        s
                    }));
                }
                PipeState::Waiting(mut f) => match f.as_mut().poll(cx) {
                    Poll::Ready(s) => {
                        self.state = PipeState::Idle(s);
                        return Poll::Ready(());
                    }
                    Poll::Pending => {
                        self.state = PipeState::Waiting(f);
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
            if matches!(self.state, PipeState::Waiting(_)) {
                ready!(self.wait(cx));
            }
            let PipeState::Idle(s) = &mut self.state else {
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
            if matches!(self.state, PipeState::Waiting(_)) {
                ready!(self.wait(cx));
            }
            let flushing = self.flushing;
            let PipeState::Idle(s) = &mut self.state else {
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
        if !matches!(self.state, PipeState::Closing(_) | PipeState::Done) {
            ready!(self.as_mut().poll_flush(cx))?;
            if let PipeState::Idle(mut s) = std::mem::replace(&mut self.state, PipeState::Done) {
                self.state = PipeState::Closing(Box::pin(async move { s.cancel().await }));
            }
        }
        if let PipeState::Closing(f) = &mut self.state {
            ready!(f.as_mut().poll(cx));
            self.state = PipeState::Done;
        }
        Poll::Ready(Ok(()))
    }
}

#[cfg(test)]
mod tests;
