//! A guest's exports as a native [`Backend`](crate::Backend): the adapters that let the CLI, the conformance
//! suite and other guests use a guest-wrapped backend like any other.
//!
//! The native traits have synchronous methods where the WIT's are calls into the guest
//! (identity, connection state, a session's pipes and environment), and a store cannot be entered
//! synchronously from async code. So identity is read once when the backend is made, connection
//! state after each call that can change it, and a session's pipes and environment are recorded
//! and handed to the guest at `start`, in the WIT's order.
//!
//! # Layout
//! - this file: taking a stream the guest returned out of its store.
//! - `backend`: [`GuestBackend`].
//! - `session`: [`GuestSession`](session::GuestSession).
//! - `file_client`: the file client and its handles.
//! - `pipes`: native pipes over the streams a guest's session returns.

mod backend;
mod file_client;
mod pipes;
mod session;

use super::instance::State;
use crate::error::{Error, ErrorCode, Result};

pub use backend::GuestBackend;
pub use file_client::{GuestFiles, GuestRead, GuestWrite};
pub use session::GuestSession;

/// Takes a stream the guest returned out of its store: from now on the host reads or writes it
/// directly, without entering the guest (and without copying through its memory).
fn take_stream<S: 'static>(
    state: &mut State,
    op: &str,
    r: Result<wasmtime::component::Resource<S>>,
) -> Result<S> {
    let res = r?;
    let live = state.live.as_mut().ok_or_else(|| {
        Error::new(
            ErrorCode::ConnectionLost,
            op,
            "",
            "the guest stopped before its stream was taken",
        )
    })?;
    live.store.data_mut().table.delete(res).map_err(|e| {
        Error::new(
            ErrorCode::Io,
            op,
            "",
            format!("the guest returned a stream the host cannot take: {e}"),
        )
    })
}
