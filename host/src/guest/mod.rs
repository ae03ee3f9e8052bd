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
//! - `bindings`: `bindgen!` over `wit/`.
//! - `ctx`: [`GuestCtx`], [`GuestCtxBuilder`] and [`add_to_linker`].
//! - `types`, `backend`, `session`, `file_client`, `log`: the imports, one module per WIT
//!   interface, each calling the native trait behind the resource (`below` holds the resources).
//! - `streams`: `wasi:io` streams over native pipes and files, and back.
//! - `wrapped`: the exports as native traits ([`GuestBackend`]).
//! - `instance`: a running guest, per-call limits, restart after a trap.
//! - `limits`: [`Limits`] and the engines enforcing them; `cache`: compiled components.
//! - `layer`: [`Layer`] (load a middleware guest, wrap a backend) and [`GuestSpec`] (the CLI's
//!   `PATH[=CONFIG_FILE]`).
//! - `compose`: [`ComposeResolver`]; `inspect`: [`inspect()`].

mod backend;
mod below;
mod bindings;
pub mod cache;
mod compose;
mod ctx;
mod file_client;
mod inspect;
mod instance;
mod layer;
mod limits;
mod log;
mod session;
mod streams;
mod types;
mod wrapped;

pub use below::{BelowBackend, BelowClient, BelowRead, BelowSession, BelowWrite};
pub use compose::{ComposeResolver, Container, ProjectContext, Resolution};
pub use ctx::{GuestCtx, GuestCtxBuilder, add_to_linker};
pub use inspect::{Inspection, inspect};
pub use layer::{GuestSpec, Layer, LoadReport, stack};
pub use limits::{Limits, TICK, engine};
pub use log::{LogLevel, LogSink, tracing_sink};
pub use types::{HostError, HostResult};
pub use wrapped::{GuestBackend, GuestFiles, GuestRead, GuestSession, GuestWrite};
