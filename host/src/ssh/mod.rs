//! The `ssh://` backend: russh on tokio, configured like OpenSSH and strict by default.
//!
//! Where to connect comes from the destination, the caller's [`SshOptions`] and `ssh_config`
//! (`HostName`, `Port`, `User`, `IdentityFile`, `ProxyJump`, …). The host key is verified
//! against known_hosts before anything else happens: an unknown or changed key is refused with
//! its SHA256 fingerprint unless the user opted in. Authentication tries the ssh-agent, then
//! identity files, then (only when asked) a password, and names every attempt when all fail.
//!
//! Commands run one per session channel; many run at once, and when the server's
//! `MaxSessions` refuses more channels further connections are opened. Files go through the
//! `sftp` subsystem and the shared SFTP client ([`crate::sftp`]). Connections are kept alive
//! with `keepalive@openssh.com` and redialed on the next call after a loss.
//!
//! ```no_run
//! use remote_host::ssh::{SshBackend, SshOptions};
//! use remote_host::{Backend, DestType, parse_destination};
//!
//! # async fn demo() -> remote_host::Result<()> {
//! let dest = parse_destination("ssh://deploy@build-host", DestType::Ssh)?;
//! let backend = SshBackend::new(&dest, SshOptions::default())?;
//! backend.start().await?;
//! println!("{:?}", backend.detect_platform().await?);
//! backend.close().await
//! # }
//! ```
//!
//! # Layout
//! - `options`: [`SshOptions`] and how they, the destination and the config make a route.
//! - `config`: the `ssh_config` parser.
//! - `pattern`: OpenSSH's `*`/`?`/`!` host patterns, shared by `config` and `known_hosts`.
//! - `known_hosts`: host-key verification and [`StrictHostKeyChecking`].
//! - `auth`: user authentication.
//! - `connection`: dialing one connection (through jump hosts).
//! - `pool`: the connections of a backend, reconnect and keep-alive.
//! - `session`: commands.
//! - `sftp_channel`: the `sftp` subsystem channel the shared SFTP client runs on.
//! - `platform`: `uname` and Windows probes.
//! - `errors`: russh errors to error codes.

mod auth;
mod config;
mod connection;
mod errors;
mod known_hosts;
mod options;
mod pattern;
mod platform;
mod pool;
mod session;
mod sftp_channel;

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;

use crate::backend::Backend;
use crate::destination::{DestType, Destination};
use crate::error::{Error, ErrorCode, Result};
use crate::file_client::FileClient;
use crate::session::Session;
use crate::types::PlatformInfo;
use crate::upload::upload_via_files;

pub use known_hosts::StrictHostKeyChecking;
pub use options::{ConfigFile, Prompt, SshOptions};
pub use session::SshSession;

use pool::Pool;
use sftp_channel::SftpClient;

/// An SSH server as a backend.
pub struct SshBackend {
    target: String,
    addr: String,
    user: String,
    keep_alive: Option<Duration>,
    pool: Arc<Pool>,
    files: tokio::sync::Mutex<Option<SftpClient>>,
}

impl std::fmt::Debug for SshBackend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SshBackend")
            .field("target", &self.target)
            .finish_non_exhaustive()
    }
}

impl SshBackend {
    /// Resolves the destination with the options and `ssh_config`; nothing is dialed until
    /// [`Backend::start`].
    pub fn new(dest: &Destination, opts: SshOptions) -> Result<SshBackend> {
        if dest.dest_type != DestType::Ssh {
            return Err(Error::new(
                ErrorCode::InvalidArgument,
                "ssh backend",
                &dest.raw,
                format!("not an ssh destination but {}", dest.dest_type),
            ));
        }
        let route = options::resolve(dest, &opts)?;
        let target = route.target.display();
        let addr = if route.target.host.contains(':') {
            format!("[{}]:{}", route.target.host, route.target.port)
        } else {
            format!("{}:{}", route.target.host, route.target.port)
        };
        Ok(SshBackend {
            addr,
            user: route.target.user.clone(),
            keep_alive: route.keep_alive,
            pool: Arc::new(Pool::new(route, target.clone())),
            target,
            files: tokio::sync::Mutex::new(None),
        })
    }

    /// The number of SSH connections open right now (more than one when the server's
    /// `MaxSessions` made the backend open further connections).
    pub fn connections(&self) -> usize {
        self.pool.connections()
    }

    /// The SFTP client, opening a new one when there is none or the last one's channel or
    /// connection ended.
    async fn sftp(&self) -> Result<Arc<crate::sftp::SftpFiles>> {
        let mut cached = self.files.lock().await;
        if let Some(c) = cached.as_ref().filter(|c| c.is_healthy()) {
            return Ok(c.files.clone());
        }
        let client = sftp_channel::open(&self.pool, &self.target).await?;
        let files = client.files.clone();
        *cached = Some(client);
        Ok(files)
    }
}

#[async_trait]
impl Backend for SshBackend {
    fn backend_type(&self) -> String {
        "ssh".into()
    }

    fn addr(&self) -> String {
        self.addr.clone()
    }

    fn user(&self) -> String {
        self.user.clone()
    }

    async fn start(&self) -> Result<()> {
        self.pool.start().await
    }

    fn is_connected(&self) -> bool {
        self.pool.is_connected()
    }

    fn last_err(&self) -> Option<Error> {
        self.pool.last_err()
    }

    fn keep_alive_interval(&self) -> Option<Duration> {
        self.keep_alive
    }

    async fn send_keep_alive(&self) -> Result<()> {
        self.pool.keep_alive().await
    }

    async fn new_session(&self) -> Result<Box<dyn Session>> {
        self.pool.check_open("new session")?;
        Ok(Box::new(SshSession::new(
            self.pool.clone(),
            self.target.clone(),
        )))
    }

    async fn files(&self) -> Result<Arc<dyn FileClient>> {
        Ok(self.sftp().await?)
    }

    async fn upload_agent(&self, local: &Path, remote: &str, mode: u32) -> Result<String> {
        let files = self.sftp().await?;
        // The SFTP server starts in the user's home, so realpath(".") is `~`.
        let home = files.realpath(".").await?;
        upload_via_files(files.as_ref(), local, remote, mode, &home).await
    }

    async fn detect_platform(&self) -> Result<PlatformInfo> {
        platform::detect(&self.pool, &self.target).await
    }

    async fn close(&self) -> Result<()> {
        if let Some(c) = self.files.lock().await.take() {
            c.files.close();
        }
        self.pool.close().await;
        Ok(())
    }
}
