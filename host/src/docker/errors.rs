//! Docker errors to [`ErrorCode`]s, in one place for the Docker and Compose backends.
//!
//! The Engine API answers with an HTTP status and a message; the status decides the code where
//! it is precise (404 no such container or exec, 409 conflict such as a stopped container), and
//! a failure to reach the daemon at all is `connection-lost`.

use bollard::errors::Error as DockerError;
use bollard::models::ContainerState;

use crate::error::{Error, ErrorCode};

/// Maps a bollard error for `op` on `target`, keeping it as the source.
pub fn map(op: &str, target: &str, e: DockerError) -> Error {
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
            format!("cannot reach the Docker daemon: {e}"),
        ),
        DockerError::UnsupportedURISchemeError { .. }
        | DockerError::InvalidURIError { .. }
        | DockerError::InvalidURIPartsError { .. }
        | DockerError::URLParseError { .. } => (
            ErrorCode::InvalidArgument,
            format!("bad Docker daemon address (DOCKER_HOST): {e}"),
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
pub fn paused(op: &str, target: &str) -> Error {
    Error::new(
        ErrorCode::ConnectionLost,
        op,
        target,
        format!("container is paused; resume it with `docker unpause {target}`"),
    )
}

/// The error for a container that exists but is not running, naming the state inspect gave.
pub fn not_running(op: &str, target: &str, state: Option<&ContainerState>) -> Error {
    let state = state
        .and_then(|s| s.status)
        .map_or_else(|| "unknown".to_string(), |s| s.to_string());
    Error::new(
        ErrorCode::ConnectionLost,
        op,
        target,
        format!("container is not running (state: {state}); start it with `docker start {target}`"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

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
        for (e, code) in cases {
            let mapped = map("op", "target", e);
            assert_eq!(mapped.code(), code, "{mapped}");
            assert!(std::error::Error::source(&mapped).is_some());
        }
    }
}
