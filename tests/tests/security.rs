//! The claims of `SECURITY.md` that no other test file proves, one test each, named after the
//! claim: secrets stay out of errors and logs, a guest reaches nothing of the host beyond the
//! interfaces, the agent has the exec user's rights only and runs only once verified, temporary
//! and cached files are private.
//!
//! Every log line this test binary emits (all targets, every level) is captured, so the secrets
//! test can search the logs as well as the errors.

use std::io::Write as _;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::Path;
use std::process::Command;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use remote_host::guest::{Limits, cache};
use remote_host::ssh::{Prompt, SshOptions};
use remote_host::{Backend, ErrorCode, FileKind};
use remote_tests::docker::{ContainerGuard, run};
use remote_tests::sshd::{Sshd, TempDir, backend, fixture_options, keygen, url};
use remote_tests::{Fixtures, backends, guests};

/// Everything logged by this process so far.
fn logs() -> &'static Arc<Mutex<Vec<u8>>> {
    static LOGS: OnceLock<Arc<Mutex<Vec<u8>>>> = OnceLock::new();
    LOGS.get_or_init(|| {
        let buf = Arc::new(Mutex::new(Vec::new()));
        let sink = buf.clone();
        let _ = tracing_subscriber::fmt()
            .with_max_level(tracing_subscriber::filter::LevelFilter::TRACE)
            .with_ansi(false)
            .with_writer(move || Capture(sink.clone()))
            .try_init();
        buf
    })
}

