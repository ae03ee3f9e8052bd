//! File-client scenarios.

use sha2::{Digest, Sha256};

use super::check::{ensure, ensure_eq, expect_code, pattern};
use super::runner::{CaseResult, Cx};
use crate::error::ErrorCode;
use crate::file_client::FileClient;
use crate::types::{FileKind, OpenFlags, Timestamp};

async fn write_file(f: &dyn FileClient, path: &str, data: &[u8]) -> crate::Result<()> {
    let mut h = f.create(path).await?;
    h.write(data).await?;
    h.close().await
}

async fn read_file(f: &dyn FileClient, path: &str) -> crate::Result<Vec<u8>> {
    let mut h = f.open(path).await?;
    let mut out = Vec::new();
    loop {
        let chunk = h.read(1 << 20).await?;
        if chunk.is_empty() {
            break;
        }
        out.extend_from_slice(&chunk);
    }
    h.close().await?;
    Ok(out)
}

const RW_CREATE: OpenFlags = OpenFlags {
    read: true,
    write: true,
    create: true,
    exclusive: false,
    truncate: false,
    append: false,
};

/// Create, write, close, reopen and read back; `create` truncates an existing file.
pub async fn file_create_write_read(cx: &Cx<'_>) -> CaseResult {
    let f = cx.files()?;
    let p = cx.path("hello.txt");
    write_file(f, &p, b"hello, world").await?;
    ensure_eq!(
        read_file(f, &p).await?,
        b"hello, world".to_vec(),
        "content read back"
    );
    let st = f.stat(&p).await?;
    ensure_eq!(st.kind, FileKind::Regular, "kind");
    ensure_eq!(st.size, 12, "size");
    write_file(f, &p, b"hi").await?;
    ensure_eq!(read_file(f, &p).await?, b"hi".to_vec(), "create truncates");
    Ok(())
}

/// Read-only, write-only, create, exclusive, truncate and append, and the errors between them.
pub async fn open_flags_matrix(cx: &Cx<'_>) -> CaseResult {
    let f = cx.files()?;
    let p = cx.path("flags");
    expect_code(
        f.open(&p).await.map(|_| ()),
        ErrorCode::NotFound,
        "open missing file",
    )?;

    let create_only = OpenFlags {
        write: true,
        create: true,
        ..OpenFlags::default()
    };
    let mut h = f.open_file(&p, create_only, 0o640).await?;
    h.write(b"abc").await?;
    expect_code(
        h.read_at(0, 3).await,
        ErrorCode::BadDescriptor,
        "read on a write-only handle",
    )?;
    h.close().await?;
    // 0o640 survives the usual umasks (022, 002, 0).
    ensure_eq!(f.stat(&p).await?.mode, 0o640, "mode given at create");

    let excl = OpenFlags {
        exclusive: true,
        ..create_only
    };
    expect_code(
        f.open_file(&p, excl, 0o600).await.map(|_| ()),
        ErrorCode::Exists,
        "exclusive create of an existing file",
    )?;
    let fresh = cx.path("flags-excl");
    f.open_file(&fresh, excl, 0o600).await?.close().await?;
    ensure_eq!(
        f.stat(&fresh).await?.size,
        0,
        "exclusive create makes an empty file"
    );

    let mut ro = f.open_file(&p, OpenFlags::READ, 0).await?;
    expect_code(
        ro.write(b"x").await,
        ErrorCode::BadDescriptor,
        "write on a read-only handle",
    )?;
    expect_code(
        ro.write_at(0, b"x").await,
        ErrorCode::BadDescriptor,
        "write-at on a read-only handle",
    )?;
    ensure_eq!(
        ro.read_at(0, 10).await?,
        b"abc".to_vec(),
        "read-only handle reads"
    );
    ro.close().await?;
    ensure_eq!(
        read_file(f, &p).await?,
        b"abc".to_vec(),
        "content after refused write"
    );

    let append = OpenFlags {
        write: true,
        append: true,
        ..OpenFlags::default()
    };
    let mut a = f.open_file(&p, append, 0).await?;
    a.write(b"de").await?;
    a.close().await?;
    ensure_eq!(
        read_file(f, &p).await?,
        b"abcde".to_vec(),
        "append writes at the end"
    );

    let trunc = OpenFlags {
        write: true,
        truncate: true,
        ..OpenFlags::default()
    };
    f.open_file(&p, trunc, 0).await?.close().await?;
    ensure_eq!(f.stat(&p).await?.size, 0, "truncate on open");

    expect_code(
        f.open_file(
            &cx.path("missing"),
            OpenFlags {
                write: true,
                ..OpenFlags::default()
            },
            0,
        )
        .await
        .map(|_| ()),
        ErrorCode::NotFound,
        "write without create on a missing file",
    )?;
    expect_code(
        f.open_file(&p, OpenFlags::default(), 0).await.map(|_| ()),
        ErrorCode::InvalidArgument,
        "open with neither read nor write",
    )?;
    Ok(())
}

