//! Plain data shared by every interface, mirroring `remote:machine/types`.

use serde::Serialize;

/// The kind of a file-system object, from the type bits of its mode.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum FileKind {
    /// A regular file.
    Regular,
    /// A directory.
    Directory,
    /// A symbolic link (only `lstat` and `read-dir` report it; `stat` follows links).
    Symlink,
    /// A block device.
    BlockDevice,
    /// A character device.
    CharDevice,
    /// A named pipe.
    Fifo,
    /// A unix-domain socket.
    Socket,
    /// The target reported a type we do not know.
    Unknown,
}

impl FileKind {
    /// Decodes the `S_IFMT` bits of a POSIX `st_mode`.
    pub fn from_mode(mode: u32) -> FileKind {
        match mode & 0o170000 {
            0o100000 => FileKind::Regular,
            0o040000 => FileKind::Directory,
            0o120000 => FileKind::Symlink,
            0o060000 => FileKind::BlockDevice,
            0o020000 => FileKind::CharDevice,
            0o010000 => FileKind::Fifo,
            0o140000 => FileKind::Socket,
            _ => FileKind::Unknown,
        }
    }
}

/// A point in time as seconds and nanoseconds since the Unix epoch.
///
/// Seconds are signed so files dated before 1970 survive the trip.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct Timestamp {
    /// Whole seconds since 1970-01-01T00:00:00Z.
    pub seconds: i64,
    /// Nanoseconds within the second, 0..1_000_000_000.
    pub nanoseconds: u32,
}

/// Metadata of a file-system object, as `stat`/`lstat` return it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct FileStat {
    /// What kind of object this is.
    pub kind: FileKind,
    /// The POSIX permission bits including set-user-id (0o4000), set-group-id (0o2000) and sticky
    /// (0o1000): `mode & 0o7777` of `st_mode`; the type lives in `kind`.
    pub mode: u32,
    /// Numeric owner.
    pub uid: u32,
    /// Numeric group.
    pub gid: u32,
    /// Size in bytes (for a symlink from `lstat`: the length of its target).
    pub size: u64,
    /// Number of hard links; 0 when the protocol does not report it.
    pub nlink: u64,
    /// Last access.
    pub atime: Timestamp,
    /// Last modification of the contents.
    pub mtime: Timestamp,
}

/// One entry of a directory listing: the name within the directory and its `lstat`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct DirEntry {
    /// The entry's name, never `.` or `..`.
    pub name: String,
    /// The entry's metadata, not following a final symlink.
    pub stat: FileStat,
}

/// File-system statistics (`statvfs`); a zero means the target did not report the value.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Statfs {
    /// Total blocks, in units of `frsize`.
    pub blocks: u64,
    /// Free blocks.
    pub bfree: u64,
    /// Free blocks available to unprivileged users.
    pub bavail: u64,
    /// Total inodes.
    pub files: u64,
    /// Free inodes.
    pub ffree: u64,
    /// Preferred I/O block size.
    pub bsize: u64,
    /// Fundamental block size.
    pub frsize: u64,
    /// Longest file name.
    pub name_max: u64,
}

/// Where the target runs, in Go's GOOS/GOARCH vocabulary so the values select agent binaries
/// without translation. An empty field means "not detected"; each field stands alone.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct PlatformInfo {
    /// `linux`, `darwin`, `windows`, `freebsd`, …
    pub os: String,
    /// `amd64`, `arm64`, `arm`, `386`, …
    pub arch: String,
    /// CPU variant when meaningful, e.g. `v7` for `armv7l`.
    pub variant: String,
}

/// How `open-file` opens a file; the POSIX `O_*` flags, named.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct OpenFlags {
    /// Open for reading.
    pub read: bool,
    /// Open for writing.
    pub write: bool,
    /// Create the file if it does not exist (with the given mode, less the target's umask).
    pub create: bool,
    /// With `create`: fail with `exists` if the file exists.
    pub exclusive: bool,
    /// Truncate to zero length on open (needs `write`).
    pub truncate: bool,
    /// Every write goes to the end of the file, whatever its offset.
    pub append: bool,
}

