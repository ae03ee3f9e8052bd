//! The `local://` backend: this machine, through the OS, with no connection at all.
//!
//! It is the embedded default of the CLI demo and the reference target of the conformance suite,
//! so every operation is real: commands run through `/bin/sh -c` with OS pipes, files go through
//! the POSIX calls themselves (`statvfs`, `utimensat`, `pread`/`pwrite`, `fsync`).
//!
//! # Layout
//! - `session`: commands as child processes.
//! - `files`: the file client and its handles.

mod files;
mod session;

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;

use crate::backend::Backend;
use crate::error::{Error, ErrorCode, Result};
use crate::file_client::FileClient;
use crate::lifetime::Lifetime;
use crate::platform::platform_from;
use crate::session::Session;
use crate::types::PlatformInfo;
use crate::upload::upload_via_files;

pub use files::LocalFiles;
pub use session::LocalSession;

/// This machine as a backend. Closing it kills the commands of its sessions and closes every
/// file client and handle it gave out (they share its [`Lifetime`]).
#[derive(Debug)]
pub struct LocalBackend {
    lifetime: Lifetime,
    files: Arc<LocalFiles>,
}

impl Default for LocalBackend {
    fn default() -> LocalBackend {
        let lifetime = Lifetime::new();
        LocalBackend {
            files: Arc::new(LocalFiles::new(lifetime.clone())),
            lifetime,
        }
    }
}

/// How errors name this backend.
const TARGET: &str = "local://";

impl LocalBackend {
    /// A backend for this machine; `start` is still required, as for every backend.
    pub fn new() -> LocalBackend {
        LocalBackend::default()
    }

    fn check_open(&self, op: &str) -> Result<()> {
        self.lifetime.check(op, TARGET)
    }
}

/// The current user's passwd entry as (name, home), if it has one.
pub(crate) fn passwd_entry() -> Option<(String, String)> {
    let uid = rustix::process::getuid().as_raw().to_string();
    let passwd = std::fs::read_to_string("/etc/passwd").ok()?;
    passwd
        .lines()
        .map(|l| l.split(':').collect::<Vec<_>>())
        .find(|f| f.len() >= 6 && f[2] == uid)
        .map(|f| (f[0].to_string(), f[5].to_string()))
}

/// The home directory used for `~`: `$HOME`, else the passwd entry of the current user.
pub(crate) fn home_dir() -> Result<String> {
    if let Some(home) = std::env::var_os("HOME").filter(|h| !h.is_empty()) {
        return home.into_string().map_err(|h| {
            Error::new(
                ErrorCode::IllegalByteSequence,
                "resolve home",
                format!("{h:?}"),
                "$HOME is not UTF-8",
            )
        });
    }
    passwd_entry().map(|(_, home)| home).ok_or_else(|| {
        Error::new(
            ErrorCode::NotFound,
            "resolve home",
            format!("uid {}", rustix::process::getuid().as_raw()),
            "$HOME is unset and /etc/passwd has no entry for this user",
        )
    })
}

#[async_trait]
impl Backend for LocalBackend {
    fn backend_type(&self) -> String {
        "local".into()
    }

    fn addr(&self) -> String {
        let uname = rustix::system::uname();
        uname.nodename().to_string_lossy().into_owned()
    }

    fn user(&self) -> String {
        passwd_entry()
            .map(|(name, _)| name)
            .unwrap_or_else(|| rustix::process::getuid().as_raw().to_string())
    }

    async fn start(&self) -> Result<()> {
        self.check_open("start")
    }

    fn is_connected(&self) -> bool {
        !self.lifetime.is_ended()
    }

    fn last_err(&self) -> Option<Error> {
        None
    }

    fn keep_alive_interval(&self) -> Option<Duration> {
        None
    }

    async fn send_keep_alive(&self) -> Result<()> {
        self.check_open("keep-alive")
    }

    async fn new_session(&self) -> Result<Box<dyn Session>> {
        self.check_open("new session")?;
        Ok(Box::new(LocalSession::new(self.lifetime.clone())))
    }

    async fn files(&self) -> Result<Arc<dyn FileClient>> {
        self.check_open("files")?;
        Ok(self.files.clone())
    }

    async fn upload_agent(&self, local: &Path, remote: &str, mode: u32) -> Result<String> {
        self.check_open("upload agent")?;
        upload_via_files(self.files.as_ref(), local, remote, mode, &home_dir()?).await
    }

    async fn detect_platform(&self) -> Result<PlatformInfo> {
        self.check_open("detect platform")?;
        let uname = rustix::system::uname();
        let p = platform_from(
            &uname.sysname().to_string_lossy(),
            &uname.machine().to_string_lossy(),
            "",
        );
        if p.os.is_empty() && p.arch.is_empty() {
            return Err(Error::new(
                ErrorCode::Unsupported,
                "detect platform",
                TARGET,
                format!(
                    "uname reported an unknown platform ({:?} {:?})",
                    uname.sysname(),
                    uname.machine()
                ),
            ));
        }
        Ok(p)
    }

    async fn close(&self) -> Result<()> {
        self.lifetime.end();
        Ok(())
    }
}