/// Sequential reads in pieces, and positioned reads around and past end-of-file.
pub async fn read_partial_and_eof(cx: &Cx<'_>) -> CaseResult {
    let f = cx.files()?;
    let p = cx.path("ten");
    write_file(f, &p, b"0123456789").await?;
    let mut h = f.open(&p).await?;
    ensure_eq!(h.read(4).await?, b"0123".to_vec(), "first read");
    ensure_eq!(h.read(4).await?, b"4567".to_vec(), "second read");
    ensure_eq!(
        h.read_at(1, 2).await?,
        b"12".to_vec(),
        "read-at does not move the position"
    );
    ensure_eq!(h.read(4).await?, b"89".to_vec(), "short read at the end");
    ensure_eq!(h.read(4).await?, Vec::<u8>::new(), "read at end-of-file");
    ensure_eq!(
        h.read_at(8, 10).await?,
        b"89".to_vec(),
        "read-at across end-of-file"
    );
    ensure_eq!(
        h.read_at(10, 5).await?,
        Vec::<u8>::new(),
        "read-at at end-of-file"
    );
    ensure_eq!(
        h.read_at(1 << 40, 5).await?,
        Vec::<u8>::new(),
        "read-at far past the end"
    );
    ensure_eq!(
        h.read_at(3, 0).await?,
        Vec::<u8>::new(),
        "zero-length read-at"
    );
    h.close().await?;
    Ok(())
}

/// Positioned writes inside, at and past the end (leaving a hole that reads as zeros).
pub async fn positioned_io_and_holes(cx: &Cx<'_>) -> CaseResult {
    let f = cx.files()?;
    let p = cx.path("holes");
    let mut h = f.open_file(&p, RW_CREATE, 0o644).await?;
    h.write(b"hello").await?;
    h.write_at(1, b"EL").await?;
    let hole_at = (1u64 << 20) + 3;
    h.write_at(hole_at, b"tail").await?;
    ensure_eq!(
        h.stat().await?.size,
        hole_at + 4,
        "size after writing past the end"
    );
    ensure_eq!(
        h.read_at(0, 5).await?,
        b"hELlo".to_vec(),
        "overwrite inside"
    );
    ensure_eq!(
        h.read_at(5, 4096).await?,
        vec![0u8; 4096],
        "hole reads as zeros"
    );
    ensure_eq!(
        h.read_at(hole_at - 2, 10).await?,
        b"\0\0tail".to_vec(),
        "data after the hole"
    );
    h.write(b"!").await?;
    ensure_eq!(
        h.read_at(5, 1).await?,
        b"!".to_vec(),
        "write continues at the handle position"
    );
    h.close().await?;
    Ok(())
}

