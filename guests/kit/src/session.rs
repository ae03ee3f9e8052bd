//! The exported `session`: the session below, with the layer's say on the command line and the
//! environment. The pipes are the streams of the session below, handed on untouched.

use std::marker::PhantomData;

use crate::bindings::exports::remote::machine::session::{Guest, GuestSession};
use crate::bindings::remote::machine::session::Session as LowerSession;
use crate::bindings::remote::machine::types::{Error, ExitStatus};
use crate::bindings::wasi::io::streams::{InputStream, OutputStream};
use crate::layer::{Layer, Middleware, layer};

impl<L: Layer> Guest for Middleware<L> {
    type Session = WrapSession<L>;
}

/// The exported session of a middleware guest.
#[derive(Debug)]
pub struct WrapSession<L> {
    lower: LowerSession,
    layer: PhantomData<L>,
}

impl<L: Layer> WrapSession<L> {
    pub(crate) fn new(lower: LowerSession) -> WrapSession<L> {
        WrapSession {
            lower,
            layer: PhantomData,
        }
    }
}

impl<L: Layer> GuestSession for WrapSession<L> {
    fn stdin(&self) -> Result<OutputStream, Error> {
        self.lower.stdin()
    }

    fn stdout(&self) -> Result<InputStream, Error> {
        self.lower.stdout()
    }

    fn stderr(&self) -> Result<InputStream, Error> {
        self.lower.stderr()
    }

    fn setenv(&self, name: String, value: String) -> Result<(), Error> {
        match layer::<L>("setenv")?.env(&name, &value)? {
            Some((name, value)) => self.lower.setenv(&name, &value),
            None => Ok(()),
        }
    }

    fn start(&self, cmd: String) -> Result<(), Error> {
        let cmd = layer::<L>("start")?.command(&cmd)?;
        self.lower.start(&cmd)
    }

    fn wait(&self) -> Result<ExitStatus, Error> {
        self.lower.wait()
    }

    fn close(&self) -> Result<(), Error> {
        self.lower.close()
    }
}
