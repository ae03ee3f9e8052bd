//! A running middleware guest: its store and instance, the per-call limits, and the restart
//! after a trap. Everything the adapters in `wrapped` call goes through [`call!`].
//!
//! A store is used by one call at a time, so the state sits behind an async mutex held for the
//! whole call (including the host calls the guest makes, e.g. a `session.wait`). Layers stack by
//! holding the next layer as a native `Backend`, so locks are only ever taken top-down.
//!
//! When a call traps (a CPU or memory limit, a guest bug), the instance is dropped with every
//! resource it held and the generation advances; the next call instantiates the guest afresh,
//! configures it and re-opens its backend. Sessions and file handles of the old generation then
//! fail with `connection-lost`; the backend and its file client are re-created transparently.

use std::sync::Arc;

use wasmtime::component::ResourceAny;
use wasmtime::{CallHook, Store};

use super::bindings::middleware::remote::machine::types::Error as WitError;
use super::bindings::middleware::{Middleware, MiddlewarePre};
use super::ctx::{GuestCtx, GuestCtxBuilder};
use super::limits::Limits;
use super::log::LogSink;
use crate::backend::Backend;
use crate::error::{Error, ErrorCode, Result};

/// What every instance of one guest shares: the compiled component and how to configure it.
pub(crate) struct Blueprint {
    pub name: String,
    pub pre: MiddlewarePre<GuestCtx>,
    pub config: String,
    pub limits: Limits,
    pub log: LogSink,
}

/// One instance of a guest with the backend it opened.
pub(crate) struct Live {
    pub store: Store<GuestCtx>,
    pub b: Middleware,
    pub backend: ResourceAny,
    pub client: Option<ResourceAny>,
}

/// Sets the CPU budget of the next call.
fn budget(store: &mut Store<GuestCtx>, limits: &Limits) -> Result<()> {
    if let Some(fuel) = limits.fuel {
        store
            .set_fuel(fuel)
            .map_err(|e| Error::new(ErrorCode::Io, "guest", "", format!("set fuel: {e}")))?;
    }
    if let Some(ticks) = limits.ticks() {
        store.set_epoch_deadline(ticks);
    }
    Ok(())
}

/// A new store for `bp` whose imported `open` returns `below`.
pub(crate) fn store(bp: &Blueprint, below: Arc<dyn Backend>) -> Result<Store<GuestCtx>> {
    let ctx = GuestCtxBuilder::new()
        .below(below)
        .name(bp.name.clone())
        .limits(bp.limits.clone())
        .log_sink(bp.log.clone())
        .build();
    let mut store = Store::new(bp.pre.engine(), ctx);
    store.limiter(|c| &mut c.limits);
    if let Some(ticks) = bp.limits.ticks() {
        // Only time inside the guest counts: a host call that waits (for a command, a network)
        // restarts the clock when it returns.
        store.call_hook(move |mut cx, hook| {
            if matches!(hook, CallHook::ReturningFromHost) {
                cx.set_epoch_deadline(ticks);
            }
            Ok(())
        });
    }
    budget(&mut store, &bp.limits)?;
    Ok(store)
}

/// Instantiates and configures the guest: `Err` carries the guest's own words for a bad
/// configuration.
pub(crate) async fn instantiate(bp: &Blueprint, store: &mut Store<GuestCtx>) -> Result<Middleware> {
    let b = bp
        .pre
        .instantiate_async(&mut *store)
        .await
        .map_err(|e| trap_error(bp, "instantiate", "", &e))?;
    budget(store, &bp.limits)?;
    b.remote_machine_guest()
        .call_configure(&mut *store, &bp.config)
        .await
        .map_err(|e| trap_error(bp, "configure", "", &e))?
        .map_err(|why| {
            Error::new(
                ErrorCode::InvalidArgument,
                "configure",
                &bp.name,
                format!("the guest refused its configuration: {why}"),
            )
        })?;
    Ok(b)
}

/// The error for a failed call into the guest: `timeout` for the CPU limit, `io` otherwise.
pub(crate) fn trap_error(bp: &Blueprint, op: &str, target: &str, e: &wasmtime::Error) -> Error {
    let cpu = matches!(
        e.downcast_ref::<wasmtime::Trap>(),
        Some(wasmtime::Trap::OutOfFuel | wasmtime::Trap::Interrupt)
    );
    if cpu {
        Error::new(
            ErrorCode::Timeout,
            op,
            target,
            format!(
                "guest {} exceeded its CPU limit ({} per call) and was stopped",
                bp.name,
                bp.limits.cpu()
            ),
        )
    } else {
        Error::new(
            ErrorCode::Io,
            op,
            target,
            format!("guest {} failed and was stopped: {e:#}", bp.name),
        )
    }
}

/// The mutable part of a guest behind a backend: the live instance, if any, and its generation.
pub(crate) struct State {
    pub live: Option<Live>,
    pub generation: u64,
    pub started: bool,
}

/// Everything a guest-wrapped backend and the objects it handed out share.
pub(crate) struct Shared {
    pub bp: Arc<Blueprint>,
    pub below: Arc<dyn Backend>,
    pub dest: String,
    pub state: tokio::sync::Mutex<State>,
    /// Resources whose native owner was dropped, to be dropped in the guest at the next chance.
    pub drops: std::sync::Mutex<Vec<(u64, ResourceAny)>>,
}