/// A 64 MiB file written in 1 MiB pieces and read back, compared by SHA-256 and at random spots.
pub async fn large_file_checksum(cx: &Cx<'_>) -> CaseResult {
    const SIZE: usize = 64 << 20;
    const CHUNK: usize = 1 << 20;
    let f = cx.files()?;
    let p = cx.path("large.bin");
    let data = pattern(64, SIZE);
    let want = Sha256::digest(&data);
    let mut h = f.create(&p).await?;
    for chunk in data.chunks(CHUNK) {
        ensure_eq!(h.write(chunk).await?, chunk.len() as u64, "bytes written");
    }
    h.sync().await?;
    h.close().await?;
    ensure_eq!(f.stat(&p).await?.size, SIZE as u64, "size");
    let mut r = f.open(&p).await?;
    let mut hasher = Sha256::new();
    let mut total = 0usize;
    loop {
        let chunk = r.read(CHUNK as u64 * 3).await?;
        if chunk.is_empty() {
            break;
        }
        total += chunk.len();
        hasher.update(&chunk);
    }
    ensure_eq!(total, SIZE, "bytes read");
    ensure!(
        hasher.finalize() == want,
        "SHA-256 of the read-back data differs"
    );
    for off in [0usize, 1, CHUNK - 1, CHUNK, 12_345_677, SIZE - 7] {
        let got = r.read_at(off as u64, 13).await?;
        let end = (off + 13).min(SIZE);
        ensure_eq!(got, data[off..end].to_vec(), "read-at {off}");
    }
    r.close().await?;
    Ok(())
}

/// A directory with 1000 entries lists every name exactly once, sorted, with kinds.
pub async fn read_dir_many_entries(cx: &Cx<'_>) -> CaseResult {
    let f = cx.files()?;
    let d = cx.path("many");
    f.mkdir(&d, 0o755).await?;
    let names: Vec<String> = (0..1000).map(|i| format!("entry-{i:04}")).collect();
    for batch in names.chunks(50) {
        let made = futures::future::join_all(batch.iter().map(|n| {
            let p = format!("{d}/{n}");
            async move { f.create(&p).await?.close().await }
        }))
        .await;
        for r in made {
            r?;
        }
    }
    f.mkdir(&format!("{d}/zz-subdir"), 0o755).await?;
    let entries = f.read_dir(&d).await?;
    ensure_eq!(entries.len(), 1001, "entry count");
    let got: Vec<&str> = entries.iter().map(|e| e.name.as_str()).collect();
    let mut want: Vec<&str> = names.iter().map(String::as_str).collect();
    want.push("zz-subdir");
    ensure_eq!(got, want, "names in order");
    ensure!(
        entries[..1000]
            .iter()
            .all(|e| e.stat.kind == FileKind::Regular && e.stat.size == 0),
        "every file entry is an empty regular file"
    );
    ensure_eq!(
        entries[1000].stat.kind,
        FileKind::Directory,
        "subdirectory kind"
    );
    Ok(())
}

/// Names with accents, CJK, emoji, spaces, quotes and shell metacharacters survive unchanged.
pub async fn read_dir_non_ascii_names(cx: &Cx<'_>) -> CaseResult {
    let f = cx.files()?;
    let d = cx.path("names");
    f.mkdir(&d, 0o755).await?;
    let mut names = vec![
        "café",
        "日本語.txt",
        "🦀 crab",
        "with space",
        "quote'\"",
        "-dash",
        "$HOME",
        "a\\b",
        "tab\tname",
        "new\nline",
        "ünïcödé-ñ",
    ];
    for n in &names {
        write_file(f, &format!("{d}/{n}"), n.as_bytes()).await?;
    }
    let listed = f.read_dir(&d).await?;
    names.sort_unstable();
    let got: Vec<&str> = listed.iter().map(|e| e.name.as_str()).collect();
    ensure_eq!(got, names, "listed names");
    for n in &names {
        let p = format!("{d}/{n}");
        ensure_eq!(
            read_file(f, &p).await?,
            n.as_bytes().to_vec(),
            "content of {n:?}"
        );
        ensure_eq!(f.stat(&p).await?.size, n.len() as u64, "size of {n:?}");
    }
    Ok(())
}

