//! `remote --guest` and `remote guest inspect`, run as a user would run them.

use std::process::{Command, Output};

fn remote(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_remote"))
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("cannot run remote: {e}"))
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

#[test]
fn guest_flag_wraps_every_subcommand() {
    let dir = std::env::temp_dir().join(format!("remote-guest-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{e}"));
    let config = dir.join("policy.json");
    std::fs::write(&config, r#"{"commands":{"allow":["echo"]}}"#).unwrap_or_else(|e| panic!("{e}"));
    let guest = format!("{}={}", remote_guest_artifacts::POLICY, config.display());

    let ok = remote(&["--guest", &guest, "exec", "local://", "--", "echo", "hi"]);
    assert_eq!(ok.status.code(), Some(0), "{}", text(&ok.stderr));
    assert_eq!(text(&ok.stdout), "hi\n");

    let refused = remote(&["exec", "--guest", &guest, "local://", "--", "echo hi; id"]);
    assert_eq!(
        refused.status.code(),
        Some(255),
        "{}",
        text(&refused.stdout)
    );
    let err = text(&refused.stderr);
    assert!(err.contains("rule `commands.allow`"), "{err}");
    assert!(err.contains("(access-denied)"), "{err}");

    // Two guests stack: policy over path-rewrite; `fs` and `platform` go through them too.
    let rewrite = dir.join("rewrite.json");
    std::fs::write(
        &rewrite,
        format!(
            r#"{{"mappings":[{{"virtual":"/w","real":"{}"}}]}}"#,
            dir.display()
        ),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let rewrite = format!(
        "{}={}",
        remote_guest_artifacts::PATH_REWRITE,
        rewrite.display()
    );
    let policy = remote_guest_artifacts::POLICY;
    let ls = remote(&[
        "--guest", &rewrite, "--guest", policy, "fs", "local://", "ls", "/w",
    ]);
    assert_eq!(ls.status.code(), Some(0), "{}", text(&ls.stderr));
    assert!(
        text(&ls.stdout).contains("policy.json"),
        "{}",
        text(&ls.stdout)
    );
    let platform = remote(&["--guest", policy, "platform", "local://"]);
    assert_eq!(
        platform.status.code(),
        Some(0),
        "{}",
        text(&platform.stderr)
    );

    let bad = dir.join("bad.json");
    std::fs::write(&bad, "{\"nope\":1}").unwrap_or_else(|e| panic!("{e}"));
    let bad = format!("{}={}", remote_guest_artifacts::POLICY, bad.display());
    let refused = remote(&["--guest", &bad, "platform", "local://"]);
    assert_eq!(refused.status.code(), Some(255));
    assert!(
        text(&refused.stderr).contains("unknown field `nope`"),
        "{}",
        text(&refused.stderr)
    );
    std::fs::remove_dir_all(&dir).unwrap_or_else(|e| panic!("{e}"));
}

#[test]
fn inspect_shows_world_imports_and_exports() {
    let out = remote(&["guest", "inspect", remote_guest_artifacts::POLICY]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let shown = text(&out.stdout);
    assert!(
        shown.starts_with("world: remote:machine/middleware\n"),
        "{shown}"
    );
    for want in [
        "imports:\n",
        "  remote:machine/backend@0.1.0\n",
        "    func open\n",
        "    func [method]session.start\n",
        "  remote:machine/log@0.1.0\n",
        "exports:\n",
        "  remote:machine/guest@0.1.0\n    func configure\n",
        "    resource session\n",
    ] {
        assert!(shown.contains(want), "missing {want:?} in\n{shown}");
    }
    let resolver = remote(&[
        "guest",
        "inspect",
        "--json",
        remote_guest_artifacts::COMPOSE_RESOLVER,
    ]);
    assert!(
        text(&resolver.stdout).contains("\"world\": \"compose-resolver\""),
        "{}",
        text(&resolver.stdout)
    );
}

#[test]
fn guest_new_scaffolds_each_language() {
    let dir = std::env::temp_dir().join(format!("remote-guest-new-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{e}"));
    let parent = dir.display().to_string();
    for (lang, source) in [
        ("rust", "src/lib.rs"),
        ("python", "app.py"),
        ("js", "app.js"),
    ] {
        let name = format!("g-{lang}");
        let out = remote(&["guest", "new", &name, "--lang", lang, "--dir", &parent]);
        assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
        assert!(
            text(&out.stdout).contains("build.sh"),
            "{}",
            text(&out.stdout)
        );
        for file in [source, "build.sh", "wit/worlds.wit", "wit/deps/io.wit"] {
            assert!(dir.join(&name).join(file).is_file(), "{lang}: no {file}");
        }
    }
    let bad = remote(&["guest", "new", "g-go", "--lang", "go", "--dir", &parent]);
    assert_eq!(bad.status.code(), Some(2), "{}", text(&bad.stderr));
    assert!(
        text(&bad.stderr).contains("rust, python or js"),
        "{}",
        text(&bad.stderr)
    );
    let again = remote(&["guest", "new", "g-js", "--lang", "js", "--dir", &parent]);
    assert_eq!(again.status.code(), Some(255), "{}", text(&again.stderr));
    assert!(
        text(&again.stderr).contains("(exists)"),
        "{}",
        text(&again.stderr)
    );
}
