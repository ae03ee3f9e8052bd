//! The conformance harness: real backends on real services, and the fixtures that describe them.
//!
//! `tests/fixtures/setup.sh` brings the services up (a loopback sshd with its own keys, dockerd,
//! podman's API service, locally built images) and writes
//! `/var/tmp/remote-test-fixtures/fixtures.json`;
//! [`Fixtures::load`] reads it.
//! A test whose fixture is missing fails with the reason and the command that fixes it: it never
//! passes quietly.
//!
//! # Layout
//! - [`Fixtures`]: what setup wrote.
//! - [`backends`]: one constructor per backend under test.
//! - [`bench`]: what the benchmarks share: interleaved pairs, watchdog-bounded peers, SHA-256
//!   checks, the README's table.
//! - [`docker`]: containers (of Docker or Podman), the scratch image and Compose projects,
//!   removed when dropped.
//! - [`fault_proxy`]: a TCP proxy that injects latency, throttling, stalls, cuts and resets.
//! - [`fleet`]: the loopback sshds of `tests/fixtures/fleet.sh`.
//! - [`soak`]: a bounded load soak over several backends with leak checks.
//! - [`sftp_server`]: a backend whose files go through OpenSSH's `sftp-server`.
//! - [`sshd`]: SSH options for the fixture and throwaway sshd instances.
//! - [`guests`]: guest layers over any backend.
//! - [`foreign`]: the guests written in Python and JavaScript, built by their own toolchains.
//! - [`check_case`]: runs one conformance case and fails the test unless it passed.
//! - [`backend_suite!`]: instantiates every case of the suite for one backend.
#![deny(missing_docs)]

use std::path::PathBuf;

pub mod bench;
pub mod docker;
pub mod fault_proxy;
pub mod fleet;
pub mod foreign;
pub mod sftp_server;
pub mod soak;
pub mod sshd;

use remote_host::Backend;
use remote_host::conformance::{CASES, Outcome, SuiteOptions, run_case};
use serde::Deserialize;

/// The loopback sshd.
#[derive(Debug, Clone, Deserialize)]
pub struct SshFixture {
    /// Listening address.
    pub host: String,
    /// Listening port.
    pub port: u16,
    /// The test user (shell `/bin/sh`).
    pub user: String,
    /// Private key authorised for `user`.
    pub identity: PathBuf,
    /// A known_hosts file holding the server's host key.
    pub known_hosts: PathBuf,
    /// The host key's fingerprint as OpenSSH prints it (`SHA256:…`).
    pub host_key_fingerprint: String,
    /// The sshd's configuration file (throwaway servers copy it).
    pub sshd_config: PathBuf,
}

/// The Docker daemon and the images built for tests.
#[derive(Debug, Clone, Deserialize)]
pub struct DockerFixture {
    /// The daemon's address.
    pub host: String,
    /// A busybox image built locally with `docker import`.
    pub busybox_image: String,
}

/// Podman's API service (`tests/fixtures/podman.sh`) and the image copied into its store.
#[derive(Debug, Clone, Deserialize)]
pub struct PodmanFixture {
    /// The service's address.
    pub host: String,
    /// The Docker fixture's busybox image, loaded into podman's store.
    pub busybox_image: String,
    /// The containers.conf the service runs with.
    pub containers_conf: PathBuf,
    /// The service's log.
    pub log: PathBuf,
}

/// Everything setup wrote.
#[derive(Debug, Clone, Deserialize)]
pub struct Fixtures {
    /// The loopback sshd.
    pub ssh: SshFixture,
    /// The Docker daemon.
    pub docker: DockerFixture,
    /// Podman's API service.
    pub podman: PodmanFixture,
}

impl Fixtures {
    /// The compose file of the test project, in this checkout.
    pub fn compose_file() -> PathBuf {
        PathBuf::from(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/fixtures/compose.yaml"
        ))
    }

    /// Reads `$REMOTE_FIXTURES`, else `/var/tmp/remote-test-fixtures/fixtures.json`; panics with
    /// the reason and the fix when it is missing or malformed, so a test without its service
    /// fails loudly.
    pub fn load() -> Fixtures {
        let path = std::env::var_os("REMOTE_FIXTURES").map_or_else(
            || PathBuf::from("/var/tmp/remote-test-fixtures/fixtures.json"),
            PathBuf::from,
        );
        let text = std::fs::read_to_string(&path).unwrap_or_else(|e| {
            panic!(
                "test fixtures are missing ({}: {e}); run tests/fixtures/setup.sh or the README's test command tests/run",
                path.display()
            )
        });
        serde_json::from_str(&text)
            .unwrap_or_else(|e| panic!("test fixtures {} are malformed: {e}", path.display()))
    }
}

