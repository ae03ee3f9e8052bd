//! The `types` interface: conversions between the WIT records and the native ones, with
//! exhaustive matches so a case added on either side breaks the build here, and the host side
//! of `stream-error-cause`.

use wasmtime::component::Resource;

use crate::error::{Error, ErrorCode};
use crate::guest::bindings::middleware::remote::machine::types as wit;
use crate::guest::ctx::GuestCtx;
use crate::guest::error::{HostError, cause_of};
use crate::types::{
    DirEntry, ExitStatus, FileKind, FileStat, OpenFlags, PlatformInfo, Statfs, Timestamp,
};

impl wit::Host for GuestCtx {
    async fn stream_error_cause(
        &mut self,
        err: Resource<wasmtime_wasi_io::streams::Error>,
    ) -> wasmtime::Result<Option<wit::Error>> {
        let err = self.table.get(&err)?;
        Ok(cause_of(err).map(wit::Error::from))
    }

    fn convert_error(&mut self, err: HostError) -> wasmtime::Result<wit::Error> {
        match err {
            HostError::Code(e) => Ok(e.into()),
            HostError::Trap(t) => Err(t),
        }
    }
}

impl From<ErrorCode> for wit::ErrorCode {
    fn from(c: ErrorCode) -> wit::ErrorCode {
        match c {
            ErrorCode::NotFound => wit::ErrorCode::NotFound,
            ErrorCode::Exists => wit::ErrorCode::Exists,
            ErrorCode::AccessDenied => wit::ErrorCode::AccessDenied,
            ErrorCode::NotDirectory => wit::ErrorCode::NotDirectory,
            ErrorCode::IsDirectory => wit::ErrorCode::IsDirectory,
            ErrorCode::NotEmpty => wit::ErrorCode::NotEmpty,
            ErrorCode::InvalidArgument => wit::ErrorCode::InvalidArgument,
            ErrorCode::Unsupported => wit::ErrorCode::Unsupported,
            ErrorCode::ConnectionLost => wit::ErrorCode::ConnectionLost,
            ErrorCode::Timeout => wit::ErrorCode::Timeout,
            ErrorCode::CrossDevice => wit::ErrorCode::CrossDevice,
            ErrorCode::NoSpace => wit::ErrorCode::NoSpace,
            ErrorCode::ReadOnly => wit::ErrorCode::ReadOnly,
            ErrorCode::Loop => wit::ErrorCode::Loop,
            ErrorCode::NameTooLong => wit::ErrorCode::NameTooLong,
            ErrorCode::IllegalByteSequence => wit::ErrorCode::IllegalByteSequence,
            ErrorCode::Busy => wit::ErrorCode::Busy,
            ErrorCode::BadDescriptor => wit::ErrorCode::BadDescriptor,
            ErrorCode::NotExecutable => wit::ErrorCode::NotExecutable,
            ErrorCode::Io => wit::ErrorCode::Io,
        }
    }
}

impl From<wit::ErrorCode> for ErrorCode {
    fn from(c: wit::ErrorCode) -> ErrorCode {
        match c {
            wit::ErrorCode::NotFound => ErrorCode::NotFound,
            wit::ErrorCode::Exists => ErrorCode::Exists,
            wit::ErrorCode::AccessDenied => ErrorCode::AccessDenied,
            wit::ErrorCode::NotDirectory => ErrorCode::NotDirectory,
            wit::ErrorCode::IsDirectory => ErrorCode::IsDirectory,
            wit::ErrorCode::NotEmpty => ErrorCode::NotEmpty,
            wit::ErrorCode::InvalidArgument => ErrorCode::InvalidArgument,
            wit::ErrorCode::Unsupported => ErrorCode::Unsupported,
            wit::ErrorCode::ConnectionLost => ErrorCode::ConnectionLost,
            wit::ErrorCode::Timeout => ErrorCode::Timeout,
            wit::ErrorCode::CrossDevice => ErrorCode::CrossDevice,
            wit::ErrorCode::NoSpace => ErrorCode::NoSpace,
            wit::ErrorCode::ReadOnly => ErrorCode::ReadOnly,
            wit::ErrorCode::Loop => ErrorCode::Loop,
            wit::ErrorCode::NameTooLong => ErrorCode::NameTooLong,
            wit::ErrorCode::IllegalByteSequence => ErrorCode::IllegalByteSequence,
            wit::ErrorCode::Busy => ErrorCode::Busy,
            wit::ErrorCode::BadDescriptor => ErrorCode::BadDescriptor,
            wit::ErrorCode::NotExecutable => ErrorCode::NotExecutable,
            wit::ErrorCode::Io => ErrorCode::Io,
        }
    }
}

impl From<Error> for wit::Error {
    fn from(e: Error) -> wit::Error {
        wit::Error {
            code: e.code().into(),
            op: e.op().to_string(),
            target: e.target().to_string(),
            message: e.message().to_string(),
        }
    }
}

impl From<wit::Error> for Error {
    fn from(e: wit::Error) -> Error {
        Error::new(e.code.into(), e.op, e.target, e.message)
    }
}

impl From<FileKind> for wit::FileKind {
    fn from(k: FileKind) -> wit::FileKind {
        match k {
            FileKind::Regular => wit::FileKind::Regular,
            FileKind::Directory => wit::FileKind::Directory,
            FileKind::Symlink => wit::FileKind::Symlink,
            FileKind::BlockDevice => wit::FileKind::BlockDevice,
            FileKind::CharDevice => wit::FileKind::CharDevice,
            FileKind::Fifo => wit::FileKind::Fifo,
            FileKind::Socket => wit::FileKind::Socket,
            FileKind::Unknown => wit::FileKind::Unknown,
        }
    }
}

