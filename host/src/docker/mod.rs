//! The `docker://container` and `podman://container` backends, with bollard on the Engine API
//! (Podman serves a Docker-compatible one): commands through attached execs, files through the
//! static agent speaking SFTP over an exec, uploads through the archive API. It works on
//! containers with no shell and no tools at all (`FROM scratch`): files need only the agent, and
//! a command line without shell syntax runs directly.
//!
//! `start` connects (the engine's [`Endpoint`]; API version negotiated), pings, and inspects the
//! container, which must exist and run. Each backend has its own agent process and sessions;
//! backends on one container share only the agent's (content-addressed) file.
//!
//! # Layout
//! - `engine`: the engines and their addresses. `connect`: the connection to one.
//! - `errors`: Engine API errors to codes, in one place.
//! - `session`: commands as attached execs. `argv`: command lines for shell-less containers.
//! - `agent`: the embedded agents, their installation and the SFTP client on them.
//! - `archive`: files into the container through the archive API. `upload`: `upload-agent`.
//! - `platform`: the platform from image inspect.

mod agent;
mod archive;
mod argv;
mod connect;
mod engine;
mod errors;
mod platform;
mod session;
mod upload;

use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use async_trait::async_trait;
use bollard::Docker;
use bollard::query_parameters::{ContainerArchiveInfoOptions, InspectContainerOptions};
use tokio::io::AsyncReadExt;

use crate::backend::Backend;
use crate::error::{Error, ErrorCode, Result};
use crate::file_client::FileClient;
use crate::lifetime::Lifetime;
use crate::platform::platform_from;
use crate::session::Session;
use crate::types::PlatformInfo;

pub use agent::{agent_for, agent_install_name, embedded_agents};
pub use connect::connect as connect_daemon;
pub use engine::{Endpoint, Engine};
pub use errors::map as map_error;
pub use session::DockerSession;

/// How often the caller should ask after the container (`send_keep_alive`).
const KEEP_ALIVE: Duration = Duration::from_secs(30);

/// A started backend's view of its container.
#[derive(Debug)]
pub struct Container {
    docker: Docker,
    /// The engine, for messages and to know whether its processes are ours.
    endpoint: Endpoint,
    /// The full container ID.
    id: String,
    /// The name used in messages: as the user gave it.
    name: String,
    /// The user execs run as; empty = the container's configured user.
    user: String,
    /// The image ID, for platform detection.
    image: String,
    /// Whether `/bin/sh` exists, so commands can go through a shell.
    has_shell: bool,
    /// The backend's: its sessions end when it closes.
    lifetime: Lifetime,
}

/// A container of Docker or Podman as a backend.
#[derive(Debug)]
pub struct DockerBackend {
    kind: &'static str,
    endpoint: Endpoint,
    reference: String,
    addr: String,
    container: RwLock<Option<Arc<Container>>>,
    files: tokio::sync::Mutex<Option<agent::AgentFiles>>,
    last_err: Mutex<Option<Error>>,
    connected: AtomicBool,
    lifetime: Lifetime,
}

impl DockerBackend {
    /// A backend for the Docker container named or identified by `container`; `start` connects
    /// (`DOCKER_HOST`, else `/var/run/docker.sock`).
    pub fn new(container: &str) -> DockerBackend {
        DockerBackend::on(Endpoint::from_env(Engine::Docker), container)
    }

    /// A backend for the Podman container `container` (`CONTAINER_HOST`, else the rootful or
    /// the user's socket, as [`Endpoint::from_env`] says).
    pub fn podman(container: &str) -> DockerBackend {
        DockerBackend::on(Endpoint::from_env(Engine::Podman), container)
    }

    /// A backend for `container` of the engine at `endpoint`; its type is the engine's name.
    pub fn on(endpoint: Endpoint, container: &str) -> DockerBackend {
        DockerBackend::with_identity(endpoint.engine().name(), endpoint, container, container)
    }

    /// A backend on `container` of the engine at `endpoint` that reports itself as `kind` at
    /// `addr` (the Compose backend).
    pub fn with_identity(
        kind: &'static str,
        endpoint: Endpoint,
        container: &str,
        addr: &str,
    ) -> DockerBackend {
        DockerBackend {
            kind,
            endpoint,
            reference: container.to_string(),
            addr: addr.to_string(),
            container: RwLock::new(None),
            files: tokio::sync::Mutex::new(None),
            last_err: Mutex::new(None),
            connected: AtomicBool::new(false),
            lifetime: Lifetime::new(),
        }
    }

    fn container(&self, op: &str) -> Result<Arc<Container>> {
        self.lifetime.check(op, &self.addr)?;
        self.container
            .read()
            .ok()
            .and_then(|c| c.clone())
            .ok_or_else(|| {
                Error::new(
                    ErrorCode::ConnectionLost,
                    op,
                    &self.addr,
                    "backend is not started (call start first)",
                )
            })
    }

    fn record<T>(&self, r: Result<T>) -> Result<T> {
        if let Ok(mut last) = self.last_err.lock() {
            *last = r.as_ref().err().cloned();
        }
        self.connected.store(r.is_ok(), Ordering::Release);
        r
    }

