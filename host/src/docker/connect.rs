//! The connection to the Docker daemon: `DOCKER_HOST` when set (unix, tcp or http), else the
//! local unix socket, with the API version negotiated down to what the daemon speaks (bollard
//! asks for a newer API than many daemons serve).

use bollard::Docker;

use super::errors;
use crate::error::Result;

/// The daemon address in use, for messages.
pub fn daemon_addr() -> String {
    std::env::var("DOCKER_HOST").unwrap_or_else(|_| "unix:///var/run/docker.sock".into())
}

/// Whether the daemon runs on this machine (a unix socket), so its process ids are ours.
pub fn daemon_is_local() -> bool {
    daemon_addr().starts_with("unix://")
}

/// Connects, negotiates the API version and pings the daemon.
pub async fn connect() -> Result<Docker> {
    let addr = daemon_addr();
    let docker = Docker::connect_with_defaults().map_err(|e| errors::map("connect", &addr, e))?;
    let docker = docker
        .negotiate_version()
        .await
        .map_err(|e| errors::map("negotiate API version", &addr, e))?;
    docker
        .ping()
        .await
        .map_err(|e| errors::map("ping", &addr, e))?;
    Ok(docker)
}
