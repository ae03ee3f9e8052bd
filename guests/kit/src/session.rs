//! The exported `session`: the session below, with the layer's say on the command line and the
//! environment. The pipes are the streams of the session below, handed on untouched.

use std::marker::PhantomData;

use crate::bindings::exports::remote::machine::session::{Guest, GuestSession};
use crate::bindings::remote::machine::session::Session as BelowSession;
use crate::bindings::remote::machine::types::{Error, ExitStatus};
use crate::bindings::wasi::io::streams::{InputStream, OutputStream};
use crate::layer::{Layer, Middleware, layer};

impl<L: Layer> Guest for Middleware<L> {
    type Session = WrappedSession<L>;
}

/// The exported session of a middleware guest.
#[derive(Debug)]
pub struct WrappedSession<L> {
    below: BelowSession,
    layer: PhantomData<L>,
}

impl<L: Layer> WrappedSession<L> {
    pub(crate) fn new(below: BelowSession) -> WrappedSession<L> {
        WrappedSession {
            below,
            layer: PhantomData,
        }
    }
}

impl<L: Layer> GuestSession for WrappedSession<L> {
    fn stdin(&self) -> Result<OutputStream, Error> {
        self.below.stdin()
    }

    fn stdout(&self) -> Result<InputStream, Error> {
        self.below.stdout()
    }

    fn stderr(&self) -> Result<InputStream, Error> {
        self.below.stderr()
    }

    fn setenv(&self, name: String, value: String) -> Result<(), Error> {
        match layer::<L>("setenv")?.env(&name, &value)? {
            Some((name, value)) => self.below.setenv(&name, &value),
            None => Ok(()),
        }
    }

    fn start(&self, cmd: String) -> Result<(), Error> {
        let cmd = layer::<L>("start")?.command(&cmd)?;
        self.below.start(&cmd)
    }

    fn wait(&self) -> Result<ExitStatus, Error> {
        self.below.wait()
    }

    fn close(&self) -> Result<(), Error> {
        self.below.close()
    }
}
