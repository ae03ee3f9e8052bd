//! Local commands: `/bin/sh -c CMD` as a child process with OS pipes.
//!
//! Pipes are real `pipe(2)` pairs made when the caller asks for them, so the child writes
//! straight into the pipe the caller reads: no copy task in between.

use std::io;
use std::os::unix::process::ExitStatusExt;
use std::process::Stdio;
use std::sync::Arc;

use async_trait::async_trait;
use tokio::net::unix::pipe;
use tokio::process::{Child, Command};
use tokio::sync::Mutex;
use tokio::task::JoinHandle;

use super::TARGET;
use crate::error::{Error, ErrorCode, Result};
use crate::lifetime::{Lifetime, closed};
use crate::session::{OutputPipe, Session, StdinPipe, record_env};
use crate::types::{ExitStatus, signal_name};

/// Gives the command every signal's default action, as `sshd` and `docker exec` give theirs.
///
/// `exec` keeps a signal this process ignores ignored in the command, and this process may
/// ignore several without knowing: SIGINT and SIGQUIT when a shell started it in the
/// background, SIGHUP under `nohup`. A command started from there could then not be
/// interrupted (`kill -INT` would do nothing), unlike the same command over SSH. Handled signals
/// need nothing: `exec` resets them; the standard library already clears the signal mask.
#[expect(
    unsafe_code,
    reason = "a hook in the forked child before exec; see the SAFETY comment"
)]
fn default_signals(command: &mut Command) {
    let last = libc::SIGRTMAX();
    // SAFETY: the hook runs in the child between fork and exec, where only async-signal-safe
    // calls are allowed: it calls `signal` alone (async-signal-safe, an error for the few
    // numbers that cannot be changed is ignored), allocates nothing and takes no lock.
    unsafe {
        command.pre_exec(move || {
            for sig in 1..=last {
                if sig != libc::SIGKILL && sig != libc::SIGSTOP {
                    libc::signal(sig, libc::SIG_DFL);
                }
            }
            Ok(())
        });
    }
}

/// A command on this machine.
#[derive(Debug)]
pub struct LocalSession {
    lifetime: Lifetime,
    env: Vec<(String, String)>,
    stdin: Option<io::PipeReader>,
    stdout: Option<io::PipeWriter>,
    stderr: Option<io::PipeWriter>,
    state: State,
    cmd: String,
}

#[derive(Debug)]
enum State {
    New,
    /// The child, and the task that kills it when the backend closes. The task holds it weakly,
    /// so a session dropped without `close` still drops (and so kills) its child; `wait` holds
    /// the lock while it waits, so the child is never killed after it was reaped (its pid may
    /// be another process's by then).
    Running {
        child: Arc<Mutex<Child>>,
        killer: JoinHandle<()>,
    },
    Waited,
    Closed,
}

impl LocalSession {
    /// A session not yet started, ended when `lifetime` ends.
    pub fn new(lifetime: Lifetime) -> LocalSession {
        LocalSession {
            lifetime,
            env: Vec::new(),
            stdin: None,
            stdout: None,
            stderr: None,
            state: State::New,
            cmd: String::new(),
        }
    }

    fn before_start(&self, what: &str) -> Result<()> {
        self.lifetime.check(what, TARGET)?;
        if !matches!(self.state, State::New) {
            return Err(crate::session::already_started(what, &self.cmd));
        }
        Ok(())
    }
}

/// The way a child ended, as the WIT reports it.
fn exit_status(cmd: &str, status: std::process::ExitStatus) -> Result<ExitStatus> {
    match (status.code(), status.signal()) {
        (Some(code), _) => Ok(ExitStatus::Exited(code)),
        (None, Some(sig)) => Ok(ExitStatus::Signaled {
            signal: signal_name(sig),
            core_dumped: status.core_dumped(),
        }),
        (None, None) => Err(Error::new(
            ErrorCode::Io,
            "wait",
            cmd,
            format!("unrecognised wait status {status:?}"),
        )),
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
        record_env(&mut self.env, name, value)
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
        default_signals(&mut command);
        // The command (and with it our copies of the child's pipe ends) is dropped right after
        // spawning, so the reader sees end-of-file when the child exits.
        let child = command
            .spawn()
            .map_err(|e| Error::from_io("start", "/bin/sh", e))?;
        let child = Arc::new(Mutex::new(child));
        let (lifetime, shared) = (self.lifetime.clone(), Arc::downgrade(&child));
        let killer = tokio::spawn(async move {
            lifetime.ended().await;
            // Locked: `wait` is waiting, and ends the child itself.
            if let Some(child) = shared.upgrade()
                && let Ok(mut c) = child.try_lock()
            {
                let _ = c.start_kill();
            }
        });
        self.state = State::Running { child, killer };
        Ok(())
    }

    async fn wait(&mut self) -> Result<ExitStatus> {
        let child = match &self.state {
            State::Running { child, .. } => child.clone(),
            State::Waited => return Err(crate::session::already_waited("wait", &self.cmd)),
            State::New | State::Closed => return Err(crate::session::not_started("wait")),
        };
        let mut child = child.lock().await;
        // A backend closed while (or before) the command ran ends it: that is the answer, even
        // when the kill already made the command's own status ready.
        let waited = tokio::select! {
            biased;
            () = self.lifetime.ended() => None,
            status = child.wait() => Some(status),
        };
        let Some(status) = waited else {
            let _ = child.start_kill();
            let _ = child.wait().await;
            return Err(closed("wait", &self.cmd));
        };
        let status = status.map_err(|e| Error::from_io("wait", &self.cmd, e))?;
        drop(child);
        if let State::Running { killer, .. } = std::mem::replace(&mut self.state, State::Waited) {
            killer.abort();
        }
        exit_status(&self.cmd, status)
    }

    async fn close(&mut self) -> Result<()> {
        if let State::Running { child, killer } = std::mem::replace(&mut self.state, State::Closed)
        {
            killer.abort();
            // The session owns its command: closing it early ends the command.
            let mut child = child.lock().await;
            let _ = child.start_kill();
            let _ = child.wait().await;
        }
        self.stdin = None;
        self.stdout = None;
        self.stderr = None;
        Ok(())
    }
}

impl Drop for LocalSession {
    /// The child goes with the session (it is killed on drop); its killer task need not wait
    /// for the backend to close.
    fn drop(&mut self) {
        if let State::Running { killer, .. } = &self.state {
            killer.abort();
        }
    }
}
