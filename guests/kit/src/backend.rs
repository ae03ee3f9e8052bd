//! The exported `backend`: the backend below, with the layer's say on the destination, the
//! backend type and agent uploads.

use std::marker::PhantomData;

use crate::BelowBackend;
use crate::bindings::exports::remote::machine::backend::{Backend, Guest, GuestBackend};
use crate::bindings::exports::remote::machine::file_client::Client;
use crate::bindings::exports::remote::machine::session::Session;
use crate::bindings::remote::machine::backend as imported;
use crate::bindings::remote::machine::types::{Error, PlatformInfo};
use crate::file_client::WrappedClient;
use crate::layer::{Layer, LazyFiles, Middleware, layer};
use crate::session::WrappedSession;

/// The exported backend of a middleware guest.
#[derive(Debug)]
pub struct WrappedBackend<L> {
    below: std::rc::Rc<BelowBackend>,
    files: LazyFiles,
    layer: PhantomData<L>,
}

impl<L: Layer> Guest for Middleware<L> {
    type Backend = WrappedBackend<L>;

    fn open(dest: String) -> Result<Backend, Error> {
        let dest = layer::<L>("open")?.dest(&dest)?;
        let below = std::rc::Rc::new(imported::open(&dest)?);
        Ok(Backend::new(WrappedBackend::<L> {
            files: LazyFiles::of(below.clone()),
            below,
            layer: PhantomData,
        }))
    }
}

impl<L: Layer> GuestBackend for WrappedBackend<L> {
    fn backend_type(&self) -> String {
        let below = self.below.backend_type();
        match layer::<L>("backend-type") {
            Ok(l) => l.backend_type(below),
            Err(_) => below,
        }
    }

    fn addr(&self) -> String {
        self.below.addr()
    }

    fn user(&self) -> String {
        self.below.user()
    }

    fn start(&self) -> Result<(), Error> {
        self.below.start()
    }

    fn is_connected(&self) -> bool {
        self.below.is_connected()
    }

    fn last_err(&self) -> Option<Error> {
        self.below.last_err()
    }

    fn keep_alive_interval(&self) -> Option<u64> {
        self.below.keep_alive_interval()
    }

    fn send_keep_alive(&self) -> Result<(), Error> {
        self.below.send_keep_alive()
    }

    fn new_session(&self) -> Result<Session, Error> {
        let below = self.below.new_session()?;
        Ok(Session::new(WrappedSession::<L>::new(below)))
    }

    fn files(&self) -> Result<Client, Error> {
        let below = self.below.files()?;
        Ok(Client::new(WrappedClient::<L>::new(below)))
    }

    fn upload_agent(&self, local: String, remote: String, mode: u32) -> Result<String, Error> {
        let l = layer::<L>("upload-agent")?;
        let remote = l.upload(&self.files, &local, &remote)?;
        let installed = self.below.upload_agent(&local, &remote, mode)?;
        Ok(l.path_out(installed))
    }

    fn detect_platform(&self) -> Result<PlatformInfo, Error> {
        self.below.detect_platform()
    }

    fn close(&self) -> Result<(), Error> {
        self.below.close()
    }
}
