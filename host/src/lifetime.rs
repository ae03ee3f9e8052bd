//! Whether a backend is still open, shared with everything it hands out.
//!
//! The WIT's contract is that closing a backend ends what was obtained from it: sessions, the
//! file client and open handles then fail with `connection-lost`, and a running command is
//! ended. Backends whose parts hold no connection of their own (local processes and files, a
//! container's execs) carry a [`Lifetime`] into each part, which checks it before every
//! operation and waits on it while a command runs.

use tokio_util::sync::CancellationToken;

use crate::error::{Error, ErrorCode, Result};

/// The open-or-closed state of one backend; clones share it.
#[derive(Debug, Clone, Default)]
pub struct Lifetime(CancellationToken);

impl Lifetime {
    /// An open lifetime.
    pub fn new() -> Lifetime {
        Lifetime::default()
    }

    /// Ends it, for every clone; ending it again does nothing.
    pub fn end(&self) {
        self.0.cancel();
    }

    /// Whether it ended.
    pub fn is_ended(&self) -> bool {
        self.0.is_cancelled()
    }

    /// `connection-lost` for `op` on `target` once it ended.
    pub fn check(&self, op: &str, target: &str) -> Result<()> {
        if self.is_ended() {
            return Err(closed(op, target));
        }
        Ok(())
    }

    /// Resolves when it ends.
    pub async fn ended(&self) {
        self.0.cancelled().await;
    }
}

/// The error of an operation on (or through) a closed backend.
pub fn closed(op: &str, target: &str) -> Error {
    Error::new(
        ErrorCode::ConnectionLost,
        op,
        target,
        "the backend is closed",
    )
}