/// Symlinks: readlink returns the stored target, lstat sees the link, stat follows it.
pub async fn symlink_readlink_lstat(cx: &Cx<'_>) -> CaseResult {
    let f = cx.files()?;
    write_file(f, &cx.path("target"), b"pointed-to").await?;
    let link = cx.path("link");
    f.symlink("target", &link).await?;
    ensure_eq!(
        f.readlink(&link).await?,
        "target",
        "relative target stored as given"
    );
    let l = f.lstat(&link).await?;
    ensure_eq!(l.kind, FileKind::Symlink, "lstat kind");
    ensure_eq!(l.size, 6, "lstat size is the target's length");
    let s = f.stat(&link).await?;
    ensure_eq!(s.kind, FileKind::Regular, "stat follows the link");
    ensure_eq!(s.size, 10, "stat size is the file's");
    ensure_eq!(
        read_file(f, &link).await?,
        b"pointed-to".to_vec(),
        "read through the link"
    );

    let abs = cx.path("abs-link");
    f.symlink(&cx.path("target"), &abs).await?;
    ensure_eq!(
        f.readlink(&abs).await?,
        cx.path("target"),
        "absolute target"
    );

    let dangling = cx.path("dangling");
    f.symlink("nowhere", &dangling).await?;
    ensure_eq!(
        f.lstat(&dangling).await?.kind,
        FileKind::Symlink,
        "dangling lstat"
    );
    expect_code(
        f.stat(&dangling).await,
        ErrorCode::NotFound,
        "stat of a dangling link",
    )?;
    expect_code(
        f.symlink("x", &link).await,
        ErrorCode::Exists,
        "symlink over an existing name",
    )?;

    f.mkdir(&cx.path("dir"), 0o755).await?;
    f.symlink("dir", &cx.path("dir-link")).await?;
    ensure_eq!(
        f.stat(&cx.path("dir-link")).await?.kind,
        FileKind::Directory,
        "link to dir"
    );
    write_file(f, &cx.path("dir-link/inside"), b"x").await?;
    ensure_eq!(
        f.stat(&cx.path("dir/inside")).await?.size,
        1,
        "write through a dir link"
    );
    Ok(())
}

/// Hard links share content and count in nlink (where the protocol reports link counts: SFTP
/// v3's stat does not, so there 0 means "not reported" and the listing's count is checked).
pub async fn hard_link_nlink(cx: &Cx<'_>) -> CaseResult {
    let f = cx.files()?;
    let a = cx.path("a");
    let b = cx.path("b");
    write_file(f, &a, b"shared").await?;
    let before = f.stat(&a).await?.nlink;
    ensure!(before == 1 || before == 0, "nlink before linking: {before}");
    f.link(&a, &b).await?;
    for p in [&a, &b] {
        let n = f.stat(p).await?.nlink;
        ensure!(
            n == 2 || (n == 0 && before == 0),
            "nlink of {p} after linking: {n}"
        );
    }
    let listed: Vec<u64> = f
        .read_dir(&cx.dir)
        .await?
        .iter()
        .map(|e| e.stat.nlink)
        .collect();
    ensure!(
        listed == [2, 2] || (before == 0 && listed == [0, 0]),
        "nlink in the listing: {listed:?}"
    );
    let mut h = f
        .open_file(
            &b,
            OpenFlags {
                write: true,
                ..OpenFlags::default()
            },
            0,
        )
        .await?;
    h.write(b"SH").await?;
    h.close().await?;
    ensure_eq!(
        read_file(f, &a).await?,
        b"SHared".to_vec(),
        "write through one name"
    );
    expect_code(
        f.link(&a, &b).await,
        ErrorCode::Exists,
        "link over an existing name",
    )?;
    expect_code(
        f.link(&cx.path("missing"), &cx.path("c")).await,
        ErrorCode::NotFound,
        "link to a missing file",
    )?;
    f.remove(&a).await?;
    let after = f.stat(&b).await?.nlink;
    ensure!(
        after == 1 || (after == 0 && before == 0),
        "nlink after removing one name: {after}"
    );
    ensure_eq!(
        read_file(f, &b).await?,
        b"SHared".to_vec(),
        "content survives"
    );
    Ok(())
}

