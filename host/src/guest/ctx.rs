//! The state a guest's store holds ([`GuestCtx`]), built by [`GuestCtxBuilder`]; the
//! [`GuestView`] through which a store's state lends it; and [`add_to_linker`], which gives a
//! linker every import a guest of `remote:machine` may use.
//!
//! As with wasmtime's `WasiView`, the context need not be the store's whole state: an embedder
//! keeps its own state and hands out the guest context (and, for `wasi:io`, the same resource
//! table) through the two views.
//!
//! The WASI context grants nothing: no preopened directories, no environment or arguments, no
//! sockets, stdin closed and stdout/stderr discarded. A guest reaches the target only through the
//! `backend` the host hands it, and the host only through `log`.

use std::sync::Arc;

use wasmtime::component::{HasSelf, Linker, Resource, ResourceTable};
use wasmtime::{StoreLimits, StoreLimitsBuilder};
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};

use super::limits::Limits;
use super::log::LogSink;
use crate::backend::Backend;

/// The host state of one guest instance: its resource table (the layer below and the streams it
/// handed out), its empty WASI context, its limits and where its log lines go.
pub struct GuestCtx {
    pub(crate) table: ResourceTable,
    wasi: WasiCtx,
    pub(crate) limits: StoreLimits,
    pub(crate) below: Option<Arc<dyn Backend>>,
    pub(crate) name: String,
    pub(crate) log: LogSink,
    handles: usize,
    max_handles: usize,
}

impl GuestCtx {
    /// The memory limits to give [`wasmtime::Store::limiter`], so that a guest in an embedder's
    /// store is held to the same limits as in ours.
    pub fn limiter(&mut self) -> &mut StoreLimits {
        &mut self.limits
    }

    /// Hands the guest a handle of the layer below, within its limit (else a trap).
    pub(crate) fn push_handle<T: Send + 'static>(
        &mut self,
        value: T,
    ) -> wasmtime::Result<Resource<T>> {
        if self.handles >= self.max_handles {
            wasmtime::bail!(
                "guest {} already holds {} handles of the layer below, its limit",
                self.name,
                self.max_handles
            );
        }
        let r = self.table.push(value)?;
        self.handles += 1;
        Ok(r)
    }

    /// Takes back a handle the guest dropped.
    pub(crate) fn delete_handle<T: 'static>(&mut self, r: Resource<T>) -> wasmtime::Result<T> {
        let value = self.table.delete(r)?;
        self.handles -= 1;
        Ok(value)
    }
}

/// What a store's state gives the `remote:machine` imports: its [`GuestCtx`].
///
/// The state must also be a [`WasiView`] whose table is the context's own (delegate to
/// [`GuestCtx`]'s `WasiView`): the streams the imports hand out are `wasi:io` resources, found
/// by WASI in that table.
pub trait GuestView: WasiView + Send {
    /// The guest context inside this state.
    fn guest(&mut self) -> &mut GuestCtx;
}

impl GuestView for GuestCtx {
    fn guest(&mut self) -> &mut GuestCtx {
        self
    }
}

impl std::fmt::Debug for GuestCtx {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GuestCtx")
            .field("name", &self.name)
            .field("below", &self.below.as_ref().map(|b| b.backend_type()))
            .finish_non_exhaustive()
    }
}

impl WasiView for GuestCtx {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

/// Builds a [`GuestCtx`].
pub struct GuestCtxBuilder {
    below: Option<Arc<dyn Backend>>,
    name: String,
    limits: Limits,
    log: LogSink,
}

impl std::fmt::Debug for GuestCtxBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GuestCtxBuilder")
            .field("name", &self.name)
            .field("limits", &self.limits)
            .finish_non_exhaustive()
    }
}

impl Default for GuestCtxBuilder {
    fn default() -> GuestCtxBuilder {
        GuestCtxBuilder::new()
    }
}

impl GuestCtxBuilder {
    /// A context with no layer below (its imported `backend.open` fails) and default limits.
    pub fn new() -> GuestCtxBuilder {
        GuestCtxBuilder {
            below: None,
            name: "guest".into(),
            limits: Limits::default(),
            log: super::log::tracing_sink(),
        }
    }

    /// What the imported `backend.open` returns: the layer below this guest.
    pub fn below(mut self, below: Arc<dyn Backend>) -> GuestCtxBuilder {
        self.below = Some(below);
        self
    }

    /// The guest's name in log lines and error messages.
    pub fn name(mut self, name: impl Into<String>) -> GuestCtxBuilder {
        self.name = name.into();
        self
    }

    /// The limits; only the memory part applies to the context, the CPU part to each call.
    pub fn limits(mut self, limits: Limits) -> GuestCtxBuilder {
        self.limits = limits;
        self
    }

    /// Where the guest's `log` calls go (default: `tracing`, target `remote::guest`).
    pub fn log_sink(mut self, sink: LogSink) -> GuestCtxBuilder {
        self.log = sink;
        self
    }

    /// The context.
    pub fn build(self) -> GuestCtx {
        let wasi = WasiCtx::builder()
            .allow_tcp(false)
            .allow_udp(false)
            .allow_ip_name_lookup(false)
            .build();
        GuestCtx {
            table: ResourceTable::new(),
            wasi,
            // A guest that asks for more memory than its limit traps instead of seeing a failed
            // `memory.grow`, so the host reports the limit rather than a confusing abort.
            limits: StoreLimitsBuilder::new()
                .memory_size(self.limits.memory)
                .instances(self.limits.instances)
                .tables(self.limits.instances)
                .memories(self.limits.instances)
                .table_elements(self.limits.table_elements)
                .trap_on_grow_failure(true)
                .build(),
            below: self.below,
            name: self.name,
            log: self.log,
            handles: 0,
            max_handles: self.limits.handles,
        }
    }
}

/// Adds every import of the `remote:machine` worlds (and WASI, granting nothing) to `linker`,
/// for any store state that lends a [`GuestCtx`].
pub fn add_to_linker<T: GuestView + 'static>(linker: &mut Linker<T>) -> wasmtime::Result<()> {
    use super::bindings::middleware::remote::machine as rm;
    // WASI (with `wasi:io`, whose streams the interfaces below hand out), then ours.
    wasmtime_wasi::p2::add_to_linker_async(linker)?;
    rm::types::add_to_linker::<T, HasSelf<GuestCtx>>(linker, T::guest)?;
    rm::session::add_to_linker::<T, HasSelf<GuestCtx>>(linker, T::guest)?;
    rm::file_client::add_to_linker::<T, HasSelf<GuestCtx>>(linker, T::guest)?;
    rm::backend::add_to_linker::<T, HasSelf<GuestCtx>>(linker, T::guest)?;
    rm::log::add_to_linker::<T, HasSelf<GuestCtx>>(linker, T::guest)
}
