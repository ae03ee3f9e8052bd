//! The imported resources: what a guest holds of the layer below it. Each wraps a native trait
//! object, so the layer below is any [`Backend`]: a native one or another guest.

use std::sync::Arc;

use tokio::sync::Mutex;

use crate::backend::Backend;
use crate::file_client::{FileClient, RemoteFile, RemoteWriteFile};
use crate::session::Session;

/// An imported `backend`.
pub struct BelowBackend(pub(crate) Arc<dyn Backend>);

/// An imported `session`.
pub struct BelowSession(pub(crate) Box<dyn Session>);

/// An imported `client`.
pub struct BelowClient(pub(crate) Arc<dyn FileClient>);

/// An imported `read-handle`; shared with the streams `read-via-stream` made from it.
pub struct BelowRead(pub(crate) Arc<Mutex<Box<dyn RemoteFile>>>);

/// An imported `write-handle`; shared with the streams made from it.
pub struct BelowWrite(pub(crate) Arc<Mutex<Box<dyn RemoteWriteFile>>>);

macro_rules! opaque_debug {
    ($($t:ident),*) => {$(
        impl std::fmt::Debug for $t {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.debug_struct(stringify!($t)).finish_non_exhaustive()
            }
        }
    )*};
}
opaque_debug!(
    BelowBackend,
    BelowSession,
    BelowClient,
    BelowRead,
    BelowWrite
);