struct Capture(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Capture {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).extend(b);
        Ok(b.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn logged() -> String {
    String::from_utf8_lossy(&logs().lock().unwrap_or_else(|p| p.into_inner())).into_owned()
}

/// The secret must appear in neither the error (display and debug) nor the logs.
fn assert_secret_kept(secret: &str, e: &remote_host::Error) {
    let shown = format!("{e} {e:?}");
    assert!(
        !shown.contains(secret),
        "the error shows the secret: {shown}"
    );
    assert!(
        !logged().contains(secret),
        "the logs show the secret {secret:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn secrets_never_reach_errors_or_logs() {
    logs();
    let f = Fixtures::load().ssh;
    let dir = TempDir::new("secrets");

    // A wrong passphrase for an encrypted key.
    let key = dir.join("id_encrypted");
    keygen(&key, "the-Real-passphrase-71");
    let wrong = "wrong-Passphrase-s3cret-42";
    let prompt: Prompt = Arc::new(move |_: &str| Some(wrong.to_string()));
    let b = backend(
        &url(&f, f.port),
        SshOptions {
            identities: vec![key.clone()],
            prompt: Some(prompt),
            ..fixture_options(&f)
        },
    );
    let e = tokio::time::timeout(Duration::from_secs(30), b.start())
        .await
        .unwrap_or_else(|_| panic!("start hung"))
        .expect_err("a wrong passphrase unlocked the key");
    assert_secret_kept(wrong, &e);
    assert_secret_kept("the-Real-passphrase-71", &e);

    // A private key file that does not parse: its content is not echoed.
    let junk = dir.join("id_junk");
    std::fs::write(
        &junk,
        "-----BEGIN OPENSSH PRIVATE KEY-----\nSECRETKEYMATERIALxyz0123456789\n-----END OPENSSH PRIVATE KEY-----\n",
    )
    .unwrap_or_else(|e| panic!("{e}"));
    std::fs::set_permissions(&junk, std::fs::Permissions::from_mode(0o600))
        .unwrap_or_else(|e| panic!("{e}"));
    let b = backend(
        &url(&f, f.port),
        SshOptions {
            identities: vec![junk],
            ..fixture_options(&f)
        },
    );
    let e = tokio::time::timeout(Duration::from_secs(30), b.start())
        .await
        .unwrap_or_else(|_| panic!("start hung"))
        .expect_err("a junk key authenticated");
    assert_secret_kept("SECRETKEYMATERIAL", &e);

    // A refused password.
    let sshd = Sshd::start(
        &f,
        &[
            "PasswordAuthentication yes",
            "KbdInteractiveAuthentication yes",
        ],
    );
    let password = "hunter2-Pa55word-s3cret";
    let prompt: Prompt = Arc::new(move |_: &str| Some(password.to_string()));
    let b = backend(
        &url(&f, sshd.port),
        SshOptions {
            known_hosts: vec![sshd.known_hosts(&f)],
            identities: vec![],
            identities_only: Some(true),
            password: true,
            prompt: Some(prompt),
            ..fixture_options(&f)
        },
    );
    let e = tokio::time::timeout(Duration::from_secs(30), b.start())
        .await
        .unwrap_or_else(|_| panic!("start hung"))
        .expect_err("a wrong password logged in");
    assert_eq!(e.code(), ErrorCode::AccessDenied, "{e}");
    assert_secret_kept(password, &e);
    // The options themselves do not print the prompt's answers either.
    assert!(!format!("{:?}", fixture_options(&f)).contains(password));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_guest_reaches_no_host_files_environment_arguments_or_network() {
    logs();
    // The claim means something only if the host has an environment to leak.
    assert!(std::env::vars_os().count() > 0);
    let b = guests::wrap(
        remote_guest_artifacts::SANDBOX_TEST,
        "{}",
        backends::local().await,
    )
    .await;
    let files = b.files().await.unwrap_or_else(|e| panic!("{e}"));
    let e = files
        .stat("/tmp/.sandbox-escape")
        .await
        .expect_err("the escape probe reports through an error");
    assert_eq!(e.code(), ErrorCode::AccessDenied, "{e}");
    let m = e.message();
    for want in [
        "/ unreachable",
        "/etc/passwd unreachable",
        ". unreachable",
        "/proc/self/environ unreachable",
        "env: 0",
        "args: 0",
        "net: refused",
    ] {
        assert!(
            m.contains(want),
            "the guest saw the host: want {want:?} in {m}"
        );
    }
    // Through the interfaces, with the host's consent, it does see the target.
    assert_eq!(
        files.stat("/etc/passwd").await.map(|s| s.kind).ok(),
        Some(FileKind::Regular)
    );
    b.close().await.unwrap_or_else(|e| panic!("{e}"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_agent_has_the_exec_users_rights_only() {
    logs();
    let image = Fixtures::load().docker.busybox_image;
    let c = ContainerGuard::run(
        "unprivileged",
        &[
            "--init",
            "--user",
            "1234:1234",
            &image,
            "sleep",
            "2147483647",
        ],
    );
    run(
        "docker",
        &[
            "exec",
            "-u",
            "0",
            &c.name,
            "sh",
            "-c",
            "echo root-only > /secret && chmod 600 /secret",
        ],
    );
    let b = remote_host::docker::DockerBackend::new(&c.name);
    tokio::time::timeout(Duration::from_secs(60), b.start())
        .await
        .unwrap_or_else(|_| panic!("start hung"))
        .unwrap_or_else(|e| panic!("{e}"));
    let files = b.files().await.unwrap_or_else(|e| panic!("{e}"));
    let e = files
        .open("/secret")
        .await
        .err()
        .unwrap_or_else(|| panic!("the agent of user 1234 read a root-only file"));
    assert_eq!(e.code(), ErrorCode::AccessDenied, "{e}");
    let e = files
        .create("/etc/owned")
        .await
        .err()
        .unwrap_or_else(|| panic!("the agent of user 1234 wrote into /etc"));
    assert_eq!(e.code(), ErrorCode::AccessDenied, "{e}");
    let mut w = files
        .create("/tmp/mine")
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    w.write(b"x").await.unwrap_or_else(|e| panic!("{e}"));
    w.close().await.unwrap_or_else(|e| panic!("{e}"));
    let st = files
        .stat("/tmp/mine")
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!((st.uid, st.gid), (1234, 1234), "files are the exec user's");
    let agents: Vec<String> = run("docker", &["top", &c.name, "-eo", "uid,pid,args"])
        .lines()
        .filter(|l| l.contains(".remote-agent-"))
        .map(|l| l.split_whitespace().next().unwrap_or("").to_string())
        .collect();
    assert_eq!(agents, ["1234"], "the agent runs as the exec user");
    b.close().await.unwrap_or_else(|e| panic!("{e}"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn temporary_upload_files_are_private_while_written() {
    logs();
    let dir = TempDir::new("upload-tmp");
    let local = dir.join("agent");
    std::fs::write(&local, vec![7u8; 4 << 20]).unwrap_or_else(|e| panic!("{e}"));
    let dest_dir = dir.join("dest");
    let dest = dest_dir.join("agent");
    let b = backends::local().await;
    let files = b.files().await.unwrap_or_else(|e| panic!("{e}"));
    let seen = Mutex::new(Vec::new());
    let progress = |_: u64| {
        for entry in std::fs::read_dir(&dest_dir).into_iter().flatten().flatten() {
            if let Ok(m) = entry.metadata() {
                seen.lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .push((entry.file_name(), m.mode() & 0o7777));
            }
        }
    };
    remote_host::upload::upload_with_progress(
        files.as_ref(),
        &local,
        &dest.to_string_lossy(),
        0o755,
        "/",
        &progress,
    )
    .await
    .unwrap_or_else(|e| panic!("{e}"));
    let seen = seen.into_inner().unwrap_or_else(|p| p.into_inner());
    assert!(!seen.is_empty(), "the temporary file was never seen");
    for (name, mode) in &seen {
        assert!(
            mode & 0o077 == 0,
            "{name:?} was mode {mode:o} while being written"
        );
    }
    let done = std::fs::metadata(&dest).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(done.mode() & 0o7777, 0o755);
}

#[test]
fn the_guest_cache_is_private_and_a_shared_one_is_ignored() {
    logs();
    let dir = TempDir::new("guest-cache");
    let wasm =
        std::fs::read(remote_guest_artifacts::COMPOSE_RESOLVER).unwrap_or_else(|e| panic!("{e}"));
    // Two engines (with and without CPU limits compiled in), so the second load below is not
    // answered by the memory cache the first one filled.
    let engine = remote_host::guest::engine(&Limits {
        fuel: None,
        time: None,
        ..Limits::default()
    });

    // A directory anyone may write: a planted entry there would run as this user.
    let shared = dir.join("shared");
    std::fs::create_dir(&shared).unwrap_or_else(|e| panic!("{e}"));
    std::fs::set_permissions(&shared, std::fs::Permissions::from_mode(0o777))
        .unwrap_or_else(|e| panic!("{e}"));
    let planted = shared.join(format!("{}.cwasm", cache::key(&engine, &wasm)));
    std::fs::File::create(&planted)
        .and_then(|mut f| f.write_all(b"not code"))
        .unwrap_or_else(|e| panic!("{e}"));
    let (_, source) =
        cache::load(&engine, &wasm, Some(&shared), "resolver").unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(source, cache::Source::Compiled, "a shared cache was read");
    assert_eq!(
        std::fs::read(&planted).ok().as_deref(),
        Some(&b"not code"[..]),
        "a shared cache was written"
    );

    // A fresh private one is made 0700 with 0600 entries.
    let private = dir.join("private");
    let other = remote_host::guest::engine(&Limits::default());
    cache::load(&other, &wasm, Some(&private), "resolver").unwrap_or_else(|e| panic!("{e}"));
    let mode = |p: &Path| std::fs::metadata(p).map(|m| m.mode() & 0o7777).ok();
    assert_eq!(mode(&private), Some(0o700));
    let entries: Vec<_> = std::fs::read_dir(&private)
        .unwrap_or_else(|e| panic!("{e}"))
        .flatten()
        .map(|e| (e.file_name(), mode(&e.path())))
        .collect();
    assert_eq!(entries.len(), 1, "{entries:?}");
    assert_eq!(entries[0].1, Some(0o600), "{entries:?}");
}

/// The embedded amd64 agent, its SHA-256 in hex, and where it is installed in a container with
/// a sticky `/tmp`.
fn embedded_agent() -> (&'static [u8], String, String) {
    use sha2::Digest;
    let agent = remote_host::docker::agent_for("amd64")
        .unwrap_or_else(|| panic!("this build has no amd64 agent"));
    let sha: String = sha2::Sha256::digest(agent)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let path = format!("/tmp/{}", remote_host::docker::agent_install_name(agent));
    (agent, sha, path)
}

/// `sh -c script` in the container as `user`, returning its output; panics on failure.
fn sh_as(c: &ContainerGuard, user: &str, script: &str) -> String {
    run("docker", &["exec", "-u", user, &c.name, "sh", "-c", script])
}

/// The program (`argv[0]`) of every agent running in the container, from `docker top`.
fn agent_programs(c: &ContainerGuard) -> Vec<String> {
    run("docker", &["top", &c.name, "-eo", "pid,args"])
        .lines()
        .filter_map(|l| l.split_whitespace().nth(1))
        .filter(|p| p.contains(".remote-agent-"))
        .map(str::to_string)
        .collect()
}

/// A started backend's files work for real: a file written through them reads back.
async fn files_work(b: &remote_host::docker::DockerBackend, path: &str) {
    let files = tokio::time::timeout(Duration::from_secs(60), b.files())
        .await
        .unwrap_or_else(|_| panic!("files() hung"))
        .unwrap_or_else(|e| panic!("files(): {e}"));
    let mut w = files.create(path).await.unwrap_or_else(|e| panic!("{e}"));
    w.write(b"ok").await.unwrap_or_else(|e| panic!("{e}"));
    w.close().await.unwrap_or_else(|e| panic!("{e}"));
    let r = files.open(path).await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(r.read_at(0, 2).await.ok().as_deref(), Some(&b"ok"[..]));
}

/// The file at `path` is the embedded agent, root-owned, mode 0755.
fn assert_is_the_agent(c: &ContainerGuard, path: &str, sha: &str) {
    let sum = sh_as(c, "0", &format!("sha256sum {path}"));
    assert_eq!(
        sum.split_whitespace().next(),
        Some(sha),
        "{path} is not the agent"
    );
    assert_eq!(sh_as(c, "0", &format!("stat -c '%u %a' {path}")), "0 755");
}

/// A backend installed the agent in `c`; returns after it closed.
async fn install_once(c: &ContainerGuard) {
    let b = remote_tests::docker::started(&c.name).await;
    files_work(&b, "/tmp/first").await;
    b.close().await.unwrap_or_else(|e| panic!("{e}"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_planted_agent_of_the_right_size_is_never_run_and_is_replaced() {
    logs();
    let (agent, sha, path) = embedded_agent();
    let c = ContainerGuard::busybox();
    // Any container user may write into the sticky /tmp: a script padded to the agent's size.
    sh_as(
        &c,
        "1000",
        &format!(
            "printf '#!/bin/sh\\ntouch /tmp/pwned\\nexit 0\\n' > {path} && \
             truncate -s {} {path} && chmod 755 {path}",
            agent.len()
        ),
    );
    let planted = format!("1000 {}", agent.len());
    assert_eq!(sh_as(&c, "0", &format!("stat -c '%u %s' {path}")), planted);

    let b = remote_tests::docker::started(&c.name).await;
    files_work(&b, "/tmp/after").await;
    let pwned = Command::new("docker")
        .args(["exec", &c.name, "test", "-e", "/tmp/pwned"])
        .status()
        .unwrap_or_else(|e| panic!("docker exec: {e}"));
    assert!(!pwned.success(), "the planted file was run");
    assert!(
        !agent_programs(&c).contains(&path),
        "the agent ran from the planted path"
    );
    assert_is_the_agent(&c, &path, &sha);
    b.close().await.unwrap_or_else(|e| panic!("{e}"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_corrupt_root_owned_agent_copy_is_replaced() {
    logs();
    let (_, sha, path) = embedded_agent();
    let c = ContainerGuard::busybox();
    install_once(&c).await;
    sh_as(
        &c,
        "0",
        &format!("printf X | dd of={path} bs=1 seek=4096 conv=notrunc 2>/dev/null"),
    );
    let sum = sh_as(&c, "0", &format!("sha256sum {path}"));
    assert_ne!(
        sum.split_whitespace().next(),
        Some(sha.as_str()),
        "corrupted"
    );

    let b = remote_tests::docker::started(&c.name).await;
    files_work(&b, "/tmp/after").await;
    assert!(
        !agent_programs(&c).contains(&path),
        "the corrupt copy was run"
    );
    assert_is_the_agent(&c, &path, &sha);
    b.close().await.unwrap_or_else(|e| panic!("{e}"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_world_writable_agent_copy_is_not_trusted_and_a_verified_one_is_reused() {
    logs();
    let (_, sha, path) = embedded_agent();
    let c = ContainerGuard::busybox();
    install_once(&c).await;
    assert_is_the_agent(&c, &path, &sha);
    sh_as(&c, "0", &format!("chmod 0777 {path}"));

    let b = remote_tests::docker::started(&c.name).await;
    files_work(&b, "/tmp/after").await;
    assert!(
        !agent_programs(&c).contains(&path),
        "the world-writable copy was run"
    );
    assert_is_the_agent(&c, &path, &sha);
    // The copy now in place is trusted: the next backend runs it instead of uploading.
    let reuse = remote_tests::docker::started(&c.name).await;
    files_work(&reuse, "/tmp/again").await;
    assert!(
        agent_programs(&c).contains(&path),
        "a verified copy was not reused: {:?}",
        agent_programs(&c)
    );
    reuse.close().await.unwrap_or_else(|e| panic!("{e}"));
    b.close().await.unwrap_or_else(|e| panic!("{e}"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_agent_is_installed_only_where_nobody_else_can_swap_it() {
    logs();
    let (agent, sha, _) = embedded_agent();
    let c = ContainerGuard::busybox();
    // A /tmp anyone may write, without the sticky bit: anyone could rename files there.
    sh_as(&c, "0", "chmod 0777 /tmp");
    let b = remote_tests::docker::started(&c.name).await;
    files_work(&b, "/tmp/after").await;
    let in_root = format!("/{}", remote_host::docker::agent_install_name(agent));
    assert_is_the_agent(&c, &in_root, &sha);
    assert_eq!(
        sh_as(&c, "0", "ls -a /tmp | grep -c remote-agent || true"),
        "0"
    );
    b.close().await.unwrap_or_else(|e| panic!("{e}"));

    // With / shared as well, there is nowhere safe: a clear error naming both and why.
    sh_as(&c, "0", "chmod 0777 /");
    let b = remote_tests::docker::started(&c.name).await;
    let e = b
        .files()
        .await
        .err()
        .unwrap_or_else(|| panic!("installed in a shared directory"));
    assert_eq!(e.code(), ErrorCode::AccessDenied, "{e}");
    assert_eq!(
        e.message(),
        "no directory is safe for the agent: / is writable by group or others without the \
         sticky bit (mode 777), so anyone may replace files in it or /tmp itself (and /tmp is \
         writable by group or others without the sticky bit (mode 777))"
    );
    assert!(e.to_string().contains(&c.name), "{e}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_non_root_exec_user_gets_a_verified_copy_that_later_backends_reuse() {
    logs();
    let (_, sha, path) = embedded_agent();
    let image = Fixtures::load().docker.busybox_image;
    let c = ContainerGuard::run(
        "unprivileged",
        &[
            "--init",
            "--user",
            "1234:1234",
            &image,
            "sleep",
            "2147483647",
        ],
    );
    // The agent of user 1234 may not rename a root-owned file in the sticky /tmp: the daemon
    // writes the canonical copy instead.
    install_once(&c).await;
    assert_is_the_agent(&c, &path, &sha);
    let b = remote_tests::docker::started(&c.name).await;
    files_work(&b, "/tmp/again").await;
    assert!(
        agent_programs(&c).contains(&path),
        "a verified copy was not reused: {:?}",
        agent_programs(&c)
    );
    b.close().await.unwrap_or_else(|e| panic!("{e}"));
}
