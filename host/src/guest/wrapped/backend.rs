//! A guest's exported `backend` as a native [`Backend`]: identity read once, connection state
//! refreshed after each call that can change it.

use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use futures::TryFutureExt as _;

use super::super::instance::{Shared, State, call};
use super::{GuestFiles, GuestSession};
use crate::backend::Backend;
use crate::error::{Error, ErrorCode, Result};
use crate::file_client::FileClient;
use crate::session::Session;
use crate::types::PlatformInfo;

/// One backend method: `backend!(state, shared, "op", target, method(args…))` calls `method` on
/// the current instance's backend; `, infallible` marks a WIT method without an error, whose
/// answer is wrapped so the call reads like the others.
macro_rules! backend {
    (@call $live:ident, $method:ident($($arg:expr),*)) => {
        $live
            .b
            .remote_machine_backend()
            .backend()
            .$method(&mut $live.store, $live.backend $(, $arg)*)
    };
    (@call $live:ident, $method:ident($($arg:expr),*), infallible) => {
        backend!(@call $live, $method($($arg),*)).map_ok(Ok)
    };
    ($state:expr, $shared:expr, $op:literal, $target:expr, $method:ident($($arg:expr),*) $(, $infallible:ident)?) => {
        call!($state, $shared, $op, $target, None, live => backend!(@call live, $method($($arg),*) $(, $infallible)?))
    };
}

/// What the native API asks synchronously, as last learned from the guest.
#[derive(Debug, Clone, Default)]
struct Known {
    backend_type: String,
    addr: String,
    user: String,
    keep_alive: Option<Duration>,
    connected: bool,
    last_err: Option<Error>,
}

/// A backend implemented by a guest on top of the layer below it.
pub struct GuestBackend {
    shared: Arc<Shared>,
    known: Mutex<Known>,
}

impl std::fmt::Debug for GuestBackend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GuestBackend")
            .field("guest", &self.shared.bp.name)
            .field("dest", &self.shared.dest)
            .finish_non_exhaustive()
    }
}

impl GuestBackend {
    /// Instantiates the guest over `shared.below`, opens its backend and learns its identity.
    pub(crate) async fn new(shared: Arc<Shared>) -> Result<GuestBackend> {
        let known = {
            let mut state = shared.state.lock().await;
            identity(&mut state, &shared).await?
        };
        Ok(GuestBackend {
            shared,
            known: Mutex::new(known),
        })
    }

    fn known(&self) -> std::sync::MutexGuard<'_, Known> {
        self.known.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Asks the guest again whether it is connected and what its last error was.
    async fn refresh(&self, state: &mut State) {
        let connected = backend!(
            state,
            self.shared,
            "is-connected",
            "",
            call_is_connected(),
            infallible
        );
        let last = backend!(
            state,
            self.shared,
            "last-err",
            "",
            call_last_err(),
            infallible
        );
        let mut k = self.known();
        k.connected = connected.unwrap_or(false);
        k.last_err = match last {
            Ok(e) => e.map(Into::into),
            Err(e) => Some(e),
        };
    }

    /// The result of an operation, refreshing the connection state when it was lost.
    async fn noting<T>(&self, state: &mut State, r: Result<T>) -> Result<T> {
        if r.as_ref()
            .is_err_and(|e| e.code() == ErrorCode::ConnectionLost)
        {
            self.refresh(state).await;
        }
        r
    }
}

/// The guest's identity answers, asked once.
async fn identity(state: &mut State, shared: &Shared) -> Result<Known> {
    macro_rules! ask {
        ($op:literal, $method:ident) => {
            backend!(state, shared, $op, "", $method(), infallible)?
        };
    }
    let backend_type = ask!("backend-type", call_backend_type);
    let addr = ask!("addr", call_addr);
    let user = ask!("user", call_user);
    let keep_alive = ask!("keep-alive-interval", call_keep_alive_interval);
    let connected = ask!("is-connected", call_is_connected);
    Ok(Known {
        backend_type,
        addr,
        user,
        keep_alive: keep_alive.map(Duration::from_nanos),
        connected,
        last_err: None,
    })
}

#[async_trait]
impl Backend for GuestBackend {
    fn backend_type(&self) -> String {
        self.known().backend_type.clone()
    }

    fn addr(&self) -> String {
        self.known().addr.clone()
    }

    fn user(&self) -> String {
        self.known().user.clone()
    }

    async fn start(&self) -> Result<()> {
        let mut state = self.shared.state.lock().await;
        let r = backend!(state, self.shared, "start", &self.shared.dest, call_start());
        if r.is_ok() {
            state.started = true;
        }
        self.refresh(&mut state).await;
        r
    }

    fn is_connected(&self) -> bool {
        self.known().connected
    }

    fn last_err(&self) -> Option<Error> {
        self.known().last_err.clone()
    }

    fn keep_alive_interval(&self) -> Option<Duration> {
        self.known().keep_alive
    }

    async fn send_keep_alive(&self) -> Result<()> {
        let mut state = self.shared.state.lock().await;
        let r = backend!(
            state,
            self.shared,
            "keep-alive",
            &self.shared.dest,
            call_send_keep_alive()
        );
        self.refresh(&mut state).await;
        r
    }

    async fn new_session(&self) -> Result<Box<dyn Session>> {
        let mut state = self.shared.state.lock().await;
        let r = backend!(
            state,
            self.shared,
            "new-session",
            &self.shared.dest,
            call_new_session()
        );
        let generation = state.generation;
        let handle = self.noting(&mut state, r).await?;
        Ok(Box::new(GuestSession::new(
            self.shared.clone(),
            generation,
            handle,
        )))
    }

    async fn files(&self) -> Result<Arc<dyn FileClient>> {
        let mut state = self.shared.state.lock().await;
        let r = state.client(&self.shared).await;
        self.noting(&mut state, r).await?;
        Ok(Arc::new(GuestFiles::new(self.shared.clone())))
    }

    async fn upload_agent(&self, local: &Path, remote: &str, mode: u32) -> Result<String> {
        let local = local.to_str().ok_or_else(|| {
            Error::new(
                ErrorCode::IllegalByteSequence,
                "upload agent",
                local.display().to_string(),
                "a guest takes the local path as UTF-8",
            )
        })?;
        let mut state = self.shared.state.lock().await;
        let r = backend!(
            state,
            self.shared,
            "upload-agent",
            remote,
            call_upload_agent(local, remote, mode)
        );
        self.noting(&mut state, r).await
    }

    async fn detect_platform(&self) -> Result<PlatformInfo> {
        let mut state = self.shared.state.lock().await;
        let r = backend!(
            state,
            self.shared,
            "detect-platform",
            &self.shared.dest,
            call_detect_platform()
        );
        self.noting(&mut state, r).await.map(Into::into)
    }

    async fn close(&self) -> Result<()> {
        let mut state = self.shared.state.lock().await;
        let r = backend!(state, self.shared, "close", &self.shared.dest, call_close());
        // The client the host keeps for this instance is the closed backend's too: later
        // file calls ask the guest for a new one, and get its answer (normally that the
        // backend is closed).
        if r.is_ok()
            && let Some(client) = state.live.as_mut().and_then(|l| l.client.take())
        {
            self.shared.drop_later(state.generation, client);
        }
        self.refresh(&mut state).await;
        r
    }
}
