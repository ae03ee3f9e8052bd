//! The connection to an engine's API, with the API version negotiated down to what the engine
//! speaks (bollard asks for a newer one than many engines serve).

use bollard::Docker;

use super::{Endpoint, errors};
use crate::error::Result;

/// Connects to `endpoint`, negotiates the API version and pings the engine.
pub async fn connect(endpoint: &Endpoint) -> Result<Docker> {
    let addr = endpoint.addr();
    let docker =
        Docker::connect_with_host(addr).map_err(|e| errors::map(endpoint, "connect", addr, e))?;
    let docker = docker
        .negotiate_version()
        .await
        .map_err(|e| errors::map(endpoint, "negotiate API version", addr, e))?;
    docker
        .ping()
        .await
        .map_err(|e| errors::map(endpoint, "ping", addr, e))?;
    Ok(docker)
}
