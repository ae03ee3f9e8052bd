//! SFTP attributes and names to and from the native types.

use russh_sftp::protocol::{FileAttributes, Name};

use crate::error::{Error, ErrorCode, Result};
use crate::types::{FileKind, FileStat, Timestamp};

/// SFTP v3 attributes as a [`FileStat`]. v3 carries whole seconds and no link count: the
/// nanoseconds read as 0, and `nlink` as 0 ("not reported") unless a listing's long name gave it.
pub(crate) fn file_stat(a: &FileAttributes, nlink: u64) -> FileStat {
    let mode = a.permissions.unwrap_or(0);
    FileStat {
        kind: if a.permissions.is_some() {
            FileKind::from_mode(mode)
        } else {
            FileKind::Unknown
        },
        mode: mode & 0o7777,
        uid: a.uid.unwrap_or(0),
        gid: a.gid.unwrap_or(0),
        size: a.size.unwrap_or(0),
        nlink,
        atime: seconds(a.atime),
        mtime: seconds(a.mtime),
    }
}

fn seconds(t: Option<u32>) -> Timestamp {
    Timestamp {
        seconds: i64::from(t.unwrap_or(0)),
        nanoseconds: 0,
    }
}

/// The link count from an `ls -l` style long name (`-rw-r--r--    2 user group …`), which
/// OpenSSH's server sends with every listing entry.
pub(crate) fn nlink_from_longname(longname: &str) -> u64 {
    longname
        .split_whitespace()
        .nth(1)
        .and_then(|n| n.parse().ok())
        .unwrap_or(0)
}

/// A timestamp as SFTP v3's unsigned 32-bit seconds, refusing what it cannot carry.
pub(crate) fn v3_seconds(op: &str, path: &str, t: Timestamp) -> Result<u32> {
    if t.nanoseconds >= 1_000_000_000 {
        return Err(Error::new(
            ErrorCode::InvalidArgument,
            op,
            path,
            format!("nanoseconds {} out of range", t.nanoseconds),
        ));
    }
    u32::try_from(t.seconds).map_err(|_| {
        Error::new(
            ErrorCode::InvalidArgument,
            op,
            path,
            format!(
                "SFTP v3 carries times as unsigned 32-bit seconds; {} is out of range",
                t.seconds
            ),
        )
    })
}

/// Checks a name the server sent. The SFTP library decodes names lossily, turning bytes that are
/// not UTF-8 into U+FFFD; passing such a name on would name a different file, so it is refused.
pub(crate) fn checked_name(op: &str, dir: &str, name: String) -> Result<String> {
    if name.contains('\u{FFFD}') {
        return Err(Error::new(
            ErrorCode::IllegalByteSequence,
            op,
            format!("{dir}: {name}"),
            "the server sent a name that is not UTF-8 (undecodable bytes shown as U+FFFD); it cannot be passed back unchanged",
        ));
    }
    Ok(name)
}

/// The single name of a `realpath`/`readlink` reply.
pub(crate) fn single_name(op: &str, path: &str, reply: Name) -> Result<String> {
    let file =
        reply.files.into_iter().next().ok_or_else(|| {
            Error::new(ErrorCode::Io, op, path, "the server's reply holds no name")
        })?;
    checked_name(op, path, file.filename)
}

/// Attributes that set only the permission bits.
pub(crate) fn mode_attrs(mode: u32) -> FileAttributes {
    FileAttributes {
        permissions: Some(mode),
        ..FileAttributes::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_names_give_link_counts() {
        assert_eq!(
            nlink_from_longname("-rw-r--r--    2 remote   remote   5 Nov 27 02:00 a"),
            2
        );
        assert_eq!(nlink_from_longname("a"), 0);
        assert_eq!(nlink_from_longname(""), 0);
    }

    #[test]
    fn v3_times_are_unsigned_32_bit_seconds() {
        let t = |seconds, nanoseconds| Timestamp {
            seconds,
            nanoseconds,
        };
        assert_eq!(v3_seconds("chtimes", "/x", t(5, 7)).ok(), Some(5));
        assert!(v3_seconds("chtimes", "/x", t(-1, 0)).is_err());
        assert!(v3_seconds("chtimes", "/x", t(1 << 33, 0)).is_err());
        assert!(v3_seconds("chtimes", "/x", t(0, 1_000_000_000)).is_err());
    }

    #[test]
    fn lossy_names_are_refused() {
        let e = checked_name("read dir", "/d", "a\u{FFFD}b".into()).err();
        assert_eq!(e.map(|e| e.code()), Some(ErrorCode::IllegalByteSequence));
        assert_eq!(
            checked_name("read dir", "/d", "café".into())
                .ok()
                .as_deref(),
            Some("café")
        );
    }
}
