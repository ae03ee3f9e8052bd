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
        (vec![from.as_str(), to.as_str()], "both sides are remote"),
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
