//! The host side of the `remote:machine` imports, one module per WIT interface, as wasmtime
//! splits `crates/wasi/src/p2/host`: each implements the generated `Host*` traits for
//! [`GuestCtx`](crate::guest::GuestCtx) by looking up the resource, converting the types and
//! calling the native trait of the layer below.

mod backend;
mod file_client;
mod log;
mod session;
mod types;
