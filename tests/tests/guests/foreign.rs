//! The guests written in Python and JavaScript (`remote_tests::foreign`): what each does beyond
//! passing the conformance suite, which `conformance.rs` runs through both.

use remote_host::guest::cache::default_dir;
use remote_tests::foreign::{AUDIT_PY, POLICY_JS, guest};

use super::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn policy_js_refuses_denied_programs_with_access_denied() {
    let dir = scratch("policy-js");
    let marker = format!("{dir}/marker");
    let (b, lines) = wrapped_cached(
        &guest(POLICY_JS),
        r#"{"deny":["touch","rm"]}"#,
        Limits::default(),
        default_dir().as_deref(),
    )
    .await;
    let b = b.as_ref();
    for cmd in [
        format!("touch {marker}"),
        format!("true; touch {marker}"),
        format!("true && /usr/bin/touch {marker}"),
        format!("echo $(touch {marker})"),
        format!("X=1 touch {marker}"),
        format!("rm -f {dir}"),
    ] {
        match run(b, &cmd, &[]).await {
            Err(e) => {
                assert_eq!(e.code(), ErrorCode::AccessDenied, "{cmd}: {e}");
                assert!(e.message().contains("is denied"), "{cmd}: {e}");
            }
            Ok(v) => panic!("{cmd}: allowed ({v:?}), want access-denied"),
        }
    }
    assert!(!Path::new(&marker).exists(), "a refused command ran anyway");
    let (status, out) = run(b, "echo allowed", &[])
        .await
        .unwrap_or_else(|e| panic!("an allowed command: {e}"));
    assert_eq!((status, out.as_str()), (ExitStatus::Exited(0), "allowed\n"));
    let lines = lines.lock().unwrap_or_else(|p| p.into_inner()).clone();
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("Warn ") && l.contains("touch is denied")),
        "the refusal should be logged: {lines:?}"
    );
    b.close().await.unwrap_or_else(|e| panic!("{e}"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn policy_js_rejects_a_bad_configuration_at_load() {
    let wasm = guest(POLICY_JS);
    let cache = default_dir();
    for (config, why) in [
        (r#"{"deny":"rm"}"#, "must be a list"),
        (r#"{"allow":["ls"]}"#, "unknown configuration keys: allow"),
        ("not json", "not JSON"),
    ] {
        let e = Layer::load_with(
            Path::new(&wasm),
            config,
            Limits::default(),
            cache.as_deref(),
            Arc::new(|_: &str, _: LogLevel, _: &str| {}),
        )
        .await
        .expect_err(config);
        assert_eq!(e.code(), ErrorCode::InvalidArgument, "{config}: {e}");
        assert!(e.message().contains(why), "{config}: {e}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn audit_py_logs_every_operation_and_passes_errors_through() {
    let dir = scratch("audit-py");
    let (b, lines) = wrapped_cached(
        &guest(AUDIT_PY),
        r#"{"prefix":"seen"}"#,
        Limits::default(),
        default_dir().as_deref(),
    )
    .await;
    let b = b.as_ref();
    let (status, out) = run(b, "echo hi", &[("GREETING", "x")])
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!((status, out.as_str()), (ExitStatus::Exited(0), "hi\n"));
    let files = b.files().await.unwrap_or_else(|e| panic!("{e}"));
    let missing = format!("{dir}/missing");
    let e = files
        .stat(&missing)
        .await
        .expect_err("stat of a missing file");
    assert_eq!(e.code(), ErrorCode::NotFound, "{e}");
    files
        .mkdir(&format!("{dir}/sub"), 0o755)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    b.close().await.unwrap_or_else(|e| panic!("{e}"));
    let lines = lines.lock().unwrap_or_else(|p| p.into_inner()).clone();
    for want in [
        "Info seen: backend.open 'local://'".to_string(),
        "Info seen: backend.start".into(),
        "Info seen: backend.new-session".into(),
        "Info seen: session.stdout".into(),
        "Info seen: session.setenv 'GREETING' 'x'".into(),
        "Info seen: session.start 'echo hi'".into(),
        "Info seen: session.wait".into(),
        "Info seen: session.close".into(),
        "Info seen: backend.files".into(),
        format!("Warn seen: client.stat '{missing}': not-found"),
        format!("Info seen: client.mkdir '{dir}/sub' 493"),
        "Info seen: backend.close".into(),
    ] {
        assert!(lines.contains(&want), "no log line {want:?} in {lines:?}");
    }
}