/// Runs `cmd` on `b` and returns (status, stdout, stderr).
pub async fn exec(
    b: &dyn Backend,
    cmd: &str,
    env: &[(&str, &str)],
) -> remote_host::Result<(remote_host::ExitStatus, String, String)> {
    let out = remote_host::backend::capture(b, cmd, env).await?;
    Ok((
        out.status,
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    ))
}

/// The README's Rust examples, compiled and run as doc-tests.
#[doc = include_str!("../../README.md")]
#[cfg(doctest)]
pub struct ReadmeDoctests;

/// Constructors of the backends under test, each returning a started backend.
pub mod backends {
    use remote_host::Backend;
    use remote_host::docker::Engine;
    use remote_host::local::LocalBackend;

    /// `local://`.
    pub async fn local() -> Box<dyn Backend> {
        let b = LocalBackend::new();
        b.start()
            .await
            .unwrap_or_else(|e| panic!("local backend: {e}"));
        Box::new(b)
    }

    /// `docker://` on a busybox container of its own.
    pub async fn docker_busybox() -> Box<dyn Backend> {
        let c = crate::docker::ContainerGuard::busybox();
        let b = Box::new(remote_host::docker::DockerBackend::new(&c.name));
        crate::docker::Fixtured::start(b, c).await
    }

    /// `podman://` on a busybox container of its own, through the fixture's podman service.
    pub async fn podman_busybox() -> Box<dyn Backend> {
        let c = crate::docker::ContainerGuard::busybox_on(Engine::Podman);
        let b = Box::new(crate::docker::backend(Engine::Podman, &c.name));
        crate::docker::Fixtured::start(b, c).await
    }

    /// `docker://` on a `FROM scratch` container holding nothing but an idling static program.
    pub async fn docker_scratch() -> Box<dyn Backend> {
        scratch(Engine::Docker).await
    }

    /// `podman://` on a `FROM scratch` container holding nothing but an idling static program.
    pub async fn podman_scratch() -> Box<dyn Backend> {
        scratch(Engine::Podman).await
    }

    async fn scratch(engine: Engine) -> Box<dyn Backend> {
        let c = crate::docker::ContainerGuard::scratch_on(engine);
        let b = Box::new(crate::docker::backend(engine, &c.name));
        let b = crate::docker::Fixtured::start(b, c).await;
        // The suite works under /tmp, which the image lacks: made through the backend itself
        // (so the agent was installed in / first, as on any image without /tmp).
        let files = b
            .files()
            .await
            .unwrap_or_else(|e| panic!("scratch files: {e}"));
        files
            .mkdir("/tmp", 0o777)
            .await
            .and(files.chmod("/tmp", 0o1777).await)
            .unwrap_or_else(|e| panic!("mkdir /tmp in the scratch container: {e}"));
        b
    }

    /// `compose://<project>/app/1` on a project of its own started with docker-compose
    /// (2 replicas of `app`).
    pub async fn compose() -> Box<dyn Backend> {
        let p = crate::docker::ComposeProject::up();
        let b = Box::new(remote_host::compose::ComposeBackend::new(&p.name, "app", 1));
        crate::docker::Fixtured::start(b, p).await
    }

    /// This machine with its files through OpenSSH's `sftp-server`: the SFTP client against the
    /// reference server, without SSH in between.
    pub async fn openssh_sftp_server() -> Box<dyn Backend> {
        Box::new(crate::sftp_server::SftpServerBackend::start().await)
    }

    /// `ssh://` to the loopback sshd as its test user, with only the fixture's key and
    /// known_hosts.
    pub async fn ssh() -> Box<dyn Backend> {
        let f = crate::Fixtures::load().ssh;
        let url = crate::sshd::url(&f, f.port);
        Box::new(crate::sshd::connect(&url, crate::sshd::fixture_options(&f)).await)
    }

