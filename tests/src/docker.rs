//! Container fixtures, on Docker or on Podman (through the fixture's service, `podman --url`):
//! containers with unique names removed by RAII guards (`rm -f`), the `FROM scratch` image, a
//! Compose project with two replicas, and a backend wrapper that keeps its container alive
//! exactly as long as the backend.
//!
//! Every engine command runs under `timeout`, so a wedged daemon fails the test instead of
//! hanging it. Fixtures that cannot start panic with the command and its output.

use std::path::Path;
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use remote_host::docker::{DockerBackend, Endpoint, Engine};
use remote_host::{Backend, Error, FileClient, PlatformInfo, Result, Session};

/// Cases that need what the scratch image lacks: a shell (exit, `$$`, `;`, `&&`, quoting through
/// variables) or `cat`. They may end unsupported there (or, for `cat`, with exit status 127).
pub const SCRATCH_LACKS: &[&str] = &[
    "exit_codes",
    "signal_termination",
    "stdin_stdout_round_trip",
    "stderr_separated",
    "env_values_need_quoting",
    "concurrent_sessions",
    "session_close_ends_command",
    "stdin_not_taken_reads_eof",
    "untaken_output_does_not_stall",
];

/// The suite's options on the scratch image: the commands it runs are the one program there,
/// the agent, so the session cases that need only some command to run run there too.
pub fn scratch_options() -> remote_host::conformance::SuiteOptions {
    remote_host::conformance::SuiteOptions {
        noop_command: "/remote-agent --version".into(),
        idle_command: "/remote-agent --idle".into(),
        ..remote_host::conformance::SuiteOptions::default()
    }
}

/// Bound on any one docker, podman or docker-compose command.
const COMMAND_LIMIT: &str = "120";

