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
use super::super::streams::{Connect, StreamReader, StreamWriter};
use crate::error::{Error, ErrorCode, Result};
use crate::session::{OutputPipe, Session, StdinPipe, check_env};
use crate::types::ExitStatus;

/// A session of a guest-wrapped backend.
pub struct GuestSession {
    shared: Arc<Shared>,
    generation: u64,
    handle: ResourceAny,
    env: Vec<(String, String)>,
    stdin: Option<Connect<DynOutputStream>>,
    stdout: Option<Connect<DynInputStream>>,
    stderr: Option<Connect<DynInputStream>>,
    taken: [bool; 3],
    started: bool,
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
            stdin: None,
            stdout: None,
            stderr: None,
            taken: [false; 3],
            started: false,
        }
    }

    /// Refuses a pipe or variable after `start` or a pipe taken twice, as every backend does.
    fn before_start(&mut self, what: &str, pipe: Option<usize>) -> Result<()> {
        if self.started {
            return Err(Error::new(
                ErrorCode::InvalidArgument,
                what,
                "",
                "the session has already started",
            ));
        }
        if let Some(i) = pipe {
            if self.taken[i] {
                return Err(Error::new(
                    ErrorCode::InvalidArgument,
                    what,
                    "",
                    "the pipe was already taken",
                ));
            }
            self.taken[i] = true;
        }
        Ok(())
    }

    /// Hands the recorded environment and pipe requests to the guest.
    async fn prepare(&mut self) -> Result<()> {
        let (shared, generation, handle) = (self.shared.clone(), self.generation, self.handle);
        let mut state = shared.state.lock().await;
        for (name, value) in std::mem::take(&mut self.env) {
            call!(state, shared, "setenv", &name, Some(generation), live => live
                .b
                .remote_machine_session()
                .session()
                .call_setenv(&mut live.store, handle, &name, &value))?;
        }
        if let Some(tx) = self.stdin.take() {
            let r: Result<Resource<DynOutputStream>> = call!(state, shared, "stdin", "", Some(generation), live => live
                    .b
                    .remote_machine_session()
                    .session()
                    .call_stdin(&mut live.store, handle));
            connect(tx, super::take_stream(&mut state, "session", r))?;
        }
        if let Some(tx) = self.stdout.take() {
            let r: Result<Resource<DynInputStream>> = call!(state, shared, "stdout", "", Some(generation), live => live
                    .b
                    .remote_machine_session()
                    .session()
                    .call_stdout(&mut live.store, handle));
            connect(tx, super::take_stream(&mut state, "session", r))?;
        }
        if let Some(tx) = self.stderr.take() {
            let r: Result<Resource<DynInputStream>> = call!(state, shared, "stderr", "", Some(generation), live => live
                    .b
                    .remote_machine_session()
                    .session()
                    .call_stderr(&mut live.store, handle));
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
        self.before_start("stdin", Some(0))?;
        let (pipe, tx) = StreamWriter::pending();
        self.stdin = Some(tx);
        Ok(Box::new(pipe))
    }

    fn stdout(&mut self) -> Result<OutputPipe> {
        self.before_start("stdout", Some(1))?;
        let (pipe, tx) = StreamReader::pending("stdout");
        self.stdout = Some(tx);
        Ok(Box::new(pipe))
    }

    fn stderr(&mut self) -> Result<OutputPipe> {
        self.before_start("stderr", Some(2))?;
        let (pipe, tx) = StreamReader::pending("stderr");
        self.stderr = Some(tx);
        Ok(Box::new(pipe))
    }

    fn setenv(&mut self, name: &str, value: &str) -> Result<()> {
        self.before_start("setenv", None)?;
        check_env(name, value)?;
        self.env.push((name.to_string(), value.to_string()));
        Ok(())
    }

    async fn start(&mut self, cmd: &str) -> Result<()> {
        if !self.started {
            self.started = true;
            self.prepare().await?;
        }
        let (shared, generation, handle) = (self.shared.clone(), self.generation, self.handle);
        let mut state = shared.state.lock().await;
        call!(state, shared, "start", cmd, Some(generation), live => live
            .b
            .remote_machine_session()
            .session()
            .call_start(&mut live.store, handle, cmd))
    }

    async fn wait(&mut self) -> Result<ExitStatus> {
        let (shared, generation, handle) = (self.shared.clone(), self.generation, self.handle);
        let mut state = shared.state.lock().await;
        let status = call!(state, shared, "wait", "", Some(generation), live => live
            .b
            .remote_machine_session()
            .session()
            .call_wait(&mut live.store, handle))?;
        Ok(status.into())
    }

    async fn close(&mut self) -> Result<()> {
        let (shared, generation, handle) = (self.shared.clone(), self.generation, self.handle);
        let mut state = shared.state.lock().await;
        call!(state, shared, "close", "", Some(generation), live => live
            .b
            .remote_machine_session()
            .session()
            .call_close(&mut live.store, handle))
    }
}

impl Drop for GuestSession {
    fn drop(&mut self) {
        self.shared.drop_later(self.generation, self.handle);
    }
}
