//! The path rewriter: paths mapped both ways, escapes refused.

use super::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn maps_both_ways_and_refuses_escapes() {
    let t = scratch("rewrite");
    let root = format!("{t}/root");
    std::fs::create_dir_all(&root).unwrap_or_else(|e| panic!("{e}"));
    std::fs::write(format!("{root}/file"), b"inside").unwrap_or_else(|e| panic!("{e}"));
    std::fs::write(format!("{t}/outside"), b"outside").unwrap_or_else(|e| panic!("{e}"));
    std::os::unix::fs::symlink("/etc", format!("{root}/etc-link"))
        .unwrap_or_else(|e| panic!("{e}"));
    std::os::unix::fs::symlink("../outside", format!("{root}/up-link"))
        .unwrap_or_else(|e| panic!("{e}"));
    let config = format!(r#"{{"mappings":[{{"virtual":"/workspace","real":"{root}"}}]}}"#);
    let (b, _) = wrapped(
        remote_guest_artifacts::PATH_REWRITE,
        &config,
        Limits::default(),
    )
    .await;
    let f = b.files().await.unwrap_or_else(|e| panic!("{e}"));
    let f = f.as_ref();
    assert_eq!(f.getwd().await.ok().as_deref(), Some("/workspace"));
    assert_eq!(
        f.stat("/workspace/file").await.map(|s| s.size).ok(),
        Some(6)
    );
    assert_eq!(
        f.stat("file").await.map(|s| s.size).ok(),
        Some(6),
        "relative to the workdir"
    );
    f.symlink("/workspace/file", "/workspace/abs")
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        std::fs::read_link(format!("{root}/abs")).ok(),
        Some(format!("{root}/file").into()),
        "stored as the real path"
    );
    assert_eq!(
        f.readlink("/workspace/abs").await.ok().as_deref(),
        Some("/workspace/file")
    );
    for (p, why) in [
        ("/workspace/../outside", "outside every mapped root"),
        ("/etc/passwd", "outside every mapped root"),
        ("../../etc/passwd", "outside every mapped root"),
        ("/workspace/etc-link/passwd", "leads outside"),
        ("/workspace/up-link", "leads outside"),
    ] {
        let e = f
            .stat(p)
            .await
            .err()
            .unwrap_or_else(|| panic!("{p} was allowed"));
        assert_eq!(e.code(), ErrorCode::AccessDenied, "{p}: {e}");
        assert!(e.message().contains(why), "{p}: {e}");
    }
    let e = f.symlink("/etc/passwd", "/workspace/l").await.err();
    assert_eq!(
        e.map(|e| e.code()),
        Some(ErrorCode::AccessDenied),
        "absolute target outside"
    );
    let (_, out) = run(b.as_ref(), "cat /workspace/file; echo; pwd", &[])
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        out,
        format!("inside\n{root}\n"),
        "paths in commands are mapped, and commands start in the workdir"
    );
    std::fs::remove_dir_all(&t).unwrap_or_else(|e| panic!("{e}"));
}