    async fn connect(&self) -> Result<Container> {
        let docker = connect::connect(&self.endpoint).await?;
        let info = docker
            .inspect_container(&self.reference, None::<InspectContainerOptions>)
            .await
            .map_err(|e| errors::map(&self.endpoint, "inspect container", &self.reference, e))?;
        let state = info.state.as_ref();
        if state.and_then(|s| s.running) != Some(true) {
            return Err(errors::not_running(
                &self.endpoint,
                "start",
                &self.reference,
                state,
            ));
        }
        let id = info.id.clone().unwrap_or_else(|| self.reference.clone());
        let has_shell = docker
            .get_container_archive_info(
                &id,
                Some(ContainerArchiveInfoOptions {
                    path: "/bin/sh".into(),
                }),
            )
            .await
            .is_ok();
        Ok(Container {
            docker,
            endpoint: self.endpoint.clone(),
            id,
            name: self.reference.clone(),
            user: info
                .config
                .as_ref()
                .and_then(|c| c.user.clone())
                .unwrap_or_default(),
            image: info.image.clone().unwrap_or_default(),
            has_shell,
            lifetime: self.lifetime.clone(),
        })
    }

    /// `uname -s -m` through a session, for images that do not say their platform.
    async fn uname(&self) -> Result<PlatformInfo> {
        let mut s = self.new_session().await?;
        let mut out = s.stdout()?;
        s.start("uname -s -m").await?;
        let mut text = String::new();
        let read = out.read_to_string(&mut text).await;
        let status = s.wait().await?;
        s.close().await?;
        read.map_err(|e| Error::from_io("detect platform", &self.addr, e))?;
        let mut words = text.split_whitespace();
        match (status.success(), words.next(), words.next()) {
            (true, Some(os), Some(machine)) => Ok(platform_from(os, machine, "")),
            _ => Err(Error::new(
                ErrorCode::Unsupported,
                "detect platform",
                &self.addr,
                format!("the image declares no platform and `uname -s -m` gave {text:?}"),
            )),
        }
    }
}

#[async_trait]
impl Backend for DockerBackend {
    fn backend_type(&self) -> String {
        self.kind.into()
    }

    fn addr(&self) -> String {
        self.addr.clone()
    }

    fn user(&self) -> String {
        match self.container.read().ok().and_then(|c| c.clone()) {
            Some(c) if !c.user.is_empty() => c.user.clone(),
            Some(_) => "root".into(),
            None => String::new(),
        }
    }

    async fn start(&self) -> Result<()> {
        self.lifetime.check("start", &self.addr)?;
        let c = self.record(self.connect().await)?;
        if let Ok(mut slot) = self.container.write() {
            *slot = Some(Arc::new(c));
        }
        Ok(())
    }

    fn is_connected(&self) -> bool {
        !self.lifetime.is_ended() && self.connected.load(Ordering::Acquire)
    }

    fn last_err(&self) -> Option<Error> {
        self.last_err.lock().ok().and_then(|e| e.clone())
    }

    fn keep_alive_interval(&self) -> Option<Duration> {
        Some(KEEP_ALIVE)
    }

    /// Asks the daemon for the container's state: a daemon that does not answer, or a container
    /// that stopped, died or was paused (where execs would fail or hang), is an error.
    async fn send_keep_alive(&self) -> Result<()> {
        let c = self.container("keep-alive")?;
        let alive = c
            .docker
            .inspect_container(&c.id, None::<InspectContainerOptions>)
            .await
            .map_err(|e| errors::map(&c.endpoint, "keep-alive", &self.addr, e))
            .and_then(|info| {
                let state = info.state.unwrap_or_default();
                match (state.running, state.paused) {
                    (Some(true), Some(true)) => {
                        Err(errors::paused(&c.endpoint, "keep-alive", &self.addr))
                    }
                    (Some(true), _) => Ok(()),
                    _ => Err(errors::not_running(
                        &c.endpoint,
                        "keep-alive",
                        &self.addr,
                        Some(&state),
                    )),
                }
            });
        self.record(alive)
    }

    async fn new_session(&self) -> Result<Box<dyn Session>> {
        Ok(Box::new(DockerSession::new(self.container("new session")?)))
    }

    async fn files(&self) -> Result<Arc<dyn FileClient>> {
        let c = self.container("files")?;
        let mut slot = self.files.lock().await;
        if let Some(f) = slot.as_ref().filter(|f| f.is_alive()) {
            return Ok(f.client.clone());
        }
        if let Some(dead) = slot.take() {
            dead.close();
        }
        let platform = self.detect_platform().await?;
        let started = agent::launch(&c, agent::binary(&platform, &c.name)?).await?;
        let client = started.client.clone();
        *slot = Some(started);
        Ok(client)
    }

    async fn upload_agent(&self, local: &Path, remote: &str, mode: u32) -> Result<String> {
        let c = self.container("upload agent")?;
        let files = self.files().await?;
        upload::upload(&c, files.as_ref(), local, remote, mode).await
    }

    async fn detect_platform(&self) -> Result<PlatformInfo> {
        let c = self.container("detect platform")?;
        let p = platform::from_image(&c).await?;
        if !p.os.is_empty() && !p.arch.is_empty() {
            return Ok(p);
        }
        match self.uname().await {
            Ok(u) => Ok(PlatformInfo {
                os: if p.os.is_empty() { u.os } else { p.os },
                arch: if p.arch.is_empty() { u.arch } else { p.arch },
                variant: if p.variant.is_empty() {
                    u.variant
                } else {
                    p.variant
                },
            }),
            Err(_) if !p.os.is_empty() || !p.arch.is_empty() => Ok(p),
            Err(e) => Err(e),
        }
    }

    async fn close(&self) -> Result<()> {
        self.lifetime.end();
        self.connected.store(false, Ordering::Release);
        if let Some(f) = self.files.lock().await.take() {
            f.close();
        }
        Ok(())
    }
}
