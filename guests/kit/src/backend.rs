//! The exported `backend`: the backend below, with the layer's say on the destination, the
//! backend type and agent uploads.

use std::cell::OnceCell;
use std::marker::PhantomData;

use crate::bindings::exports::remote::machine::backend::{Backend, Guest, GuestBackend};
use crate::bindings::exports::remote::machine::file_client::Client;
use crate::bindings::exports::remote::machine::session::Session;
use crate::bindings::remote::machine::backend as below;
use crate::bindings::remote::machine::types::{Error, PlatformInfo};
use crate::layer::{Layer, Middleware, layer};
use crate::wrap_files::WrapClient;
use crate::wrap_session::WrapSession;
use crate::{LowerBackend, LowerClient};

/// The file client below, fetched on first use: a Docker backend has none until its agent was
/// uploaded, so `upload-agent` must not ask for it up front.
#[derive(Debug, Default)]
pub struct LazyFiles {
    backend: Option<std::rc::Rc<LowerBackend>>,
    client: OnceCell<LowerClient>,
}

impl LazyFiles {
    /// A client that is already known.
    pub fn ready(client: LowerClient) -> LazyFiles {
        LazyFiles {
            backend: None,
            client: OnceCell::from(client),
        }
    }

    /// The client below, asking the backend below for it the first time.
    pub fn get(&self) -> Result<&LowerClient, Error> {
        if let Some(c) = self.client.get() {
            return Ok(c);
        }
        let backend = self.backend.as_ref().ok_or_else(|| {
            crate::error(
                crate::ErrorCode::Unsupported,
                "files",
                "",
                "no file client below",
            )
        })?;
        let client = backend.files()?;
        Ok(self.client.get_or_init(|| client))
    }
}

/// The exported backend of a middleware guest.
#[derive(Debug)]
pub struct WrapBackend<L> {
    lower: std::rc::Rc<LowerBackend>,
    files: LazyFiles,
    layer: PhantomData<L>,
}

impl<L: Layer> Guest for Middleware<L> {
    type Backend = WrapBackend<L>;

    fn open(dest: String) -> Result<Backend, Error> {
        let dest = layer::<L>("open")?.dest(&dest)?;
        let lower = std::rc::Rc::new(below::open(&dest)?);
        Ok(Backend::new(WrapBackend::<L> {
            files: LazyFiles {
                backend: Some(lower.clone()),
                client: OnceCell::new(),
            },
            lower,
            layer: PhantomData,
        }))
    }
}

impl<L: Layer> GuestBackend for WrapBackend<L> {
    fn backend_type(&self) -> String {
        let below = self.lower.backend_type();
        match layer::<L>("backend-type") {
            Ok(l) => l.backend_type(below),
            Err(_) => below,
        }
    }

    fn addr(&self) -> String {
        self.lower.addr()
    }

    fn user(&self) -> String {
        self.lower.user()
    }

    fn start(&self) -> Result<(), Error> {
        self.lower.start()
    }

    fn is_connected(&self) -> bool {
        self.lower.is_connected()
    }

    fn last_err(&self) -> Option<Error> {
        self.lower.last_err()
    }

    fn keep_alive_interval(&self) -> Option<u64> {
        self.lower.keep_alive_interval()
    }

    fn send_keep_alive(&self) -> Result<(), Error> {
        self.lower.send_keep_alive()
    }

    fn new_session(&self) -> Result<Session, Error> {
        let lower = self.lower.new_session()?;
        Ok(Session::new(WrapSession::<L>::new(lower)))
    }

    fn files(&self) -> Result<Client, Error> {
        let lower = self.lower.files()?;
        Ok(Client::new(WrapClient::<L>::new(lower)))
    }

    fn upload_agent(&self, local: String, remote: String, mode: u32) -> Result<String, Error> {
        let l = layer::<L>("upload-agent")?;
        let remote = l.upload(&self.files, &local, &remote)?;
        let installed = self.lower.upload_agent(&local, &remote, mode)?;
        Ok(l.path_out(installed))
    }

    fn detect_platform(&self) -> Result<PlatformInfo, Error> {
        self.lower.detect_platform()
    }

    fn close(&self) -> Result<(), Error> {
        self.lower.close()
    }
}
