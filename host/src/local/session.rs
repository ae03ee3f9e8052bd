//! Local commands: `/bin/sh -c CMD` as a child process with OS pipes.
//!
//! Pipes are real `pipe(2)` pairs made when the caller asks for them, so the child writes
//! straight into the pipe the caller reads: no copy task in between.

use std::io;
use std::os::unix::process::ExitStatusExt;
use std::process::Stdio;

use async_trait::async_trait;
use tokio::net::unix::pipe;
use tokio::process::{Child, Command};

use crate::error::{Error, ErrorCode, Result};
use crate::session::{OutputPipe, Session, StdinPipe, check_env};
use crate::types::{ExitStatus, signal_name};

/// A command on this machine.
#[derive(Debug, Default)]
pub struct LocalSession {
    env: Vec<(String, String)>,
    stdin: Option<io::PipeReader>,
    stdout: Option<io::PipeWriter>,
    stderr: Option<io::PipeWriter>,
    child: Option<Child>,
    cmd: String,
    exited: Option<ExitStatus>,
}

impl LocalSession {
    /// A session not yet started.
    pub fn new() -> LocalSession {
        LocalSession::default()
    }

    fn before_start(&self, what: &str) -> Result<()> {
        if self.child.is_some() || self.exited.is_some() {
            return Err(crate::session::already_started(what, &self.cmd));
        }
        Ok(())
    }
}

fn pipe_err(op: &str, e: io::Error) -> Error {
    Error::from_io(op, "local pipe", e)
}

#[async_trait]
impl Session for LocalSession {
    fn stdin(&mut self) -> Result<StdinPipe> {
        self.before_start("stdin")?;
        if self.stdin.is_some() {
            return Err(crate::session::pipe_taken("stdin", &self.cmd));
        }
        let (r, w) = io::pipe().map_err(|e| pipe_err("stdin", e))?;
        let w = pipe::Sender::from_owned_fd(w.into()).map_err(|e| pipe_err("stdin", e))?;
        self.stdin = Some(r);
        Ok(Box::new(w))
    }

    fn stdout(&mut self) -> Result<OutputPipe> {
        self.before_start("stdout")?;
        if self.stdout.is_some() {
            return Err(crate::session::pipe_taken("stdout", &self.cmd));
        }
        let (r, w) = io::pipe().map_err(|e| pipe_err("stdout", e))?;
        let r = pipe::Receiver::from_owned_fd(r.into()).map_err(|e| pipe_err("stdout", e))?;
        self.stdout = Some(w);
        Ok(Box::new(r))
    }

    fn stderr(&mut self) -> Result<OutputPipe> {
        self.before_start("stderr")?;
        if self.stderr.is_some() {
            return Err(crate::session::pipe_taken("stderr", &self.cmd));
        }
        let (r, w) = io::pipe().map_err(|e| pipe_err("stderr", e))?;
        let r = pipe::Receiver::from_owned_fd(r.into()).map_err(|e| pipe_err("stderr", e))?;
        self.stderr = Some(w);
        Ok(Box::new(r))
    }

    fn setenv(&mut self, name: &str, value: &str) -> Result<()> {
        self.before_start("setenv")?;
        check_env(name, value)?;
        self.env.push((name.to_string(), value.to_string()));
        Ok(())
    }

    async fn start(&mut self, cmd: &str) -> Result<()> {
        self.before_start("start")?;
        crate::session::check_command(cmd)?;
        self.cmd = cmd.to_string();
        let mut command = Command::new("/bin/sh");
        command
            .arg("-c")
            .arg(cmd)
            .envs(self.env.iter().map(|(k, v)| (k, v)))
            .kill_on_drop(true)
            .stdin(self.stdin.take().map_or_else(Stdio::null, Stdio::from))
            .stdout(self.stdout.take().map_or_else(Stdio::null, Stdio::from))
            .stderr(self.stderr.take().map_or_else(Stdio::null, Stdio::from));
        // The command (and with it our copies of the child's pipe ends) is dropped right after
        // spawning, so the reader sees end-of-file when the child exits.
        let child = command
            .spawn()
            .map_err(|e| Error::from_io("start", "/bin/sh", e))?;
        self.child = Some(child);
        Ok(())
    }

    async fn wait(&mut self) -> Result<ExitStatus> {
        if let Some(status) = &self.exited {
            return Ok(status.clone());
        }
        let child = self
            .child
            .as_mut()
            .ok_or_else(|| crate::session::not_started("wait"))?;
        let status = child
            .wait()
            .await
            .map_err(|e| Error::from_io("wait", &self.cmd, e))?;
        let status = match (status.code(), status.signal()) {
            (Some(code), _) => ExitStatus::Exited(code),
            (None, Some(sig)) => ExitStatus::Signaled {
                signal: signal_name(sig),
                core_dumped: status.core_dumped(),
            },
            (None, None) => {
                return Err(Error::new(
                    ErrorCode::Io,
                    "wait",
                    &self.cmd,
                    format!("unrecognised wait status {status:?}"),
                ));
            }
        };
        self.child = None;
        self.exited = Some(status.clone());
        Ok(status)
    }

    async fn close(&mut self) -> Result<()> {
        if let Some(mut child) = self.child.take() {
            // The session owns its command: closing it early ends the command.
            let _ = child.start_kill();
            let _ = child.wait().await;
        }
        self.stdin = None;
        self.stdout = None;
        self.stderr = None;
        Ok(())
    }
}
