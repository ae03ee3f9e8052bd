//! The Docker backend against its peers, side by side, printed as the README's table:
//!
//! ```sh
//! cargo bench -p remote-tests --bench docker
//! ```
//!
//! Every row pairs a run of ours with a run of the peer doing the same work, alternately (see
//! [`remote_tests::bench`]), on one busybox container:
//!
//! 1. exec `/bin/sh -c true` with stdout and stderr read, vs the `docker exec` CLI with both
//!    piped, and vs a raw Engine API exec driven by curl (create, start attached, inspect);
//! 2. a 256 MiB file from a local file into the container and out of it into a local file (no
//!    fsync on any side), vs `docker cp` and vs `docker exec -i … sh -c 'cat > F'` /
//!    `docker exec … cat F > local`; every file's SHA-256 is checked after its run, in the
//!    container by its `sha256sum`;
//! 3. 1000 `lstat`s through the agent, one after another, vs ONE `docker exec` running busybox
//!    `stat` 1000 times (`sh -c 'stat f0; stat f1; …'`), and vs ONE `docker exec` of one
//!    `stat f0 f1 …` (one process, 1000 stat calls).
//!
//! Needs the fixtures (`tests/fixtures/setup.sh`). `cargo test` builds this but does not run it
//! (it runs only when cargo passes `--bench`).

use std::path::Path;
use std::process::Stdio;

use remote_host::docker::DockerBackend;
use remote_host::{Backend, FileClient};
use remote_tests::Fixtures;
use remote_tests::bench::{self, Case, FIX, Landing, Show, Table, Transfer};
use remote_tests::docker::ContainerGuard;
use remote_tests::sshd::TempDir;
use tokio::process::Command;

/// Execs per run of the exec rows (one runc exec costs about 60 ms here).
const EXECS: u32 = 20;
/// The size of the file moved in and out.
const FILE_MIB: u64 = 256;
/// Files stat'ed per run of the stat rows.
const STATS: u32 = 1000;

/// What every row uses: the container, our backend on it, and how to reach the raw API.
struct Ctx {
    container: ContainerGuard,
    b: DockerBackend,
    files: std::sync::Arc<dyn FileClient>,
    /// The daemon's socket and API version, for curl.
    socket: String,
    api: String,
    /// The container's full id, for the raw API.
    id: String,
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    if !std::env::args().any(|a| a == "--bench") {
        println!("docker benchmark: run it with `cargo bench -p remote-tests --bench docker`");
        return;
    }
    let fixture = Fixtures::load().docker;
    let socket = fixture
        .host
        .strip_prefix("unix://")
        .unwrap_or_else(|| panic!("the fixture daemon {} is not a unix socket", fixture.host))
        .to_string();
    let (_, version) =
        bench::attempt(bench::command("docker").args(["version", "-f", "{{.Server.APIVersion}}"]))
            .await;
    let version = version.unwrap_or_else(|why| panic!("dockerd does not answer ({why}); {FIX}"));
    let container = ContainerGuard::busybox();
    let (_, id) =
        bench::run(bench::command("docker").args(["inspect", "-f", "{{.Id}}", &container.name]))
            .await;
    let b = remote_tests::docker::started(&container.name).await;
    let cx = Ctx {
        files: b.files().await.unwrap_or_else(|e| panic!("files: {e}")),
        b,
        container,
        socket,
        api: format!("v{}", String::from_utf8_lossy(&version.stdout).trim()),
        id: String::from_utf8_lossy(&id.stdout).trim().to_string(),
    };
    let mut table = Table::default();
    execs(&mut table, &cx).await;
    transfers(&mut table, &cx).await;
    stats(&mut table, &cx).await;
    cx.b.close().await.unwrap_or_else(|e| panic!("close: {e}"));

    let (_, versions) = bench::run(bench::command("docker").args([
        "version",
        "-f",
        "client {{.Client.Version}}, daemon {{.Server.Version}}",
    ]))
    .await;
    table.print(&format!(
        "peer / ours: each pair's peer time over our time, the median of the pairs (≥ 1.0: we are \
         as fast or faster); one untimed pair first; docker {}, one busybox container.",
        String::from_utf8_lossy(&versions.stdout).trim()
    ));
}

/// `docker ARGS…`, stdout and stderr piped.
fn docker(args: &[&str]) -> Command {
    let mut c = bench::command("docker");
    c.args(args);
    c
}

async fn execs(table: &mut Table, cx: &Ctx) {
    let name = cx.container.name.as_str();
    let what = format!("exec `/bin/sh -c true` ×{EXECS}, stdout and stderr read");
    for (peer, raw) in [
        ("`docker exec` CLI, stdout and stderr piped", false),
        ("raw API with curl: create, start attached, inspect", true),
    ] {
        table
            .row(
                Case::new(&what, peer, Show::Each(EXECS, "exec")),
                async || bench::times(EXECS, async || bench::exec_true(&cx.b).await).await,
                async || {
                    Ok(bench::times(EXECS, async || {
                        if raw {
                            raw_api_exec(cx).await;
                        } else {
                            bench::run(&mut docker(&["exec", name, "/bin/sh", "-c", "true"])).await;
                        }
                    })
                    .await)
                },
            )
            .await;
    }
}

