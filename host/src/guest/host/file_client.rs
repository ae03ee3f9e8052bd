//! The imported `file-client` interface: the client and its handles call the native
//! [`FileClient`](crate::FileClient), [`RemoteFile`](crate::RemoteFile) and
//! [`RemoteWriteFile`](crate::RemoteWriteFile); `*-via-stream` turn a handle into a `wasi:io`
//! stream over positioned reads and writes.

use std::sync::Arc;

use tokio::sync::Mutex;
use wasmtime::component::Resource;
use wasmtime_wasi_io::streams::{DynInputStream, DynOutputStream};

use crate::file_client::FileClient;
use crate::guest::below::{BelowClient, BelowRead, BelowWrite};
use crate::guest::bindings::middleware::remote::machine::file_client::{
    Host, HostClient, HostReadHandle, HostWriteHandle,
};
use crate::guest::bindings::middleware::remote::machine::types::{
    DirEntry, FileStat, OpenFlags, Statfs, Timestamp,
};
use crate::guest::ctx::GuestCtx;
use crate::guest::error::HostResult;
use crate::guest::streams::{FileInput, FileOutput};

impl Host for GuestCtx {}

impl GuestCtx {
    fn client(&self, c: &Resource<BelowClient>) -> wasmtime::Result<Arc<dyn FileClient>> {
        Ok(self.table.get(c)?.0.clone())
    }
}

impl HostClient for GuestCtx {
    async fn open(
        &mut self,
        c: Resource<BelowClient>,
        path: String,
    ) -> HostResult<Resource<BelowRead>> {
        let f = self.client(&c)?.open(&path).await?;
        Ok(self.push_handle(BelowRead(Arc::new(Mutex::new(f))))?)
    }

    async fn create(
        &mut self,
        c: Resource<BelowClient>,
        path: String,
    ) -> HostResult<Resource<BelowWrite>> {
        let f = self.client(&c)?.create(&path).await?;
        Ok(self.push_handle(BelowWrite(Arc::new(Mutex::new(f))))?)
    }

    async fn open_file(
        &mut self,
        c: Resource<BelowClient>,
        path: String,
        flags: OpenFlags,
        mode: u32,
    ) -> HostResult<Resource<BelowWrite>> {
        let f = self
            .client(&c)?
            .open_file(&path, flags.into(), mode)
            .await?;
        Ok(self.push_handle(BelowWrite(Arc::new(Mutex::new(f))))?)
    }

    async fn stat(&mut self, c: Resource<BelowClient>, path: String) -> HostResult<FileStat> {
        Ok(self.client(&c)?.stat(&path).await?.into())
    }

    async fn lstat(&mut self, c: Resource<BelowClient>, path: String) -> HostResult<FileStat> {
        Ok(self.client(&c)?.lstat(&path).await?.into())
    }

    async fn read_dir(
        &mut self,
        c: Resource<BelowClient>,
        path: String,
    ) -> HostResult<Vec<DirEntry>> {
        let entries = self.client(&c)?.read_dir(&path).await?;
        Ok(entries.into_iter().map(Into::into).collect())
    }

    async fn readlink(&mut self, c: Resource<BelowClient>, path: String) -> HostResult<String> {
        Ok(self.client(&c)?.readlink(&path).await?)
    }

    async fn mkdir(&mut self, c: Resource<BelowClient>, path: String, mode: u32) -> HostResult<()> {
        Ok(self.client(&c)?.mkdir(&path, mode).await?)
    }

    async fn mkdir_all(
        &mut self,
        c: Resource<BelowClient>,
        path: String,
        mode: u32,
    ) -> HostResult<()> {
        Ok(self.client(&c)?.mkdir_all(&path, mode).await?)
    }

    async fn remove(&mut self, c: Resource<BelowClient>, path: String) -> HostResult<()> {
        Ok(self.client(&c)?.remove(&path).await?)
    }

    async fn rename(
        &mut self,
        c: Resource<BelowClient>,
        old: String,
        new: String,
    ) -> HostResult<()> {
        Ok(self.client(&c)?.rename(&old, &new).await?)
    }

    async fn symlink(
        &mut self,
        c: Resource<BelowClient>,
        target: String,
        link: String,
    ) -> HostResult<()> {
        Ok(self.client(&c)?.symlink(&target, &link).await?)
    }

    async fn link(&mut self, c: Resource<BelowClient>, old: String, new: String) -> HostResult<()> {
        Ok(self.client(&c)?.link(&old, &new).await?)
    }

    async fn chmod(&mut self, c: Resource<BelowClient>, path: String, mode: u32) -> HostResult<()> {
        Ok(self.client(&c)?.chmod(&path, mode).await?)
    }

    async fn chown(
        &mut self,
        c: Resource<BelowClient>,
        path: String,
        uid: u32,
        gid: u32,
    ) -> HostResult<()> {
        Ok(self.client(&c)?.chown(&path, uid, gid).await?)
    }