impl OpenFlags {
    /// `O_RDONLY`.
    pub const READ: OpenFlags = OpenFlags {
        read: true,
        write: false,
        create: false,
        exclusive: false,
        truncate: false,
        append: false,
    };

    /// What `create` uses, as Go's `os.Create`: read-write, create, truncate.
    pub const CREATE: OpenFlags = OpenFlags {
        read: true,
        write: true,
        create: true,
        exclusive: false,
        truncate: true,
        append: false,
    };
}

/// How a command ended.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ExitStatus {
    /// The command exited with this status (0–255 on POSIX targets).
    Exited(i32),
    /// The command was killed by a signal, named without the `SIG` prefix (e.g. `TERM`).
    Signaled {
        /// The signal's name, as SSH reports it (`KILL`, `TERM`, `SEGV`, …).
        signal: String,
        /// Whether a core dump was written.
        core_dumped: bool,
    },
}

impl ExitStatus {
    /// True for `Exited(0)`.
    pub fn success(&self) -> bool {
        matches!(self, ExitStatus::Exited(0))
    }

    /// The status a shell would report: the exit code, or 128 + the signal's Linux number.
    pub fn shell_code(&self) -> i32 {
        match self {
            ExitStatus::Exited(code) => *code,
            ExitStatus::Signaled { signal, .. } => 128 + signal_number(signal).unwrap_or(0),
        }
    }
}

/// Linux signal names in number order (index + 1 = number), as SSH's exit-signal spells them.
const SIGNALS: [&str; 31] = [
    "HUP", "INT", "QUIT", "ILL", "TRAP", "ABRT", "BUS", "FPE", "KILL", "USR1", "SEGV", "USR2",
    "PIPE", "ALRM", "TERM", "STKFLT", "CHLD", "CONT", "STOP", "TSTP", "TTIN", "TTOU", "URG",
    "XCPU", "XFSZ", "VTALRM", "PROF", "WINCH", "IO", "PWR", "SYS",
];

/// The Linux number of a signal name (with or without `SIG`), if it is a standard one.
pub fn signal_number(name: &str) -> Option<i32> {
    let name = name.strip_prefix("SIG").unwrap_or(name);
    SIGNALS
        .iter()
        .position(|s| *s == name)
        .map(|i| i as i32 + 1)
}

/// The name of a Linux signal number, or `SIG<n>` for one without a standard name.
pub fn signal_name(number: i32) -> String {
    usize::try_from(number - 1)
        .ok()
        .and_then(|i| SIGNALS.get(i))
        .map_or_else(|| format!("SIG{number}"), |s| (*s).to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signal_names_and_numbers_round_trip() {
        for n in 1..=31 {
            assert_eq!(signal_number(&signal_name(n)), Some(n));
        }
        assert_eq!(signal_number("SIGKILL"), Some(9));
        assert_eq!(signal_number("TERM"), Some(15));
        assert_eq!(signal_number("NOPE"), None);
        assert_eq!(signal_name(64), "SIG64");
        let killed = ExitStatus::Signaled {
            signal: "KILL".into(),
            core_dumped: false,
        };
        assert_eq!(killed.shell_code(), 137);
    }

    #[test]
    fn file_kind_from_mode_bits() {
        assert_eq!(FileKind::from_mode(0o100644), FileKind::Regular);
        assert_eq!(FileKind::from_mode(0o040755), FileKind::Directory);
        assert_eq!(FileKind::from_mode(0o120777), FileKind::Symlink);
        assert_eq!(FileKind::from_mode(0o010600), FileKind::Fifo);
        assert_eq!(FileKind::from_mode(0o000644), FileKind::Unknown);
    }
}
