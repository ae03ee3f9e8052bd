//! The compose resolver guest from the host's side: `ComposeResolver::load(path)?.resolve(…)`
//! with the records of `wit/compose.wit` as its types. `compose://` runs the one embedded in this
//! build ([`ComposeResolver::embedded`]) unless it is given another.
//!
//! The resolver is a pure function, so each call runs in a fresh instance: nothing a call does
//! can leak into the next, and a trap costs only that call.

use std::path::Path;
use std::sync::{Arc, OnceLock};

use wasmtime::Store;
use wasmtime::component::Linker;

pub use super::bindings::compose::exports::remote::machine::compose::{
    Container, ProjectContext, Resolution,
};
use super::bindings::compose::{ComposeResolver as Bindings, ComposeResolverPre};
use super::cache;
use super::ctx::{GuestCtx, GuestCtxBuilder, add_to_linker};
use super::limits::{Limits, engine};
use crate::error::{Error, ErrorCode, Result};

/// A loaded compose-resolver guest.
pub struct ComposeResolver {
    pre: ComposeResolverPre<GuestCtx>,
    limits: Limits,
    name: String,
}

impl std::fmt::Debug for ComposeResolver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ComposeResolver")
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

mod embedded {
    include!(concat!(env!("OUT_DIR"), "/compose_resolver.rs"));
}

impl ComposeResolver {
    /// Loads the component at `path` (default limits and compilation cache).
    pub fn load(path: &Path) -> Result<ComposeResolver> {
        let what = path.display().to_string();
        let wasm = std::fs::read(path).map_err(|e| Error::from_io("load guest", &what, e))?;
        ComposeResolver::from_bytes(&wasm, &what)
    }

    /// The resolver built into this binary (`guests/compose-resolver`), loaded once per process;
    /// `unsupported` naming the fix when this build has none.
    pub fn embedded() -> Result<Arc<ComposeResolver>> {
        static LOADED: OnceLock<std::result::Result<Arc<ComposeResolver>, Error>> = OnceLock::new();
        LOADED
            .get_or_init(|| {
                let wasm = embedded::COMPOSE_RESOLVER.map_err(|why| {
                    Error::new(
                        ErrorCode::Unsupported,
                        "load guest",
                        "compose-resolver",
                        why,
                    )
                })?;
                ComposeResolver::from_bytes(wasm, "the built-in compose-resolver").map(Arc::new)
            })
            .clone()
    }

    /// The size of the resolver built into this binary, or why it has none.
    pub fn embedded_size() -> std::result::Result<usize, &'static str> {
        embedded::COMPOSE_RESOLVER.map(<[u8]>::len)
    }

    /// Loads the component `wasm`, named `what` in errors.
    pub fn from_bytes(wasm: &[u8], what: &str) -> Result<ComposeResolver> {
        let what = what.to_string();
        let limits = Limits::default();
        let engine = engine(&limits);
        let (component, _) = cache::load(&engine, wasm, cache::default_dir().as_deref(), &what)?;
        let mut linker: Linker<GuestCtx> = Linker::new(&engine);
        add_to_linker(&mut linker).map_err(|e| {
            Error::new(
                ErrorCode::Io,
                "load guest",
                &what,
                format!("linking: {e:#}"),
            )
        })?;
        let pre = linker
            .instantiate_pre(&component)
            .and_then(ComposeResolverPre::new)
            .map_err(|e| {
                Error::new(
                    ErrorCode::InvalidArgument,
                    "load guest",
                    &what,
                    format!("not a compose-resolver guest of remote:machine: {e:#}"),
                )
            })?;
        Ok(ComposeResolver {
            pre,
            limits,
            name: what,
        })
    }

    /// Picks the one running container of `service` in `project` (see `wit/compose.wit`).
    pub async fn resolve(
        &self,
        project: &str,
        service: &str,
        sequence: u32,
        context: &ProjectContext,
        containers: &[Container],
    ) -> Result<Resolution> {
        let failed = |op: &str, e: wasmtime::Error| {
            Error::new(
                ErrorCode::Io,
                op,
                &self.name,
                format!("the compose resolver failed: {e:#}"),
            )
        };
        let mut store = Store::new(
            self.pre.engine(),
            GuestCtxBuilder::new()
                .name(self.name.clone())
                .limits(self.limits.clone())
                .build(),
        );
        store.limiter(|c| &mut c.limits);
        if let Some(ticks) = self.limits.ticks() {
            store.set_epoch_deadline(ticks);
        }
        let b: Bindings = self
            .pre
            .instantiate_async(&mut store)
            .await
            .map_err(|e| failed("instantiate", e))?;
        b.remote_machine_guest()
            .call_configure(&mut store, "{}")
            .await
            .map_err(|e| failed("configure", e))?
            .map_err(|why| Error::new(ErrorCode::InvalidArgument, "configure", &self.name, why))?;
        b.remote_machine_compose()
            .call_resolve(&mut store, project, service, sequence, context, containers)
            .await
            .map_err(|e| failed("resolve", e))?
            .map_err(Error::from)
    }
}
