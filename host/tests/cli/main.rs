//! The `remote` binary, run as a user would run it.

use std::io::Write as _;
use std::process::{Command, Output, Stdio};

mod cp;
mod fleet;

fn remote(args: &[&str], stdin: &[u8]) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_remote"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run remote: {e}"));
    let mut input = child.stdin.take().unwrap_or_else(|| unreachable!());
    let stdin = stdin.to_vec();
    // The command may stop reading early (`head`), so a broken pipe here is expected.
    let writer = std::thread::spawn(move || {
        let r = input.write_all(&stdin);
        assert!(
            r.as_ref().is_ok_and(|()| true)
                || r.is_err_and(|e| e.kind() == std::io::ErrorKind::BrokenPipe),
            "writing stdin failed"
        );
    });
    let out = child
        .wait_with_output()
        .unwrap_or_else(|e| panic!("waiting for remote: {e}"));
    writer
        .join()
        .unwrap_or_else(|_| panic!("stdin writer panicked"));
    out
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// stdout of a `--json` run: one JSON value a line.
fn json_lines(out: &Output) -> Vec<serde_json::Value> {
    text(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{l}: {e}")))
        .collect()
}

#[track_caller]
fn ok(args: &[&str]) -> String {
    let out = remote(args, b"");
    assert_eq!(
        out.status.code(),
        Some(0),
        "{args:?}\nstderr: {}\nstdout: {}",
        text(&out.stderr),
        text(&out.stdout)
    );
    text(&out.stdout)
}

#[test]
fn dest_parse_prints_every_field() {
    let cases = [
        (
            vec!["dest", "parse", "ssh://alice@[::1]:2222"],
            r#"{"type":"ssh","user":"alice","host":"::1","port":2222,"service":"","sequence":0,"raw":"ssh://alice@[::1]:2222"}"#,
        ),
        (
            vec!["dest", "parse", "compose://./web/2"],
            r#"{"type":"compose","user":"","host":".","port":0,"service":"web","sequence":2,"raw":"compose://./web/2"}"#,
        ),
        (
            vec!["dest", "parse", "--default-type", "docker", "db-1"],
            r#"{"type":"docker","user":"","host":"db-1","port":0,"service":"","sequence":0,"raw":"db-1"}"#,
        ),
        (
            vec!["dest", "parse", "--default-type", "podman", "db-1"],
            r#"{"type":"podman","user":"","host":"db-1","port":0,"service":"","sequence":0,"raw":"db-1"}"#,
        ),
        (
            vec!["dest", "parse", "local://"],
            r#"{"type":"local","user":"","host":"","port":0,"service":"","sequence":0,"raw":"local://"}"#,
        ),
    ];
    for (args, want) in cases {
        assert_eq!(ok(&args), format!("{want}\n"), "{args:?}");
    }
}

#[test]
fn bad_destinations_exit_255_naming_the_bad_part() {
    for (dest, part) in [
        ("ssh://alice@:22", "must include a host"),
        ("ssh://h:70000", "port 70000 is out of range"),
        ("k8s://pod", "unknown destination scheme \"k8s\""),
        ("compose://proj", "must be compose://project/service[/N]"),
        ("compose://p/s/0", "sequence \"0\""),
        ("", "must not be empty"),
    ] {
        let out = remote(&["dest", "parse", dest], b"");
        assert_eq!(out.status.code(), Some(255), "{dest:?}");
        let err = text(&out.stderr);
        assert!(err.starts_with("remote: error: "), "{dest:?}: {err}");
        assert!(err.contains(part), "{dest:?}: {err} lacks {part:?}");
        assert!(out.stdout.is_empty());
    }
}

#[test]
fn exec_passes_status_stdio_and_env_through() {
    let out = remote(&["exec", "local://", "--", "sh", "-c", "'exit 7'"], b"");
    assert_eq!(out.status.code(), Some(7));
    let out = remote(&["exec", "local://", "--", "cat"], b"x");
    assert_eq!(
        (out.status.code(), text(&out.stdout)),
        (Some(0), "x".into())
    );
    let out = remote(&["exec", "local://", "--", "kill", "-TERM", "$$"], b"");
    assert_eq!(out.status.code(), Some(128 + 15));
    let out = remote(
        &[
            "exec",
            "-e",
            "V=a 'b' $c",
            "local://",
            "--",
            "printf",
            "%s",
            "\"$V\"",
            ";",
            "echo",
            "e",
            ">&2",
        ],
        b"",
    );
    assert_eq!(text(&out.stdout), "a 'b' $c");
    assert_eq!(text(&out.stderr), "e\n");
    let out = remote(&["exec", "-e", "NOEQUALS", "local://", "--", "true"], b"");
    assert_eq!(out.status.code(), Some(255));
    assert!(text(&out.stderr).contains("want NAME=VALUE"));
    let out = remote(&["exec", "ssh://nowhere.invalid", "--", "true"], b"");
    assert_eq!(out.status.code(), Some(255));
}

/// Started by a process that ignores SIGINT and SIGQUIT (as a shell's background job does),
/// a local command still gets their default action: `kill -INT $$` ends it, as over SSH.
#[test]
fn local_commands_get_default_signals_whatever_remote_inherited() {
    for sig in ["INT", "QUIT", "HUP"] {
        let out = Command::new("/bin/sh")
            .arg("-c")
            .arg(format!(
                "trap '' INT QUIT HUP; exec \"$0\" exec local:// -- 'kill -{sig} $$; echo survived'"
            ))
            .arg(env!("CARGO_BIN_EXE_remote"))
            .stdin(Stdio::null())
            .output()
            .unwrap_or_else(|e| panic!("cannot run sh: {e}"));
        let number = match sig {
            "INT" => 2,
            "QUIT" => 3,
            _ => 1,
        };
        assert_eq!(
            (out.status.code(), text(&out.stdout)),
            (Some(128 + number), String::new()),
            "kill -{sig} in a command started with SIG{sig} ignored; stderr: {}",
            text(&out.stderr)
        );
    }
}

#[test]
fn exec_without_reading_stdin_does_not_hang() {
    let big = vec![b'y'; 4 << 20];
    let out = remote(&["exec", "local://", "--", "head", "-c", "3"], &big);
    assert_eq!(
        (out.status.code(), text(&out.stdout)),
        (Some(0), "yyy".into())
    );
}

#[test]
fn platform_is_json_in_go_names() {
    let p: serde_json::Value = serde_json::from_str(&ok(&["platform", "local://"]))
        .unwrap_or_else(|e| panic!("platform output: {e}"));
    assert_eq!(p["os"], "linux");
    let want_arch = match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        other => other,
    };
    assert_eq!(p["arch"], want_arch);
}

