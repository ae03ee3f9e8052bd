//! A backend whose files go through OpenSSH's own `sftp-server`, run as a local child process:
//! the SFTP client checked against the reference server without an SSH connection in between.
//! Sessions, platform and the rest are the local backend's.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use remote_host::local::LocalBackend;
use remote_host::sftp::SftpFiles;
use remote_host::upload::upload_via_files;
use remote_host::{Backend, Error, FileClient, PlatformInfo, Result, Session};
use tokio::process::{Child, Command};

/// Where Debian installs OpenSSH's server.
pub const SFTP_SERVER: &str = "/usr/lib/openssh/sftp-server";

/// The local machine, with files through OpenSSH's `sftp-server` over its stdio.
#[derive(Debug)]
pub struct SftpServerBackend {
    local: LocalBackend,
    files: SftpFiles,
    // Held so the server lives as long as the backend; killed on drop.
    _server: Child,
}

impl SftpServerBackend {
    /// Starts `sftp-server` and an SFTP session on its stdio; panics with the reason if it cannot.
    pub async fn start() -> SftpServerBackend {
        let mut server = Command::new(SFTP_SERVER)
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .unwrap_or_else(|e| {
                panic!("cannot start {SFTP_SERVER} (package openssh-sftp-server): {e}")
            });
        let (Some(stdin), Some(stdout)) = (server.stdin.take(), server.stdout.take()) else {
            panic!("{SFTP_SERVER}: stdio pipes missing");
        };
        let files = SftpFiles::new(tokio::io::join(stdout, stdin), "sftp-server")
            .await
            .unwrap_or_else(|e| panic!("SFTP session with {SFTP_SERVER}: {e}"));
        let local = LocalBackend::new();
        local
            .start()
            .await
            .unwrap_or_else(|e| panic!("local backend: {e}"));
        SftpServerBackend {
            local,
            files,
            _server: server,
        }
    }
}

#[async_trait]
impl Backend for SftpServerBackend {
    fn backend_type(&self) -> String {
        "sftp-server".into()
    }
    fn addr(&self) -> String {
        SFTP_SERVER.into()
    }
    fn user(&self) -> String {
        self.local.user()
    }
    async fn start(&self) -> Result<()> {
        self.local.start().await
    }
    fn is_connected(&self) -> bool {
        self.local.is_connected()
    }
    fn last_err(&self) -> Option<Error> {
        self.local.last_err()
    }
    fn keep_alive_interval(&self) -> Option<Duration> {
        self.local.keep_alive_interval()
    }
    async fn send_keep_alive(&self) -> Result<()> {
        self.local.send_keep_alive().await
    }
    async fn new_session(&self) -> Result<Box<dyn Session>> {
        self.local.new_session().await
    }
    async fn files(&self) -> Result<Arc<dyn FileClient>> {
        if !self.local.is_connected() {
            return Err(remote_host::lifetime::closed("files", SFTP_SERVER));
        }
        Ok(Arc::new(self.files.clone()))
    }
    async fn upload_agent(&self, local: &Path, remote: &str, mode: u32) -> Result<String> {
        let home = self.files.getwd().await?;
        upload_via_files(&self.files, local, remote, mode, &home).await
    }
    async fn detect_platform(&self) -> Result<PlatformInfo> {
        self.local.detect_platform().await
    }
    async fn close(&self) -> Result<()> {
        self.files.close();
        self.local.close().await
    }
}