impl Shared {
    /// Drops `r` (of `generation`) in the guest: now if a runtime is at hand, else at the next
    /// call.
    pub fn drop_later(self: &Arc<Self>, generation: u64, r: ResourceAny) {
        self.drops
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push((generation, r));
        if let Ok(rt) = tokio::runtime::Handle::try_current() {
            let shared = self.clone();
            rt.spawn(async move {
                let mut state = shared.state.lock().await;
                state.drain(&shared).await;
            });
        }
    }
}

impl State {
    /// Makes sure an instance runs, then sets the call's CPU budget. `generation` is the one a
    /// session or handle belongs to; an older one is gone with its instance.
    pub async fn enter(
        &mut self,
        shared: &Shared,
        op: &str,
        generation: Option<u64>,
    ) -> Result<&mut Live> {
        if let Some(g) = generation {
            self.check_generation(shared, op, g)?;
        }
        self.drain(shared).await;
        if self.live.is_none() {
            self.live = Some(self.fresh(shared).await?);
        }
        let live = self.live.as_mut().unwrap_or_else(|| unreachable!());
        budget(&mut live.store, &shared.bp.limits)?;
        Ok(live)
    }

    /// Whether an object of `generation` (a session, a handle, a stream taken from one) is
    /// still of the running instance: an older one went with the instance a failure stopped.
    pub fn check_generation(&self, shared: &Shared, op: &str, generation: u64) -> Result<()> {
        if generation != self.generation {
            return Err(Error::new(
                ErrorCode::ConnectionLost,
                op,
                &shared.bp.name,
                "the guest was restarted after a failure; this object went with it",
            ));
        }
        Ok(())
    }

    /// The result of a call made after `enter`: a trap stops the instance.
    pub fn leave<T>(
        &mut self,
        shared: &Shared,
        op: &str,
        target: &str,
        r: wasmtime::Result<std::result::Result<T, WitError>>,
    ) -> Result<T> {
        match r {
            Ok(Ok(v)) => Ok(v),
            Ok(Err(e)) => Err(e.into()),
            Err(trap) => {
                self.live = None;
                self.generation += 1;
                Err(trap_error(&shared.bp, op, target, &trap))
            }
        }
    }

    /// A new instance with its backend opened (and started, if the old one was).
    async fn fresh(&mut self, shared: &Shared) -> Result<Live> {
        let bp = &shared.bp;
        let mut store = store(bp, shared.below.clone())?;
        let b = instantiate(bp, &mut store).await?;
        budget(&mut store, &bp.limits)?;
        let r = b
            .remote_machine_backend()
            .call_open(&mut store, &shared.dest)
            .await;
        let backend = self.leave(shared, "open", &shared.dest, r)?;
        let mut live = Live {
            store,
            b,
            backend,
            client: None,
        };
        if self.started {
            budget(&mut live.store, &bp.limits)?;
            let r = live
                .b
                .remote_machine_backend()
                .backend()
                .call_start(&mut live.store, backend)
                .await;
            self.leave(shared, "start", &shared.dest, r)?;
        }
        Ok(live)
    }

    /// The file client of the current instance, made on first use.
    pub async fn client(&mut self, shared: &Shared) -> Result<ResourceAny> {
        if let Some(c) = self.live.as_ref().and_then(|l| l.client) {
            return Ok(c);
        }
        let live = self.enter(shared, "files", None).await?;
        let r = live
            .b
            .remote_machine_backend()
            .backend()
            .call_files(&mut live.store, live.backend)
            .await;
        let c = self.leave(shared, "files", &shared.dest, r)?;
        if let Some(live) = &mut self.live {
            live.client = Some(c);
        }
        Ok(c)
    }

    /// Drops the resources whose native owners are gone (those of a dead instance went with it).
    pub async fn drain(&mut self, shared: &Shared) {
        let pending: Vec<_> =
            std::mem::take(&mut *shared.drops.lock().unwrap_or_else(|p| p.into_inner()));
        for (generation, r) in pending {
            if generation != self.generation {
                continue;
            }
            let Some(live) = &mut self.live else { continue };
            if budget(&mut live.store, &shared.bp.limits).is_err() {
                continue;
            }
            if let Err(trap) = r.resource_drop_async(&mut live.store).await {
                tracing::debug!(target: "remote::guest", "dropping a resource in guest {}: {trap:#}", shared.bp.name);
                self.live = None;
                self.generation += 1;
            }
        }
    }
}

/// Runs one call into the guest: `call!(state, shared, op, target, generation, live => body)`,
/// where `state` is the locked [`State`], `body` a future using `live: &mut Live`, and the
/// result a native `Result`. (Not closure syntax, so rustfmt leaves the body alone: wrapped in a
/// block, the body's temporaries would be dropped before the call completes.)
macro_rules! call {
    ($state:expr, $shared:expr, $op:expr, $target:expr, $generation:expr, $live:ident => $body:expr) => {{
        let state: &mut $crate::guest::instance::State = &mut *$state;
        let shared: &$crate::guest::instance::Shared = &*$shared;
        match state.enter(shared, $op, $generation).await {
            Err(e) => Err(e),
            Ok($live) => {
                let r = $body.await;
                state.leave(shared, $op, $target, r)
            }
        }
    }};
}
pub(crate) use call;