#[test]
fn fs_subcommands_round_trip_a_tree() {
    let dir = std::env::temp_dir().join(format!("remote-cli-fs-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{e}"));
    let d = dir.to_string_lossy().into_owned();
    let p = |name: &str| format!("{d}/{name}");
    let local_src = p("src.bin");
    let content: Vec<u8> = (0..300_000u32).map(|i| (i % 251) as u8).collect();
    std::fs::write(&local_src, &content).unwrap_or_else(|e| panic!("{e}"));

    ok(&["fs", "local://", "mkdir", "-p", "-m", "750", &p("r/a/b")]);
    ok(&["fs", "local://", "put", &local_src, &p("r/a/b/f.bin")]);
    ok(&["fs", "local://", "get", &p("r/a/b/f.bin"), &p("back.bin")]);
    assert_eq!(std::fs::read(p("back.bin")).unwrap_or_default(), content);
    assert_eq!(
        ok(&["fs", "local://", "cat", &p("r/a/b/f.bin")]).len(),
        text(&content).len()
    );
    ok(&["fs", "local://", "ln", "-s", "a/b/f.bin", &p("r/link")]);
    assert_eq!(
        ok(&["fs", "local://", "readlink", &p("r/link")]),
        "a/b/f.bin\n"
    );
    ok(&["fs", "local://", "ln", &p("r/a/b/f.bin"), &p("r/hard")]);
    ok(&["fs", "local://", "chmod", "640", &p("r/hard")]);
    ok(&[
        "fs",
        "local://",
        "touch",
        "--mtime",
        "1000000000.5",
        &p("r/hard"),
    ]);
    let st: serde_json::Value =
        serde_json::from_str(&ok(&["fs", "local://", "stat", &p("r/hard")]))
            .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(st["mode"], 0o640);
    assert_eq!(st["nlink"], 2);
    assert_eq!(st["size"], 300_000);
    assert_eq!(st["mtime"]["seconds"], 1_000_000_000);
    assert_eq!(st["mtime"]["nanoseconds"], 500_000_000);
    let lst: serde_json::Value =
        serde_json::from_str(&ok(&["fs", "local://", "stat", "-L", &p("r/link")]))
            .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(lst["kind"], "symlink");
    ok(&["fs", "local://", "truncate", &p("r/hard"), "10"]);
    ok(&["fs", "local://", "mv", &p("r/hard"), &p("r/moved")]);
    let listing = ok(&["fs", "local://", "ls", "-l", &p("r")]);
    assert!(listing.contains("drwxr-x---"), "{listing}");
    assert!(listing.contains("-rw-r----- "), "{listing}");
    assert!(
        listing
            .lines()
            .any(|l| l.starts_with('l') && l.ends_with(" link")),
        "{listing}"
    );
    assert_eq!(ok(&["fs", "local://", "ls", &p("r")]), "a\nlink\nmoved\n");
    let sfs: serde_json::Value = serde_json::from_str(&ok(&["fs", "local://", "statfs", &d]))
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(sfs["blocks"].as_u64().unwrap_or(0) > 0);
    assert!(ok(&["fs", "local://", "getwd"]).starts_with('/'));
    let out = remote(&["fs", "local://", "rm", &p("r")], b"");
    assert_eq!(out.status.code(), Some(255));
    assert!(
        text(&out.stderr).contains("(not-empty)"),
        "{}",
        text(&out.stderr)
    );
    let out = remote(&["fs", "local://", "get", &p("nope"), &p("x")], b"");
    assert!(text(&out.stderr).contains("(not-found)"));
    assert!(
        !std::path::Path::new(&p("x")).exists(),
        "no partial file for a failed get"
    );
    let out = remote(&["fs", "local://", "chmod", "99", &p("r")], b"");
    assert!(text(&out.stderr).contains("not an octal number"));
    std::fs::remove_dir_all(&dir).unwrap_or_else(|e| panic!("{e}"));
}

