//! The Docker backend against its peers, in one run, as ratios:
//!
//! 1. exec latency of `true`: ours vs the `docker exec` CLI vs a raw Engine API exec (create,
//!    start, inspect with curl on the socket);
//! 2. a 256 MiB file into and out of a container: ours (the agent over SFTP) vs `docker cp` vs
//!    `docker exec -i … cat`;
//! 3. stat calls: ours through the agent vs `docker exec … stat` in a loop.
//!
//! Run: `cargo bench -p remote-tests --bench docker` (needs the fixtures: `tests/fixtures/setup.sh`).
//! Every loop is bounded in count; the whole run takes about a minute. `cargo test` builds this
//! but does not run it (it runs only when cargo passes `--bench`).

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use remote_host::Backend;
use remote_host::docker::DockerBackend;
use remote_tests::docker::{ContainerGuard, run};

const EXECS: u32 = 40;
const FILE_MIB: usize = 256;
const STATS_OURS: u32 = 1000;
const STATS_CLI: u32 = 100;

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn time<T>(f: impl FnOnce() -> T) -> (Duration, T) {
    let t = Instant::now();
    let v = f();
    (t.elapsed(), v)
}

fn sh(cmd: &str) {
    let status = Command::new("timeout")
        .args(["300", "sh", "-c", cmd])
        .stdout(Stdio::null())
        .status()
        .unwrap_or_else(|e| panic!("{cmd}: {e}"));
    assert!(status.success(), "{cmd}: {status}");
}

fn curl(args: &[&str]) -> String {
    let mut all = vec!["-sf", "--unix-socket", "/var/run/docker.sock"];
    all.extend_from_slice(args);
    run("curl", &all)
}

fn json_field(json: &str, key: &str) -> String {
    let v: serde_json::Value = serde_json::from_str(json).unwrap_or_else(|e| panic!("{json}: {e}"));
    v[key].as_str().map(str::to_string).unwrap_or_default()
}

async fn ours_exec(b: &DockerBackend) {
    let mut s = b.new_session().await.unwrap_or_else(|e| panic!("{e}"));
    s.start("true").await.unwrap_or_else(|e| panic!("{e}"));
    let st = s.wait().await.unwrap_or_else(|e| panic!("{e}"));
    assert!(st.success());
    s.close().await.unwrap_or_else(|e| panic!("{e}"));
}

fn raw_api_exec(id: &str, api: &str) {
    let created = curl(&[
        "-X",
        "POST",
        "-H",
        "Content-Type: application/json",
        "-d",
        r#"{"Cmd":["/bin/sh","-c","true"],"AttachStdout":true,"AttachStderr":true}"#,
        &format!("http://localhost/{api}/containers/{id}/exec"),
    ]);
    let exec = json_field(&created, "Id");
    curl(&[
        "-X",
        "POST",
        "-H",
        "Content-Type: application/json",
        "-d",
        r#"{"Detach":false,"Tty":false}"#,
        &format!("http://localhost/{api}/exec/{exec}/start"),
    ]);
    let info = curl(&[&format!("http://localhost/{api}/exec/{exec}/json")]);
    assert!(info.contains("\"ExitCode\":0"), "{info}");
}

