//! The imported `backend` interface: `open` hands the guest the layer below, and each method
//! calls the native [`Backend`](crate::Backend) behind it.

use std::path::Path;
use std::sync::Arc;

use wasmtime::component::Resource;

use crate::guest::below::{BelowBackend, BelowClient, BelowSession};
use crate::guest::bindings::middleware::remote::machine::backend::{Host, HostBackend};
use crate::guest::bindings::middleware::remote::machine::types::{Error as WitError, PlatformInfo};
use crate::guest::ctx::GuestCtx;
use crate::guest::error::HostResult;

impl Host for GuestCtx {
    async fn open(&mut self, dest: String) -> HostResult<Resource<BelowBackend>> {
        // The host chose the layer below when it built this guest's context; the destination
        // the guest passes on is the one the host opened it with, or a rewrite the host ignores.
        let below = self.below.clone().ok_or_else(|| {
            crate::Error::new(
                crate::ErrorCode::Unsupported,
                "open",
                dest,
                "this guest was given no backend below it",
            )
        })?;
        Ok(self.push_handle(BelowBackend(below))?)
    }
}

impl GuestCtx {
    fn backend(&self, b: &Resource<BelowBackend>) -> wasmtime::Result<Arc<dyn crate::Backend>> {
        Ok(self.table.get(b)?.0.clone())
    }
}

impl HostBackend for GuestCtx {
    async fn backend_type(&mut self, b: Resource<BelowBackend>) -> wasmtime::Result<String> {
        Ok(self.backend(&b)?.backend_type())
    }

    async fn addr(&mut self, b: Resource<BelowBackend>) -> wasmtime::Result<String> {
        Ok(self.backend(&b)?.addr())
    }

    async fn user(&mut self, b: Resource<BelowBackend>) -> wasmtime::Result<String> {
        Ok(self.backend(&b)?.user())
    }

    async fn start(&mut self, b: Resource<BelowBackend>) -> HostResult<()> {
        let below = self.backend(&b)?;
        // The layer below is normally handed over started (as `connect` returns backends);
        // starting it again would reconnect for nothing.
        if below.is_connected() {
            return Ok(());
        }
        Ok(below.start().await?)
    }

    async fn is_connected(&mut self, b: Resource<BelowBackend>) -> wasmtime::Result<bool> {
        Ok(self.backend(&b)?.is_connected())
    }

    async fn last_err(&mut self, b: Resource<BelowBackend>) -> wasmtime::Result<Option<WitError>> {
        Ok(self.backend(&b)?.last_err().map(Into::into))
    }

    async fn keep_alive_interval(
        &mut self,
        b: Resource<BelowBackend>,
    ) -> wasmtime::Result<Option<u64>> {
        Ok(self
            .backend(&b)?
            .keep_alive_interval()
            .map(|d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)))
    }

    async fn send_keep_alive(&mut self, b: Resource<BelowBackend>) -> HostResult<()> {
        Ok(self.backend(&b)?.send_keep_alive().await?)
    }

    async fn new_session(
        &mut self,
        b: Resource<BelowBackend>,
    ) -> HostResult<Resource<BelowSession>> {
        let session = self.backend(&b)?.new_session().await?;
        Ok(self.push_handle(BelowSession(session))?)
    }

    async fn files(&mut self, b: Resource<BelowBackend>) -> HostResult<Resource<BelowClient>> {
        let client = self.backend(&b)?.files().await?;
        Ok(self.push_handle(BelowClient(client))?)
    }

    async fn upload_agent(
        &mut self,
        b: Resource<BelowBackend>,
        local: String,
        remote: String,
        mode: u32,
    ) -> HostResult<String> {
        Ok(self
            .backend(&b)?
            .upload_agent(Path::new(&local), &remote, mode)
            .await?)
    }

    async fn detect_platform(&mut self, b: Resource<BelowBackend>) -> HostResult<PlatformInfo> {
        Ok(self.backend(&b)?.detect_platform().await?.into())
    }

    async fn close(&mut self, b: Resource<BelowBackend>) -> HostResult<()> {
        Ok(self.backend(&b)?.close().await?)
    }

    async fn drop(&mut self, b: Resource<BelowBackend>) -> wasmtime::Result<()> {
        // Handles share the one backend below; closing it is the owner's job, not a guest's drop.
        self.delete_handle(b)?;
        Ok(())
    }
}
