//! The one error type of the native API, mirroring the WIT `types.error-code` variant for variant.
//!
//! Every error carries the operation that failed, the path or target it was applied to and the
//! cause, so a message read in a log says what was tried where. The code is kept structured all
//! the way up so callers (and the conformance suite) can match on `not-found` instead of parsing
//! text. Native errors (errno, SFTP status, Docker) are mapped to codes in one place each; the
//! errno mapping used by the local backend lives here.

use std::fmt;
use std::io;
use std::sync::Arc;

/// What went wrong, independent of the backend that noticed it.
///
/// Mirrors `remote:machine/types.error-code`; the conversion to and from the WIT enum is an
/// exhaustive match so a new code fails the build where it has to be handled.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ErrorCode {
    /// The path or object does not exist (ENOENT).
    NotFound,
    /// The path already exists (EEXIST).
    Exists,
    /// Permission denied by the target or by a policy (EACCES, EPERM).
    AccessDenied,
    /// A path component that must be a directory is not (ENOTDIR).
    NotDirectory,
    /// The operation needs a non-directory but got a directory (EISDIR).
    IsDirectory,
    /// The directory is not empty (ENOTEMPTY).
    NotEmpty,
    /// An argument was malformed or out of range (EINVAL).
    InvalidArgument,
    /// The backend or target cannot do this operation at all.
    Unsupported,
    /// The connection to the target was lost or never came up.
    ConnectionLost,
    /// The operation did not finish in time.
    Timeout,
    /// A rename or link crossed a file-system boundary (EXDEV).
    CrossDevice,
    /// No space left on the target's device, or a quota was hit (ENOSPC, EDQUOT).
    NoSpace,
    /// The file system is read-only (EROFS).
    ReadOnly,
    /// Too many levels of symbolic links (ELOOP).
    Loop,
    /// A name or path is too long (ENAMETOOLONG).
    NameTooLong,
    /// A name holds bytes that are not valid UTF-8 and cannot be passed on unchanged (EILSEQ).
    IllegalByteSequence,
    /// The resource is busy (EBUSY, ETXTBSY).
    Busy,
    /// A handle was used after it was closed, or in a way its mode forbids (EBADF).
    BadDescriptor,
    /// The target's program could not be found or executed.
    NotExecutable,
    /// An I/O error that none of the other codes describes.
    Io,
}

impl ErrorCode {
    /// The kebab-case name used in the WIT and in JSON output.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::NotFound => "not-found",
            ErrorCode::Exists => "exists",
            ErrorCode::AccessDenied => "access-denied",
            ErrorCode::NotDirectory => "not-directory",
            ErrorCode::IsDirectory => "is-directory",
            ErrorCode::NotEmpty => "not-empty",
            ErrorCode::InvalidArgument => "invalid-argument",
            ErrorCode::Unsupported => "unsupported",
            ErrorCode::ConnectionLost => "connection-lost",
            ErrorCode::Timeout => "timeout",
            ErrorCode::CrossDevice => "cross-device",
            ErrorCode::NoSpace => "no-space",
            ErrorCode::ReadOnly => "read-only",
            ErrorCode::Loop => "loop",
            ErrorCode::NameTooLong => "name-too-long",
            ErrorCode::IllegalByteSequence => "illegal-byte-sequence",
            ErrorCode::Busy => "busy",
            ErrorCode::BadDescriptor => "bad-descriptor",
            ErrorCode::NotExecutable => "not-executable",
            ErrorCode::Io => "io",
        }
    }

    /// Maps a Linux errno to a code. Unknown values become [`ErrorCode::Io`]; the errno itself
    /// stays visible in the message of the [`Error`] built by [`Error::from_io`].
    pub fn from_errno(errno: i32) -> ErrorCode {
        ERRNO_CODES
            .iter()
            .find(|(e, _)| e.raw_os_error() == errno)
            .map_or(ErrorCode::Io, |(_, code)| *code)
    }
}

