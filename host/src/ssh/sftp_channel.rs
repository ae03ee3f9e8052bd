//! The `sftp` subsystem on a session channel, handed to the shared SFTP client.

use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll};

use russh::client::Msg;
use russh::{ChannelMsg, ChannelStream};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

use crate::error::{Error, ErrorCode, Result};
use crate::sftp::SftpFiles;

use super::errors::map;
use super::pool::{Lease, Pool};

/// The SFTP channel as a byte stream: holds its pool lease for as long as the client uses it,
/// and notes when the stream ended so the backend knows to open a new one.
struct SftpStream {
    inner: ChannelStream<Msg>,
    ended: Arc<AtomicBool>,
    _lease: Lease,
}

impl AsyncRead for SftpStream {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let before = buf.filled().len();
        let r = Pin::new(&mut self.inner).poll_read(cx, buf);
        if let Poll::Ready(res) = &r
            && (res.is_err() || (buf.filled().len() == before && buf.remaining() > 0))
        {
            self.ended.store(true, Ordering::Release);
        }
        r
    }
}

impl AsyncWrite for SftpStream {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        data: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        let r = Pin::new(&mut self.inner).poll_write(cx, data);
        if let Poll::Ready(Err(_)) = &r {
            self.ended.store(true, Ordering::Release);
        }
        r
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        self.ended.store(true, Ordering::Release);
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

/// An SFTP client and what tells whether it is still usable.
pub(crate) struct SftpClient {
    pub files: Arc<SftpFiles>,
    ended: Arc<AtomicBool>,
    conn: Arc<super::connection::Conn>,
}

impl SftpClient {
    /// Whether the channel and its connection are still up.
    pub fn is_healthy(&self) -> bool {
        !self.ended.load(Ordering::Acquire) && self.conn.is_alive()
    }
}

/// Opens a session channel, starts the `sftp` subsystem on it and negotiates SFTP.
pub(crate) async fn open(pool: &Pool, target: &str) -> Result<SftpClient> {
    let (mut channel, lease) = pool.open_session().await?;
    channel
        .request_subsystem(true, "sftp")
        .await
        .map_err(|e| map("start sftp", target, e))?;
    // The reply must be read before the channel becomes a plain stream, which would drop it:
    // a refused subsystem would then look like a hung SFTP server.
    loop {
        match channel.wait().await {
            Some(ChannelMsg::Success) => break,
            Some(ChannelMsg::Failure) => {
                return Err(Error::unsupported(
                    "start sftp",
                    target,
                    "the server refused the sftp subsystem (no `Subsystem sftp` in its sshd_config?)",
                ));
            }
            Some(ChannelMsg::Close | ChannelMsg::Eof) | None => {
                return Err(Error::new(
                    ErrorCode::ConnectionLost,
                    "start sftp",
                    target,
                    "the channel closed before the server answered the subsystem request",
                ));
            }
            Some(_) => {}
        }
    }
    let conn = lease.conn().clone();
    let ended = Arc::new(AtomicBool::new(false));
    let stream = SftpStream {
        inner: channel.into_stream(),
        ended: ended.clone(),
        _lease: lease,
    };
    let files = SftpFiles::new(stream, target).await?;
    Ok(SftpClient {
        files: Arc::new(files),
        ended,
        conn,
    })
}
