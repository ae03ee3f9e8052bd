//! One command execution on the target, mirroring `remote:machine/session`.
//!
//! The shape follows an SSH session channel because every backend can provide it: pipes are
//! requested before `start` (a pipe that was not requested is discarded or, for stdin, empty),
//! the command is one string handed to the target's shell, and `wait` reports how it ended.

use async_trait::async_trait;
use tokio::io::{AsyncRead, AsyncWrite};

use crate::error::Result;
use crate::types::ExitStatus;

/// The write side of a command's standard input; shutting it down sends end-of-file.
pub type StdinPipe = Box<dyn AsyncWrite + Send + Unpin>;

/// The read side of a command's standard output or standard error.
pub type OutputPipe = Box<dyn AsyncRead + Send + Unpin>;

/// A single command execution channel. Many sessions may run at once on one backend.
#[async_trait]
pub trait Session: Send + Sync {
    /// Takes the command's standard input. Must be called before [`Session::start`], at most
    /// once; without it the command reads end-of-file at once.
    fn stdin(&mut self) -> Result<StdinPipe>;

    /// Takes the command's standard output. Must be called before [`Session::start`], at most
    /// once; without it the output is discarded. Read it to the end: an unread pipe stalls the
    /// command once its buffer fills.
    fn stdout(&mut self) -> Result<OutputPipe>;

    /// Takes the command's standard error; the same rules as [`Session::stdout`].
    fn stderr(&mut self) -> Result<OutputPipe>;

    /// Sets an environment variable for the command. Must be called before `start`. Names must be
    /// non-empty and hold no `=` or NUL; values may hold any byte but NUL, and the backend passes
    /// them through unchanged (quoting them itself where it has to go through a shell).
    fn setenv(&mut self, name: &str, value: &str) -> Result<()>;

    /// Starts `cmd` through the target's shell (`/bin/sh -c cmd` on POSIX targets).
    async fn start(&mut self, cmd: &str) -> Result<()>;

    /// Waits for the command to end. An error means the session itself failed (connection lost,
    /// not started); a command that exits non-zero is `Ok(ExitStatus::Exited(n))`. The status
    /// is reported once: a second `wait` is `invalid-argument`.
    async fn wait(&mut self) -> Result<ExitStatus>;

    /// Ends the session and frees its resources. A command still running is ended: killed
    /// (local; docker with a daemon on this machine) or sent `KILL` through SSH's `signal`
    /// request; closing twice is not an error.
    async fn close(&mut self) -> Result<()>;
}

/// The error for a call that must come before `start` (pipes, `setenv`, a second `start`) on a
/// session that has started `cmd`. Shared so every backend reports misuse in the same words.
pub fn already_started(op: &str, cmd: &str) -> crate::error::Error {
    misuse(op, cmd, "the session has already started")
}

/// The error for `wait` on a session that was never started.
pub fn not_started(op: &str) -> crate::error::Error {
    misuse(op, "", "the session was not started")
}

/// The error for a second `wait`: the status was reported once, to the first.
pub fn already_waited(op: &str, cmd: &str) -> crate::error::Error {
    misuse(op, cmd, "the session was already waited for")
}

/// The error for taking a pipe (`stdin`, `stdout`, `stderr`) twice.
pub fn pipe_taken(op: &str, target: &str) -> crate::error::Error {
    misuse(op, target, "the pipe was already taken")
}

fn misuse(op: &str, target: &str, why: &str) -> crate::error::Error {
    crate::error::Error::new(crate::error::ErrorCode::InvalidArgument, op, target, why)
}

/// Checks a command line before any backend starts it: no NUL, which no shell or exec API can
/// carry (and which would silently cut the line short in some).
pub fn check_command(cmd: &str) -> crate::error::Result<()> {
    if cmd.contains('\0') {
        return Err(misuse("start", cmd, "command contains a NUL byte"));
    }
    Ok(())
}

/// Records `name=value` for a session that has not started yet, checked as [`check_env`] checks
/// every backend's variables.
pub fn record_env(env: &mut Vec<(String, String)>, name: &str, value: &str) -> Result<()> {
    check_env(name, value)?;
    env.push((name.to_string(), value.to_string()));
    Ok(())
}

/// Checks an environment variable before any backend passes it on: names must be non-empty and
/// hold no `=` or NUL, values no NUL. Shared so every backend rejects the same inputs.
pub fn check_env(name: &str, value: &str) -> Result<()> {
    let bad_name = name.is_empty() || name.contains(['=', '\0']);
    if bad_name {
        return Err(crate::error::Error::new(
            crate::error::ErrorCode::InvalidArgument,
            "setenv",
            name,
            "environment variable names must be non-empty and hold no '=' or NUL",
        ));
    }
    if value.contains('\0') {
        return Err(crate::error::Error::new(
            crate::error::ErrorCode::InvalidArgument,
            "setenv",
            name,
            "environment variable values must not hold NUL",
        ));
    }
    Ok(())
}

/// Quotes `s` for a POSIX shell: inside single quotes everything is literal (newlines too),
/// and a single quote itself is written `'\''`.
pub fn shell_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}
