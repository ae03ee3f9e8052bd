//! A guest's exported `session` as a native [`Session`].
//!
//! The native pipe and environment methods are synchronous, so they are recorded: each pipe is
//! returned at once, unconnected, and at `start` the guest is asked for the streams (and given
//! the environment) in the WIT's order, then the pipes are connected to the streams the guest
//! returned. A refusal of `setenv` by the guest therefore shows at `start`.

use std::sync::Arc;

use async_trait::async_trait;
use wasmtime::component::{Resource, ResourceAny};
use wasmtime_wasi_io::streams::{DynInputStream, DynOutputStream};

use super::super::instance::{Shared, call};
use super::pipes::{Connect, StreamReader, StreamWriter};
use crate::error::Result;
use crate::session::{OutputPipe, Session, StdinPipe, already_started, pipe_taken, record_env};
use crate::types::ExitStatus;

/// One session method: `session!(self, state, "op", target, method(args…))` calls `method` on
/// this session's resource in the instance that made it, with the state already locked.
macro_rules! session {
    ($self:ident, $state:ident, $op:literal, $target:expr, $method:ident($($arg:expr),*)) => {{
        let (shared, generation, handle) = (&$self.shared, $self.generation, $self.handle);
        call!($state, shared, $op, $target, Some(generation), live => live
            .b
            .remote_machine_session()
            .session()
            .$method(&mut live.store, handle $(, $arg)*))
    }};
}

/// Where one of the session's pipes is before `start`.
enum Slot<S> {
    /// Never asked for: the guest is not asked for its stream either.
    Untaken,
    /// Handed out, waiting for `start` to connect it to the guest's stream.
    Waiting(Connect<S>),
    /// Connected at `start` (or told why it could not be).
    Connected,
}

impl<S> Slot<S> {
    /// Marks the pipe taken, refusing a second taker; returns the pipe's side of the connection.
    fn take<P>(&mut self, op: &str, pending: impl FnOnce() -> (P, Connect<S>)) -> Result<P> {
        if !matches!(self, Slot::Untaken) {
            return Err(pipe_taken(op, ""));
        }
        let (pipe, tx) = pending();
        *self = Slot::Waiting(tx);
        Ok(pipe)
    }

    /// The connection still waiting for the guest's stream, if the pipe was taken.
    fn waiting(&mut self) -> Option<Connect<S>> {
        match std::mem::replace(self, Slot::Connected) {
            Slot::Waiting(tx) => Some(tx),
            Slot::Untaken => {
                *self = Slot::Untaken;
                None
            }
            Slot::Connected => None,
        }
    }
}

/// A session of a guest-wrapped backend.
pub struct GuestSession {
    shared: Arc<Shared>,
    generation: u64,
    handle: ResourceAny,
    env: Vec<(String, String)>,
    stdin: Slot<DynOutputStream>,
    stdout: Slot<DynInputStream>,
    stderr: Slot<DynInputStream>,
    /// The command line once `start` was called.
    started: Option<String>,
}

impl std::fmt::Debug for GuestSession {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GuestSession")
            .field("guest", &self.shared.bp.name)
            .field("started", &self.started)
            .finish_non_exhaustive()
    }
}

impl GuestSession {
    pub(crate) fn new(shared: Arc<Shared>, generation: u64, handle: ResourceAny) -> GuestSession {
        GuestSession {
            shared,
            generation,
            handle,
            env: Vec::new(),
            stdin: Slot::Untaken,
            stdout: Slot::Untaken,
            stderr: Slot::Untaken,
            started: None,
        }
    }

    /// Refuses a pipe or variable after `start`, as every backend does.
    fn before_start(&self, op: &str) -> Result<()> {
        match &self.started {
            Some(cmd) => Err(already_started(op, cmd)),
            None => Ok(()),
        }
    }

    /// Hands the recorded environment and pipe requests to the guest.
    async fn prepare(&mut self) -> Result<()> {
        let shared = self.shared.clone();
        let mut state = shared.state.lock().await;
        for (name, value) in std::mem::take(&mut self.env) {
            session!(self, state, "setenv", &name, call_setenv(&name, &value))?;
        }
        if let Some(tx) = self.stdin.waiting() {
            let r: Result<Resource<DynOutputStream>> =
                session!(self, state, "stdin", "", call_stdin());
            connect(tx, super::take_stream(&mut state, "session", r))?;
        }
        if let Some(tx) = self.stdout.waiting() {
            let r: Result<Resource<DynInputStream>> =
                session!(self, state, "stdout", "", call_stdout());
            connect(tx, super::take_stream(&mut state, "session", r))?;
        }
        if let Some(tx) = self.stderr.waiting() {
            let r: Result<Resource<DynInputStream>> =
                session!(self, state, "stderr", "", call_stderr());
            connect(tx, super::take_stream(&mut state, "session", r))?;
        }
        Ok(())
    }
}

/// Hands `stream` (or why there is none) to the pipe waiting for it.
fn connect<S>(tx: Connect<S>, stream: Result<S>) -> Result<()> {
    let failed = stream.as_ref().err().cloned();
    // The native pipe may already be dropped: nobody wants the stream then.
    let _ = tx.send(stream);
    failed.map_or(Ok(()), Err)
}

#[async_trait]
impl Session for GuestSession {
    fn stdin(&mut self) -> Result<StdinPipe> {
        self.before_start("stdin")?;
        let pipe = self.stdin.take("stdin", StreamWriter::pending)?;
        Ok(Box::new(pipe))
    }

    fn stdout(&mut self) -> Result<OutputPipe> {
        self.before_start("stdout")?;
        let pipe = self
            .stdout
            .take("stdout", || StreamReader::pending("stdout"))?;
        Ok(Box::new(pipe))
    }

    fn stderr(&mut self) -> Result<OutputPipe> {
        self.before_start("stderr")?;
        let pipe = self
            .stderr
            .take("stderr", || StreamReader::pending("stderr"))?;
        Ok(Box::new(pipe))
    }

    fn setenv(&mut self, name: &str, value: &str) -> Result<()> {
        self.before_start("setenv")?;
        record_env(&mut self.env, name, value)
    }

    async fn start(&mut self, cmd: &str) -> Result<()> {
        if self.started.is_none() {
            self.started = Some(cmd.to_string());
            self.prepare().await?;
        }
        let shared = self.shared.clone();
        let mut state = shared.state.lock().await;
        session!(self, state, "start", cmd, call_start(cmd))
    }

    async fn wait(&mut self) -> Result<ExitStatus> {
        let shared = self.shared.clone();
        let mut state = shared.state.lock().await;
        let status = session!(self, state, "wait", "", call_wait())?;
        Ok(status.into())
    }

    async fn close(&mut self) -> Result<()> {
        let shared = self.shared.clone();
        let mut state = shared.state.lock().await;
        session!(self, state, "close", "", call_close())
    }
}

impl Drop for GuestSession {
    fn drop(&mut self) {
        self.shared.drop_later(self.generation, self.handle);
    }
}