/// Rename replaces an existing file atomically, moves across directories, and moves directories.
pub async fn rename_over_and_across(cx: &Cx<'_>) -> CaseResult {
    let f = cx.files()?;
    let (a, b) = (cx.path("a"), cx.path("b"));
    write_file(f, &a, b"new").await?;
    write_file(f, &b, b"old content").await?;
    f.rename(&a, &b).await?;
    ensure_eq!(read_file(f, &b).await?, b"new".to_vec(), "replaced content");
    expect_code(
        f.stat(&a).await,
        ErrorCode::NotFound,
        "old name after rename",
    )?;

    f.mkdir(&cx.path("sub"), 0o755).await?;
    let moved = cx.path("sub/b2");
    f.rename(&b, &moved).await?;
    ensure_eq!(
        read_file(f, &moved).await?,
        b"new".to_vec(),
        "moved into a directory"
    );

    f.rename(&cx.path("sub"), &cx.path("sub2")).await?;
    ensure_eq!(
        f.stat(&cx.path("sub2/b2")).await?.size,
        3,
        "directory renamed with contents"
    );
    expect_code(
        f.rename(&cx.path("missing"), &cx.path("x")).await,
        ErrorCode::NotFound,
        "rename of a missing file",
    )?;
    Ok(())
}

/// Each failure maps to its specific code.
pub async fn error_codes(cx: &Cx<'_>) -> CaseResult {
    let f = cx.files()?;
    let file = cx.path("file");
    let dir = cx.path("dir");
    write_file(f, &file, b"x").await?;
    f.mkdir(&dir, 0o755).await?;
    write_file(f, &format!("{dir}/child"), b"x").await?;

    expect_code(
        f.stat(&cx.path("nope")).await,
        ErrorCode::NotFound,
        "stat missing",
    )?;
    expect_code(
        f.lstat(&cx.path("nope")).await,
        ErrorCode::NotFound,
        "lstat missing",
    )?;
    expect_code(
        f.read_dir(&cx.path("nope")).await,
        ErrorCode::NotFound,
        "read-dir missing",
    )?;
    expect_code(
        f.remove(&cx.path("nope")).await,
        ErrorCode::NotFound,
        "remove missing",
    )?;
    expect_code(
        f.mkdir(&cx.path("nope/sub"), 0o755).await,
        ErrorCode::NotFound,
        "mkdir under missing",
    )?;
    expect_code(
        f.mkdir(&dir, 0o755).await,
        ErrorCode::Exists,
        "mkdir existing dir",
    )?;
    expect_code(
        f.mkdir(&file, 0o755).await,
        ErrorCode::Exists,
        "mkdir over a file",
    )?;
    expect_code(
        f.remove(&dir).await,
        ErrorCode::NotEmpty,
        "remove non-empty dir",
    )?;
    expect_code(
        f.open_file(
            &dir,
            OpenFlags {
                write: true,
                ..OpenFlags::default()
            },
            0,
        )
        .await
        .map(|_| ()),
        ErrorCode::IsDirectory,
        "open a directory for writing",
    )?;
    expect_code(
        f.stat(&format!("{file}/x")).await,
        ErrorCode::NotDirectory,
        "stat through a file",
    )?;
    expect_code(
        f.read_dir(&file).await,
        ErrorCode::NotDirectory,
        "read-dir of a file",
    )?;
    expect_code(
        f.readlink(&file).await,
        ErrorCode::InvalidArgument,
        "readlink of a file",
    )?;
    expect_code(
        f.chmod(&cx.path("nope"), 0o644).await,
        ErrorCode::NotFound,
        "chmod missing",
    )?;
    expect_code(
        f.truncate(&cx.path("nope"), 1).await,
        ErrorCode::NotFound,
        "truncate missing",
    )?;
    ensure_eq!(
        f.stat(&dir).await?.kind,
        FileKind::Directory,
        "failed remove left the dir"
    );
    Ok(())
}