impl From<wit::FileKind> for FileKind {
    fn from(k: wit::FileKind) -> FileKind {
        match k {
            wit::FileKind::Regular => FileKind::Regular,
            wit::FileKind::Directory => FileKind::Directory,
            wit::FileKind::Symlink => FileKind::Symlink,
            wit::FileKind::BlockDevice => FileKind::BlockDevice,
            wit::FileKind::CharDevice => FileKind::CharDevice,
            wit::FileKind::Fifo => FileKind::Fifo,
            wit::FileKind::Socket => FileKind::Socket,
            wit::FileKind::Unknown => FileKind::Unknown,
        }
    }
}

impl From<Timestamp> for wit::Timestamp {
    fn from(t: Timestamp) -> wit::Timestamp {
        wit::Timestamp {
            seconds: t.seconds,
            nanoseconds: t.nanoseconds,
        }
    }
}

impl From<wit::Timestamp> for Timestamp {
    fn from(t: wit::Timestamp) -> Timestamp {
        Timestamp {
            seconds: t.seconds,
            nanoseconds: t.nanoseconds,
        }
    }
}

impl From<FileStat> for wit::FileStat {
    fn from(s: FileStat) -> wit::FileStat {
        wit::FileStat {
            kind: s.kind.into(),
            mode: s.mode,
            uid: s.uid,
            gid: s.gid,
            size: s.size,
            nlink: s.nlink,
            atime: s.atime.into(),
            mtime: s.mtime.into(),
        }
    }
}

impl From<wit::FileStat> for FileStat {
    fn from(s: wit::FileStat) -> FileStat {
        FileStat {
            kind: s.kind.into(),
            mode: s.mode,
            uid: s.uid,
            gid: s.gid,
            size: s.size,
            nlink: s.nlink,
            atime: s.atime.into(),
            mtime: s.mtime.into(),
        }
    }
}

impl From<DirEntry> for wit::DirEntry {
    fn from(e: DirEntry) -> wit::DirEntry {
        wit::DirEntry {
            name: e.name,
            stat: e.stat.into(),
        }
    }
}

impl From<wit::DirEntry> for DirEntry {
    fn from(e: wit::DirEntry) -> DirEntry {
        DirEntry {
            name: e.name,
            stat: e.stat.into(),
        }
    }
}

impl From<Statfs> for wit::Statfs {
    fn from(s: Statfs) -> wit::Statfs {
        wit::Statfs {
            blocks: s.blocks,
            bfree: s.bfree,
            bavail: s.bavail,
            files: s.files,
            ffree: s.ffree,
            bsize: s.bsize,
            frsize: s.frsize,
            name_max: s.name_max,
        }
    }
}

impl From<wit::Statfs> for Statfs {
    fn from(s: wit::Statfs) -> Statfs {
        Statfs {
            blocks: s.blocks,
            bfree: s.bfree,
            bavail: s.bavail,
            files: s.files,
            ffree: s.ffree,
            bsize: s.bsize,
            frsize: s.frsize,
            name_max: s.name_max,
        }
    }
}

impl From<PlatformInfo> for wit::PlatformInfo {
    fn from(p: PlatformInfo) -> wit::PlatformInfo {
        wit::PlatformInfo {
            os: p.os,
            arch: p.arch,
            variant: p.variant,
        }
    }
}

impl From<wit::PlatformInfo> for PlatformInfo {
    fn from(p: wit::PlatformInfo) -> PlatformInfo {
        PlatformInfo {
            os: p.os,
            arch: p.arch,
            variant: p.variant,
        }
    }
}

impl From<OpenFlags> for wit::OpenFlags {
    fn from(f: OpenFlags) -> wit::OpenFlags {
        let OpenFlags {
            read,
            write,
            create,
            exclusive,
            truncate,
            append,
        } = f;
        [
            (read, wit::OpenFlags::READ),
            (write, wit::OpenFlags::WRITE),
            (create, wit::OpenFlags::CREATE),
            (exclusive, wit::OpenFlags::EXCLUSIVE),
            (truncate, wit::OpenFlags::TRUNCATE),
            (append, wit::OpenFlags::APPEND),
        ]
        .into_iter()
        .filter(|(on, _)| *on)
        .fold(wit::OpenFlags::empty(), |acc, (_, f)| acc | f)
    }
}

impl From<wit::OpenFlags> for OpenFlags {
    fn from(f: wit::OpenFlags) -> OpenFlags {
        OpenFlags {
            read: f.contains(wit::OpenFlags::READ),
            write: f.contains(wit::OpenFlags::WRITE),
            create: f.contains(wit::OpenFlags::CREATE),
            exclusive: f.contains(wit::OpenFlags::EXCLUSIVE),
            truncate: f.contains(wit::OpenFlags::TRUNCATE),
            append: f.contains(wit::OpenFlags::APPEND),
        }
    }
}

impl From<ExitStatus> for wit::ExitStatus {
    fn from(s: ExitStatus) -> wit::ExitStatus {
        match s {
            ExitStatus::Exited(code) => wit::ExitStatus::Exited(code),
            ExitStatus::Signaled {
                signal,
                core_dumped,
            } => wit::ExitStatus::Signaled(wit::SignalInfo {
                signal,
                core_dumped,
            }),
        }
    }
}

impl From<wit::ExitStatus> for ExitStatus {
    fn from(s: wit::ExitStatus) -> ExitStatus {
        match s {
            wit::ExitStatus::Exited(code) => ExitStatus::Exited(code),
            wit::ExitStatus::Signaled(wit::SignalInfo {
                signal,
                core_dumped,
            }) => ExitStatus::Signaled {
                signal,
                core_dumped,
            },
        }
    }
}
