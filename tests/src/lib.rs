//! The conformance harness: real backends on real services, and the fixtures that describe them.
//!
//! `tests/fixtures/setup.sh` brings the services up (a loopback sshd with its own keys, dockerd,
//! locally built images) and writes `/var/tmp/remote-test-fixtures/fixtures.json`;
//! [`Fixtures::load`] reads it.
//! A test whose fixture is missing fails with the reason and the command that fixes it: it never
//! passes quietly.
//!
//! # Layout
//! - [`Fixtures`]: what setup wrote.
//! - [`backends`]: one constructor per backend under test.
//! - [`fault_proxy`]: a TCP proxy that injects latency, throttling, stalls, cuts and resets.
//! - [`soak`]: a bounded load soak over several backends with leak checks.
//! - [`sftp_server`]: a backend whose files go through OpenSSH's `sftp-server`.
//! - [`sshd`]: SSH options for the fixture and throwaway sshd instances.
//! - [`check_case`]: runs one conformance case and fails the test unless it passed.
//! - [`backend_suite!`]: instantiates every case of the suite for one backend.
#![deny(missing_docs)]

use std::path::PathBuf;

pub mod fault_proxy;
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

/// Everything setup wrote.
#[derive(Debug, Clone, Deserialize)]
pub struct Fixtures {
    /// The loopback sshd.
    pub ssh: SshFixture,
    /// The Docker daemon.
    pub docker: DockerFixture,
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

/// Constructors of the backends under test, each returning a started backend.
pub mod backends {
    use remote_host::Backend;
    use remote_host::local::LocalBackend;

    /// `local://`.
    pub async fn local() -> Box<dyn Backend> {
        let b = LocalBackend::new();
        b.start()
            .await
            .unwrap_or_else(|e| panic!("local backend: {e}"));
        Box::new(b)
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
}

/// Runs the named case against `backend` and panics unless it passed. Unsupported counts as a
/// failure here: backends that may legitimately lack a feature get their own list of exceptions.
pub async fn check_case(backend: Box<dyn Backend>, name: &str) {
    let case = CASES
        .iter()
        .find(|c| c.name == name)
        .unwrap_or_else(|| panic!("no conformance case named {name}"));
    let report = run_case(backend.as_ref(), case, &SuiteOptions::default()).await;
    let closed = backend.close().await;
    match report.outcome {
        Outcome::Pass => {}
        Outcome::Fail(why) => panic!("{name} failed on {}: {why}", backend.backend_type()),
        Outcome::Unsupported(why) => {
            panic!("{name} is unsupported on {}: {why}", backend.backend_type())
        }
    }
    if let Err(e) = closed {
        panic!("closing {} after {name}: {e}", backend.backend_type());
    }
}

/// Generates one `#[tokio::test]` per conformance case in a module named after the backend:
/// `remote_host::conformance_cases!(backend_suite!(local, remote_tests::backends::local));`
#[macro_export]
macro_rules! backend_suite {
    ($backend:ident, $make:path ; $($case:ident),* $(,)?) => {
        mod $backend {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $case() {
                    $crate::check_case($make().await, stringify!($case)).await;
                }
            )*
        }
    };
}
