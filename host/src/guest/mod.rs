//! Guest components: sandboxed WebAssembly layers that implement the same interfaces as the
//! native backends, stacked on top of any [`Backend`](crate::Backend).
//!
//! A middleware guest (world `middleware` of `wit/`) imports `backend`, `session` and
//! `file-client` and exports them again. The host satisfies its imports with the layer below (a
//! native backend or another guest, through the same native traits) and adapts its exports back
//! into a native [`Backend`]: a guest-wrapped backend is just another backend, so the CLI, the
//! conformance suite and further guests use it unchanged.
//!
//! ```no_run
//! # async fn demo() -> remote_host::Result<()> {
//! use remote_host::guest::{Layer, Limits};
//! use remote_host::{Backend, DestType, connect, parse_destination};
//!
//! let policy = Layer::load("policy.wasm".as_ref(), r#"{"commands":{"allow":["git"]}}"#, Limits::default()).await?;
//! let native = connect(&parse_destination("local://", DestType::Ssh)?).await?;
//! let guarded = policy.wrap(native, "local://").await?;
//! guarded.start().await?;
//! let refused = guarded.new_session().await?.start("rm -rf /").await;
//! assert!(refused.is_err());
//! # Ok(()) }
//! ```
//!
//! # Layout
//! As wasmtime splits `crates/wasi/src/p2`: the bindings, the context and the errors at the top,
//! the glue per WIT interface below them.
//! - `bindings`: `bindgen!` over `wit/`.
//! - `error`: [`HostError`]/[`HostResult`] and the native error carried through a stream.
//! - `ctx`: [`GuestCtx`], [`GuestCtxBuilder`], the [`GuestView`] an embedder's store state gives
//!   and [`add_to_linker`].
//! - `host/{types,backend,session,file_client,log}`: the imports, one module per WIT interface,
//!   each calling the native trait behind the resource (`below` holds the resources).
//! - `streams/{pipe,file}`: `wasi:io` streams over native pipes and file handles.
//! - `wrapped/{backend,session,file_client,pipes}`: the exports as native traits ([`GuestBackend`]).
//! - `instance`: a running guest, per-call limits, restart after a trap.
//! - `limits`: [`Limits`] and the engines enforcing them; `cache`: compiled components.
//! - `log`: where a guest's log lines go ([`LogSink`]).
//! - `layer`: [`Layer`] (load a middleware guest, wrap a backend) and [`GuestSpec`] (the CLI's
//!   `PATH[=CONFIG_FILE]`).
//! - `compose`: [`ComposeResolver`]; `inspect`: [`inspect()`].
//! - [`scaffold`]: new pass-through guests in Rust, Python or JavaScript (`remote guest new`).
mod below;
mod bindings;
pub mod cache;
mod compose;
mod ctx;
mod error;
mod host;
mod inspect;
mod instance;
mod layer;
mod limits;
mod log;
pub mod scaffold;
mod streams;
mod wrapped;

pub use below::{BelowBackend, BelowClient, BelowRead, BelowSession, BelowWrite};
pub use compose::{ComposeResolver, Container, ProjectContext, Resolution};
pub use ctx::{GuestCtx, GuestCtxBuilder, GuestView, add_to_linker};
pub use error::{HostError, HostResult};
pub use inspect::{Inspection, inspect};
pub use layer::{GuestSpec, Layer, LoadReport, stack};
pub use limits::{Limits, TICK, engine};
pub use log::{LogLevel, LogSink, tracing_sink};
pub use wrapped::{GuestBackend, GuestFiles, GuestRead, GuestSession, GuestWrite};
