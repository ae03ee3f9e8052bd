//! Engine API errors to [`ErrorCode`]s, in one place for the Docker, Podman and Compose
//! backends.
//!
//! The Engine API answers with an HTTP status and a message; the status decides the code where
//! it is precise (404 no such container or exec, 409 conflict such as a stopped container), and
//! a failure to reach the engine at all is `connection-lost`, naming the engine and its address.

use bollard::errors::Error as DockerError;
use bollard::models::ContainerState;

use super::engine::Endpoint;
use crate::error::{Error, ErrorCode};

/// Maps a bollard error from `engine` for `op` on `target`, keeping it as the source.
pub fn map(engine: &Endpoint, op: &str, target: &str, e: DockerError) -> Error {
    let (code, message) = match &e {
        DockerError::DockerResponseServerError {
            status_code,
            message,
        } => (status_code_to_error(*status_code, message), message.clone()),
        DockerError::RequestTimeoutError => (ErrorCode::Timeout, e.to_string()),
        DockerError::IOError { .. }
        | DockerError::HyperResponseError { .. }
        | DockerError::HttpClientError { .. }
        | DockerError::HyperLegacyError { .. }
        | DockerError::SocketNotFoundError(_) => (
            ErrorCode::ConnectionLost,
            format!(
                "cannot reach {} at {}: {e}",
                engine.engine().service(),
                engine.addr()
            ),
        ),
        DockerError::UnsupportedURISchemeError { .. }
        | DockerError::InvalidURIError { .. }
        | DockerError::InvalidURIPartsError { .. }
        | DockerError::URLParseError { .. } => (
            ErrorCode::InvalidArgument,
            format!(
                "bad address for {} ({}): {e}",
                engine.engine().service(),
                engine.engine().variable()
            ),
        ),
        _ => (ErrorCode::Io, e.to_string()),
    };
    Error::new(code, op, target, message).with_source(e)
}

fn status_code_to_error(status: u16, message: &str) -> ErrorCode {
    match status {
        404 => ErrorCode::NotFound,
        409 if message.contains("not running") || message.contains("paused") => {
            ErrorCode::ConnectionLost
        }
        409 => ErrorCode::Busy,
        400 => ErrorCode::InvalidArgument,
        401 | 403 => ErrorCode::AccessDenied,
        _ if message.contains("executable file not found")
            || message.contains("no such file or directory") =>
        {
            ErrorCode::NotExecutable
        }
        _ => ErrorCode::Io,
    }
}

/// The error for a container that is paused: its processes are frozen, so work sent there would
/// hang until it is resumed.
pub fn paused(engine: &Endpoint, op: &str, target: &str) -> Error {
    Error::new(
        ErrorCode::ConnectionLost,
        op,
        target,
        format!(
            "container is paused; resume it with `{} unpause {target}`",
            engine.engine().name()
        ),
    )
}

/// The error for a container that exists but is not running, naming the state inspect gave.
pub fn not_running(
    engine: &Endpoint,
    op: &str,
    target: &str,
    state: Option<&ContainerState>,
) -> Error {
    let state = state
        .and_then(|s| s.status)
        .map_or_else(|| "unknown".to_string(), |s| s.to_string());
    Error::new(
        ErrorCode::ConnectionLost,
        op,
        target,
        format!(
            "container is not running (state: {state}); start it with `{} start {target}`",
            engine.engine().name()
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::docker::engine::Engine;

    #[test]
    fn statuses_map_to_codes() {
        let server = |status_code: u16, message: &str| DockerError::DockerResponseServerError {
            status_code,
            message: message.into(),
        };
        let cases = [
            (server(404, "No such container: x"), ErrorCode::NotFound),
            (
                server(409, "Container abc is not running"),
                ErrorCode::ConnectionLost,
            ),
            (server(409, "conflict"), ErrorCode::Busy),
            (server(400, "bad parameter"), ErrorCode::InvalidArgument),
            (
                server(
                    500,
                    "OCI runtime exec failed: exec: \"x\": executable file not found in $PATH",
                ),
                ErrorCode::NotExecutable,
            ),
            (server(500, "boom"), ErrorCode::Io),
            (DockerError::RequestTimeoutError, ErrorCode::Timeout),
            (
                DockerError::SocketNotFoundError("/nope.sock".into()),
                ErrorCode::ConnectionLost,
            ),
        ];
        let docker = Endpoint::new(Engine::Docker, "unix:///var/run/docker.sock");
        for (e, code) in cases {
            let mapped = map(&docker, "op", "target", e);
            assert_eq!(mapped.code(), code, "{mapped}");
            assert!(std::error::Error::source(&mapped).is_some());
        }
    }

    #[test]
    fn messages_name_the_engine_and_its_address() {
        let podman = Endpoint::new(Engine::Podman, "unix:///run/podman/podman.sock");
        let e = map(
            &podman,
            "connect",
            podman.addr(),
            DockerError::SocketNotFoundError("/run/podman/podman.sock".into()),
        );
        assert_eq!(e.code(), ErrorCode::ConnectionLost);
        assert!(
            e.message()
                .contains("cannot reach the Podman service at unix:///run/podman/podman.sock"),
            "{e}"
        );
        let e = map(
            &podman,
            "connect",
            "ftp://x",
            DockerError::UnsupportedURISchemeError {
                uri: "ftp://x".into(),
            },
        );
        assert!(e.message().contains("CONTAINER_HOST"), "{e}");
        let e = not_running(&podman, "start", "web", None);
        assert!(e.message().contains("`podman start web`"), "{e}");
        let e = paused(&podman, "keep-alive", "web");
        assert!(e.message().contains("`podman unpause web`"), "{e}");
    }
}
