//! The policy guest's decisions: exact codes, the rule each refusal names, quoting bypasses.

use super::*;

const POLICY: &str = remote_guest_artifacts::POLICY;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn allow_list_refuses_other_programs_and_chained_bypasses() {
    let dir = scratch("chain");
    let (b, _) = wrapped(
        POLICY,
        r#"{"commands":{"allow":["true","echo","test"]}}"#,
        Limits::default(),
    )
    .await;
    let b = b.as_ref();
    let (status, out) = run(b, "echo 'a; rm -rf /' && true", &[])
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        (status, out.as_str()),
        (ExitStatus::Exited(0), "a; rm -rf /\n")
    );
    let marker = format!("{dir}/marker");
    for cmd in [
        format!("touch {marker}"),
        format!("true; touch {marker}"),
        format!("true && touch {marker}"),
        format!("true || touch {marker}"),
        format!("true | touch {marker}"),
        format!("true & touch {marker}"),
        format!("true\ntouch {marker}"),
        format!("true $(touch {marker})"),
        format!("true `touch {marker}`"),
        format!("echo \"$(touch {marker})\""),
        format!("(touch {marker})"),
        format!("X=touch; $X {marker}"),
        format!("/usr/bin/touch {marker}"),
        format!("'touch' {marker}"),
        format!("\"touch\" {marker}"),
        format!("t\\ouch {marker}"),
        format!("tou''ch {marker}"),
        format!("${{T:-touch}} {marker}"),
        format!("eval 'touch {marker}'"),
        format!("true <(touch {marker})"),
        format!("true > >(touch {marker})"),
        format!("echo a;touch {marker}"),
    ] {
        denied(run(b, &cmd, &[]).await, "commands.allow", &cmd);
    }
    assert!(!Path::new(&marker).exists(), "a refused command ran anyway");
    b.close().await.unwrap_or_else(|e| panic!("{e}"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deny_list_and_line_patterns() {
    let (b, _) = wrapped(
        POLICY,
        r#"{"commands":{"deny":["rm","shutdown"],"deny_lines":["*--force*"]}}"#,
        Limits::default(),
    )
    .await;
    let b = b.as_ref();
    assert_eq!(
        run(b, "true", &[]).await.map(|r| r.0).ok(),
        Some(ExitStatus::Exited(0))
    );
    denied(
        run(b, "echo x; /bin/rm -rf /nonexistent", &[]).await,
        "commands.deny",
        "rm by path",
    );
    denied(
        run(b, "echo `shutdown now`", &[]).await,
        "commands.deny",
        "substitution",
    );
    denied(
        run(b, "git push --force", &[]).await,
        "commands.deny_lines",
        "line pattern",
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn environment_deny_strip_and_keep() {
    let (b, _) = wrapped(
        POLICY,
        r#"{"env":{"deny":["LD_*"],"strip":["*"]}}"#,
        Limits::default(),
    )
    .await;
    let b = b.as_ref();
    denied(
        run(b, "true", &[("LD_PRELOAD", "/evil.so")]).await,
        "env.deny",
        "LD_PRELOAD",
    );
    let (_, out) = run(
        b,
        "printf '%s|%s|%s' \"$SECRET_TOKEN\" \"$LC_ALL\" \"$EDITOR\"",
        &[
            ("SECRET_TOKEN", "s3cret"),
            ("LC_ALL", "C.UTF-8"),
            ("EDITOR", "vi"),
        ],
    )
    .await
    .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(out, "|C.UTF-8|vi", "stripped, kept, kept");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn read_only_and_hidden_paths_survive_dotdot_and_symlinks() {
    let t = scratch("paths");
    for d in ["ro", "hidden", "rw"] {
        std::fs::create_dir_all(format!("{t}/{d}")).unwrap_or_else(|e| panic!("{e}"));
    }
    std::fs::write(format!("{t}/ro/existing"), b"ro").unwrap_or_else(|e| panic!("{e}"));
    std::fs::write(format!("{t}/hidden/secret"), b"s").unwrap_or_else(|e| panic!("{e}"));
    std::os::unix::fs::symlink(format!("{t}/ro"), format!("{t}/rw/to-ro"))
        .unwrap_or_else(|e| panic!("{e}"));
    std::os::unix::fs::symlink("../hidden", format!("{t}/rw/to-hidden"))
        .unwrap_or_else(|e| panic!("{e}"));
    let config = format!(r#"{{"paths":{{"read_only":["{t}/ro"],"hidden":["{t}/hidden"]}}}}"#);
    let (b, _) = wrapped(POLICY, &config, Limits::default()).await;
    let f = b.files().await.unwrap_or_else(|e| panic!("{e}"));
    let f = f.as_ref();

    assert_eq!(
        f.stat(&format!("{t}/ro/existing"))
            .await
            .map(|s| s.size)
            .ok(),
        Some(2)
    );
    for p in [
        format!("{t}/ro/new"),
        format!("{t}/rw/../ro/new"),
        format!("{t}/rw/to-ro/new"),
        format!("{t}/rw/./to-ro/../ro/new"),
    ] {
        denied(f.create(&p).await.map(|_| ()), "paths.read_only", &p);
    }
    denied(
        f.remove(&format!("{t}/rw/to-ro/existing")).await,
        "paths.read_only",
        "remove through link",
    );
    denied(
        f.chmod(&format!("{t}/ro"), 0o777).await,
        "paths.read_only",
        "chmod the root",
    );
    for p in [
        format!("{t}/hidden/secret"),
        format!("{t}/rw/../hidden/secret"),
        format!("{t}/rw/to-hidden/secret"),
        format!("{t}/rw/to-hidden"),
    ] {
        denied(f.stat(&p).await, "paths.hidden", &p);
    }
    denied(
        f.open(&format!("{t}/rw/to-hidden/secret"))
            .await
            .map(|_| ()),
        "paths.hidden",
        "open",
    );
    let names: Vec<String> = f
        .read_dir(&t)
        .await
        .unwrap_or_else(|e| panic!("{e}"))
        .into_iter()
        .map(|e| e.name)
        .collect();
    assert_eq!(names, ["ro", "rw"], "read-dir hides the hidden directory");
    // The link itself lives in a writable directory: removing it changes nothing read-only.
    f.remove(&format!("{t}/rw/to-ro"))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    f.create(&format!("{t}/rw/ok"))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    std::fs::remove_dir_all(&t).unwrap_or_else(|e| panic!("{e}"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn upload_agent_can_be_refused_and_decisions_audited() {
    let t = scratch("upload");
    let local_file = format!("{t}/agent");
    std::fs::write(&local_file, b"#!/bin/sh\n").unwrap_or_else(|e| panic!("{e}"));
    let (b, lines) = wrapped(
        POLICY,
        r#"{"upload_agent":false,"audit":true}"#,
        Limits::default(),
    )
    .await;
    denied(
        b.upload_agent(Path::new(&local_file), &format!("{t}/installed"), 0o755)
            .await,
        "upload_agent",
        "upload",
    );
    run(b.as_ref(), "true", &[])
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let lines = lines.lock().unwrap_or_else(|p| p.into_inner()).clone();
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("Warn deny upload-agent")),
        "audit of the refusal: {lines:?}"
    );
    assert!(
        lines.iter().any(|l| l == "Info allow start \"true\""),
        "audit of the allowed command: {lines:?}"
    );
    std::fs::remove_dir_all(&t).unwrap_or_else(|e| panic!("{e}"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_configuration_fails_the_load_with_the_guests_words() {
    for (config, want) in [
        (r#"{"comands":{}}"#, "unknown field `comands`"),
        (
            r#"{"paths":{"hidden":["relative"]}}"#,
            "must be an absolute path",
        ),
        ("not json", "invalid configuration"),
    ] {
        let e = Layer::load(Path::new(POLICY), config, Limits::default())
            .await
            .err()
            .unwrap_or_else(|| panic!("{config} was accepted"));
        assert_eq!(e.code(), ErrorCode::InvalidArgument, "{e}");
        assert!(e.message().contains(want), "{config}: {e}");
    }
}
