//! {{name}}: a middleware guest of `remote` (world `middleware` of `wit/`) that passes every
//! operation through to the layer below unchanged.
//!
//! Each exported resource (`Wrapped*`) holds the imported one it wraps (`Below*`); change a
//! method to rewrite its arguments, refuse it with an `Error` of your own (usually
//! `ErrorCode::AccessDenied`), or record it with `log`. Streams (a command's pipes, the
//! `*-via-stream` functions) are the layer below's, handed on, so bulk data never passes through
//! the guest.

wit_bindgen::generate!({ world: "middleware", path: "wit", generate_all });

use exports::remote::machine::backend::{Backend, GuestBackend};
use exports::remote::machine::file_client::{
    Client, GuestClient, GuestReadHandle, GuestWriteHandle, ReadHandle, WriteHandle,
};
use exports::remote::machine::session::{GuestSession, Session};
use remote::machine::backend::{self as below, Backend as BelowBackend};
use remote::machine::file_client::{
    Client as BelowClient, ReadHandle as BelowRead, WriteHandle as BelowWrite,
};
use remote::machine::session::Session as BelowSession;
use remote::machine::types::{
    DirEntry, Error, ExitStatus, FileStat, OpenFlags, PlatformInfo, Statfs, Timestamp,
};
use wasi::io::streams::{InputStream, OutputStream};

/// The component: its exports are implemented on this type.
struct Component;

export!(Component);

impl exports::remote::machine::guest::Guest for Component {
    /// Accepts any configuration; parse `config` (JSON) here and return `Err` to refuse it.
    fn configure(_config: String) -> Result<(), String> {
        Ok(())
    }
}

impl exports::remote::machine::backend::Guest for Component {
    type Backend = WrappedBackend;

    fn open(dest: String) -> Result<Backend, Error> {
        Ok(Backend::new(WrappedBackend(below::open(&dest)?)))
    }
}

impl exports::remote::machine::session::Guest for Component {
    type Session = WrappedSession;
}

impl exports::remote::machine::file_client::Guest for Component {
    type Client = WrappedClient;
    type ReadHandle = WrappedRead;
    type WriteHandle = WrappedWrite;
}

/// The exported backend over the one below.
struct WrappedBackend(BelowBackend);

impl GuestBackend for WrappedBackend {
    fn backend_type(&self) -> String {
        self.0.backend_type()
    }
    fn addr(&self) -> String {
        self.0.addr()
    }
    fn user(&self) -> String {
        self.0.user()
    }
    fn start(&self) -> Result<(), Error> {
        self.0.start()
    }
    fn is_connected(&self) -> bool {
        self.0.is_connected()
    }
    fn last_err(&self) -> Option<Error> {
        self.0.last_err()
    }
    fn keep_alive_interval(&self) -> Option<u64> {
        self.0.keep_alive_interval()
    }
    fn send_keep_alive(&self) -> Result<(), Error> {
        self.0.send_keep_alive()
    }
    fn new_session(&self) -> Result<Session, Error> {
        Ok(Session::new(WrappedSession(self.0.new_session()?)))
    }
    fn files(&self) -> Result<Client, Error> {
        Ok(Client::new(WrappedClient(self.0.files()?)))
    }
    fn upload_agent(&self, local: String, remote: String, mode: u32) -> Result<String, Error> {
        self.0.upload_agent(&local, &remote, mode)
    }
    fn detect_platform(&self) -> Result<PlatformInfo, Error> {
        self.0.detect_platform()
    }
    fn close(&self) -> Result<(), Error> {
        self.0.close()
    }
}

/// The exported session over the one below.
struct WrappedSession(BelowSession);

impl GuestSession for WrappedSession {
    fn stdin(&self) -> Result<OutputStream, Error> {
        self.0.stdin()
    }
    fn stdout(&self) -> Result<InputStream, Error> {
        self.0.stdout()
    }
    fn stderr(&self) -> Result<InputStream, Error> {
        self.0.stderr()
    }
    fn setenv(&self, name: String, value: String) -> Result<(), Error> {
        self.0.setenv(&name, &value)
    }
    fn start(&self, cmd: String) -> Result<(), Error> {
        self.0.start(&cmd)
    }
    fn wait(&self) -> Result<ExitStatus, Error> {
        self.0.wait()
    }
    fn close(&self) -> Result<(), Error> {
        self.0.close()
    }
}

/// The exported file client over the one below.
struct WrappedClient(BelowClient);