/// The errno table, searched rather than matched because rustix's constructor from a raw value
/// asserts the range and an errno from a remote peer can be anything.
const ERRNO_CODES: &[(rustix::io::Errno, ErrorCode)] = {
    use rustix::io::Errno;
    &[
        (Errno::NOENT, ErrorCode::NotFound),
        (Errno::EXIST, ErrorCode::Exists),
        (Errno::ACCESS, ErrorCode::AccessDenied),
        (Errno::PERM, ErrorCode::AccessDenied),
        (Errno::NOTDIR, ErrorCode::NotDirectory),
        (Errno::ISDIR, ErrorCode::IsDirectory),
        (Errno::NOTEMPTY, ErrorCode::NotEmpty),
        (Errno::INVAL, ErrorCode::InvalidArgument),
        (Errno::RANGE, ErrorCode::InvalidArgument),
        (Errno::FBIG, ErrorCode::InvalidArgument),
        (Errno::NOSYS, ErrorCode::Unsupported),
        (Errno::OPNOTSUPP, ErrorCode::Unsupported),
        (Errno::TIMEDOUT, ErrorCode::Timeout),
        (Errno::XDEV, ErrorCode::CrossDevice),
        (Errno::NOSPC, ErrorCode::NoSpace),
        (Errno::DQUOT, ErrorCode::NoSpace),
        (Errno::ROFS, ErrorCode::ReadOnly),
        (Errno::LOOP, ErrorCode::Loop),
        (Errno::NAMETOOLONG, ErrorCode::NameTooLong),
        (Errno::ILSEQ, ErrorCode::IllegalByteSequence),
        (Errno::BUSY, ErrorCode::Busy),
        (Errno::TXTBSY, ErrorCode::Busy),
        (Errno::BADF, ErrorCode::BadDescriptor),
        (Errno::NOEXEC, ErrorCode::NotExecutable),
        (Errno::PIPE, ErrorCode::ConnectionLost),
        (Errno::CONNRESET, ErrorCode::ConnectionLost),
        (Errno::CONNABORTED, ErrorCode::ConnectionLost),
        (Errno::NOTCONN, ErrorCode::ConnectionLost),
    ]
};

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A failed operation: what was done (`op`), to what (`target`: a path, a destination, a
/// command), why (`message`), with the underlying error kept as the source.
///
/// Cheap to clone, so backends can keep the last connection error for `last_err`.
#[derive(Clone, Debug)]
pub struct Error {
    code: ErrorCode,
    op: String,
    target: String,
    message: String,
    source: Option<Arc<dyn std::error::Error + Send + Sync>>,
}

/// The result type of every native API call.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// Builds an error from its parts; `message` is the cause in words.
    pub fn new(
        code: ErrorCode,
        op: impl Into<String>,
        target: impl Into<String>,
        message: impl Into<String>,
    ) -> Error {
        Error {
            code,
            op: op.into(),
            target: target.into(),
            message: message.into(),
            source: None,
        }
    }

    /// Maps an OS error through its errno (when it has one) and keeps it as the source.
    pub fn from_io(op: impl Into<String>, target: impl Into<String>, err: io::Error) -> Error {
        let code = match err.raw_os_error() {
            Some(errno) => ErrorCode::from_errno(errno),
            None => match err.kind() {
                io::ErrorKind::NotFound => ErrorCode::NotFound,
                io::ErrorKind::AlreadyExists => ErrorCode::Exists,
                io::ErrorKind::PermissionDenied => ErrorCode::AccessDenied,
                io::ErrorKind::InvalidInput | io::ErrorKind::InvalidData => {
                    ErrorCode::InvalidArgument
                }
                io::ErrorKind::Unsupported => ErrorCode::Unsupported,
                io::ErrorKind::TimedOut => ErrorCode::Timeout,
                io::ErrorKind::BrokenPipe
                | io::ErrorKind::ConnectionReset
                | io::ErrorKind::ConnectionAborted
                | io::ErrorKind::NotConnected
                | io::ErrorKind::UnexpectedEof => ErrorCode::ConnectionLost,
                _ => ErrorCode::Io,
            },
        };
        Error {
            code,
            op: op.into(),
            target: target.into(),
            message: err.to_string(),
            source: Some(Arc::new(err)),
        }
    }

    /// Attaches the underlying error so `source()` chains reach it.
    pub fn with_source(mut self, source: impl std::error::Error + Send + Sync + 'static) -> Error {
        self.source = Some(Arc::new(source));
        self
    }

    /// A shorthand for the frequent "this backend cannot do that" error.
    pub fn unsupported(op: impl Into<String>, target: impl Into<String>, why: &str) -> Error {
        Error::new(ErrorCode::Unsupported, op, target, why)
    }

    /// The structured code.
    pub fn code(&self) -> ErrorCode {
        self.code
    }

    /// The operation that failed, e.g. `"open"` or `"exec"`.
    pub fn op(&self) -> &str {
        &self.op
    }

    /// The path, destination or command the operation was applied to.
    pub fn target(&self) -> &str {
        &self.target
    }

    /// The cause in words, without the operation and target.
    pub fn message(&self) -> &str {
        &self.message
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.op.is_empty(), self.target.is_empty()) {
            (true, true) => write!(f, "{}", self.message)?,
            (false, true) => write!(f, "{}: {}", self.op, self.message)?,
            (true, false) => write!(f, "{}: {}", self.target, self.message)?,
            (false, false) => write!(f, "{} {}: {}", self.op, self.target, self.message)?,
        }
        write!(f, " ({})", self.code)
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.source
            .as_deref()
            .map(|e| e as &(dyn std::error::Error + 'static))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errno_maps_to_the_specific_code() {
        let cases = [
            (libc_errno::ENOENT, ErrorCode::NotFound),
            (libc_errno::EEXIST, ErrorCode::Exists),
            (libc_errno::ENOTEMPTY, ErrorCode::NotEmpty),
            (libc_errno::EISDIR, ErrorCode::IsDirectory),
            (libc_errno::ENOTDIR, ErrorCode::NotDirectory),
            (libc_errno::EXDEV, ErrorCode::CrossDevice),
            (libc_errno::EACCES, ErrorCode::AccessDenied),
            (libc_errno::EPERM, ErrorCode::AccessDenied),
            (9999, ErrorCode::Io),
            (-1, ErrorCode::Io),
            (i32::MAX, ErrorCode::Io),
        ];
        for (errno, code) in cases {
            let e = Error::from_io("op", "/p", io::Error::from_raw_os_error(errno));
            assert_eq!(e.code(), code, "errno {errno}");
            assert!(e.to_string().starts_with("op /p: "), "{e}");
            assert!(std::error::Error::source(&e).is_some());
        }
    }

    #[test]
    fn display_names_op_target_cause_and_code() {
        let e = Error::new(
            ErrorCode::NotEmpty,
            "remove",
            "/tmp/d",
            "directory not empty",
        );
        assert_eq!(
            e.to_string(),
            "remove /tmp/d: directory not empty (not-empty)"
        );
    }

    /// Linux errno values, spelled out so the test does not depend on the mapping it checks.
    mod libc_errno {
        pub const EPERM: i32 = 1;
        pub const ENOENT: i32 = 2;
        pub const EEXIST: i32 = 17;
        pub const EXDEV: i32 = 18;
        pub const ENOTDIR: i32 = 20;
        pub const EISDIR: i32 = 21;
        pub const EACCES: i32 = 13;
        pub const ENOTEMPTY: i32 = 39;
    }
}