/// Permission bits, including set-id and sticky bits, read back exactly.
pub async fn chmod_visible_in_stat(cx: &Cx<'_>) -> CaseResult {
    let f = cx.files()?;
    let p = cx.path("perm");
    write_file(f, &p, b"x").await?;
    for mode in [0o600, 0o644, 0o755, 0o400, 0o000, 0o4755, 0o2755, 0o6711] {
        f.chmod(&p, mode).await?;
        ensure_eq!(
            f.stat(&p).await?.mode,
            mode,
            "file mode after chmod {mode:o}"
        );
    }
    let d = cx.path("dir");
    f.mkdir(&d, 0o700).await?;
    ensure_eq!(f.stat(&d).await?.mode, 0o700, "mkdir mode");
    for mode in [0o1777, 0o2775, 0o755] {
        f.chmod(&d, mode).await?;
        ensure_eq!(
            f.stat(&d).await?.mode,
            mode,
            "dir mode after chmod {mode:o}"
        );
    }
    expect_code(
        f.chmod(&p, 0o10000).await,
        ErrorCode::InvalidArgument,
        "mode beyond 0o7777",
    )?;
    Ok(())
}

/// Ownership changes read back; a privileged target also hands files to another uid.
pub async fn chown_visible_in_stat(cx: &Cx<'_>) -> CaseResult {
    let f = cx.files()?;
    let p = cx.path("owned");
    write_file(f, &p, b"x").await?;
    let st = f.stat(&p).await?;
    f.chown(&p, st.uid, st.gid).await?;
    let again = f.stat(&p).await?;
    ensure_eq!(
        (again.uid, again.gid),
        (st.uid, st.gid),
        "chown to the current owner"
    );
    if st.uid == 0 {
        f.chown(&p, 4242, 4343).await?;
        let moved = f.stat(&p).await?;
        ensure_eq!((moved.uid, moved.gid), (4242, 4343), "chown by root");
    } else {
        expect_code(
            f.chown(&p, 0, 0).await,
            ErrorCode::AccessDenied,
            "chown to root unprivileged",
        )?;
    }
    Ok(())
}

/// Access and modification times read back: seconds always, and nanoseconds exactly wherever
/// the backend reports them, which a fresh file shows (its times come from the target's clock,
/// so they have nanoseconds on any file system that keeps them). Where stat reports none (SFTP
/// v3 carries whole seconds only) they must read back as zero. stat, lstat, a handle's stat and
/// the directory listing agree.
pub async fn chtimes_visible_in_stat(cx: &Cx<'_>) -> CaseResult {
    let f = cx.files()?;
    let p = cx.path("times");
    write_file(f, &p, b"x").await?;
    let fresh = f.stat(&p).await?;
    let keeps_nanos = fresh.mtime.nanoseconds != 0 || fresh.atime.nanoseconds != 0;
    let atime = Timestamp {
        seconds: 1_000_000_000,
        nanoseconds: 123_456_789,
    };
    let mtime = Timestamp {
        seconds: 1_500_000_000,
        nanoseconds: 987_654_321,
    };
    f.chtimes(&p, atime, mtime).await?;
    let st = f.stat(&p).await?;
    let nanos = |t: Timestamp| Timestamp {
        seconds: t.seconds,
        nanoseconds: if keeps_nanos { t.nanoseconds } else { 0 },
    };
    ensure_eq!(
        (st.atime, st.mtime),
        (nanos(atime), nanos(mtime)),
        "times after chtimes (the fresh file's nanoseconds: {}, so they {} kept)",
        fresh.mtime.nanoseconds,
        if keeps_nanos { "are" } else { "are not" }
    );
    ensure_eq!(f.lstat(&p).await?.mtime, st.mtime, "lstat agrees with stat");
    let listed = f.read_dir(&cx.dir).await?;
    ensure_eq!(
        listed
            .iter()
            .find(|e| e.name == "times")
            .map(|e| e.stat.mtime),
        Some(st.mtime),
        "the listing agrees with stat"
    );
    let h = f
        .open_file(
            &p,
            OpenFlags {
                read: true,
                write: true,
                ..OpenFlags::default()
            },
            0,
        )
        .await?;
    ensure_eq!(
        h.stat().await?.mtime,
        st.mtime,
        "a handle's stat agrees with stat"
    );
    expect_code(
        f.chtimes(
            &p,
            Timestamp {
                seconds: 0,
                nanoseconds: 1_000_000_000,
            },
            mtime,
        )
        .await,
        ErrorCode::InvalidArgument,
        "nanoseconds out of range",
    )?;
    Ok(())
}

