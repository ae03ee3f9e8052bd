//! How failures cross the guest boundary: [`HostError`] for what a host import returns, and the
//! native [`Error`] carried through a `wasi:io` stream failure in both directions.
//!
//! A leaf module: the bindings name [`HostError`] as the trappable error type, and the import
//! glue, the streams and the wrapped exports all build on it, so it depends on none of them.

use std::io;

use wasmtime_wasi_io::streams::StreamError;

use crate::error::{Error, ErrorCode};

/// What a host import returns on failure: an error for the guest to handle, or a trap (a bad
/// handle, a host bug) that ends the guest's call.
#[derive(Debug)]
pub enum HostError {
    /// A `types.error` for the guest.
    Code(Error),
    /// A trap.
    Trap(wasmtime::Error),
}

impl From<Error> for HostError {
    fn from(e: Error) -> HostError {
        HostError::Code(e)
    }
}

impl From<wasmtime::Error> for HostError {
    fn from(e: wasmtime::Error) -> HostError {
        HostError::Trap(e)
    }
}

impl From<wasmtime::component::ResourceTableError> for HostError {
    fn from(e: wasmtime::component::ResourceTableError) -> HostError {
        HostError::Trap(e.into())
    }
}

/// The result of a host import.
pub type HostResult<T> = Result<T, HostError>;

/// The native error behind a stream failure, when it came from this crate.
pub(crate) fn cause_of(err: &wasmtime::Error) -> Option<Error> {
    if let Some(e) = err.downcast_ref::<Error>() {
        return Some(e.clone());
    }
    err.downcast_ref::<io::Error>().map(|io| {
        match io.get_ref().and_then(|inner| inner.downcast_ref::<Error>()) {
            Some(e) => e.clone(),
            None => Error::from_io("stream", "", io::Error::new(io.kind(), io.to_string())),
        }
    })
}

/// A stream failure carrying the native error, which `types.stream-error-cause` gives back.
pub(crate) fn failed(e: Error) -> StreamError {
    StreamError::LastOperationFailed(wasmtime::Error::new(e))
}

/// The native error behind a stream failure.
pub(crate) fn stream_error(op: &str, e: StreamError) -> Error {
    match e {
        StreamError::Closed => Error::new(ErrorCode::ConnectionLost, op, "", "the stream closed"),
        StreamError::LastOperationFailed(e) | StreamError::Trap(e) => {
            cause_of(&e).unwrap_or_else(|| Error::new(ErrorCode::Io, op, "", format!("{e:#}")))
        }
    }
}

/// The native error behind a stream failure, as an `io::Error` whose source keeps it.
pub(crate) fn io_error(what: &str, e: StreamError) -> io::Error {
    match e {
        StreamError::Closed => io::Error::new(io::ErrorKind::BrokenPipe, format!("{what} closed")),
        failed => io::Error::other(stream_error(what, failed)),
    }
}