impl GuestClient for WrappedClient {
    fn open(&self, path: String) -> Result<ReadHandle, Error> {
        Ok(ReadHandle::new(WrappedRead(self.0.open(&path)?)))
    }
    fn create(&self, path: String) -> Result<WriteHandle, Error> {
        Ok(WriteHandle::new(WrappedWrite(self.0.create(&path)?)))
    }
    fn open_file(&self, path: String, flags: OpenFlags, mode: u32) -> Result<WriteHandle, Error> {
        Ok(WriteHandle::new(WrappedWrite(
            self.0.open_file(&path, flags, mode)?,
        )))
    }
    fn stat(&self, path: String) -> Result<FileStat, Error> {
        self.0.stat(&path)
    }
    fn lstat(&self, path: String) -> Result<FileStat, Error> {
        self.0.lstat(&path)
    }
    fn read_dir(&self, path: String) -> Result<Vec<DirEntry>, Error> {
        self.0.read_dir(&path)
    }
    fn readlink(&self, path: String) -> Result<String, Error> {
        self.0.readlink(&path)
    }
    fn mkdir(&self, path: String, mode: u32) -> Result<(), Error> {
        self.0.mkdir(&path, mode)
    }
    fn mkdir_all(&self, path: String, mode: u32) -> Result<(), Error> {
        self.0.mkdir_all(&path, mode)
    }
    fn remove(&self, path: String) -> Result<(), Error> {
        self.0.remove(&path)
    }
    fn rename(&self, old: String, new: String) -> Result<(), Error> {
        self.0.rename(&old, &new)
    }
    fn symlink(&self, target: String, link: String) -> Result<(), Error> {
        self.0.symlink(&target, &link)
    }
    fn link(&self, old: String, new: String) -> Result<(), Error> {
        self.0.link(&old, &new)
    }
    fn chmod(&self, path: String, mode: u32) -> Result<(), Error> {
        self.0.chmod(&path, mode)
    }
    fn chown(&self, path: String, uid: u32, gid: u32) -> Result<(), Error> {
        self.0.chown(&path, uid, gid)
    }
    fn chtimes(&self, path: String, atime: Timestamp, mtime: Timestamp) -> Result<(), Error> {
        self.0.chtimes(&path, atime, mtime)
    }
    fn truncate(&self, path: String, size: u64) -> Result<(), Error> {
        self.0.truncate(&path, size)
    }
    fn statfs(&self, path: String) -> Result<Statfs, Error> {
        self.0.statfs(&path)
    }
    fn getwd(&self) -> Result<String, Error> {
        self.0.getwd()
    }
}

/// The exported read handle over the one below.
struct WrappedRead(BelowRead);

impl GuestReadHandle for WrappedRead {
    fn read(&self, len: u64) -> Result<Vec<u8>, Error> {
        self.0.read(len)
    }
    fn read_at(&self, offset: u64, len: u64) -> Result<Vec<u8>, Error> {
        self.0.read_at(offset, len)
    }
    fn read_via_stream(&self, offset: u64) -> Result<InputStream, Error> {
        self.0.read_via_stream(offset)
    }
    fn sync(&self) -> Result<(), Error> {
        self.0.sync()
    }
    fn close(&self) -> Result<(), Error> {
        self.0.close()
    }
}

/// The exported write handle over the one below.
struct WrappedWrite(BelowWrite);

impl GuestWriteHandle for WrappedWrite {
    fn write(&self, data: Vec<u8>) -> Result<u64, Error> {
        self.0.write(&data)
    }
    fn read_at(&self, offset: u64, len: u64) -> Result<Vec<u8>, Error> {
        self.0.read_at(offset, len)
    }
    fn write_at(&self, offset: u64, data: Vec<u8>) -> Result<u64, Error> {
        self.0.write_at(offset, &data)
    }
    fn write_via_stream(&self, offset: u64) -> Result<OutputStream, Error> {
        self.0.write_via_stream(offset)
    }
    fn append_via_stream(&self) -> Result<OutputStream, Error> {
        self.0.append_via_stream()
    }
    fn stat(&self) -> Result<FileStat, Error> {
        self.0.stat()
    }
    fn truncate(&self, size: u64) -> Result<(), Error> {
        self.0.truncate(size)
    }
    fn sync(&self) -> Result<(), Error> {
        self.0.sync()
    }
    fn close(&self) -> Result<(), Error> {
        self.0.close()
    }
}
