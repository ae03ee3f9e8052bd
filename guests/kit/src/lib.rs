//! What every middleware guest of `remote` shares: the bindings of the `middleware` world, a
//! wrapper that implements every exported function by calling the layer below, and path helpers.
//!
//! A guest supplies a [`Layer`]: the decisions (rewrite this path, refuse that command), not the
//! plumbing. The kit's [`Middleware`] wraps each imported resource in an exported one and asks
//! the layer at every point where a destination, command, environment variable or path goes down
//! or comes back up. Streams (session pipes, `*-via-stream`) are handed on as the resources they
//! are, so bulk data never passes through the guest's memory.
//!
//! ```ignore
//! struct Upper;
//! impl remote_guest_kit::Layer for Upper { /* … */ }
//! type Component = remote_guest_kit::Middleware<Upper>;
//! remote_guest_kit::bindings::export!(Component with_types_in remote_guest_kit::bindings);
//! ```
//!
//! # Layout
//! - [`bindings`]: `wit_bindgen::generate!` over `wit/`, world `middleware`.
//! - `layer`: the [`Layer`] trait and the configuration slot.
//! - `backend`, `session`, `file_client`: the exported resources (`Wrapped*`), one module per
//!   WIT interface, each over the imported one (`Below*`): the host's vocabulary too.
//! - `fuzz` (feature `fuzz`): strategies for the guests' configuration property tests.
//! - [`path`]: lexical path helpers and symlink resolution through the layer below.
#![deny(missing_docs)]

/// The generated bindings of the `middleware` world (imports under `remote::machine`, exports
/// under `exports::remote::machine`).
#[allow(missing_docs, reason = "generated code")]
pub mod bindings {
    wit_bindgen::generate!({
        world: "middleware",
        path: "../../wit",
        generate_all,
        pub_export_macro: true,
        default_bindings_module: "remote_guest_kit::bindings",
    });
}

mod backend;
mod file_client;
#[cfg(feature = "fuzz")]
pub mod fuzz;
mod layer;
pub mod path;
mod session;

pub use bindings::remote::machine::backend::Backend as BelowBackend;
pub use bindings::remote::machine::file_client::Client as BelowClient;
pub use bindings::remote::machine::log::{Level, log};
pub use bindings::remote::machine::types::{Error, ErrorCode};
pub use layer::{Access, Layer, LazyFiles, Middleware, layer};

/// An error with every field filled in.
pub fn error(code: ErrorCode, op: &str, target: &str, message: impl Into<String>) -> Error {
    Error {
        code,
        op: op.to_string(),
        target: target.to_string(),
        message: message.into(),
    }
}
