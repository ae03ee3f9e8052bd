//! The imported `session` interface: each method calls the native [`Session`](crate::Session)
//! behind the handle; its pipes become `wasi:io` streams the guest can hand on.

use wasmtime::component::Resource;
use wasmtime_wasi_io::streams::{DynInputStream, DynOutputStream};

use crate::guest::below::BelowSession;
use crate::guest::bindings::middleware::remote::machine::session::{Host, HostSession};
use crate::guest::bindings::middleware::remote::machine::types::ExitStatus;
use crate::guest::ctx::GuestCtx;
use crate::guest::error::HostResult;
use crate::guest::streams::{PipeInput, PipeOutput};

impl Host for GuestCtx {}

impl HostSession for GuestCtx {
    async fn stdin(&mut self, s: Resource<BelowSession>) -> HostResult<Resource<DynOutputStream>> {
        let pipe = self.table.get_mut(&s)?.0.stdin()?;
        let stream: DynOutputStream = Box::new(PipeOutput::new(pipe));
        Ok(self.table.push(stream)?)
    }

    async fn stdout(&mut self, s: Resource<BelowSession>) -> HostResult<Resource<DynInputStream>> {
        let pipe = self.table.get_mut(&s)?.0.stdout()?;
        let stream: DynInputStream = Box::new(PipeInput::new(pipe));
        Ok(self.table.push(stream)?)
    }

    async fn stderr(&mut self, s: Resource<BelowSession>) -> HostResult<Resource<DynInputStream>> {
        let pipe = self.table.get_mut(&s)?.0.stderr()?;
        let stream: DynInputStream = Box::new(PipeInput::new(pipe));
        Ok(self.table.push(stream)?)
    }

    async fn setenv(
        &mut self,
        s: Resource<BelowSession>,
        name: String,
        value: String,
    ) -> HostResult<()> {
        Ok(self.table.get_mut(&s)?.0.setenv(&name, &value)?)
    }

    async fn start(&mut self, s: Resource<BelowSession>, cmd: String) -> HostResult<()> {
        Ok(self.table.get_mut(&s)?.0.start(&cmd).await?)
    }

    async fn wait(&mut self, s: Resource<BelowSession>) -> HostResult<ExitStatus> {
        Ok(self.table.get_mut(&s)?.0.wait().await?.into())
    }

    async fn close(&mut self, s: Resource<BelowSession>) -> HostResult<()> {
        Ok(self.table.get_mut(&s)?.0.close().await?)
    }

    async fn drop(&mut self, s: Resource<BelowSession>) -> wasmtime::Result<()> {
        let mut session = self.delete_handle(s)?;
        // Dropping without close closes, ignoring errors (the WIT's rule for every layer).
        let _ = session.0.close().await;
        Ok(())
    }
}