    /// `local://` in the path-rewrite guest.
    pub async fn local_path_rewrite() -> Box<dyn Backend> {
        super::guests::path_rewrite(local().await).await
    }

    /// `local://` in the policy guest (allow-all configuration).
    pub async fn local_policy() -> Box<dyn Backend> {
        super::guests::policy(local().await, "{}").await
    }

    /// `ssh://` in the path-rewrite guest.
    pub async fn ssh_path_rewrite() -> Box<dyn Backend> {
        super::guests::path_rewrite(ssh().await).await
    }

    /// `ssh://` in the policy guest (allow-all configuration).
    pub async fn ssh_policy() -> Box<dyn Backend> {
        super::guests::policy(ssh().await, "{}").await
    }

    /// `docker://` on a busybox container in the path-rewrite guest.
    pub async fn docker_path_rewrite() -> Box<dyn Backend> {
        super::guests::path_rewrite(docker_busybox().await).await
    }

    /// `docker://` on a busybox container in the policy guest (allow-all configuration).
    pub async fn docker_policy() -> Box<dyn Backend> {
        super::guests::policy(docker_busybox().await, "{}").await
    }

    /// `local://` in the Python audit guest (componentize-py).
    pub async fn local_guest_py() -> Box<dyn Backend> {
        super::guests::audit_py(local().await).await
    }

    /// `ssh://` in the Python audit guest (componentize-py).
    pub async fn ssh_guest_py() -> Box<dyn Backend> {
        super::guests::audit_py(ssh().await).await
    }

    /// `local://` in the JavaScript policy guest (jco componentize), denying nothing the suite
    /// runs.
    pub async fn local_guest_js() -> Box<dyn Backend> {
        super::guests::policy_js(local().await).await
    }

    /// `ssh://` in the JavaScript policy guest (jco componentize), denying nothing the suite
    /// runs.
    pub async fn ssh_guest_js() -> Box<dyn Backend> {
        super::guests::policy_js(ssh().await).await
    }

    /// `local://` in the path-rewrite guest, itself in the policy guest: a two-guest stack.
    pub async fn local_guest_stack() -> Box<dyn Backend> {
        super::guests::policy(super::guests::path_rewrite(local().await).await, "{}").await
    }
}

/// Guest layers over any started backend, so each backend's wrapped suite is one line.
pub mod guests {
    use std::path::Path;

    use remote_host::Backend;
    use remote_host::guest::{Layer, Limits};

    /// `below` wrapped in the guest at `wasm` with `config`, started.
    pub async fn wrap(wasm: &str, config: &str, below: Box<dyn Backend>) -> Box<dyn Backend> {
        let layer = Layer::load(Path::new(wasm), config, Limits::default())
            .await
            .unwrap_or_else(|e| panic!("loading guest {wasm}: {e}"));
        let wrapped = layer
            .wrap(below, "test://")
            .await
            .unwrap_or_else(|e| panic!("wrapping in guest {wasm}: {e}"));
        wrapped
            .start()
            .await
            .unwrap_or_else(|e| panic!("starting guest {wasm}: {e}"));
        Box::new(wrapped)
    }