fn row(what: &str, ours: Duration, peers: &[(&str, Duration)]) {
    let mut line = format!("{what:<28} ours {:>9.1} ms", ms(ours));
    for (name, d) in peers {
        line += &format!(
            " | {name} {:>9.1} ms ({:.2}x ours)",
            ms(*d),
            d.as_secs_f64() / ours.as_secs_f64()
        );
    }
    println!("{line}");
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    if !std::env::args().any(|a| a == "--bench") {
        println!("docker benchmark: run it with `cargo bench -p remote-tests --bench docker`");
        return;
    }
    let c = ContainerGuard::busybox();
    let id = run("docker", &["inspect", "-f", "{{.Id}}", &c.name]);
    let api = format!(
        "v{}",
        run("docker", &["version", "-f", "{{.Server.APIVersion}}"])
    );
    let b = DockerBackend::new(&c.name);
    b.start().await.unwrap_or_else(|e| panic!("start: {e}"));
    let files = b.files().await.unwrap_or_else(|e| panic!("files: {e}"));
    println!(
        "docker benchmark on {} ({} runs of exec, {FILE_MIB} MiB files, {STATS_OURS}/{STATS_CLI} stats); ratios > 1 mean ours is faster",
        c.name, EXECS
    );

    // 1. exec latency (one warm-up each).
    ours_exec(&b).await;
    let t = Instant::now();
    for _ in 0..EXECS {
        ours_exec(&b).await;
    }
    let ours = t.elapsed() / EXECS;
    let (cli, ()) = time(|| {
        for _ in 0..EXECS {
            run("docker", &["exec", &c.name, "/bin/sh", "-c", "true"]);
        }
    });
    let (raw, ()) = time(|| {
        for _ in 0..EXECS {
            raw_api_exec(&id, &api);
        }
    });
    row(
        "exec `true` (per run)",
        ours,
        &[
            ("docker exec CLI", cli / EXECS),
            ("raw API (curl)", raw / EXECS),
        ],
    );

    // 2. 256 MiB in and out.
    let dir = std::env::temp_dir().join(format!("rt-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{e}"));
    let local = dir.join("data");
    let data: Vec<u8> = (0..FILE_MIB << 20)
        .map(|i| (i * 7 + i / 4099) as u8)
        .collect();
    std::fs::write(&local, &data).unwrap_or_else(|e| panic!("{e}"));
    let l = local.display().to_string();
    let t = Instant::now();
    let mut h = files
        .create("/tmp/ours")
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    for chunk in data.chunks(4 << 20) {
        h.write(chunk).await.unwrap_or_else(|e| panic!("{e}"));
    }
    h.close().await.unwrap_or_else(|e| panic!("{e}"));
    let ours_in = t.elapsed();
    let t = Instant::now();
    let mut r = files
        .open("/tmp/ours")
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let mut back = Vec::with_capacity(data.len());
    loop {
        let chunk = r.read(16 << 20).await.unwrap_or_else(|e| panic!("{e}"));
        if chunk.is_empty() {
            break;
        }
        back.extend_from_slice(&chunk);
    }
    r.close().await.unwrap_or_else(|e| panic!("{e}"));
    let ours_out = t.elapsed();
    assert!(back == data, "the file came back different");
    drop(back);
    let (cp_in, ()) = time(|| sh(&format!("docker cp {l} {}:/tmp/cp", c.name)));
    let (cp_out, ()) = time(|| sh(&format!("docker cp {}:/tmp/cp {l}.cp", c.name)));
    let (cat_in, ()) = time(|| {
        sh(&format!(
            "docker exec -i {} sh -c 'cat > /tmp/cat' < {l}",
            c.name
        ))
    });
    let (cat_out, ()) = time(|| sh(&format!("docker exec {} cat /tmp/cat > {l}.cat", c.name)));
    row(
        &format!("{FILE_MIB} MiB into the container"),
        ours_in,
        &[("docker cp", cp_in), ("docker exec -i cat", cat_in)],
    );
    row(
        &format!("{FILE_MIB} MiB out of the container"),
        ours_out,
        &[("docker cp", cp_out), ("docker exec cat", cat_out)],
    );
    let _ = std::fs::remove_dir_all(&dir);

    // 3. stat calls.
    let t = Instant::now();
    for _ in 0..STATS_OURS {
        files
            .stat("/tmp/ours")
            .await
            .unwrap_or_else(|e| panic!("{e}"));
    }
    let ours_stat = t.elapsed() / STATS_OURS;
    let (cli_stat, ()) = time(|| {
        for _ in 0..STATS_CLI {
            run("docker", &["exec", &c.name, "stat", "/tmp/ours"]);
        }
    });
    row(
        "stat (per call)",
        ours_stat,
        &[("docker exec stat", cli_stat / STATS_CLI)],
    );
    b.close().await.unwrap_or_else(|e| panic!("{e}"));
}
