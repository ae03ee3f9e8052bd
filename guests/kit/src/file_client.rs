//! The exported `file-client` and its handles: every path argument goes through the layer on the
//! way down, `getwd` and `readlink` answers on the way up; handles and streams pass through.

use std::marker::PhantomData;

use crate::BelowClient;
use crate::bindings::exports::remote::machine::file_client::{
    Guest, GuestClient, GuestReadHandle, GuestWriteHandle, ReadHandle, WriteHandle,
};
use crate::bindings::remote::machine::file_client::{
    ReadHandle as BelowRead, WriteHandle as BelowWrite,
};
use crate::bindings::remote::machine::types::{
    DirEntry, Error, FileStat, OpenFlags, Statfs, Timestamp,
};
use crate::bindings::wasi::io::streams::{InputStream, OutputStream};
use crate::layer::{Access, Layer, Middleware, layer};

impl<L: Layer> Guest for Middleware<L> {
    type Client = WrappedClient<L>;
    type ReadHandle = WrappedRead;
    type WriteHandle = WrappedWrite;
}

/// The exported file client of a middleware guest.
#[derive(Debug)]
pub struct WrappedClient<L> {
    below: BelowClient,
    layer: PhantomData<L>,
}

impl<L: Layer> WrappedClient<L> {
    pub(crate) fn new(below: BelowClient) -> WrappedClient<L> {
        WrappedClient {
            below,
            layer: PhantomData,
        }
    }

    /// `path` as the layer below must see it for `op`.
    fn path(&self, op: &str, path: &str, access: Access) -> Result<String, Error> {
        layer::<L>(op)?.path_in(&self.below, op, path, access)
    }
}

/// Whether `open-file` with `flags` changes the file system.
fn writes(flags: OpenFlags) -> bool {
    flags.intersects(OpenFlags::WRITE | OpenFlags::CREATE | OpenFlags::TRUNCATE | OpenFlags::APPEND)
}

impl<L: Layer> GuestClient for WrappedClient<L> {
    fn open(&self, path: String) -> Result<ReadHandle, Error> {
        let p = self.path("open", &path, Access::READ)?;
        Ok(ReadHandle::new(WrappedRead(self.below.open(&p)?)))
    }

    fn create(&self, path: String) -> Result<WriteHandle, Error> {
        let p = self.path("create", &path, Access::WRITE)?;
        Ok(WriteHandle::new(WrappedWrite(self.below.create(&p)?)))
    }

    fn open_file(&self, path: String, flags: OpenFlags, mode: u32) -> Result<WriteHandle, Error> {
        let access = if writes(flags) {
            Access::WRITE
        } else {
            Access::READ
        };
        let p = self.path("open-file", &path, access)?;
        Ok(WriteHandle::new(WrappedWrite(
            self.below.open_file(&p, flags, mode)?,
        )))
    }

    fn stat(&self, path: String) -> Result<FileStat, Error> {
        self.below.stat(&self.path("stat", &path, Access::READ)?)
    }

    fn lstat(&self, path: String) -> Result<FileStat, Error> {
        self.below
            .lstat(&self.path("lstat", &path, Access::READ_LINK)?)
    }

    fn read_dir(&self, path: String) -> Result<Vec<DirEntry>, Error> {
        let l = layer::<L>("read-dir")?;
        let mut entries =
            self.below
                .read_dir(&l.path_in(&self.below, "read-dir", &path, Access::READ)?)?;
        l.entries(&self.below, &path, &mut entries);
        Ok(entries)
    }

    fn readlink(&self, path: String) -> Result<String, Error> {
        let l = layer::<L>("readlink")?;
        let target = self.below.readlink(&l.path_in(
            &self.below,
            "readlink",
            &path,
            Access::READ_LINK,
        )?)?;
        Ok(l.link_target_out(target))
    }

    fn mkdir(&self, path: String, mode: u32) -> Result<(), Error> {
        self.below
            .mkdir(&self.path("mkdir", &path, Access::WRITE_LINK)?, mode)
    }

    fn mkdir_all(&self, path: String, mode: u32) -> Result<(), Error> {
        self.below
            .mkdir_all(&self.path("mkdir-all", &path, Access::WRITE)?, mode)
    }

    fn remove(&self, path: String) -> Result<(), Error> {
        self.below
            .remove(&self.path("remove", &path, Access::WRITE_LINK)?)
    }

    fn rename(&self, old: String, new: String) -> Result<(), Error> {
        let old = self.path("rename", &old, Access::WRITE_LINK)?;
        let new = self.path("rename", &new, Access::WRITE_LINK)?;
        self.below.rename(&old, &new)
    }

    fn symlink(&self, target: String, link: String) -> Result<(), Error> {
        let l = layer::<L>("symlink")?;
        let link = l.path_in(&self.below, "symlink", &link, Access::WRITE_LINK)?;
        let target = l.link_target_in(&target)?;
        self.below.symlink(&target, &link)
    }

    fn link(&self, old: String, new: String) -> Result<(), Error> {
        let old = self.path("link", &old, Access::WRITE)?;
        let new = self.path("link", &new, Access::WRITE_LINK)?;
        self.below.link(&old, &new)
    }

    fn chmod(&self, path: String, mode: u32) -> Result<(), Error> {
        self.below
            .chmod(&self.path("chmod", &path, Access::WRITE)?, mode)
    }

    fn chown(&self, path: String, uid: u32, gid: u32) -> Result<(), Error> {
        self.below
            .chown(&self.path("chown", &path, Access::WRITE)?, uid, gid)
    }

    fn chtimes(&self, path: String, atime: Timestamp, mtime: Timestamp) -> Result<(), Error> {
        self.below
            .chtimes(&self.path("chtimes", &path, Access::WRITE)?, atime, mtime)
    }

    fn truncate(&self, path: String, size: u64) -> Result<(), Error> {
        self.below
            .truncate(&self.path("truncate", &path, Access::WRITE)?, size)
    }

    fn statfs(&self, path: String) -> Result<Statfs, Error> {
        self.below
            .statfs(&self.path("statfs", &path, Access::READ)?)
    }

    fn getwd(&self) -> Result<String, Error> {
        let l = layer::<L>("getwd")?;
        Ok(l.getwd(self.below.getwd()?))
    }
}

/// A read handle of the layer below, passed through.
#[derive(Debug)]
pub struct WrappedRead(BelowRead);

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

/// A write handle of the layer below, passed through.
#[derive(Debug)]
pub struct WrappedWrite(BelowWrite);

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
