//! The stream under an SFTP session, watched: russh-sftp leaves a request whose reply never
//! came waiting for its whole timeout even after the stream ended (its senders stay in its
//! request map), so every request here also waits on the end of the stream and fails with
//! `connection-lost` the moment it comes.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use russh_sftp::client::error::Error as SftpError;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::sync::watch;

/// A stream that reports its end (end-of-file, an error either way, or being dropped).
pub(crate) struct Watched<S> {
    inner: S,
    ended: watch::Sender<bool>,
}

/// The receiving side: who waits on the stream's end.
#[derive(Debug, Clone)]
pub(crate) struct Ended(watch::Receiver<bool>);

/// `stream`, watched, and the handle to wait on its end.
pub(crate) fn watch<S>(stream: S) -> (Watched<S>, Ended) {
    let (tx, rx) = watch::channel(false);
    (
        Watched {
            inner: stream,
            ended: tx,
        },
        Ended(rx),
    )
}

impl Ended {
    /// Resolves once the stream ended.
    async fn wait(&self) {
        let mut rx = self.0.clone();
        // An error means the stream (and its sender) is gone: ended too.
        let _ = rx.wait_for(|ended| *ended).await;
    }

    /// `request`'s result, or a transport error if the stream ends first (a reply that arrived
    /// before the end wins).
    pub(crate) async fn race<T>(
        &self,
        request: impl Future<Output = Result<T, SftpError>>,
    ) -> Result<T, SftpError> {
        tokio::select! {
            biased;
            r = request => r,
            () = self.wait() => Err(SftpError::IO("the stream ended before the reply came".into())),
        }
    }
}

impl<S> Watched<S> {
    fn end(&self) {
        self.ended.send_replace(true);
    }
}

impl<S> Drop for Watched<S> {
    fn drop(&mut self) {
        self.end();
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for Watched<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let r = ready!(Pin::new(&mut self.inner).poll_read(cx, buf));
        if r.is_err() || (buf.filled().len() == before && buf.remaining() > 0) {
            self.end();
        }
        Poll::Ready(r)
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Watched<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        data: &[u8],
    ) -> Poll<io::Result<usize>> {
        let r = ready!(Pin::new(&mut self.inner).poll_write(cx, data));
        if r.is_err() {
            self.end();
        }
        Poll::Ready(r)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let r = ready!(Pin::new(&mut self.inner).poll_flush(cx));
        if r.is_err() {
            self.end();
        }
        Poll::Ready(r)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use tokio::io::AsyncReadExt;

    use super::*;

    #[tokio::test]
    async fn a_request_waiting_when_the_stream_ends_fails_at_once() {
        let (ours, theirs) = tokio::io::duplex(64);
        let (mut stream, ended) = watch(ours);
        let reader = tokio::spawn(async move {
            let mut buf = [0u8; 8];
            stream.read(&mut buf).await
        });
        let waiting = ended.race(std::future::pending::<Result<(), SftpError>>());
        drop(theirs);
        let r = tokio::time::timeout(Duration::from_secs(10), waiting)
            .await
            .unwrap_or_else(|_| panic!("the request outlived the stream"));
        assert!(matches!(r, Err(SftpError::IO(_))), "{r:?}");
        assert_eq!(reader.await.ok().and_then(Result::ok), Some(0));
    }

    #[tokio::test]
    async fn a_reply_that_came_first_wins() {
        let (ours, _theirs) = tokio::io::duplex(64);
        let (stream, ended) = watch(ours);
        drop(stream);
        let r = ended.race(async { Ok::<_, SftpError>(7) }).await;
        assert_eq!(r.ok(), Some(7));
    }
}