    async fn chtimes(
        &mut self,
        c: Resource<BelowClient>,
        path: String,
        atime: Timestamp,
        mtime: Timestamp,
    ) -> HostResult<()> {
        Ok(self
            .client(&c)?
            .chtimes(&path, atime.into(), mtime.into())
            .await?)
    }

    async fn truncate(
        &mut self,
        c: Resource<BelowClient>,
        path: String,
        size: u64,
    ) -> HostResult<()> {
        Ok(self.client(&c)?.truncate(&path, size).await?)
    }

    async fn statfs(&mut self, c: Resource<BelowClient>, path: String) -> HostResult<Statfs> {
        Ok(self.client(&c)?.statfs(&path).await?.into())
    }

    async fn getwd(&mut self, c: Resource<BelowClient>) -> HostResult<String> {
        Ok(self.client(&c)?.getwd().await?)
    }

    async fn drop(&mut self, c: Resource<BelowClient>) -> wasmtime::Result<()> {
        self.delete_handle(c)?;
        Ok(())
    }
}

impl HostReadHandle for GuestCtx {
    async fn read(&mut self, h: Resource<BelowRead>, len: u64) -> HostResult<Vec<u8>> {
        let f = self.table.get(&h)?.0.clone();
        Ok(f.lock().await.read(len).await?)
    }

    async fn read_at(
        &mut self,
        h: Resource<BelowRead>,
        offset: u64,
        len: u64,
    ) -> HostResult<Vec<u8>> {
        let f = self.table.get(&h)?.0.clone();
        Ok(f.lock().await.read_at(offset, len).await?)
    }

    async fn read_via_stream(
        &mut self,
        h: Resource<BelowRead>,
        offset: u64,
    ) -> HostResult<Resource<DynInputStream>> {
        let f = self.table.get(&h)?.0.clone();
        let stream: DynInputStream = Box::new(FileInput::new(f, offset));
        Ok(self.table.push_child(stream, &h)?)
    }

    async fn sync(&mut self, h: Resource<BelowRead>) -> HostResult<()> {
        let f = self.table.get(&h)?.0.clone();
        Ok(f.lock().await.sync().await?)
    }

    async fn close(&mut self, h: Resource<BelowRead>) -> HostResult<()> {
        let f = self.table.get(&h)?.0.clone();
        Ok(f.lock().await.close().await?)
    }

    async fn drop(&mut self, h: Resource<BelowRead>) -> wasmtime::Result<()> {
        let f = self.delete_handle(h)?;
        let _ = f.0.lock().await.close().await;
        Ok(())
    }
}

impl HostWriteHandle for GuestCtx {
    async fn write(&mut self, h: Resource<BelowWrite>, data: Vec<u8>) -> HostResult<u64> {
        let f = self.table.get(&h)?.0.clone();
        Ok(f.lock().await.write(&data).await?)
    }

    async fn read_at(
        &mut self,
        h: Resource<BelowWrite>,
        offset: u64,
        len: u64,
    ) -> HostResult<Vec<u8>> {
        let f = self.table.get(&h)?.0.clone();
        Ok(f.lock().await.read_at(offset, len).await?)
    }

    async fn write_at(
        &mut self,
        h: Resource<BelowWrite>,
        offset: u64,
        data: Vec<u8>,
    ) -> HostResult<u64> {
        let f = self.table.get(&h)?.0.clone();
        Ok(f.lock().await.write_at(offset, &data).await?)
    }

    async fn write_via_stream(
        &mut self,
        h: Resource<BelowWrite>,
        offset: u64,
    ) -> HostResult<Resource<DynOutputStream>> {
        let f = self.table.get(&h)?.0.clone();
        let stream: DynOutputStream = Box::new(FileOutput::at(f, offset));
        Ok(self.table.push_child(stream, &h)?)
    }

    async fn append_via_stream(
        &mut self,
        h: Resource<BelowWrite>,
    ) -> HostResult<Resource<DynOutputStream>> {
        let f = self.table.get(&h)?.0.clone();
        let stream: DynOutputStream = Box::new(FileOutput::appending(f));
        Ok(self.table.push_child(stream, &h)?)
    }

    async fn stat(&mut self, h: Resource<BelowWrite>) -> HostResult<FileStat> {
        let f = self.table.get(&h)?.0.clone();
        Ok(f.lock().await.stat().await?.into())
    }

    async fn truncate(&mut self, h: Resource<BelowWrite>, size: u64) -> HostResult<()> {
        let f = self.table.get(&h)?.0.clone();
        Ok(f.lock().await.truncate(size).await?)
    }

    async fn sync(&mut self, h: Resource<BelowWrite>) -> HostResult<()> {
        let f = self.table.get(&h)?.0.clone();
        Ok(f.lock().await.sync().await?)
    }

    async fn close(&mut self, h: Resource<BelowWrite>) -> HostResult<()> {
        let f = self.table.get(&h)?.0.clone();
        Ok(f.lock().await.close().await?)
    }

    async fn drop(&mut self, h: Resource<BelowWrite>) -> wasmtime::Result<()> {
        let f = self.delete_handle(h)?;
        let _ = f.0.lock().await.close().await;
        Ok(())
    }
}
