//! The container engines the backend drives, and where their APIs listen: dockerd, or Podman's
//! service, which serves the same API (Podman 4.3 reports API version 1.41). Each engine has
//! its own address variable and default socket.

/// The engine behind an API address: it names the backend's type, the engine in messages, and
/// the CLI that fixes a container's state.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Engine {
    /// dockerd.
    Docker,
    /// Podman's API service (`podman system service`).
    Podman,
}

impl Engine {
    /// The engine's scheme and CLI name, which is also its backend's type.
    pub fn name(self) -> &'static str {
        match self {
            Engine::Docker => "docker",
            Engine::Podman => "podman",
        }
    }

    /// The engine in an error message.
    pub(super) fn service(self) -> &'static str {
        match self {
            Engine::Docker => "the Docker daemon",
            Engine::Podman => "the Podman service",
        }
    }

    /// The environment variable that overrides the engine's address, as its own CLI reads it.
    pub(super) fn variable(self) -> &'static str {
        match self {
            Engine::Docker => "DOCKER_HOST",
            Engine::Podman => "CONTAINER_HOST",
        }
    }
}

/// An engine's API address: `unix://`, `tcp://` or `http://` (`https://` with
/// `DOCKER_TLS_VERIFY`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Endpoint {
    engine: Engine,
    addr: String,
}

impl Endpoint {
    /// `engine` at `addr`.
    pub fn new(engine: Engine, addr: impl Into<String>) -> Endpoint {
        Endpoint {
            engine,
            addr: addr.into(),
        }
    }

    /// `engine` where its own CLI would find it: its variable ([`Engine::Docker`]: `DOCKER_HOST`,
    /// [`Engine::Podman`]: `CONTAINER_HOST`) when set, else its default socket.
    pub fn from_env(engine: Engine) -> Endpoint {
        let addr = std::env::var(engine.variable())
            .ok()
            .filter(|a| !a.is_empty())
            .unwrap_or_else(|| match engine {
                Engine::Docker => "unix:///var/run/docker.sock".into(),
                Engine::Podman => podman_socket(
                    rustix::process::geteuid().as_raw(),
                    std::env::var("XDG_RUNTIME_DIR").ok(),
                ),
            });
        Endpoint::new(engine, addr)
    }

    /// The engine.
    pub fn engine(&self) -> Engine {
        self.engine
    }

    /// The address.
    pub fn addr(&self) -> &str {
        &self.addr
    }

    /// Whether the engine runs on this machine (a unix socket), so its process ids are ours.
    pub fn is_local(&self) -> bool {
        self.addr.starts_with("unix://")
    }
}

/// Podman's socket for `uid` as `podman system service` places it: the system one for root, else
/// the user's under `$XDG_RUNTIME_DIR` (or `/run/user/<uid>`, which that usually is).
fn podman_socket(uid: u32, runtime_dir: Option<String>) -> String {
    match runtime_dir.filter(|d| !d.is_empty()) {
        _ if uid == 0 => "unix:///run/podman/podman.sock".into(),
        Some(dir) => format!("unix://{}/podman/podman.sock", dir.trim_end_matches('/')),
        None => format!("unix:///run/user/{uid}/podman/podman.sock"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn podman_socket_follows_the_user() {
        let xdg = || Some("/run/user/1000/".to_string());
        assert_eq!(podman_socket(0, xdg()), "unix:///run/podman/podman.sock");
        assert_eq!(
            podman_socket(1000, xdg()),
            "unix:///run/user/1000/podman/podman.sock"
        );
        assert_eq!(
            podman_socket(1001, Some("/tmp/rt".into())),
            "unix:///tmp/rt/podman/podman.sock"
        );
        assert_eq!(
            podman_socket(1002, None),
            "unix:///run/user/1002/podman/podman.sock"
        );
        assert_eq!(
            podman_socket(1003, Some(String::new())),
            "unix:///run/user/1003/podman/podman.sock"
        );
    }
}