/// Truncation by path and by handle, shrinking and growing with zeros.
pub async fn truncate_up_and_down(cx: &Cx<'_>) -> CaseResult {
    let f = cx.files()?;
    let p = cx.path("t");
    write_file(f, &p, b"0123456789").await?;
    f.truncate(&p, 4).await?;
    ensure_eq!(read_file(f, &p).await?, b"0123".to_vec(), "shrunk by path");
    f.truncate(&p, 8).await?;
    ensure_eq!(
        read_file(f, &p).await?,
        b"0123\0\0\0\0".to_vec(),
        "grown by path"
    );
    let h = f
        .open_file(
            &p,
            OpenFlags {
                read: true,
                write: true,
                ..OpenFlags::default()
            },
            0,
        )
        .await?;
    h.truncate(2).await?;
    ensure_eq!(h.stat().await?.size, 2, "shrunk by handle");
    h.truncate(5).await?;
    ensure_eq!(
        h.read_at(0, 10).await?,
        b"01\0\0\0".to_vec(),
        "grown by handle"
    );
    f.truncate(&p, 0).await?;
    ensure_eq!(f.stat(&p).await?.size, 0, "truncated to zero");
    Ok(())
}

/// File-system statistics are internally consistent.
pub async fn statfs_plausible(cx: &Cx<'_>) -> CaseResult {
    let s = cx.files()?.statfs(&cx.dir).await?;
    ensure!(s.bsize > 0 && s.frsize > 0, "block sizes {s:?}");
    ensure!(s.blocks > 0, "total blocks {s:?}");
    ensure!(
        s.bfree <= s.blocks && s.bavail <= s.bfree,
        "free blocks {s:?}"
    );
    ensure!(s.ffree <= s.files, "free inodes {s:?}");
    ensure!(s.name_max >= 14, "name length limit {s:?}");
    Ok(())
}

/// getwd is an absolute path to a directory.
pub async fn getwd_is_a_directory(cx: &Cx<'_>) -> CaseResult {
    let f = cx.files()?;
    let wd = f.getwd().await?;
    ensure!(wd.starts_with('/'), "getwd {wd:?} is not absolute");
    ensure_eq!(f.stat(&wd).await?.kind, FileKind::Directory, "getwd kind");
    Ok(())
}

/// mkdir honours its mode; mkdir-all makes parents, accepts existing dirs, refuses files.
pub async fn mkdir_modes_and_mkdir_all(cx: &Cx<'_>) -> CaseResult {
    let f = cx.files()?;
    let deep = cx.path("a/b/c");
    f.mkdir_all(&deep, 0o750).await?;
    for p in ["a", "a/b", "a/b/c"] {
        let st = f.stat(&cx.path(p)).await?;
        ensure_eq!(st.kind, FileKind::Directory, "{p} kind");
        ensure_eq!(st.mode, 0o750, "{p} mode");
    }
    f.mkdir_all(&deep, 0o750).await?;
    f.mkdir_all(&format!("{}/", cx.path("a/b")), 0o750).await?;
    write_file(f, &cx.path("file"), b"x").await?;
    expect_code(
        f.mkdir_all(&cx.path("file/sub"), 0o755).await,
        ErrorCode::NotDirectory,
        "mkdir-all through a file",
    )?;
    expect_code(
        f.mkdir_all(&cx.path("file"), 0o755).await,
        ErrorCode::Exists,
        "mkdir-all over a file",
    )?;
    Ok(())
}

/// A write handle's stat follows its writes; sync succeeds.
pub async fn write_handle_stat_and_sync(cx: &Cx<'_>) -> CaseResult {
    let f = cx.files()?;
    let mut h = f.create(&cx.path("w")).await?;
    ensure_eq!(h.stat().await?.size, 0, "fresh file");
    h.write(&[7; 1000]).await?;
    h.sync().await?;
    let st = h.stat().await?;
    ensure_eq!(st.size, 1000, "size after write");
    ensure_eq!(st.kind, FileKind::Regular, "kind");
    h.close().await?;
    let r = f.open(&cx.path("w")).await?;
    r.sync().await?;
    Ok(())
}