/// Runs `program args…` under `timeout`, returning stdout; panics with stderr on failure.
pub fn run(program: &str, args: &[&str]) -> String {
    let out = Command::new("timeout")
        .arg(COMMAND_LIMIT)
        .arg(program)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("cannot run {program}: {e}"));
    assert!(
        out.status.success(),
        "{program} {} failed ({}): {}",
        args.join(" "),
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// A name no other test (or test process) uses: `rt-<what>-<pid>-<n>`.
pub fn unique(what: &str) -> String {
    static N: AtomicU32 = AtomicU32::new(0);
    format!(
        "rt-{what}-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    )
}

/// The engine's CLI, as a command line to add arguments to: `docker` (which finds dockerd
/// itself, as the Docker backend does), or `podman --url <the fixture's service>`.
fn cli(engine: Engine) -> Vec<String> {
    match engine {
        Engine::Docker => vec!["docker".into()],
        Engine::Podman => vec![
            "podman".into(),
            "--url".into(),
            crate::Fixtures::load().podman.host,
        ],
    }
}

/// Runs the engine's CLI with `args` under `timeout`, returning stdout; panics with stderr on
/// failure.
pub fn run_on(engine: Engine, args: &[&str]) -> String {
    let cli = cli(engine);
    let mut all: Vec<&str> = cli.iter().skip(1).map(String::as_str).collect();
    all.extend_from_slice(args);
    run(&cli[0], &all)
}

/// An unstarted backend on the container `name` of `engine`: Docker's found as `docker://` finds
/// it, Podman's at the fixture's service.
pub fn backend(engine: Engine, name: &str) -> DockerBackend {
    match engine {
        Engine::Docker => DockerBackend::new(name),
        Engine::Podman => DockerBackend::on(
            Endpoint::new(Engine::Podman, crate::Fixtures::load().podman.host),
            name,
        ),
    }
}

/// A started `docker://` backend on the container `name`; panics with the reason if it cannot
/// start.
pub async fn started(name: &str) -> DockerBackend {
    started_on(Engine::Docker, name).await
}

/// A started backend on the container `name` of `engine`; panics with the reason if it cannot
/// start.
pub async fn started_on(engine: Engine, name: &str) -> DockerBackend {
    let b = backend(engine, name);
    let kind = engine.name();
    tokio::time::timeout(Duration::from_secs(60), b.start())
        .await
        .unwrap_or_else(|_| panic!("{kind}://{name} did not start within 60 s"))
        .unwrap_or_else(|e| panic!("start {kind}://{name}: {e}"));
    b
}

/// A container this test started; removed with `rm -f` when dropped.
#[derive(Debug)]
pub struct ContainerGuard {
    /// The container's name.
    pub name: String,
    /// The engine it runs on.
    pub engine: Engine,
}

impl ContainerGuard {
    /// `docker run -d --name <unique> <args…>`.
    pub fn run(what: &str, args: &[&str]) -> ContainerGuard {
        ContainerGuard::run_on(Engine::Docker, what, args)
    }

    /// `run -d --name <unique> <args…>` on `engine`.
    pub fn run_on(engine: Engine, what: &str, args: &[&str]) -> ContainerGuard {
        let name = unique(what);
        let mut all = vec!["run", "-d", "--name", &name];
        all.extend_from_slice(args);
        run_on(engine, &all);
        ContainerGuard { name, engine }
    }

    /// A Docker busybox container that sleeps (with an init, so `docker stop` is quick).
    pub fn busybox() -> ContainerGuard {
        ContainerGuard::busybox_on(Engine::Docker)
    }

    /// A busybox container of `engine` that sleeps (with an init, so a stop is quick).
    pub fn busybox_on(engine: Engine) -> ContainerGuard {
        let f = crate::Fixtures::load();
        let image = match engine {
            Engine::Docker => f.docker.busybox_image,
            Engine::Podman => f.podman.busybox_image,
        };
        ContainerGuard::run_on(
            engine,
            "busybox",
            &["--init", &image, "sleep", "2147483647"],
        )
    }

    /// A Docker container of the scratch image: nothing in it but the idling agent at
    /// `/remote-agent`.
    pub fn scratch() -> ContainerGuard {
        ContainerGuard::scratch_on(Engine::Docker)
    }

    /// A container of the scratch image on `engine`.
    pub fn scratch_on(engine: Engine) -> ContainerGuard {
        ContainerGuard::run_on(engine, "scratch", &[&scratch_image_on(engine)])
    }
}

impl Drop for ContainerGuard {
    /// `rm -f`; Podman's stops first, for which `-t 0` says not to wait for the scratch image's
    /// agent, which as process 1 ignores SIGTERM (Docker's kills at once and takes no `-t`).
    fn drop(&mut self) {
        let mut args = cli(self.engine);
        args.extend(["rm".into(), "-f".into()]);
        if self.engine == Engine::Podman {
            args.extend(["-t".into(), "0".into()]);
        }
        args.push(self.name.clone());
        let _ = Command::new("timeout")
            .arg(COMMAND_LIMIT)
            .args(args)
            .output();
    }
}

/// Docker's `FROM scratch` image ([`scratch_image_on`]).
pub fn scratch_image() -> String {
    scratch_image_on(Engine::Docker)
}

/// The `FROM scratch` image of `engine`: an `import` of a tar holding only the static agent,
/// which idles as the container's process. Tagged with a hash of the agent's bytes, so it is
/// built once per agent build and tests never run a stale one. Built here rather than in
/// `setup.sh` because the agent is a product of `cargo build`, which runs after setup.
pub fn scratch_image_on(engine: Engine) -> String {
    let agent = remote_host::docker::agent_for("amd64")
        .unwrap_or_else(|| panic!("this build has no amd64 agent; run `rustup target add x86_64-unknown-linux-musl` and rebuild"));
    use sha2::Digest;
    let digest = sha2::Sha256::digest(agent);
    let tag: String = digest[..8].iter().map(|b| format!("{b:02x}")).collect();
    let image = format!("remote-test/scratch:{tag}");
    let cli = cli(engine);
    let present = Command::new("timeout")
        .arg(COMMAND_LIMIT)
        .args(&cli)
        .args(["image", "inspect", &image])
        .output()
        .is_ok_and(|o| o.status.success());
    if present {
        return image;
    }
    let mut header = tar::Header::new_gnu();
    header.set_size(agent.len() as u64);
    header.set_mode(0o755);
    header.set_entry_type(tar::EntryType::Regular);
    let mut builder = tar::Builder::new(Vec::new());
    builder
        .append_data(&mut header, "remote-agent", agent)
        .unwrap_or_else(|e| panic!("building the scratch image tar: {e}"));
    let tar = builder
        .into_inner()
        .unwrap_or_else(|e| panic!("building the scratch image tar: {e}"));
    let mut child = Command::new("timeout")
        .arg(COMMAND_LIMIT)
        .args(&cli)
        .arg("import")
        .args(["--change", r#"CMD ["/remote-agent", "--idle"]"#])
        .args(["-", &image])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run {} import: {e}", cli[0]));
    {
        use std::io::Write;
        let mut stdin = child.stdin.take().expect("piped stdin");
        stdin
            .write_all(&tar)
            .unwrap_or_else(|e| panic!("feeding {} import: {e}", cli[0]));
    }
    let out = child
        .wait_with_output()
        .unwrap_or_else(|e| panic!("{} import: {e}", cli[0]));
    assert!(
        out.status.success(),
        "{} import of the scratch image failed: {}",
        cli[0],
        String::from_utf8_lossy(&out.stderr)
    );
    image
}

/// A Compose project started from `tests/fixtures/compose.yaml` (service `app`, 2 replicas);
/// `docker-compose down` when dropped.
#[derive(Debug)]
pub struct ComposeProject {
    /// The project name.
    pub name: String,
}

impl ComposeProject {
    /// `docker-compose -p <unique> -f tests/fixtures/compose.yaml up -d`.
    pub fn up() -> ComposeProject {
        let name = unique("proj").replace('-', "_");
        let file = crate::Fixtures::compose_file();
        let file = file.to_string_lossy();
        run("docker-compose", &["-p", &name, "-f", &file, "up", "-d"]);
        ComposeProject { name }
    }
}

impl Drop for ComposeProject {
    fn drop(&mut self) {
        let file = crate::Fixtures::compose_file();
        let _ = Command::new("timeout")
            .args([COMMAND_LIMIT, "docker-compose", "-p", &self.name, "-f"])
            .arg(file)
            .args(["down", "-t", "0"])
            .output();
    }
}

/// A started backend together with the fixture it runs on, which lives as long as it does.
pub struct Fixtured<G> {
    backend: Box<dyn Backend>,
    _fixture: G,
}

impl<G: Send + Sync + 'static> Fixtured<G> {
    /// Starts `backend` (panicking with the reason if it cannot) and ties `fixture` to it.
    pub async fn start(backend: Box<dyn Backend>, fixture: G) -> Box<dyn Backend> {
        tokio::time::timeout(Duration::from_secs(60), backend.start())
            .await
            .unwrap_or_else(|_| panic!("{} did not start within 60 s", backend.addr()))
            .unwrap_or_else(|e| {
                panic!(
                    "{} backend on {}: {e}",
                    backend.backend_type(),
                    backend.addr()
                )
            });
        Box::new(Fixtured {
            backend,
            _fixture: fixture,
        })
    }
}

impl<G> std::fmt::Debug for Fixtured<G> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Fixtured")
            .field("backend", &self.backend.addr())
            .finish_non_exhaustive()
    }
}

#[async_trait]
impl<G: Send + Sync> Backend for Fixtured<G> {
    fn backend_type(&self) -> String {
        self.backend.backend_type()
    }
    fn addr(&self) -> String {
        self.backend.addr()
    }
    fn user(&self) -> String {
        self.backend.user()
    }
    async fn start(&self) -> Result<()> {
        self.backend.start().await
    }
    fn is_connected(&self) -> bool {
        self.backend.is_connected()
    }
    fn last_err(&self) -> Option<Error> {
        self.backend.last_err()
    }
    fn keep_alive_interval(&self) -> Option<Duration> {
        self.backend.keep_alive_interval()
    }
    async fn send_keep_alive(&self) -> Result<()> {
        self.backend.send_keep_alive().await
    }
    async fn new_session(&self) -> Result<Box<dyn Session>> {
        self.backend.new_session().await
    }
    async fn files(&self) -> Result<Arc<dyn FileClient>> {
        self.backend.files().await
    }
    async fn upload_agent(&self, local: &Path, remote: &str, mode: u32) -> Result<String> {
        self.backend.upload_agent(local, remote, mode).await
    }
    async fn detect_platform(&self) -> Result<PlatformInfo> {
        self.backend.detect_platform().await
    }
    async fn close(&self) -> Result<()> {
        self.backend.close().await
    }
}
