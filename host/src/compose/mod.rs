//! The `compose://project/service[/N]` backend: finds the service's container by the labels
//! docker compose sets, then is the Docker backend on it (type `compose`, addr
//! `project/service/N`).
//!
//! The decision (which container, or which error with which candidates) is made by the
//! compose-resolver guest, a pure function over the daemon's container list (`wit/compose.wit`,
//! `guests/compose-resolver`): the rules live in one place, are tested natively and through the
//! host, and an embedder can swap them ([`ComposeBackend::with_resolver`]) without rebuilding
//! the host. This module only gathers the guest's inputs.
//!
//! # Layout
//! - [`project`]: the project context of the working directory.

pub mod project;

use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use async_trait::async_trait;
use bollard::query_parameters::ListContainersOptions;

use crate::backend::Backend;
use crate::docker::{DockerBackend, Endpoint, Engine};
use crate::error::{Error, ErrorCode, Result};
use crate::file_client::FileClient;
use crate::guest::{ComposeResolver, Container, ProjectContext};
use crate::session::Session;
use crate::types::PlatformInfo;

/// A Compose service's container as a backend.
#[derive(Debug)]
pub struct ComposeBackend {
    project: String,
    service: String,
    sequence: u32,
    context: Option<ProjectContext>,
    resolver: Option<Arc<ComposeResolver>>,
    /// The engine the project runs on: Docker, where docker compose puts it.
    endpoint: Endpoint,
    inner: RwLock<Option<Arc<DockerBackend>>>,
}

impl ComposeBackend {
    /// A backend for `compose://project/service[/sequence]` (sequence 0 = the only running
    /// replica; project `.` = the working directory's project, detected at `start`).
    pub fn new(project: &str, service: &str, sequence: u32) -> ComposeBackend {
        ComposeBackend {
            project: project.into(),
            service: service.into(),
            sequence,
            context: None,
            resolver: None,
            endpoint: Endpoint::from_env(Engine::Docker),
            inner: RwLock::new(None),
        }
    }

    /// The same, with the project context given rather than read from the working directory and
    /// environment (project `.` from another directory).
    pub fn with_context(mut self, context: ProjectContext) -> ComposeBackend {
        self.context = Some(context);
        self
    }

    /// The same, resolving with `resolver` instead of the built-in compose-resolver guest.
    pub fn with_resolver(mut self, resolver: Arc<ComposeResolver>) -> ComposeBackend {
        self.resolver = Some(resolver);
        self
    }

    fn raw(&self) -> String {
        match self.sequence {
            0 => format!("compose://{}/{}", self.project, self.service),
            n => format!("compose://{}/{}/{n}", self.project, self.service),
        }
    }

    fn inner(&self, op: &str) -> Result<Arc<DockerBackend>> {
        self.inner
            .read()
            .ok()
            .and_then(|i| i.clone())
            .ok_or_else(|| {
                Error::new(
                    ErrorCode::ConnectionLost,
                    op,
                    self.raw(),
                    "backend is not started (call start first)",
                )
            })
    }

    /// The resolver to run: the one given, else the embedded one, compiled (or read from the
    /// guest cache) off the async threads.
    async fn resolver(&self) -> Result<Arc<ComposeResolver>> {
        if let Some(r) = &self.resolver {
            return Ok(r.clone());
        }
        tokio::task::spawn_blocking(ComposeResolver::embedded)
            .await
            .map_err(|e| {
                Error::new(
                    ErrorCode::Io,
                    "load guest",
                    "compose-resolver",
                    e.to_string(),
                )
            })?
    }

    async fn resolve(&self) -> Result<crate::guest::Resolution> {
        let context = match &self.context {
            Some(c) => c.clone(),
            None if self.project == "." => {
                project::current().map_err(|e| Error::from_io("resolve", self.raw(), e))?
            }
            None => ProjectContext::default(),
        };
        let resolver = self.resolver().await?;
        let docker = crate::docker::connect_daemon(&self.endpoint).await?;
        // Every container of a compose service of this name, in any project and state: the
        // resolver decides, and names the near misses in its errors.
        let filters = HashMap::from([(
            "label".to_string(),
            vec![
                "com.docker.compose.project".to_string(),
                format!("com.docker.compose.service={}", self.service),
            ],
        )]);
        let listed = docker
            .list_containers(Some(ListContainersOptions {
                all: true,
                filters: Some(filters),
                ..Default::default()
            }))
            .await
            .map_err(|e| {
                crate::docker::map_error(&self.endpoint, "list containers", &self.raw(), e)
            })?;
        let containers: Vec<Container> = listed
            .into_iter()
            .map(|c| Container {
                id: c.id.unwrap_or_default(),
                names: c.names.unwrap_or_default(),
                labels: c.labels.unwrap_or_default().into_iter().collect(),
                state: c.state.map(|s| s.to_string()).unwrap_or_default(),
            })
            .collect();
        resolver
            .resolve(
                &self.project,
                &self.service,
                self.sequence,
                &context,
                &containers,
            )
            .await
    }
}

#[async_trait]
impl Backend for ComposeBackend {
    fn backend_type(&self) -> String {
        "compose".into()
    }

    fn addr(&self) -> String {
        self.inner("addr")
            .map(|i| i.addr())
            .unwrap_or_else(|_| self.raw().trim_start_matches("compose://").to_string())
    }

    fn user(&self) -> String {
        self.inner("user").map(|i| i.user()).unwrap_or_default()
    }

    async fn start(&self) -> Result<()> {
        let r = self.resolve().await?;
        let addr = format!("{}/{}/{}", r.project, self.service, r.container_number);
        let inner = Arc::new(DockerBackend::with_identity(
            "compose",
            self.endpoint.clone(),
            &r.container_id,
            &addr,
        ));
        inner.start().await?;
        if let Ok(mut slot) = self.inner.write() {
            *slot = Some(inner);
        }
        Ok(())
    }

    fn is_connected(&self) -> bool {
        self.inner("is connected").is_ok_and(|i| i.is_connected())
    }

    fn last_err(&self) -> Option<Error> {
        self.inner("last error").ok().and_then(|i| i.last_err())
    }

    fn keep_alive_interval(&self) -> Option<Duration> {
        self.inner("keep-alive")
            .ok()
            .and_then(|i| i.keep_alive_interval())
    }

    async fn send_keep_alive(&self) -> Result<()> {
        self.inner("keep-alive")?.send_keep_alive().await
    }

    async fn new_session(&self) -> Result<Box<dyn Session>> {
        self.inner("new session")?.new_session().await
    }

    async fn files(&self) -> Result<Arc<dyn FileClient>> {
        self.inner("files")?.files().await
    }

    async fn upload_agent(&self, local: &Path, remote: &str, mode: u32) -> Result<String> {
        self.inner("upload agent")?
            .upload_agent(local, remote, mode)
            .await
    }

    async fn detect_platform(&self) -> Result<PlatformInfo> {
        self.inner("detect platform")?.detect_platform().await
    }

    async fn close(&self) -> Result<()> {
        match self.inner("close") {
            Ok(i) => i.close().await,
            Err(_) => Ok(()),
        }
    }
}