/// Remove deletes files, symlinks (not their targets) and empty directories.
pub async fn remove_kinds(cx: &Cx<'_>) -> CaseResult {
    let f = cx.files()?;
    let (file, link, dir) = (cx.path("file"), cx.path("link"), cx.path("dir"));
    write_file(f, &file, b"x").await?;
    f.symlink("file", &link).await?;
    f.mkdir(&dir, 0o755).await?;
    f.remove(&link).await?;
    expect_code(f.lstat(&link).await, ErrorCode::NotFound, "removed link")?;
    ensure_eq!(f.stat(&file).await?.size, 1, "link target survives");
    f.remove(&file).await?;
    expect_code(f.stat(&file).await, ErrorCode::NotFound, "removed file")?;
    f.remove(&dir).await?;
    expect_code(f.stat(&dir).await, ErrorCode::NotFound, "removed dir")?;
    Ok(())
}

/// Writes of 64 KiB and more in append mode and at an offset land where they must (a guest
/// layer hands such writes to a stream of the layer below: `append-via-stream` and
/// `write-via-stream`).
pub async fn large_append_and_write_at(cx: &Cx<'_>) -> CaseResult {
    const BIG: usize = 200_000;
    let f = cx.files()?;
    let p = cx.path("big");
    write_file(f, &p, b"head").await?;
    let append = OpenFlags {
        write: true,
        append: true,
        ..OpenFlags::default()
    };
    let one = pattern(11, BIG);
    let two = pattern(12, BIG);
    let mut a = f.open_file(&p, append, 0).await?;
    ensure_eq!(a.write(&one).await?, BIG as u64, "bytes appended");
    ensure_eq!(a.write(b"-").await?, 1, "a small append after a large one");
    ensure_eq!(a.write(&two).await?, BIG as u64, "bytes appended again");
    a.close().await?;
    let mut want = b"head".to_vec();
    want.extend_from_slice(&one);
    want.push(b'-');
    want.extend_from_slice(&two);
    ensure!(
        read_file(f, &p).await? == want,
        "content after large appends differs (size {})",
        f.stat(&p).await?.size
    );

    let at = 70_000u64;
    let three = pattern(13, BIG);
    let mut w = f.open_file(&p, RW_CREATE, 0).await?;
    ensure_eq!(
        w.write_at(at, &three).await?,
        BIG as u64,
        "bytes written at {at}"
    );
    let past = want.len() as u64 + 4096;
    ensure_eq!(
        w.write_at(past, &one).await?,
        BIG as u64,
        "bytes written past the end"
    );
    w.close().await?;
    want[at as usize..at as usize + BIG].copy_from_slice(&three);
    want.resize(past as usize, 0);
    want.extend_from_slice(&one);
    ensure!(
        read_file(f, &p).await? == want,
        "content after large positioned writes differs (size {})",
        f.stat(&p).await?.size
    );
    Ok(())
}

/// A closed handle refuses further use with `bad-descriptor`.
pub async fn closed_handle_is_rejected(cx: &Cx<'_>) -> CaseResult {
    let f = cx.files()?;
    let p = cx.path("c");
    let mut w = f.create(&p).await?;
    w.write(b"abc").await?;
    w.close().await?;
    expect_code(
        w.write(b"x").await,
        ErrorCode::BadDescriptor,
        "write after close",
    )?;
    expect_code(w.close().await, ErrorCode::BadDescriptor, "second close")?;
    let mut r = f.open(&p).await?;
    r.close().await?;
    expect_code(
        r.read(1).await,
        ErrorCode::BadDescriptor,
        "read after close",
    )?;
    expect_code(
        r.read_at(0, 1).await,
        ErrorCode::BadDescriptor,
        "read-at after close",
    )?;
    ensure_eq!(read_file(f, &p).await?, b"abc".to_vec(), "content intact");
    Ok(())
}
