//! `remote cp` between this machine and one target, and its operand errors.

use std::os::unix::fs::PermissionsExt as _;

use super::*;

#[test]
fn cp_copies_both_ways_keeping_modes_and_with_p_times() {
    let dir = std::env::temp_dir().join(format!("remote-cli-cp-{}", std::process::id()));
    let (here, there) = (dir.join("here"), dir.join("there"));
    for d in [&here, &there] {
        std::fs::create_dir_all(d).unwrap_or_else(|e| panic!("{e}"));
    }
    let src = here.join("tool.sh");
    std::fs::write(&src, b"#!/bin/sh\necho hi\n").unwrap_or_else(|e| panic!("{e}"));
    std::fs::set_permissions(&src, std::fs::Permissions::from_mode(0o751))
        .unwrap_or_else(|e| panic!("{e}"));
    let old = std::time::UNIX_EPOCH + std::time::Duration::from_secs(1_000_000_000);
    std::fs::File::options()
        .write(true)
        .open(&src)
        .and_then(|f| f.set_times(std::fs::FileTimes::new().set_modified(old)))
        .unwrap_or_else(|e| panic!("{e}"));

    let to = format!("local://:{}/", there.display());
    ok(&["cp", "-p", &src.to_string_lossy(), &to]);
    let copied = there.join("tool.sh");
    let meta = std::fs::metadata(&copied).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(meta.permissions().mode() & 0o7777, 0o751);
    assert_eq!(meta.modified().ok(), Some(old), "-p keeps the mtime");
    assert_eq!(
        std::fs::read(&copied).unwrap_or_else(|e| panic!("{e}")),
        b"#!/bin/sh\necho hi\n"
    );

    let back = here.join("back.sh");
    let from = format!("local://:{}", copied.display());
    ok(&["cp", &from, &back.to_string_lossy()]);
    let meta = std::fs::metadata(&back).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(meta.permissions().mode() & 0o7777, 0o751);
    assert_ne!(
        meta.modified().ok(),
        Some(old),
        "without -p the time is now"
    );

    for (args, want) in [
        (
            vec![src.to_str().unwrap_or_default(), "./x"],
            "no operand is remote",
        ),
        (
            vec![here.to_str().unwrap_or_default(), to.as_str()],
            "is a directory",
        ),
        (
            vec![src.to_str().unwrap_or_default(), ":/tmp/x"],
            "needs --targets",
        ),
        (vec![src.to_str().unwrap_or_default(), "ssh://h"], "no path"),
    ] {
        let mut all = vec!["cp"];
        all.extend(&args);
        let out = remote(&all, b"");
        assert_eq!(out.status.code(), Some(255), "{args:?}");
        assert!(
            text(&out.stderr).contains(want),
            "{args:?}: {}",
            text(&out.stderr)
        );
    }
    std::fs::remove_dir_all(&dir).unwrap_or_else(|e| panic!("{e}"));
}

/// A tree goes to the fixture sshd and comes back through a second target in one command
/// (`ssh` to `local://`, through this process), verified, with JSON progress events.
#[test]
fn cp_r_moves_a_tree_between_two_targets_and_verifies_it() {
    let f = ssh_fixture();
    let field = |k: &str| ssh_field(&f, k);
    let ssh = format!("ssh://{}@{}:{}", field("user"), field("host"), f["port"]);
    let dir = std::env::temp_dir().join(format!("remote-cli-cp-r-{}", std::process::id()));
    let tree = dir.join("tree");
    std::fs::create_dir_all(tree.join("a/b")).unwrap_or_else(|e| panic!("{e}"));
    let big: Vec<u8> = (0..(3 << 20)).map(|i: u32| (i % 251) as u8).collect();
    std::fs::write(tree.join("a/b/big"), &big).unwrap_or_else(|e| panic!("{e}"));
    std::fs::write(tree.join("top"), b"top\n").unwrap_or_else(|e| panic!("{e}"));
    std::os::unix::fs::symlink("a/b/big", tree.join("link")).unwrap_or_else(|e| panic!("{e}"));
    let flags = [
        "--ssh-config".to_string(),
        "none".into(),
        "-i".into(),
        field("identity"),
        "--known-hosts".into(),
        field("known_hosts"),
    ];
    let run = |args: &[&str]| {
        let mut all: Vec<&str> = flags.iter().map(String::as_str).collect();
        all.extend(args);
        remote(&all, b"")
    };
    let there = format!("remote-cli-cp-r-{}", std::process::id());
    let out = run(&[
        "cp",
        "-r",
        "--verify",
        "--json",
        &tree.to_string_lossy(),
        &format!("{ssh}:~/{there}"),
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let events = json_lines(&out);
    assert_eq!(events[0]["event"], "planned", "{events:?}");
    assert_eq!(events[0]["files"], 2);
    let verified: Vec<&serde_json::Value> =
        events.iter().filter(|e| e["event"] == "file").collect();
    assert_eq!(verified.len(), 2, "{events:?}");
    assert!(
        verified
            .iter()
            .all(|e| e["sha256"].as_str().is_some_and(|h| h.len() == 64))
    );
    let done = events.last().unwrap_or_else(|| panic!("no events"));
    assert_eq!(
        (done["event"].as_str(), done["symlinks"].as_u64()),
        (Some("done"), Some(1))
    );

    let back = dir.join("back");
    let out = run(&[
        "cp",
        "-r",
        "-p",
        &format!("{ssh}:~/{there}"),
        &format!("local://:{}", back.display()),
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(
        std::fs::read(back.join("a/b/big")).unwrap_or_else(|e| panic!("{e}")),
        big
    );
    assert_eq!(
        std::fs::read_link(back.join("link")).unwrap_or_else(|e| panic!("{e}")),
        std::path::PathBuf::from("a/b/big")
    );
    let out = run(&["exec", &ssh, "--", &format!("rm -rf ~/{there}")]);
    assert_eq!(out.status.code(), Some(0));
    std::fs::remove_dir_all(&dir).unwrap_or_else(|e| panic!("{e}"));
}