#[test]
fn upload_agent_prints_the_resolved_path() {
    let dir = std::env::temp_dir().join(format!("remote-cli-agent-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{e}"));
    let local = dir.join("agent");
    std::fs::write(&local, b"#!/bin/sh\necho agent\n").unwrap_or_else(|e| panic!("{e}"));
    let want = format!("{}/bin/agent", dir.display());
    let got = ok(&[
        "upload-agent",
        "local://",
        &local.to_string_lossy(),
        &format!("{}/bin/../bin/agent", dir.display()),
    ]);
    assert_eq!(got, format!("{want}\n"));
    assert_eq!(ok(&["exec", "local://", "--", &want]), "agent\n");
    std::fs::remove_dir_all(&dir).unwrap_or_else(|e| panic!("{e}"));
}

#[test]
fn conformance_reports_every_case_and_demo_runs() {
    let out = ok(&["conformance", "local://", "--json"]);
    let report: serde_json::Value = serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}"));
    let cases = report["cases"].as_array().cloned().unwrap_or_default();
    assert_eq!(cases.len(), remote_host::conformance::CASES.len());
    assert!(cases.iter().all(|c| c["outcome"] == "pass"), "{out}");
    let table = ok(&["conformance", "local://", "--filter", "exit_codes"]);
    assert!(
        table.contains("exit_codes") && table.contains("1 passed, 0 failed, 0 unsupported"),
        "{table}"
    );
    let none = remote(
        &["conformance", "local://", "--filter", "no-such-case"],
        b"",
    );
    assert_eq!(none.status.code(), Some(255));
    let demo = ok(&["demo"]);
    for part in [
        "== platform: os=linux",
        "PIPED THROUGH THE TARGET",
        "read back through the symlink",
        "== cleaned up",
    ] {
        assert!(demo.contains(part), "{demo}");
    }
}

/// The loopback sshd that `tests/fixtures/setup.sh` describes in its fixtures.json.
fn ssh_fixture() -> serde_json::Value {
    let path = std::env::var("REMOTE_FIXTURES")
        .unwrap_or_else(|_| "/var/tmp/remote-test-fixtures/fixtures.json".into());
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!("test fixtures are missing ({path}: {e}); run tests/fixtures/setup.sh or tests/run")
    });
    let all: serde_json::Value =
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path}: {e}"));
    all["ssh"].clone()
}

/// A text field of the fixture sshd's record.
fn ssh_field(f: &serde_json::Value, k: &str) -> String {
    f[k].as_str()
        .unwrap_or_else(|| panic!("fixtures.json: ssh.{k}"))
        .to_string()
}

#[test]
fn ssh_flags_choose_key_known_hosts_and_policy() {
    let f = ssh_fixture();
    let s = |k: &str| ssh_field(&f, k);
    let dest = format!("ssh://{}@{}:{}", s("user"), s("host"), f["port"]);
    let (identity, known_hosts) = (s("identity"), s("known_hosts"));
    let flags = [
        "--ssh-config",
        "none",
        "-i",
        identity.as_str(),
        "--known-hosts",
        known_hosts.as_str(),
    ];
    let mut args = flags.to_vec();
    args.extend(["exec", "-e", "X=a 'b'", &dest, "--", "echo \"$X\"; exit 5"]);
    let out = remote(&args, b"");
    assert_eq!(out.status.code(), Some(5), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout), "a 'b'\n");

    let mut args = flags.to_vec();
    args[5] = "/dev/null";
    args.extend(["platform", &dest]);
    let out = remote(&args, b"");
    assert_eq!(out.status.code(), Some(255));
    let err = text(&out.stderr);
    assert!(err.contains(&s("host_key_fingerprint")), "{err}");
    assert!(
        err.contains("--strict-host-key-checking accept-new"),
        "{err}"
    );

    let out = remote(
        &["--strict-host-key-checking", "maybe", "platform", &dest],
        b"",
    );
    assert_eq!(out.status.code(), Some(2), "a usage error");
    assert!(text(&out.stderr).contains("accept-new"), "lists the values");
    let out = remote(
        &["--ssh-config", "/nonexistent/config", "platform", &dest],
        b"",
    );
    assert_eq!(out.status.code(), Some(255));
    assert!(text(&out.stderr).contains("/nonexistent/config"));
}