    /// `below` in the path-rewrite guest, mapping the virtual `/tmp` (where the suite works)
    /// onto a fresh directory under the target's real `/tmp`, made through `below` itself.
    pub async fn path_rewrite(below: Box<dyn Backend>) -> Box<dyn Backend> {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        let real = format!("/tmp/remote-guest-root-{}-{nanos}", std::process::id());
        let files = below
            .files()
            .await
            .unwrap_or_else(|e| panic!("file client for the path-rewrite root: {e}"));
        files
            .mkdir_all(&real, 0o755)
            .await
            .unwrap_or_else(|e| panic!("making the path-rewrite root {real}: {e}"));
        let config = format!(r#"{{"mappings":[{{"virtual":"/tmp","real":"{real}"}}]}}"#);
        wrap(remote_guest_artifacts::PATH_REWRITE, &config, below).await
    }

    /// `below` in the policy guest with `config`.
    pub async fn policy(below: Box<dyn Backend>, config: &str) -> Box<dyn Backend> {
        wrap(remote_guest_artifacts::POLICY, config, below).await
    }

    /// `below` in the Python audit guest.
    pub async fn audit_py(below: Box<dyn Backend>) -> Box<dyn Backend> {
        let wasm = crate::foreign::guest(crate::foreign::AUDIT_PY);
        wrap(&wasm, "{}", below).await
    }

    /// `below` in the JavaScript policy guest with [`crate::foreign::POLICY_JS_SUITE_CONFIG`].
    pub async fn policy_js(below: Box<dyn Backend>) -> Box<dyn Backend> {
        let wasm = crate::foreign::guest(crate::foreign::POLICY_JS);
        wrap(&wasm, crate::foreign::POLICY_JS_SUITE_CONFIG, below).await
    }
}

/// The bound on one conformance case (and on closing its backend): a hang fails the test with
/// its name instead of stalling the run.
pub const CASE_LIMIT: std::time::Duration = std::time::Duration::from_secs(120);

/// `make` (a backend constructor) bounded by [`CASE_LIMIT`]: a fixture that cannot come up
/// fails the test with the backend's name.
pub async fn made(
    backend: &str,
    make: impl std::future::Future<Output = Box<dyn Backend>>,
) -> Box<dyn Backend> {
    tokio::time::timeout(CASE_LIMIT, make)
        .await
        .unwrap_or_else(|_| panic!("the {backend} backend did not start within {CASE_LIMIT:?}"))
}

/// Runs the named case against `backend` with the default options and panics unless it
/// passed. Unsupported counts as a failure here: backends that may legitimately lack a feature
/// get their own list of exceptions ([`check_case_allowing`]).
pub async fn check_case(backend: Box<dyn Backend>, name: &str) {
    check_case_allowing(backend, name, &[], &SuiteOptions::default()).await;
}

/// [`check_case`] with `opts`, where the cases in `allowed` may also end unsupported, or fail
/// only because the program they run is missing (exit status 127): a target that lacks what
/// they need (a shell, `cat`), as listed per backend with the reason.
pub async fn check_case_allowing(
    backend: Box<dyn Backend>,
    name: &str,
    allowed: &[&str],
    opts: &SuiteOptions,
) {
    let case = CASES
        .iter()
        .find(|c| c.name == name)
        .unwrap_or_else(|| panic!("no conformance case named {name}"));
    let kind = backend.backend_type();
    let report = tokio::time::timeout(CASE_LIMIT, run_case(backend.as_ref(), case, opts))
        .await
        .unwrap_or_else(|_| panic!("{name} on {kind} did not finish within {CASE_LIMIT:?}"));
    let closed = tokio::time::timeout(CASE_LIMIT, backend.close())
        .await
        .unwrap_or_else(|_| panic!("closing {kind} after {name} took over {CASE_LIMIT:?}"));
    match report.outcome {
        Outcome::Pass => {}
        Outcome::Fail(why) if allowed.contains(&name) && why.contains("Exited(127)") => {}
        Outcome::Fail(why) => panic!("{name} failed on {kind}: {why}"),
        Outcome::Unsupported(_) if allowed.contains(&name) => {}
        Outcome::Unsupported(why) => panic!("{name} is unsupported on {kind}: {why}"),
    }
    if let Err(e) = closed {
        panic!("closing {kind} after {name}: {e}");
    }
}

/// Generates one `#[tokio::test]` per conformance case in a module named after the backend:
/// `remote_host::conformance_cases!(backend_suite!(local, remote_tests::backends::local));`
/// A second form names the cases that may end unsupported on that backend and the suite's
/// options there (the commands a target without a shell has):
/// `backend_suite!(name, constructor, allow = &["exit_codes"], options = options_fn)`.
#[macro_export]
macro_rules! backend_suite {
    ($backend:ident, $make:path, allow = $allowed:expr, options = $opts:path ; $($case:ident),* $(,)?) => {
        mod $backend {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $case() {
                    let backend = $crate::made(stringify!($backend), $make()).await;
                    $crate::check_case_allowing(backend, stringify!($case), $allowed, &$opts()).await;
                }
            )*
        }
    };
    ($backend:ident, $make:path ; $($case:ident),* $(,)?) => {
        mod $backend {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $case() {
                    let backend = $crate::made(stringify!($backend), $make()).await;
                    $crate::check_case(backend, stringify!($case)).await;
                }
            )*
        }
    };
}
