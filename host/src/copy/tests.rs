//! Copies between two `local://` file clients: trees with symlinks, modes and times; resumed
//! and verified files; and what a failed copy leaves.

use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use super::*;
use crate::local::LocalBackend;

async fn local() -> Endpoint {
    let backend = LocalBackend::new();
    backend
        .start()
        .await
        .unwrap_or_else(|e| panic!("local: {e}"));
    Endpoint {
        files: backend
            .files()
            .await
            .unwrap_or_else(|e| panic!("local files: {e}")),
        backend: Some(Arc::new(backend)),
    }
}

fn scratch(tag: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("remote-copy-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{e}"));
    dir
}

fn s(p: &Path) -> String {
    p.to_string_lossy().into_owned()
}

/// Bytes that differ at every offset, so a misplaced chunk shows.
fn pattern(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i * 7 + i / 4096) as u8).collect()
}

fn quiet(_: Progress<'_>) {}

#[tokio::test]
async fn a_tree_arrives_whole_with_symlinks_modes_and_times() {
    let dir = scratch("tree");
    let src = dir.join("src");
    std::fs::create_dir_all(src.join("sub/deeper")).unwrap_or_else(|e| panic!("{e}"));
    std::fs::write(src.join("a.txt"), b"alpha").unwrap_or_else(|e| panic!("{e}"));
    std::fs::write(src.join("sub/deeper/big"), pattern(3 << 20)).unwrap_or_else(|e| panic!("{e}"));
    std::fs::set_permissions(src.join("a.txt"), std::fs::Permissions::from_mode(0o640))
        .unwrap_or_else(|e| panic!("{e}"));
    std::fs::set_permissions(src.join("sub"), std::fs::Permissions::from_mode(0o750))
        .unwrap_or_else(|e| panic!("{e}"));
    std::os::unix::fs::symlink("../a.txt", src.join("sub/link")).unwrap_or_else(|e| panic!("{e}"));
    let old = std::time::UNIX_EPOCH + std::time::Duration::from_secs(1_234_567_890);
    std::fs::File::options()
        .write(true)
        .open(src.join("a.txt"))
        .and_then(|f| f.set_times(std::fs::FileTimes::new().set_modified(old)))
        .unwrap_or_else(|e| panic!("{e}"));
    let dst = dir.join("dst");
    std::fs::create_dir(&dst).unwrap_or_else(|e| panic!("{e}"));

    let (a, b) = (local().await, local().await);
    let planned = Mutex::new(None);
    let arrived = Mutex::new(0u64);
    let report = |p: Progress<'_>| match p {
        Progress::Planned { files, bytes } => {
            *planned.lock().unwrap_or_else(|e| e.into_inner()) = Some((files, bytes))
        }
        Progress::Bytes { bytes, .. } => {
            *arrived.lock().unwrap_or_else(|e| e.into_inner()) += bytes
        }
        Progress::FileDone { .. } => {}
    };
    let opts = CopyOptions {
        recursive: true,
        preserve: true,
        ..CopyOptions::default()
    };
    let done = copy(&a, &s(&src), &b, &s(&dst), &opts, &report)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let top = dst.join("src");
    assert_eq!(done.path, s(&top), "into an existing directory");
    assert_eq!((done.files, done.dirs, done.symlinks), (2, 3, 1));
    assert_eq!(done.bytes, 5 + (3 << 20));
    assert_eq!(
        *planned.lock().unwrap_or_else(|e| e.into_inner()),
        Some((2, 5 + (3 << 20)))
    );
    assert_eq!(
        *arrived.lock().unwrap_or_else(|e| e.into_inner()),
        5 + (3 << 20)
    );
    assert_eq!(
        std::fs::read(top.join("sub/deeper/big")).unwrap_or_else(|e| panic!("{e}")),
        pattern(3 << 20)
    );
    assert_eq!(
        std::fs::read_link(top.join("sub/link")).unwrap_or_else(|e| panic!("{e}")),
        PathBuf::from("../a.txt")
    );
    let meta = |p: &str| std::fs::symlink_metadata(top.join(p)).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(meta("a.txt").permissions().mode() & 0o7777, 0o640);
    assert_eq!(meta("sub").permissions().mode() & 0o7777, 0o750);
    assert_eq!(meta("a.txt").modified().ok(), Some(old));
    let leftovers: Vec<_> = walk(&top)
        .into_iter()
        .filter(|p| s(p).contains(".remote-"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");

    // Onto a new name, and a directory without -r.
    let renamed = dir.join("renamed");
    let done = copy(&a, &s(&src), &b, &s(&renamed), &opts, &quiet)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(done.path, s(&renamed));
    assert!(renamed.join("sub/deeper/big").is_file());
    let e = copy(
        &a,
        &s(&src),
        &b,
        &s(&dir.join("x")),
        &CopyOptions::default(),
        &quiet,
    )
    .await
    .err()
    .unwrap_or_else(|| panic!("a directory copied without -r"));
    assert_eq!(e.code(), ErrorCode::IsDirectory, "{e}");
    assert!(e.to_string().contains("-r"), "{e}");
    let _ = std::fs::remove_dir_all(&dir);
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut all = Vec::new();
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        if path.is_dir() && !path.is_symlink() {
            all.extend(walk(&path));
        }
        all.push(path);
    }
    all
}

#[tokio::test]
async fn resume_moves_only_the_rest_of_a_matching_partial() {
    let dir = scratch("resume");
    let data = pattern(5 << 20);
    let src = dir.join("data.bin");
    std::fs::write(&src, &data).unwrap_or_else(|e| panic!("{e}"));
    let to = dir.join("copy.bin");
    let partial = dir.join(".copy.bin.remote-partial");
    let (a, b) = (local().await, local().await);
    let opts = CopyOptions {
        resume: true,
        verify: true,
        ..CopyOptions::default()
    };

    std::fs::write(&partial, &data[..2 << 20]).unwrap_or_else(|e| panic!("{e}"));
    let arrived = Mutex::new(0u64);
    let count = |p: Progress<'_>| {
        if let Progress::Bytes { bytes, .. } = p {
            *arrived.lock().unwrap_or_else(|e| e.into_inner()) += bytes;
        }
    };
    let done = copy(&a, &s(&src), &b, &s(&to), &opts, &count)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(done.resumed_bytes, 2 << 20);
    assert_eq!(
        *arrived.lock().unwrap_or_else(|e| e.into_inner()),
        3 << 20,
        "only the rest moved"
    );
    assert_eq!(std::fs::read(&to).unwrap_or_else(|e| panic!("{e}")), data);
    assert!(!partial.exists(), "the partial became the file");

    // A partial whose bytes differ from the source's is started afresh.
    let mut wrong = data[..1 << 20].to_vec();
    wrong[4096] ^= 1;
    std::fs::write(&partial, &wrong).unwrap_or_else(|e| panic!("{e}"));
    let done = copy(&a, &s(&src), &b, &s(&to), &opts, &quiet)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(done.resumed_bytes, 0);
    assert_eq!(std::fs::read(&to).unwrap_or_else(|e| panic!("{e}")), data);
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn a_failed_copy_leaves_the_old_file_and_no_temporary() {
    let dir = scratch("fail");
    let src = dir.join("new");
    std::fs::write(&src, pattern(1 << 20)).unwrap_or_else(|e| panic!("{e}"));
    let to = dir.join("old");
    std::fs::write(&to, b"the old contents").unwrap_or_else(|e| panic!("{e}"));
    let (a, b) = (local().await, local().await);
    // The source is a directory's name: opening it for reading fails after the partial was made.
    let not_a_file = dir.join("sub");
    std::fs::create_dir(&not_a_file).unwrap_or_else(|e| panic!("{e}"));
    let fake = FileStat {
        kind: FileKind::Regular,
        ..a.files
            .stat(&s(&src))
            .await
            .unwrap_or_else(|e| panic!("{e}"))
    };
    let e = copy_file(
        &a,
        &s(&not_a_file),
        &b,
        &s(&to),
        &fake,
        &CopyOptions::default(),
        &quiet,
    )
    .await
    .err()
    .unwrap_or_else(|| panic!("copied a directory's bytes"));
    assert_eq!(e.code(), ErrorCode::IsDirectory, "{e}");
    assert_eq!(
        std::fs::read(&to).unwrap_or_else(|e| panic!("{e}")),
        b"the old contents"
    );
    let names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{e}"))
        .filter_map(|e| e.ok().map(|e| e.file_name().to_string_lossy().into_owned()))
        .collect();
    assert!(names.iter().all(|n| !n.contains(".remote-")), "{names:?}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn many_small_files_arrive_whole_with_several_in_flight() {
    let dir = scratch("many");
    let src = dir.join("src");
    for i in 0..300 {
        let sub = src.join(format!("d{}", i % 7));
        std::fs::create_dir_all(&sub).unwrap_or_else(|e| panic!("{e}"));
        std::fs::write(
            sub.join(format!("f{i}")),
            format!("file {i}\n").repeat(i % 13),
        )
        .unwrap_or_else(|e| panic!("{e}"));
    }
    let (a, b) = (local().await, local().await);
    let opts = CopyOptions {
        recursive: true,
        jobs: 16,
        ..CopyOptions::default()
    };
    let to = dir.join("dst");
    let done = copy(&a, &s(&src), &b, &s(&to), &opts, &quiet)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!((done.files, done.dirs), (300, 8));
    for i in 0..300 {
        let rel = format!("d{}/f{i}", i % 7);
        assert_eq!(
            std::fs::read_to_string(to.join(&rel)).unwrap_or_else(|e| panic!("{rel}: {e}")),
            format!("file {i}\n").repeat(i % 13),
            "{rel}"
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
}
