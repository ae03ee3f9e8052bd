//! One connection to a target, mirroring `remote:machine/backend`.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;

use crate::error::{Error, Result};
use crate::file_client::FileClient;
use crate::session::Session;
use crate::types::PlatformInfo;

/// A connection to a command-execution and file-system target.
///
/// Every method is required: a backend that cannot do something returns
/// [`ErrorCode::Unsupported`](crate::ErrorCode::Unsupported) from it, which the conformance suite
/// reports, rather than inheriting a silent default. Safe for concurrent use once `start`
/// returned. Deadlines are the caller's: wrap a call in `tokio::time::timeout`, and dropping the
/// future cancels it.
#[async_trait]
pub trait Backend: Send + Sync {
    /// The implementation's name: `"local"`, `"ssh"`, `"docker"`, `"compose"`, or a guest's.
    fn backend_type(&self) -> String;

    /// A human-readable identifier of the target (`host:port`, a container name, …), for logs.
    fn addr(&self) -> String;

    /// The remote user identity, or `""` where the backend has none of its own.
    fn user(&self) -> String;

    /// Establishes the connection and runs preflight checks. Once it returns, the backend manages
    /// its connection itself (keep-alive, reconnect).
    async fn start(&self) -> Result<()>;

    /// Whether the backend is usable right now.
    fn is_connected(&self) -> bool;

    /// The most recent connection error, or `None` when the last attempt succeeded.
    fn last_err(&self) -> Option<Error>;

    /// The period at which [`Backend::send_keep_alive`] should be called, or `None` when the
    /// backend needs no keep-alive.
    fn keep_alive_interval(&self) -> Option<Duration>;

    /// Sends one keep-alive. An error is fatal to the connection: the backend marks itself
    /// disconnected and reconnects on the next call.
    async fn send_keep_alive(&self) -> Result<()>;

    /// Opens a fresh session for one command.
    async fn new_session(&self) -> Result<Box<dyn Session>>;

    /// The file client of this target. May start a long-lived worker on the target the first
    /// time; later calls return the same client while it is healthy.
    async fn files(&self) -> Result<Arc<dyn FileClient>>;

    /// Installs the local file `local` on the target at `remote` with permission bits `mode`,
    /// replacing an existing file atomically (a running copy is never half-overwritten).
    /// `~` and `~/…` are the remote user's home, relative paths are relative to the file client's
    /// working directory, and missing parent directories are created. Returns the absolute
    /// remote path.
    async fn upload_agent(&self, local: &Path, remote: &str, mode: u32) -> Result<String>;

    /// Learns the target's OS, architecture and CPU variant. Fields it cannot learn stay empty;
    /// it errors only when it learned nothing.
    async fn detect_platform(&self) -> Result<PlatformInfo>;

    /// Ends the connection and frees everything it holds. Everything obtained from it fails
    /// afterwards with `connection-lost`: sessions, new or running (a running command is ended),
    /// file clients and open handles, and the backend's own operations but `close`, which may be
    /// called again.
    async fn close(&self) -> Result<()>;
}

/// What a finished command left: its status and everything it wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Captured {
    /// How it ended.
    pub status: crate::types::ExitStatus,
    /// All of its standard output.
    pub stdout: Vec<u8>,
    /// All of its standard error.
    pub stderr: Vec<u8>,
}

/// Runs `cmd` on `backend` with `env` and no stdin (it reads end-of-file), reading both outputs
/// whole at once so neither can stall the command.
pub async fn capture(backend: &dyn Backend, cmd: &str, env: &[(&str, &str)]) -> Result<Captured> {
    use tokio::io::AsyncReadExt as _;
    let mut s = backend.new_session().await?;
    for (k, v) in env {
        s.setenv(k, v)?;
    }
    let mut out = s.stdout()?;
    let mut err = s.stderr()?;
    s.start(cmd).await?;
    let (mut stdout, mut stderr) = (Vec::new(), Vec::new());
    let (o, e) = tokio::join!(out.read_to_end(&mut stdout), err.read_to_end(&mut stderr));
    o.and(e)
        .map_err(|e| Error::from_io("read output", cmd, e))?;
    let status = s.wait().await?;
    s.close().await?;
    Ok(Captured {
        status,
        stdout,
        stderr,
    })
}
