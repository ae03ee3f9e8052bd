//! OS errors to SFTP statuses, in one place.
//!
//! SFTP v3 has codes for "no such file", "permission denied" and "unsupported" only; everything
//! else is `failure`. So the message always starts with the errno's symbol and a colon
//! (`ENOTEMPTY: Directory not empty`), which our client reads back into a precise error code and
//! a person reads as the usual text.

use std::io;

use russh_sftp::protocol::StatusCode;
use russh_sftp::server::StatusReply;

/// Linux errno values and their symbols, for the ones a file server meets.
const NAMES: &[(i32, &str)] = &[
    (1, "EPERM"),
    (2, "ENOENT"),
    (4, "EINTR"),
    (5, "EIO"),
    (6, "ENXIO"),
    (7, "E2BIG"),
    (9, "EBADF"),
    (11, "EAGAIN"),
    (12, "ENOMEM"),
    (13, "EACCES"),
    (14, "EFAULT"),
    (16, "EBUSY"),
    (17, "EEXIST"),
    (18, "EXDEV"),
    (19, "ENODEV"),
    (20, "ENOTDIR"),
    (21, "EISDIR"),
    (22, "EINVAL"),
    (23, "ENFILE"),
    (24, "EMFILE"),
    (25, "ENOTTY"),
    (26, "ETXTBSY"),
    (27, "EFBIG"),
    (28, "ENOSPC"),
    (29, "ESPIPE"),
    (30, "EROFS"),
    (31, "EMLINK"),
    (32, "EPIPE"),
    (34, "ERANGE"),
    (36, "ENAMETOOLONG"),
    (38, "ENOSYS"),
    (39, "ENOTEMPTY"),
    (40, "ELOOP"),
    (61, "ENODATA"),
    (75, "EOVERFLOW"),
    (84, "EILSEQ"),
    (95, "EOPNOTSUPP"),
    (110, "ETIMEDOUT"),
    (116, "ESTALE"),
    (122, "EDQUOT"),
];

/// The symbol of a Linux errno, if it is one we name.
pub fn name(errno: i32) -> Option<&'static str> {
    NAMES.iter().find(|(n, _)| *n == errno).map(|(_, s)| *s)
}

/// A status for an errno and its text.
pub fn status(errno: i32, text: &str) -> StatusReply {
    let code = match errno {
        2 => StatusCode::NoSuchFile,
        1 | 13 => StatusCode::PermissionDenied,
        38 | 95 => StatusCode::OpUnsupported,
        _ => StatusCode::Failure,
    };
    let message = match name(errno) {
        Some(sym) => format!("{sym}: {text}"),
        None => format!("E{errno}: {text}"),
    };
    code.with_message(message)
}

/// A status for an OS error. Errors without an errno keep their kind's nearest errno.
pub fn from_io(e: &io::Error) -> StatusReply {
    let errno = e.raw_os_error().unwrap_or(match e.kind() {
        io::ErrorKind::NotFound => 2,
        io::ErrorKind::PermissionDenied => 13,
        io::ErrorKind::AlreadyExists => 17,
        io::ErrorKind::InvalidInput | io::ErrorKind::InvalidData => 22,
        io::ErrorKind::Unsupported => 95,
        _ => 5,
    });
    status(errno, &describe(e))
}

/// A status for a rustix errno.
pub fn from_errno(e: rustix::io::Errno) -> StatusReply {
    from_io(&io::Error::from(e))
}

/// The error's text without std's " (os error N)" suffix, which the symbol already says.
fn describe(e: &io::Error) -> String {
    let text = e.to_string();
    match text.rfind(" (os error ") {
        Some(i) => text[..i].to_string(),
        None => text,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_start_with_the_symbol_and_codes_fit() {
        let cases = [
            (
                2,
                StatusCode::NoSuchFile,
                "ENOENT: No such file or directory",
            ),
            (
                13,
                StatusCode::PermissionDenied,
                "EACCES: Permission denied",
            ),
            (
                1,
                StatusCode::PermissionDenied,
                "EPERM: Operation not permitted",
            ),
            (
                38,
                StatusCode::OpUnsupported,
                "ENOSYS: Function not implemented",
            ),
            (
                95,
                StatusCode::OpUnsupported,
                "EOPNOTSUPP: Operation not supported",
            ),
            (17, StatusCode::Failure, "EEXIST: File exists"),
            (39, StatusCode::Failure, "ENOTEMPTY: Directory not empty"),
            (21, StatusCode::Failure, "EISDIR: Is a directory"),
            (20, StatusCode::Failure, "ENOTDIR: Not a directory"),
        ];
        for (errno, code, message) in cases {
            let s = from_io(&io::Error::from_raw_os_error(errno));
            assert_eq!(s.status_code, code, "errno {errno}");
            assert_eq!(s.error_message.as_deref(), Some(message), "errno {errno}");
        }
        let odd = from_io(&io::Error::from_raw_os_error(4000));
        assert!(
            odd.error_message
                .as_deref()
                .is_some_and(|m| m.starts_with("E4000: ")),
            "{odd:?}"
        );
    }
}
