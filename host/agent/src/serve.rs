//! The packet loop: reads length-prefixed packets from standard input, hands each to the
//! [`Agent`], writes the reply.
//!
//! It is our own loop around russh-sftp's packet codec and `Handler` rather than
//! `russh_sftp::server::run`, whose loop answers a malformed packet with request id 0 (so the
//! client waits for a reply that never comes), loses framing after an oversized packet, and
//! spins on a closed output until input ends. Here a malformed packet gets a `bad message` status
//! with its own id, an oversized one is skipped and refused, a truncated one or a closed output
//! ends the agent with a message, and end of input between packets is a clean exit.
//!
//! Work is sequential, as in OpenSSH's `sftp-server`: the client pipelines requests and they wait
//! in the pipe. Replies are buffered and flushed whenever no further request is already waiting,
//! so a burst of pipelined requests costs one write.

use std::future::Future;
use std::io::{self, BufReader, BufWriter, Read, Write};
use std::pin::pin;
use std::task::{Context, Poll, Waker};

use bytes::Bytes;
use russh_sftp::protocol::{Packet, Status, StatusCode};
use russh_sftp::server::{Handler, StatusReply};

use crate::handler::Agent;
use crate::limits::MAX_PACKET;

/// Serves until end of input. An error is the reason the session could not go on.
pub fn serve(input: impl Read, output: impl Write) -> io::Result<()> {
    let mut reader = BufReader::with_capacity(MAX_PACKET as usize + 4, input);
    let mut writer = BufWriter::with_capacity(MAX_PACKET as usize + 64, output);
    let mut agent = Agent::new();
    loop {
        let mut len = [0u8; 4];
        match read_up_to(&mut reader, &mut len)? {
            0 => break,
            4 => {}
            n => return Err(truncated(n, 4)),
        }
        let len = u32::from_be_bytes(len);
        let reply = if len > MAX_PACKET {
            let id = skip_packet(&mut reader, len)?;
            error_status(
                id,
                StatusCode::BadMessage,
                format!("EMSGSIZE: packet of {len} bytes is over the limit of {MAX_PACKET}"),
            )
        } else {
            let mut body = vec![0u8; len as usize];
            let got = read_up_to(&mut reader, &mut body)?;
            if got < body.len() {
                return Err(truncated(got, body.len()));
            }
            handle(&mut agent, body)
        };
        let bytes = Bytes::try_from(reply).map_err(|e| {
            io::Error::new(io::ErrorKind::InvalidData, format!("encoding a reply: {e}"))
        })?;
        writer
            .write_all(&bytes)
            .map_err(|e| io::Error::new(e.kind(), format!("writing a reply: {e}")))?;
        if reader.buffer().is_empty() {
            writer
                .flush()
                .map_err(|e| io::Error::new(e.kind(), format!("writing a reply: {e}")))?;
        }
    }
    writer.flush()
}

