//! The fixtures that later backends test against are really up: a test that talks to them with
//! the stock clients, so a broken set-up shows here by name rather than as a backend failure.

use std::process::Command;

use remote_tests::Fixtures;

fn run(cmd: &mut Command) -> String {
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?} failed ({}): {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn loopback_sshd_accepts_the_test_key_and_only_with_a_known_host_key() {
    let f = Fixtures::load().ssh;
    let ssh = |known_hosts: &str| {
        let mut c = Command::new("ssh");
        c.args([
            "-F",
            "/dev/null",
            "-o",
            "BatchMode=yes",
            "-o",
            "IdentitiesOnly=yes",
        ])
        .args(["-o", "StrictHostKeyChecking=yes"])
        .arg("-o")
        .arg(format!("UserKnownHostsFile={known_hosts}"))
        .arg("-i")
        .arg(&f.identity)
        .args(["-p", &f.port.to_string()])
        .arg(format!("{}@{}", f.user, f.host));
        c
    };
    let out = run(ssh(&f.known_hosts.to_string_lossy()).arg("echo ok; id -un; echo $0"));
    assert_eq!(out, format!("ok\n{}\nsh\n", f.user));
    let unknown = ssh("/dev/null")
        .arg("true")
        .output()
        .unwrap_or_else(|e| panic!("cannot run ssh: {e}"));
    assert!(
        !unknown.status.success(),
        "an unknown host key must be refused"
    );
    let kh = std::fs::read_to_string(&f.known_hosts).unwrap_or_default();
    assert!(
        kh.contains(&format!("[{}]:{}", f.host, f.port)),
        "known_hosts: {kh}"
    );
    assert!(f.host_key_fingerprint.starts_with("SHA256:"));
}

#[test]
fn dockerd_runs_the_locally_built_busybox_image() {
    let f = Fixtures::load().docker;
    let out = run(Command::new("docker").args([
        "run",
        "--rm",
        &f.busybox_image,
        "sh",
        "-c",
        "echo ok; uname -m",
    ]));
    assert!(out.starts_with("ok\n"), "{out}");
}

#[test]
fn the_podman_service_runs_the_loaded_busybox_image() {
    let f = Fixtures::load().podman;
    let out = run(Command::new("podman").args([
        "--url",
        &f.host,
        "run",
        "--rm",
        &f.busybox_image,
        "sh",
        "-c",
        "echo ok; uname -m",
    ]));
    assert!(
        out.starts_with("ok\n"),
        "{out} (service log: {})",
        f.log.display()
    );
}
