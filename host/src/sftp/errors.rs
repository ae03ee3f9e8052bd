//! SFTP failures mapped to [`ErrorCode`], in one place.
//!
//! SFTP v3 has codes only for "no such file", "permission denied", "unsupported" and a catch-all
//! "failure", so OpenSSH reports `EEXIST`, `ENOTEMPTY` and `EISDIR` all as `failure` and
//! `ENOTDIR` as "no such file". Two things recover the real code:
//! - a server that puts the errno symbol first in the message (`EEXIST: File exists`), as our
//!   agent does, is read directly;
//! - otherwise the caller refines the code with a follow-up `lstat` only on the error path
//!   (see [`Refine`]), so successful calls cost nothing extra.

use russh_sftp::client::error::Error as SftpError;
use russh_sftp::protocol::StatusCode;

use crate::error::{Error, ErrorCode};

/// What a failure could mean, decided by the operation that got it; used to refine the vague
/// v3 codes with the state of the file system afterwards.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Refine {
    /// Nothing to refine.
    None,
    /// The operation creates its path (`mkdir`, exclusive create, `symlink`, `link`): a
    /// `failure` on an existing path is `exists`.
    Creates,
    /// The operation needs a non-directory (open for writing): a `failure` on a directory is
    /// `is-directory`.
    NeedsFile,
    /// The operation removes a directory: a `failure` on a non-empty one is `not-empty`.
    RemovesDir,
    /// The operation lists a directory: "no such file" on an existing non-directory is
    /// `not-directory`.
    NeedsDir,
}

/// The errno symbols a server may put first in a status message, with their codes.
const ERRNO_PREFIXES: &[(&str, ErrorCode)] = &[
    ("ENOENT", ErrorCode::NotFound),
    ("EEXIST", ErrorCode::Exists),
    ("EACCES", ErrorCode::AccessDenied),
    ("EPERM", ErrorCode::AccessDenied),
    ("ENOTDIR", ErrorCode::NotDirectory),
    ("EISDIR", ErrorCode::IsDirectory),
    ("ENOTEMPTY", ErrorCode::NotEmpty),
    ("EINVAL", ErrorCode::InvalidArgument),
    ("ENOSYS", ErrorCode::Unsupported),
    ("EOPNOTSUPP", ErrorCode::Unsupported),
    ("EXDEV", ErrorCode::CrossDevice),
    ("ENOSPC", ErrorCode::NoSpace),
    ("EDQUOT", ErrorCode::NoSpace),
    ("EROFS", ErrorCode::ReadOnly),
    ("ELOOP", ErrorCode::Loop),
    ("ENAMETOOLONG", ErrorCode::NameTooLong),
    ("EBUSY", ErrorCode::Busy),
    ("ETXTBSY", ErrorCode::Busy),
    ("EBADF", ErrorCode::BadDescriptor),
    ("EFBIG", ErrorCode::InvalidArgument),
    ("EILSEQ", ErrorCode::IllegalByteSequence),
];

/// The code a status message names with a leading errno symbol, if it does.
fn errno_prefix(message: &str) -> Option<ErrorCode> {
    let (symbol, _) = message.split_once(':')?;
    ERRNO_PREFIXES
        .iter()
        .find(|(s, _)| *s == symbol)
        .map(|(_, c)| *c)
}

/// The code of a status as the server sent it, before any refinement.
pub(crate) fn status_code(code: StatusCode, message: &str) -> ErrorCode {
    if let Some(c) = errno_prefix(message) {
        return c;
    }
    match code {
        StatusCode::NoSuchFile => ErrorCode::NotFound,
        StatusCode::PermissionDenied => ErrorCode::AccessDenied,
        StatusCode::OpUnsupported => ErrorCode::Unsupported,
        StatusCode::BadMessage => ErrorCode::InvalidArgument,
        StatusCode::NoConnection | StatusCode::ConnectionLost => ErrorCode::ConnectionLost,
        StatusCode::Eof | StatusCode::Failure | StatusCode::Ok => ErrorCode::Io,
    }
}

/// Whether the status already names its errno, so no refinement is needed.
pub(crate) fn is_precise(err: &SftpError) -> bool {
    matches!(err, SftpError::Status(s) if errno_prefix(&s.error_message).is_some())
}

/// Converts a client error into ours, naming the operation and path.
pub(crate) fn map(op: &str, target: &str, err: SftpError) -> Error {
    let (code, message) = match &err {
        SftpError::Status(s) => (
            status_code(s.status_code, &s.error_message),
            if s.error_message.is_empty() {
                s.status_code.to_string()
            } else {
                s.error_message.clone()
            },
        ),
        SftpError::Timeout => (
            ErrorCode::Timeout,
            "the SFTP server did not answer in time".to_string(),
        ),
        SftpError::Limited(m) => (
            ErrorCode::InvalidArgument,
            format!("over the server's limits: {m}"),
        ),
        SftpError::IO(m) => (ErrorCode::ConnectionLost, format!("SFTP transport: {m}")),
        SftpError::UnexpectedBehavior(m) if m.contains("closed") || m.contains("dropped") => (
            ErrorCode::ConnectionLost,
            format!("the SFTP session ended ({m})"),
        ),
        SftpError::UnexpectedPacket | SftpError::UnexpectedBehavior(_) => {
            (ErrorCode::Io, format!("SFTP protocol error: {err}"))
        }
    };
    let e = Error::new(code, op, target, message);
    // A status's own words are the message already; only transport failures have a cause worth
    // chaining (printing the status again would say the same thing twice).
    match err {
        SftpError::Status(_) => e,
        other => e.with_source(other),
    }
}

/// A status of a given code, for tests and callers that get an unexpected packet.
pub(crate) fn with_code(err: Error, code: ErrorCode) -> Error {
    Error::new(code, err.op(), err.target(), err.message().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errno_prefix_wins_over_the_vague_status() {
        assert_eq!(
            status_code(StatusCode::Failure, "EEXIST: File exists"),
            ErrorCode::Exists
        );
        assert_eq!(
            status_code(StatusCode::Failure, "ENOTEMPTY: Directory not empty"),
            ErrorCode::NotEmpty
        );
        assert_eq!(
            status_code(StatusCode::NoSuchFile, "ENOTDIR: Not a directory"),
            ErrorCode::NotDirectory
        );
        assert_eq!(status_code(StatusCode::Failure, "Failure"), ErrorCode::Io);
        assert_eq!(
            status_code(StatusCode::NoSuchFile, "No such file"),
            ErrorCode::NotFound
        );
        assert_eq!(
            status_code(StatusCode::Failure, "ENOPE: made up"),
            ErrorCode::Io
        );
    }

    #[test]
    fn transport_failures_are_connection_lost() {
        let e = map(
            "stat",
            "/x",
            SftpError::UnexpectedBehavior("session closed".into()),
        );
        assert_eq!(e.code(), ErrorCode::ConnectionLost);
        assert_eq!(
            map("stat", "/x", SftpError::Timeout).code(),
            ErrorCode::Timeout
        );
    }
}
