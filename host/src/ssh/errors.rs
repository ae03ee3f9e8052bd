//! russh's errors to [`ErrorCode`]s, in one place, so every caller reports a lost connection as
//! `connection-lost` and a refused key as `access-denied` the same way.

use russh::ChannelOpenFailure;

use crate::error::{Error, ErrorCode};

/// Maps a russh error of `op` on `target`, keeping it as the source.
pub(crate) fn map(op: &str, target: &str, err: russh::Error) -> Error {
    use russh::Error as E;
    let (code, message) = match &err {
        E::IO(io) => return Error::from_io(op, target, clone_io(io)).with_source(err),
        E::Disconnect | E::HUP | E::SendError | E::RecvError => (
            ErrorCode::ConnectionLost,
            "the SSH connection is closed".to_string(),
        ),
        E::KeepaliveTimeout => (
            ErrorCode::ConnectionLost,
            "the server stopped answering keep-alives".to_string(),
        ),
        E::InactivityTimeout => (
            ErrorCode::ConnectionLost,
            "the connection was idle too long".to_string(),
        ),
        E::ConnectionTimeout | E::Elapsed(_) => (ErrorCode::Timeout, err.to_string()),
        E::UnknownKey | E::WrongServerSig | E::KeyChanged { .. } => {
            (ErrorCode::AccessDenied, err.to_string())
        }
        E::NoAuthMethod | E::NotAuthenticated | E::RequestDenied => {
            (ErrorCode::AccessDenied, err.to_string())
        }
        E::NoCommonAlgo { .. } | E::UnknownAlgo | E::Version => {
            (ErrorCode::Unsupported, err.to_string())
        }
        E::Keys(k) => (ErrorCode::InvalidArgument, k.to_string()),
        E::ChannelOpenFailure(reason) => return channel_open_failure(op, target, reason),
        _ => (ErrorCode::Io, format!("SSH protocol error: {err}")),
    };
    Error::new(code, op, target, message).with_source(err)
}

/// Why the server refused to open a channel, as a code.
pub(crate) fn channel_open_failure(op: &str, target: &str, reason: &ChannelOpenFailure) -> Error {
    let (code, message) = match reason {
        ChannelOpenFailure::AdministrativelyProhibited => (
            ErrorCode::AccessDenied,
            "the server refused the channel (administratively prohibited: MaxSessions reached, \
             or forwarding disabled)"
                .to_string(),
        ),
        ChannelOpenFailure::ConnectFailed => (
            ErrorCode::ConnectionLost,
            "the server could not connect to the forwarding target".to_string(),
        ),
        ChannelOpenFailure::UnknownChannelType => (
            ErrorCode::Unsupported,
            "the server does not know this channel type".to_string(),
        ),
        ChannelOpenFailure::ResourceShortage => (
            ErrorCode::Busy,
            "the server is short of resources".to_string(),
        ),
        ChannelOpenFailure::Other { code, reason } => (
            ErrorCode::Io,
            format!("the server refused the channel (code {code}: {reason})"),
        ),
    };
    Error::new(code, op, target, message)
}

/// `io::Error` is not `Clone`; keep its kind, errno and text.
fn clone_io(e: &std::io::Error) -> std::io::Error {
    match e.raw_os_error() {
        Some(errno) => std::io::Error::from_raw_os_error(errno),
        None => std::io::Error::new(e.kind(), e.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes() {
        let code = |e| map("op", "t", e).code();
        assert_eq!(code(russh::Error::Disconnect), ErrorCode::ConnectionLost);
        assert_eq!(
            code(russh::Error::KeepaliveTimeout),
            ErrorCode::ConnectionLost
        );
        assert_eq!(code(russh::Error::UnknownKey), ErrorCode::AccessDenied);
        assert_eq!(
            code(russh::Error::IO(std::io::Error::from_raw_os_error(104))),
            ErrorCode::ConnectionLost
        );
        assert_eq!(
            code(russh::Error::IO(std::io::ErrorKind::UnexpectedEof.into())),
            ErrorCode::ConnectionLost
        );
        assert_eq!(
            code(russh::Error::ChannelOpenFailure(
                ChannelOpenFailure::AdministrativelyProhibited
            )),
            ErrorCode::AccessDenied
        );
    }
}