/// Reads until `buf` is full or input ends; returns how much was read.
fn read_up_to(r: &mut impl Read, buf: &mut [u8]) -> io::Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        match r.read(&mut buf[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(filled)
}

fn truncated(got: usize, want: usize) -> io::Error {
    io::Error::new(
        io::ErrorKind::UnexpectedEof,
        format!("input ended inside a packet ({got} of {want} bytes)"),
    )
}

/// Discards an oversized packet, returning the request id it carried (0 if it had none).
fn skip_packet(r: &mut impl Read, len: u32) -> io::Result<u32> {
    let mut head = [0u8; 5];
    let got = read_up_to(r, &mut head)?;
    if got < head.len() {
        return Err(truncated(got, len as usize));
    }
    let rest = u64::from(len) - head.len() as u64;
    let skipped = io::copy(&mut r.take(rest), &mut io::sink())?;
    if skipped < rest {
        return Err(truncated(head.len() + skipped as usize, len as usize));
    }
    Ok(request_id(&head))
}

/// The request id of a packet body (type byte, then the id), 0 for `init` or a short body.
fn request_id(body: &[u8]) -> u32 {
    const SSH_FXP_INIT: u8 = 1;
    match body {
        [kind, a, b, c, d, ..] if *kind != SSH_FXP_INIT => u32::from_be_bytes([*a, *b, *c, *d]),
        _ => 0,
    }
}

/// The longest status message sent, in bytes. Messages quote what the client sent (a path, a
/// handle, an extension name), escaped, so they can be longer than the packet that carried them;
/// the reply must still fit in [`MAX_PACKET`], which clients hold replies to (OpenSSH's `sftp`
/// drops the connection on a longer one).
const MAX_MESSAGE: usize = 4096;

fn error_status(id: u32, status_code: StatusCode, mut message: String) -> Packet {
    if message.len() > MAX_MESSAGE {
        message.truncate(message.floor_char_boundary(MAX_MESSAGE));
        message.push('…');
    }
    Packet::Status(Status {
        id,
        status_code,
        error_message: message,
        language_tag: "en".into(),
    })
}

/// Polls a handler future once. The handler does its work synchronously, so it is always ready;
/// a pending future would be a bug here, answered as a failure rather than a hang.
fn now<P: Into<Packet>>(id: u32, f: impl Future<Output = Result<P, StatusReply>>) -> Packet {
    let f = pin!(f);
    match f.poll(&mut Context::from_waker(Waker::noop())) {
        Poll::Ready(Ok(p)) => p.into(),
        Poll::Ready(Err(e)) => error_status(
            id,
            e.status_code,
            e.error_message.unwrap_or_else(|| e.status_code.to_string()),
        ),
        Poll::Pending => error_status(
            id,
            StatusCode::Failure,
            "EINPROGRESS: the agent could not finish the request".into(),
        ),
    }
}

/// How many strings after the request id are paths, per request type; for extended requests,
/// the extension's name comes first and the count depends on it.
fn path_strings(body: &[u8]) -> usize {
    match body.first() {
        Some(3 | 7 | 9 | 11 | 13 | 14 | 15 | 16 | 17 | 19) => 1,
        Some(18 | 20) => 2,
        Some(200) => match strings(body).next() {
            Some(Ok(b"posix-rename@openssh.com" | b"hardlink@openssh.com")) => 3,
            Some(Ok(b"statvfs@openssh.com" | b"lsetstat@openssh.com")) => 2,
            _ => 0,
        },
        _ => 0,
    }
}

/// The length-prefixed strings after the type byte and the request id; an item is `Err` where
/// the packet ends early (the decoder reports that one).
fn strings(body: &[u8]) -> impl Iterator<Item = Result<&[u8], ()>> {
    let mut rest = body.get(5..).unwrap_or_default();
    std::iter::from_fn(move || {
        let (len, tail) = rest.split_first_chunk::<4>()?;
        let len = u32::from_be_bytes(*len) as usize;
        match tail.get(..len) {
            Some(s) => {
                rest = &tail[len..];
                Some(Ok(s))
            }
            None => {
                rest = &[];
                Some(Err(()))
            }
        }
    })
}

/// A path that is not UTF-8 would reach the handler with its bad bytes replaced (russh-sftp
/// decodes strings lossily), naming another file; such a request is refused instead.
fn non_utf8_path(body: &[u8]) -> Option<String> {
    strings(body)
        .take(path_strings(body))
        .filter_map(Result::ok)
        .find(|s| std::str::from_utf8(s).is_err())
        .map(|s| s.escape_ascii().to_string())
}

fn handle(agent: &mut Agent, body: Vec<u8>) -> Packet {
    let id = request_id(&body);
    if let Some(bytes) = non_utf8_path(&body) {
        return error_status(
            id,
            StatusCode::Failure,
            format!(
                "EILSEQ: the path {bytes:?} is not UTF-8, which this server cannot pass on unchanged"
            ),
        );
    }
    let mut bytes = Bytes::from(body);
    let packet = match Packet::try_from(&mut bytes) {
        Ok(p) => p,
        Err(e) => {
            return error_status(
                id,
                StatusCode::BadMessage,
                format!("EBADMSG: malformed packet: {e}"),
            );
        }
    };
    match packet {
        Packet::Init(p) => now(id, agent.init(p.version, p.extensions)),
        Packet::Open(p) => now(id, agent.open(p.id, p.filename, p.pflags, p.attrs)),
        Packet::Close(p) => now(id, agent.close(p.id, p.handle)),
        Packet::Read(p) => now(id, agent.read(p.id, p.handle, p.offset, p.len)),
        Packet::Write(p) => now(id, agent.write(p.id, p.handle, p.offset, p.data)),
        Packet::Lstat(p) => now(id, agent.lstat(p.id, p.path)),
        Packet::Fstat(p) => now(id, agent.fstat(p.id, p.handle)),
        Packet::SetStat(p) => now(id, agent.setstat(p.id, p.path, p.attrs)),
        Packet::FSetStat(p) => now(id, agent.fsetstat(p.id, p.handle, p.attrs)),
        Packet::OpenDir(p) => now(id, agent.opendir(p.id, p.path)),
        Packet::ReadDir(p) => now(id, agent.readdir(p.id, p.handle)),
        Packet::Remove(p) => now(id, agent.remove(p.id, p.filename)),
        Packet::MkDir(p) => now(id, agent.mkdir(p.id, p.path, p.attrs)),
        Packet::RmDir(p) => now(id, agent.rmdir(p.id, p.path)),
        Packet::RealPath(p) => now(id, agent.realpath(p.id, p.path)),
        Packet::Stat(p) => now(id, agent.stat(p.id, p.path)),
        Packet::Rename(p) => now(id, agent.rename(p.id, p.oldpath, p.newpath)),
        Packet::ReadLink(p) => now(id, agent.readlink(p.id, p.path)),
        Packet::Symlink(p) => now(id, agent.symlink(p.id, p.linkpath, p.targetpath)),
        Packet::Extended(p) => now(id, agent.extended(p.id, p.request, p.data)),
        other => error_status(
            id,
            StatusCode::BadMessage,
            format!("EBADMSG: {} is not a request", kind_name(&other)),
        ),
    }
}

fn kind_name(p: &Packet) -> &'static str {
    match p {
        Packet::Version(_) => "a version packet",
        Packet::Status(_) => "a status packet",
        Packet::Handle(_) => "a handle packet",
        Packet::Data(_) => "a data packet",
        Packet::Name(_) => "a name packet",
        Packet::Attrs(_) => "an attrs packet",
        Packet::ExtendedReply(_) => "an extended reply",
        _ => "this packet",
    }
}

#[cfg(test)]
mod tests;

#[cfg(test)]
mod fuzz;