/// `curl` on the daemon's socket for the API path `path`, POSTing the JSON `body` if there is
/// one; its answer parsed as JSON (null when empty, as a start's is for `true`).
async fn api(cx: &Ctx, path: &str, body: Option<&str>) -> serde_json::Value {
    let mut c = bench::command("curl");
    c.args(["-sf", "--unix-socket", &cx.socket]);
    if let Some(body) = body {
        c.args([
            "-X",
            "POST",
            "-H",
            "Content-Type: application/json",
            "-d",
            body,
        ]);
    }
    let (_, out) = bench::run(c.arg(format!("http://localhost/{}/{path}", cx.api))).await;
    if out.stdout.is_empty() {
        return serde_json::Value::Null;
    }
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("the API's answer to {path}, {out:?}: {e}"))
}

/// One exec of `/bin/sh -c true` through the Engine API as three curl calls: create it (stdout
/// and stderr attached), start it attached (the response is its output), inspect its exit code.
async fn raw_api_exec(cx: &Ctx) {
    let created = api(
        cx,
        &format!("containers/{}/exec", cx.id),
        Some(r#"{"Cmd":["/bin/sh","-c","true"],"AttachStdout":true,"AttachStderr":true}"#),
    )
    .await;
    let exec = created["Id"].as_str().unwrap_or_default();
    api(
        cx,
        &format!("exec/{exec}/start"),
        Some(r#"{"Detach":false,"Tty":false}"#),
    )
    .await;
    let info = api(cx, &format!("exec/{exec}/json"), None).await;
    assert_eq!(info["ExitCode"], 0, "the raw API exec of true: {info}");
}

async fn transfers(table: &mut Table, cx: &Ctx) {
    let (files, name) = (cx.files.as_ref(), cx.container.name.as_str());
    let dir = TempDir::new("bench-docker");
    let bytes = FILE_MIB << 20;
    let src = dir.join("src");
    let sha = bench::data_file(&src, bytes);
    let sink = dir.join("download");
    let (src_s, sink_s) = (src.display().to_string(), sink.display().to_string());
    let into = format!("upload {FILE_MIB} MiB from a local file (16 MiB writes, no fsync)");
    let out = format!("download {FILE_MIB} MiB to a local file (16 MiB reads, no fsync)");
    let (cp_to, cp_from) = (format!("{name}:/tmp/up"), format!("{name}:/tmp/up"));
    let rows = [
        Transfer {
            what: &into,
            peer: "`docker cp`",
            landing: Landing::Remote(&cx.b, "/tmp/up"),
            from: &src_s,
            command: &|| docker(&["cp", &src_s, &cp_to]),
        },
        Transfer {
            what: &into,
            peer: "`docker exec -i … sh -c 'cat > F'` < local",
            landing: Landing::Remote(&cx.b, "/tmp/up"),
            from: &src_s,
            command: &|| {
                let mut c = docker(&["exec", "-i", name, "sh", "-c", "cat > /tmp/up"]);
                c.stdin(open(&src));
                c
            },
        },
        // Out of the container: the file the upload rows left there (checked).
        Transfer {
            what: &out,
            peer: "`docker cp`",
            landing: Landing::Local(&sink),
            from: "/tmp/up",
            command: &|| docker(&["cp", &cp_from, &sink_s]),
        },
        Transfer {
            what: &out,
            peer: "`docker exec … cat F` > local",
            landing: Landing::Local(&sink),
            from: "/tmp/up",
            // Created here, inside the timed run, as our download creates its file.
            command: &|| {
                let mut c = docker(&["exec", name, "cat", "/tmp/up"]);
                c.stdout(
                    std::fs::File::create(&sink)
                        .unwrap_or_else(|e| panic!("{}: {e}", sink.display())),
                );
                c
            },
        },
    ];
    table.transfers(files, (bytes, &sha), &rows).await;
}

fn open(path: &Path) -> Stdio {
    Stdio::from(std::fs::File::open(path).unwrap_or_else(|e| panic!("{}: {e}", path.display())))
}

async fn stats(table: &mut Table, cx: &Ctx) {
    let (files, name) = (cx.files.as_ref(), cx.container.name.as_str());
    let names: Vec<String> = (0..STATS).map(|i| format!("/tmp/many/f{i:04}")).collect();
    bench::run(&mut docker(&[
        "exec",
        name,
        "sh",
        "-c",
        &format!("mkdir -p /tmp/many && touch {}", names.join(" ")),
    ]))
    .await;
    let what = format!("{STATS} `lstat`s through the agent, one after another");
    let script: String = names.iter().map(|n| format!("stat {n} && ")).collect();
    let script = format!("{script}true");
    let mut one: Vec<&str> = vec!["exec", name, "stat"];
    one.extend(names.iter().map(String::as_str));
    for (peer, args) in [
        (
            format!("one `docker exec … sh -c 'stat f0 && stat f1 …'` ({STATS} `stat` processes)"),
            vec!["exec", name, "sh", "-c", &script],
        ),
        (
            format!("one `docker exec … stat f0 f1 …` (one process, {STATS} files)"),
            one,
        ),
    ] {
        table
            .row(
                Case::new(&what, &peer, Show::Each(STATS, "stat")),
                async || bench::lstats(files, &names).await,
                async || Ok(bench::run(&mut docker(&args)).await.0),
            )
            .await;
    }
}
